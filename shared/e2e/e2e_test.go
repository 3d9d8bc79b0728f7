// Package e2e proves the deployable binaries work together: every
// functions/* bootstrap built for linux/amd64 (make build-amd64) runs under
// the AWS Lambda Runtime Interface Emulator against the SQS/S3 (fauxqs) and
// DynamoDB (dynalite) emulators; shared/apigw plays API Gateway in front of
// ingest and shared/runner plays the SQS event source mappings. `make e2e`
// runs it (and `make test`, through go test ./...).
package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/tidwall/gjson"

	hookevents "github.com/hookstack/hookstack/events"
	"github.com/hookstack/hookstack/shared/apigw"
	"github.com/hookstack/hookstack/shared/blob/s3blob"
	"github.com/hookstack/hookstack/shared/blob/s3blob/s3test"
	"github.com/hookstack/hookstack/shared/domain"
	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/inventory"
	"github.com/hookstack/hookstack/shared/leads"
	"github.com/hookstack/hookstack/shared/notify"
	"github.com/hookstack/hookstack/shared/notify/notifystore"
	"github.com/hookstack/hookstack/shared/payments"
	"github.com/hookstack/hookstack/shared/process"
	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/queue/sqsq"
	"github.com/hookstack/hookstack/shared/queue/sqsq/sqstest"
	"github.com/hookstack/hookstack/shared/relay"
	"github.com/hookstack/hookstack/shared/rie"
	"github.com/hookstack/hookstack/shared/runner"
	"github.com/hookstack/hookstack/shared/sample"
	"github.com/hookstack/hookstack/shared/secrets"
	"github.com/hookstack/hookstack/shared/signature"
	"github.com/hookstack/hookstack/shared/store"
	"github.com/hookstack/hookstack/shared/store/dynamostore"
	"github.com/hookstack/hookstack/shared/store/dynamostore/dynamotest"
)

// scenario is the order the samples are sent in (events/README.md): the
// Stripe story in its order, the Shopify product (sku → item mapping)
// before the levels, Salesforce before HubSpot's change of the same lead,
// the chat opened before it is closed. Samples not listed follow, sorted.
var scenario = []string{
	"stripe/customer.created",
	"stripe/payment_intent.payment_failed",
	"stripe/payment_intent.processing",
	"stripe/payment_intent.succeeded",
	"stripe/checkout.session.completed",
	"stripe/charge.refunded_partial",
	"stripe/charge.refunded",
	"stripe/charge.dispute.created",
	"stripe/customer.subscription.created",
	"stripe/invoice.paid",
	"stripe/invoice.payment_failed",
	"stripe/customer.subscription.updated",
	"stripe/customer.subscription.deleted",
	"stripe/payment_intent.canceled",
	"shopify/products_update",
	"shopify/inventory_levels_update",
	"standard/inventory.adjusted",
	"shopify/orders_create",
	"salesforce/lead",
	"hubspot/contact.creation",
	"hubspot/contact.propertyChange",
	"standard/lead.created",
	"livechat/incoming_chat",
	"livechat/chat_deactivated",
	"trello/updateCard",
	"github/ping",
	"github/push",
	"github/pull_request",
	"slack/url_verification",
	"slack/app_mention",
	"zoom/endpoint.url_validation",
	"zoom/meeting.started",
	"twilio/message.status",
}

// Records the events/README.md story ends with.
const (
	paymentIntent  = "pi_3RZx5a2eZvKYlo2C0m8kQpLd"
	customer       = "cus_RZx4qT8mWk2LhN"
	subscriptionID = "sub_1RZx6b2eZvKYlo2CtW9fJ2Ka"
	priceID        = "price_1RZx1c2eZvKYlo2CkP4mHs7Q"
	inventoryItem  = "49148385591586"
	sku            = "HS-TEE-M"
	leadEmail      = "sam.lee@example.com"
	chatID         = "PJ0MRSHTDG"
)

func orderedSamples(t *testing.T) []sample.Sample {
	t.Helper()
	all, err := sample.LoadAll(hookevents.FS)
	if err != nil {
		t.Fatal(err)
	}
	rank := func(s sample.Sample) int {
		if i := slices.Index(scenario, s.Provider+"/"+s.Name); i >= 0 {
			return i
		}
		return len(scenario)
	}
	sort.SliceStable(all, func(i, j int) bool { return rank(all[i]) < rank(all[j]) })
	providers := map[string]bool{}
	for _, s := range all {
		providers[s.Provider] = true
	}
	for _, p := range signature.Providers {
		if !providers[p] {
			t.Fatalf("no sample of %s", p)
		}
	}
	return all
}

func isHandshake(s sample.Sample) bool {
	return s.Name == "url_verification" || s.Name == "endpoint.url_validation"
}

// visibility is the event source mappings' visibility timeout: a message
// whose receive was lost (seen once in ten runs: a notification left in
// flight that the fan-out never got) comes back within the drain deadline.
const visibility = 10 * time.Second

// pipeline is the emulated deployment.
type pipeline struct {
	q          *sqsq.Queue
	urls       map[string]string
	store      store.Store
	gateway    *httptest.Server
	secrets    map[string]string
	run        *runner.Runner
	batched    []runner.Source      // the processors take batches of 10
	oneByOne   []runner.Source      // the processors take one message at a time
	recorders  map[string]*recorder // per processor
	funcErrors int
	retries    int
	stalled    bool // logged once: messages in flight with nothing to poll
}

func TestPipelineEndToEnd(t *testing.T) {
	bin, emulator := binaries(t)
	began := time.Now()
	var timings []string
	lap := func(what string, since time.Time) {
		timings = append(timings, fmt.Sprintf("%s %s", what, time.Since(since).Round(time.Millisecond)))
	}
	ctx := t.Context()

	// Emulated AWS: every queue with its DLQ, the table, the claim bucket.
	t0 := time.Now()
	sqsEndpoint, s3Endpoint, ddbEndpoint := sqstest.Endpoint(t), s3test.Endpoint(t), dynamotest.Endpoint(t)
	q, sqsClient, urls := sqstest.Queues(t, envelope.AllQueues, 5)
	s3Client, bucket := s3test.Bucket(t, s3Endpoint)
	ddb, table := dynamotest.Table(t)
	st := dynamostore.New(ddb, table, dynamostore.ListKinds(notifystore.ListedKinds...))

	// Endpoints: an http endpoint for everything, a Slack one for tasks
	// and payments, both local sinks the SSRF guard lets through.
	loopback := &notify.Guard{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	endpoints := notifystore.NewEndpoints(st, loopback)
	httpSink, slackSink := newSink(t), newSink(t)
	httpEP, err := endpoints.Add(ctx, notify.Endpoint{Type: notify.TypeHTTP, URL: httpSink.URL + "/hooks", Events: []string{"*"}})
	if err != nil {
		t.Fatal(err)
	}
	slackEP, err := endpoints.Add(ctx, notify.Endpoint{Type: notify.TypeSlack, URL: slackSink.URL + "/services/T0/B0/x",
		Events: []string{"task.completed", "payment.*"}})
	if err != nil {
		t.Fatal(err)
	}

	// The seven functions, configured as the stack configures them.
	common := []string{
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"AWS_ENDPOINT_URL_SQS=" + sqsEndpoint, "AWS_ENDPOINT_URL_S3=" + s3Endpoint, "AWS_ENDPOINT_URL_DYNAMODB=" + ddbEndpoint,
		"HOOKSTACK_TABLE=" + table, "HOOKSTACK_CLAIM_BUCKET=" + bucket,
	}
	if v := os.Getenv("AWS_CA_BUNDLE"); v != "" {
		common = append(common, "AWS_CA_BUNDLE="+v)
	}
	for name, url := range urls {
		common = append(common, sqsq.EnvVar(name)+"="+url)
	}
	provSecrets := map[string]string{}
	// Salesforce is refused without a source allowlist; the harness plays
	// API Gateway from loopback.
	ingestEnv := append(slices.Clone(common), "HOOKSTACK_ALLOW_CIDRS_SALESFORCE=127.0.0.0/8")
	for _, p := range signature.Providers {
		s, err := signature.GenerateSecret(p)
		if err != nil {
			t.Fatal(err)
		}
		provSecrets[p] = s
		ingestEnv = append(ingestEnv, secrets.EnvName(p)+"="+s)
	}
	delivererEnv := append(slices.Clone(common),
		"HOOKSTACK_OUTBOUND_ALLOW_CIDRS=127.0.0.1/32", "HOOKSTACK_RETRY_SCHEDULE=1s,1s", "HOOKSTACK_DELIVERY_TIMEOUT=5s")
	fns := map[string]*rie.Function{"ingest": startFunction(t, bin, emulator, "ingest", ingestEnv)}
	for _, name := range append(slices.Clone(process.Names), "fanout") {
		fns[name] = startFunction(t, bin, emulator, name, common)
	}
	fns["deliverer"] = startFunction(t, bin, emulator, "deliverer", delivererEnv)

	// API Gateway in front of ingest.
	gw, err := apigw.New(fns["ingest"].Invoke, "ANY /webhooks/{provider}")
	if err != nil {
		t.Fatal(err)
	}
	p := &pipeline{q: q, urls: urls, store: st, gateway: httptest.NewServer(gw), secrets: provSecrets, recorders: map[string]*recorder{}}
	t.Cleanup(p.gateway.Close)

	// The event source mappings.
	p.run = &runner.Runner{Queue: q, OnResult: func(r runner.Result) {
		switch {
		case r.Err == nil:
		case errors.Is(r.Err, runner.ErrFunction):
			p.funcErrors++
			t.Errorf("%s: message %s: %v", r.Queue, r.Message.ID, r.Err)
		default:
			p.retries++
		}
	}}
	for _, name := range process.Names {
		p.recorders[name] = &recorder{}
		invoker := p.recorders[name].wrap(fns[name].Invoke)
		p.batched = append(p.batched, runner.Source{Queue: name, Invoker: invoker, Visibility: visibility})
		p.oneByOne = append(p.oneByOne, runner.Source{Queue: name, Invoker: invoker, BatchSize: 1, Visibility: visibility})
	}
	notifyStages := []runner.Source{
		{Queue: envelope.QueueNotifications, Invoker: runner.JSONInvoker(fns["fanout"].Invoke), Visibility: visibility},
		{Queue: envelope.QueueDeliveries, Invoker: runner.JSONInvoker(fns["deliverer"].Invoke), Visibility: visibility},
	}
	p.batched = append(p.batched, notifyStages...)
	p.oneByOne = append(p.oneByOne, notifyStages...)
	lap("set-up", t0)

	samples := orderedSamples(t)

	// Round 1: the samples in the story's order, each processed before the
	// next is sent (they are minutes to days apart in the story), each
	// processor taking one message at a time: what the processors emit is
	// then the story's events, and deterministic.
	t0 = time.Now()
	sent, _ := p.send(t, samples, 1, func() { p.drain(t, sqsClient, p.oneByOne) })
	lap(fmt.Sprintf("round 1 (%d webhooks, each through the pipeline)", len(samples)), t0)
	p.noDeadLetters(t, sqsClient)

	// The reference: the envelopes the deployed processors received,
	// through the in-process processors, in the same batches and order (so
	// it emits what they should have emitted), and again one at a time in
	// the order the webhooks were sent (the records the story ends with).
	t0 = time.Now()
	blobs := s3blob.New(s3Client, bucket)
	asReceived := newReference(t, "as-received", blobs)
	round1 := map[string]int{}
	var received []envelope.Envelope
	for _, name := range process.Names {
		batches := p.recorders[name].events()
		round1[name] = len(batches)
		for _, b := range batches {
			asReceived.apply(t, name, b)
			for _, m := range b.Records {
				e, err := envelope.Decode([]byte(m.Body))
				if err != nil {
					t.Fatalf("%s received %q: %v", name, m.Body, err)
				}
				received = append(received, e)
			}
		}
	}
	inOrder := newReference(t, "in-order", blobs)
	sort.SliceStable(received, func(i, j int) bool {
		a, b := received[i], received[j]
		ka, kb := sent.order[a.Provider+"/"+a.EventID], sent.order[b.Provider+"/"+b.EventID]
		if ka != kb {
			return ka < kb
		}
		return a.Part < b.Part
	})
	for _, e := range received {
		inOrder.apply(t, e.Queue, sqsEvent(t, e.Queue, e))
	}
	lap("reference", t0)

	// Every event ingest extracted reached its processor exactly once.
	seen := map[string]int{}
	for _, e := range received {
		seen[e.Provider+"/"+e.EventID]++
	}
	for key := range sent.order {
		if seen[key] != 1 {
			t.Errorf("event %s reached its processor %d times, want 1", key, seen[key])
		}
	}
	if len(seen) != len(sent.order) {
		t.Errorf("processors saw %d events, ingest accepted %d", len(seen), len(sent.order))
	}

	// Records: DynamoDB holds what the samples give applied in order.
	got := snapshot(t, st)
	sameRecords(t, "the samples applied in order", got, snapshot(t, inOrder.store))
	sameRecords(t, "the envelopes applied as the processors received them", got, snapshot(t, asReceived.store))
	checkStory(t, got)

	// Deliveries: every notification the reference emitted reached the
	// http sink exactly once, signed; the Slack sink got its subset.
	expected := asReceived.out.all()
	checkHTTP(t, httpSink, httpEP, expected)
	checkSlack(t, slackSink, slackEP, expected)
	httpCount, slackCount := len(httpSink.receipts()), len(slackSink.receipts())

	// Round 2: the providers retry every webhook. Accepted again, and
	// nothing changes: no record is written, nothing is delivered again.
	t0 = time.Now()
	// All at once this time, and the processors take batches of 10.
	again, _ := p.send(t, samples, 1, nil)
	if len(again.order) != len(sent.order) {
		t.Errorf("retries yielded %d events, the first sends %d", len(again.order), len(sent.order))
	}
	p.drain(t, sqsClient, p.batched)
	lap("round 2 (every webhook retried at once, then drained)", t0)
	p.noDeadLetters(t, sqsClient)
	for _, name := range process.Names {
		if n := len(p.recorders[name].events()); n <= round1[name] {
			t.Errorf("%s got no batch in the retry round (%d before, %d after): the retries did not go through", name, round1[name], n)
		}
	}
	after := snapshot(t, st)
	if len(after) != len(got) {
		t.Errorf("%d records after the retries, %d before", len(after), len(got))
	}
	for k, r := range got {
		a := after[k]
		if a.Rev != r.Rev || !bytes.Equal(a.Data, r.Data) {
			t.Errorf("%s changed by the retries: rev %d → %d\n%s\n→ %s", k, r.Rev, a.Rev, r.Data, a.Data)
		}
	}
	if n := len(httpSink.receipts()); n != httpCount {
		t.Errorf("http sink: %d requests after the retries, %d before", n, httpCount)
	}
	if n := len(slackSink.receipts()); n != slackCount {
		t.Errorf("slack sink: %d messages after the retries, %d before", n, slackCount)
	}

	// Round 3: late webhooks (late_test.go): the Stripe and LiveChat story
	// again for a second customer, shuffled, each webhook through the
	// pipeline before the next: the records end as in order, every
	// payment, subscription and chat announces what it announced in order
	// (by type), the late milestones say so, and everything is delivered
	// exactly once.
	t0 = time.Now()
	late := p.runLate(t, lateRound{sqs: sqsClient, blobs: blobs, records: after, round1: expected,
		httpSink: httpSink, httpEP: httpEP, slackSink: slackSink}, samples)
	all := append(slices.Clone(expected), late.expected...)
	checkHTTP(t, httpSink, httpEP, all)
	checkSlack(t, slackSink, slackEP, all)
	lap(fmt.Sprintf("round 3 (%d webhooks shuffled, each through the pipeline)", late.webhooks), t0)

	lap("total", began)
	t.Logf("%d samples, %d events, %d notifications, %d http + %d slack deliveries, %d batch item retries; %s; timings: %s",
		len(samples), len(sent.order), len(expected), httpCount, slackCount, p.retries, late, strings.Join(timings, ", "))
	var inits []string
	for _, name := range slices.Sorted(maps.Keys(fns)) {
		d, err := fns[name].InitDuration()
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
		inits = append(inits, fmt.Sprintf("%s %s", name, d))
	}
	t.Logf("INIT (emulator's INIT REPORT): %s", strings.Join(inits, ", "))
}

// sendResult maps each accepted event ("provider/event id") to the index
// of the sample that carried it.
type sendResult struct {
	order map[string]int
}

// send posts every sample through the gateway, signed now with the
// provider's secret, and checks each answer; after (when set) runs after
// each accepted post. As a provider does, it retries a 503 (the same body,
// signed again) up to attempts tries in all, and returns how many 503s it
// got; attempts 1 makes any 503 a failure.
func (p *pipeline) send(t *testing.T, samples []sample.Sample, attempts int, after func()) (sendResult, int) {
	t.Helper()
	res := sendResult{order: map[string]int{}}
	client := p.gateway.Client()

	// Trello checks the callback URL with a HEAD first.
	head, err := client.Head(p.gateway.URL + "/webhooks/trello")
	if err != nil {
		t.Fatal(err)
	}
	head.Body.Close()
	if head.StatusCode != http.StatusOK {
		t.Errorf("HEAD /webhooks/trello = %d", head.StatusCode)
	}

	unavailable := 0
	for i, s := range samples {
		name := s.Provider + "/" + s.Name
		var signed *signature.Request
		var answer []byte
		for attempt := 1; ; attempt++ {
			var err error
			signed, err = sample.Sign(s, p.gateway.URL+"/webhooks/"+s.Provider, p.secrets[s.Provider], time.Now())
			if err != nil {
				t.Fatalf("sign %s: %v", name, err)
			}
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, signed.URL, bytes.NewReader(signed.Body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header = signed.Header.Clone()
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("post %s: %v", name, err)
			}
			answer, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
			// A provider retries a 503 with the same body, signed again.
			if resp.StatusCode != http.StatusServiceUnavailable || attempt >= attempts {
				t.Fatalf("%s (attempt %d): %d %s", name, attempt, resp.StatusCode, answer)
			}
			unavailable++
			time.Sleep(100 * time.Millisecond)
		}
		if after != nil {
			after()
		}
		if isHandshake(s) {
			// The provider's challenge comes back; nothing is queued.
			token := gjson.GetBytes(signed.Body, "challenge").String() + gjson.GetBytes(signed.Body, "payload.plainToken").String()
			if token == "" || !bytes.Contains(answer, []byte(token)) || bytes.Contains(answer, []byte(`"event_id"`)) {
				t.Errorf("%s: handshake answered %s", name, answer)
			}
			continue
		}
		evs, err := envelope.Extract(s.Provider, signed.Header, signed.Body, time.Now())
		if err != nil {
			t.Fatalf("extract %s: %v", name, err)
		}
		if id := gjson.GetBytes(answer, "event_id"); id.Exists() && !slices.ContainsFunc(evs, func(e envelope.Event) bool { return e.ID == id.String() }) {
			t.Errorf("%s: answered event_id %s, not one of the delivery's events", name, id)
		}
		for _, ev := range evs {
			res.order[s.Provider+"/"+ev.ID] = i
		}
	}
	return res, unavailable
}

// drain runs the event source mappings until every queue is empty.
func (p *pipeline) drain(t *testing.T, sqsClient *sqs.Client, sources []runner.Source) {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for {
		progressed := false
		for _, src := range sources {
			// Polled only when it holds something, visible or not: fauxqs
			// returns an expired in-flight message to the queue only on a
			// receive, never in its counts.
			if visible(t, sqsClient, p.urls[src.Queue]) == 0 && depth(t, sqsClient, p.urls[src.Queue]) == 0 {
				continue
			}
			n, err := p.run.Poll(t.Context(), src)
			if err != nil {
				t.Fatalf("poll %s: %v", src.Queue, err)
			}
			progressed = progressed || n > 0
		}
		if progressed {
			continue
		}
		left := map[string]int{}
		for _, name := range envelope.AllQueues {
			if n := depth(t, sqsClient, p.urls[name]); n > 0 {
				left[name] = n
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("queues not drained (messages visible, in flight or delayed): %v", left)
		}
		if !p.stalled {
			p.stalled = true
			t.Logf("waiting for messages in flight: %v", left)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// noDeadLetters checks every DLQ is empty.
func (p *pipeline) noDeadLetters(t *testing.T, sqsClient *sqs.Client) {
	t.Helper()
	for _, name := range envelope.AllQueues {
		dlq := queue.DLQ(name)
		if n := depth(t, sqsClient, p.urls[dlq]); n != 0 {
			msgs, _ := p.q.Receive(t.Context(), dlq, 10, time.Second, 0)
			for _, m := range msgs {
				t.Logf("%s: %s (reason %q)", dlq, m.Body, m.Attributes[queue.AttrReason])
			}
			t.Errorf("%s holds %d messages", dlq, n)
		}
	}
}

// sameRecords compares the deployed pipeline's records with a reference's.
// Live records must be equal byte for byte. A tombstone (a "sku:" or
// source-keyed record merged into its item or lead: merged_into set) is
// residue whose presence and leftover fields depend on which event came
// first; only where it points is compared, when both sides have it.
func sameRecords(t *testing.T, what string, got, want map[string]store.Record) {
	t.Helper()
	if len(want) == 0 {
		t.Fatalf("the reference (%s) has no records", what)
	}
	mergedInto := func(r store.Record) string { return gjson.GetBytes(r.Data, "merged_into").String() }
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok && mergedInto(w) != "":
		case !ok:
			t.Errorf("%s: missing in DynamoDB (%s has it)", k, what)
		case len(g.Outbox) != 0:
			t.Errorf("%s: outbox of %d events never sent", k, len(g.Outbox))
		case mergedInto(w) != "" || mergedInto(g) != "":
			if mergedInto(g) != mergedInto(w) {
				t.Errorf("%s: merged into %q, %s merged it into %q", k, mergedInto(g), what, mergedInto(w))
			}
		case !bytes.Equal(g.Data, w.Data) || !g.UpdatedAt.Equal(w.UpdatedAt):
			t.Errorf("%s differs from %s:\n got %s\nwant %s", k, what, g.Data, w.Data)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok && mergedInto(g) == "" {
			t.Errorf("%s: in DynamoDB, not in %s: %s", k, what, g.Data)
		}
	}
}

func decodeRecord[T any](t *testing.T, recs map[string]store.Record, key string) T {
	t.Helper()
	var v T
	r, ok := recs[key]
	if !ok {
		t.Fatalf("no record %s", key)
	}
	if err := json.Unmarshal(r.Data, &v); err != nil {
		t.Fatalf("record %s: %v", key, err)
	}
	return v
}

// checkStory checks the ends of the events/README.md story.
func checkStory(t *testing.T, recs map[string]store.Record) {
	t.Helper()
	pay := decodeRecord[payments.Payment](t, recs, process.KindPayment+"/"+paymentIntent)
	if pay.Status != payments.StatusDisputed || pay.Customer != customer || pay.Amount <= 0 || pay.AmountRefunded != pay.Amount {
		t.Errorf("payment %s = %+v, want disputed after a full refund", paymentIntent, pay)
	}
	sub := decodeRecord[payments.Subscription](t, recs, process.KindSubscription+"/"+customer)
	if sub.ID != subscriptionID || sub.Price != priceID || sub.Status != "canceled" || sub.Premium {
		t.Errorf("subscription of %s = %+v, want %s canceled, not premium", customer, sub, subscriptionID)
	}
	item := decodeRecord[inventory.Item](t, recs, process.KindInventory+"/"+inventoryItem)
	var total int64
	for _, l := range item.Locations {
		total += l.Available
	}
	if item.SKU != sku || len(item.Locations) < 2 || item.Available != total {
		t.Errorf("inventory item %s = %+v, want sku %s, stock in the Shopify location and the warehouse, available = their sum", inventoryItem, item, sku)
	}
	lead := decodeRecord[leads.Lead](t, recs, process.KindLead+"/"+leadEmail)
	if lead.Email != leadEmail || lead.MergedInto != "" || len(lead.Sources) < 2 {
		t.Errorf("lead %s = %+v, want the Salesforce and HubSpot records merged", leadEmail, lead)
	}
	chat := decodeRecord[relay.Chat](t, recs, process.KindChat+"/"+chatID)
	if chat.Status != "closed" || chat.Timestamps.StartedAt.IsZero() || chat.Timestamps.ClosedAt.IsZero() {
		t.Errorf("chat %s = %+v, want closed", chatID, chat)
	}
}

// checkHTTP: one signed request per notification, with the payload built
// from it, and nothing else.
func checkHTTP(t *testing.T, s *sink, ep notify.Endpoint, expected []domain.Event) {
	t.Helper()
	want := map[string]domain.Event{}
	for _, ev := range expected {
		want[notify.DeliveryID(ev.ID, ep.ID)] = ev
	}
	verifier, _, _ := signature.For("standard", signature.Options{})
	count := map[string]int{}
	for _, r := range s.receipts() {
		id := r.header.Get(notify.HeaderWebhookID)
		count[id]++
		ev, ok := want[id]
		if !ok {
			t.Errorf("http sink: unexpected delivery %s: %s", id, r.body)
			continue
		}
		req := &signature.Request{Method: http.MethodPost, URL: s.URL + "/hooks", Header: r.header, Body: r.body}
		if err := verifier.Verify(req, ep.Secrets, time.Now()); err != nil {
			t.Errorf("http sink: %s (%s) does not verify with the endpoint's secret: %v", id, ev.Type, err)
		}
		wantBody, err := notify.Payload(notify.Delivery{Event: ev})
		if err != nil {
			t.Fatal(err)
		}
		if !ev.OccurredAt.IsZero() && !bytes.Equal(r.body, wantBody) {
			t.Errorf("http sink: %s body\n got %s\nwant %s", ev.ID, r.body, wantBody)
		}
	}
	types := map[string]bool{}
	for id, ev := range want {
		if count[id] != 1 {
			t.Errorf("http sink: %s (%s) delivered %d times, want exactly once", ev.ID, ev.Type, count[id])
		}
		types[ev.Type] = true
	}
	// The story's domain events and a raw forward of every provider.
	for _, typ := range []string{"payment.succeeded", "payment.failed", "payment.refunded", "payment.disputed",
		"subscription.activated", "subscription.past_due", "subscription.canceled", "lead.created",
		"support.chat_started", "support.chat_closed", "task.completed", "github.push", "stripe.customer.created"} {
		if !types[typ] {
			t.Errorf("no %s among the %d notifications", typ, len(want))
		}
	}
	for _, p := range signature.Providers {
		if !slices.ContainsFunc(expected, func(ev domain.Event) bool { return ev.IsRaw() && ev.Source == p }) {
			t.Errorf("no raw forward of %s", p)
		}
	}
}

// checkSlack: one message per task.completed and payment.* notification,
// rendered from it.
func checkSlack(t *testing.T, s *sink, ep notify.Endpoint, expected []domain.Event) {
	t.Helper()
	var want, got []string
	types := map[string]bool{}
	for _, ev := range expected {
		if ep.Matches(ev.Type) {
			want = append(want, notify.RenderSlack(ev).Text)
			types[ev.Type] = true
		}
	}
	for _, r := range s.receipts() {
		var m notify.SlackMessage
		if err := json.Unmarshal(r.body, &m); err != nil || len(m.Blocks) == 0 {
			t.Errorf("slack sink: %s is not a Block Kit message: %v", r.body, err)
		}
		got = append(got, m.Text)
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("slack messages:\n got %q\nwant %q", got, want)
	}
	if !types["task.completed"] || !types["payment.succeeded"] {
		t.Errorf("slack: types %v, want task.completed and payment.succeeded among them", types)
	}
}
