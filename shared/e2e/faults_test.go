package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hookstack/hookstack/shared/apigw"
	"github.com/hookstack/hookstack/shared/blob/s3blob"
	"github.com/hookstack/hookstack/shared/blob/s3blob/s3test"
	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/notify"
	"github.com/hookstack/hookstack/shared/notify/notifystore"
	"github.com/hookstack/hookstack/shared/process"
	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/queue/sqsq"
	"github.com/hookstack/hookstack/shared/queue/sqsq/sqstest"
	"github.com/hookstack/hookstack/shared/rie"
	"github.com/hookstack/hookstack/shared/runner"
	"github.com/hookstack/hookstack/shared/secrets"
	"github.com/hookstack/hookstack/shared/signature"
	"github.com/hookstack/hookstack/shared/store/dynamostore"
	"github.com/hookstack/hookstack/shared/store/dynamostore/dynamotest"
)

// faultSeed makes the injected faults repeatable (modulo timing: which
// call of a concurrent batch comes first).
const faultSeed = 7

// faultVisibility is the event source mappings' visibility timeout in the
// faults test: a throttled or "killed" batch comes back after it.
const faultVisibility = 3 * time.Second

// faultRule is one kind of injected fault. A call of one of ops (the
// X-Amz-Target operation; all when empty) starts a burst with probability
// rate: it and the next calls, up to maxBurst in all, get the fault. The
// SDK's default retryer makes 3 attempts, so a burst of 3 or more reaches
// the function's code. The forced-th call (1-based; 0: never) always
// starts a burst of maxBurst, so every kind fires at least once.
type faultRule struct {
	kind     string
	ops      []string
	rate     float64
	maxBurst int
	forced   int
	forcedTo int           // the forced burst's length (default maxBurst)
	status   int           // answered without forwarding, when set
	body     string        // with this AWS JSON error body
	delay    time.Duration // before answering or forwarding
	calls    int
	left     int
}

// faultProxy is a reverse proxy in front of an emulator that injects
// faults into the calls the functions make through it.
type faultProxy struct {
	*httptest.Server
	mu     sync.Mutex
	rnd    *rand.Rand
	rules  []*faultRule
	counts map[string]int // injected faults per kind
	calls  int
}

func newFaultProxy(t *testing.T, target string, seed uint64, rules ...*faultRule) *faultProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatalf("emulator endpoint %q: %v", target, err)
	}
	fp := &faultProxy{rnd: rand.New(rand.NewPCG(faultSeed, seed)), rules: rules, counts: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	fp.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := r.Header.Get("X-Amz-Target")
		if i := strings.LastIndexByte(op, '.'); i >= 0 {
			op = op[i+1:]
		}
		rule := fp.decide(op)
		if rule == nil {
			rp.ServeHTTP(w, r)
			return
		}
		if rule.delay > 0 {
			select {
			case <-time.After(rule.delay):
			case <-r.Context().Done():
				return
			}
		}
		if rule.status == 0 {
			rp.ServeHTTP(w, r)
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(rule.status)
		_, _ = io.WriteString(w, rule.body)
	}))
	t.Cleanup(fp.Close)
	return fp
}

// decide picks the fault, if any, for a call of op.
func (fp *faultProxy) decide(op string) *faultRule {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	fp.calls++
	for _, r := range fp.rules {
		if len(r.ops) > 0 && !slices.Contains(r.ops, op) {
			continue
		}
		r.calls++
		switch {
		case r.left > 0:
			r.left--
		case r.calls == r.forced:
			r.left = max(r.forcedTo, r.maxBurst) - 1
		case fp.rnd.Float64() < r.rate:
			r.left = fp.rnd.IntN(r.maxBurst)
		default:
			continue
		}
		fp.counts[r.kind]++
		return r
	}
	return nil
}

func (fp *faultProxy) injected() map[string]int {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	out := map[string]int{}
	for k, v := range fp.counts {
		out[k] = v
	}
	out["calls"] = fp.calls
	return out
}

// killer is the runner's queue: now and then it forgets to delete a batch
// the consumer processed (the consumer killed after its work, before the
// event source mapping settled the batch), so the batch comes back after
// its visibility timeout: duplicates.
type killer struct {
	queue.Queue
	mu       sync.Mutex
	rnd      *rand.Rand
	rate     float64
	forced   map[string]int // queue → its nth receive, always killed
	receives map[string]int
	dropped  map[string]bool
	killed   int
}

func (k *killer) Receive(ctx context.Context, name string, max int, visibility, wait time.Duration) ([]queue.Message, error) {
	msgs, err := k.Queue.Receive(ctx, name, max, visibility, wait)
	if err != nil || len(msgs) == 0 {
		return msgs, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.receives[name]++
	if k.receives[name] == k.forced[name] || k.rnd.Float64() < k.rate {
		k.killed++
		for _, m := range msgs {
			k.dropped[m.ReceiptHandle] = true
		}
	}
	return msgs, nil
}

func (k *killer) Delete(ctx context.Context, name, receipt string) error {
	k.mu.Lock()
	drop := k.dropped[receipt]
	delete(k.dropped, receipt)
	k.mu.Unlock()
	if drop {
		return nil
	}
	return k.Queue.Delete(ctx, name, receipt)
}

// outcomes records every batch a processor was given and which of its
// messages failed.
type outcomes struct {
	mu      sync.Mutex
	batches []outcome
}

type outcome struct {
	ev     events.SQSEvent
	failed map[string]bool // nil when the whole batch failed
}

func (o *outcomes) wrap(invoke runner.JSONInvoker) runner.Invoker {
	return runner.InvokerFunc(func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		resp, err := invoke.Invoke(ctx, ev)
		oc := outcome{ev: ev}
		if err == nil {
			oc.failed = map[string]bool{}
			for _, f := range resp.BatchItemFailures {
				oc.failed[f.ItemIdentifier] = true
			}
		}
		o.mu.Lock()
		o.batches = append(o.batches, oc)
		o.mu.Unlock()
		return resp, err
	})
}

// processed returns, in order, the envelopes of every message the
// processor handled successfully (a duplicate as often as it was handled).
func (o *outcomes) processed(t *testing.T) []envelope.Envelope {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []envelope.Envelope
	for _, b := range o.batches {
		if b.failed == nil {
			continue
		}
		for _, m := range b.ev.Records {
			if b.failed[m.MessageId] {
				continue
			}
			e, err := envelope.Decode([]byte(m.Body))
			if err != nil {
				t.Fatalf("processor received %q: %v", m.Body, err)
			}
			out = append(out, e)
		}
	}
	return out
}

func (o *outcomes) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.batches)
}

// TestPipelineEndToEndWithFaults is TestPipelineEndToEnd with the built
// functions reaching SQS and DynamoDB through fault-injecting proxies:
// SendMessage answered 500 (in bursts that outlast the SDK's retries, so
// ingest answers 503 and the provider retries), DynamoDB throttled
// (ProvisionedThroughputExceededException, also in bursts that reach the
// processors: batch item failures), slowed and timed out (504 after a
// wait), and consumers "killed" after their work, before the event source
// mapping deleted the batch (the batch comes back: duplicates). The same
// invariants hold: the records equal the samples applied in order, every
// notification reaches each sink exactly once, signed, no dead letters.
// The notifications expected are those of the envelopes applied in the
// order the processors handled them (faults reorder the parts of a batch
// delivery). Each kind of fault must have fired.
//
//	make build-amd64 && HOOKSTACK_LAMBDA_BIN=$PWD/.cache/lambda-amd64 \
//	HOOKSTACK_RIE=$PWD/.cache/tools/aws-lambda-rie .ci/with-emulators \
//	go test -count=3 -run WithFaults ./shared/e2e/
//
// providerRetries is how many times the fault test's "provider" tries a
// webhook that keeps getting 503.
const providerRetries = 8

func TestPipelineEndToEndWithFaults(t *testing.T) {
	bin, emulator := binaries(t)
	began := time.Now()
	ctx := t.Context()

	sqsEndpoint, s3Endpoint, ddbEndpoint := sqstest.Endpoint(t), s3test.Endpoint(t), dynamotest.Endpoint(t)
	q, sqsClient, urls := sqstest.Queues(t, envelope.AllQueues, 5)
	s3Client, bucket := s3test.Bucket(t, s3Endpoint)
	ddb, table := dynamotest.Table(t)
	st := dynamostore.New(ddb, table, dynamostore.ListKinds(notifystore.ListedKinds...))

	// The proxies, registered before the functions so they outlive them.
	const sqsInternal = `{"__type":"InternalError","message":"injected"}`
	const ddbThrottle = `{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"injected"}`
	ingestSQS := newFaultProxy(t, sqsEndpoint, 1, &faultRule{kind: "sqs 500", ops: []string{"SendMessage"},
		rate: 0.04, maxBurst: 4, forced: 5, status: http.StatusInternalServerError, body: sqsInternal})
	workerSQS := newFaultProxy(t, sqsEndpoint, 2, &faultRule{kind: "sqs 500", ops: []string{"SendMessage", "SendMessageBatch"},
		rate: 0.02, maxBurst: 3, forced: 7, status: http.StatusInternalServerError, body: sqsInternal})
	ddbRules := func(maxBurst, forcedTo int) []*faultRule {
		return []*faultRule{
			{kind: "throttle", rate: 0.015, maxBurst: maxBurst, forced: 20, forcedTo: forcedTo, status: http.StatusBadRequest, body: ddbThrottle},
			{kind: "timeout", rate: 0.004, maxBurst: 1, forced: 30, delay: time.Second, status: http.StatusGatewayTimeout,
				body: `{"__type":"GatewayTimeout","message":"injected"}`},
			{kind: "slow", rate: 0.008, maxBurst: 1, forced: 40, delay: time.Second},
		}
	}
	// DynamoDB for the processors and the fan-out (which reads the endpoints
	// once, then from memory), and for the deliverer: bursts that outlast the
	// SDK's retries. The deliverer keeps trying to record a delivery the
	// endpoint took (its "delivered" mark is what stops a later copy of the
	// notification from being sent again).
	procDDB := newFaultProxy(t, ddbEndpoint, 3, ddbRules(3, 9)...)
	delivererDDB := newFaultProxy(t, ddbEndpoint, 6, ddbRules(3, 9)...)

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

	env := func(sqsURL, ddbURL string) []string {
		e := []string{
			"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
			"AWS_ENDPOINT_URL_SQS=" + sqsURL, "AWS_ENDPOINT_URL_S3=" + s3Endpoint, "AWS_ENDPOINT_URL_DYNAMODB=" + ddbURL,
			"HOOKSTACK_TABLE=" + table, "HOOKSTACK_CLAIM_BUCKET=" + bucket,
		}
		if v := os.Getenv("AWS_CA_BUNDLE"); v != "" {
			e = append(e, "AWS_CA_BUNDLE="+v)
		}
		for name, url := range urls {
			e = append(e, sqsq.EnvVar(name)+"="+url)
		}
		return e
	}
	provSecrets := map[string]string{}
	// Salesforce is refused without a source allowlist; the harness plays
	// API Gateway from loopback.
	ingestEnv := append(env(ingestSQS.URL, ddbEndpoint), "HOOKSTACK_ALLOW_CIDRS_SALESFORCE=127.0.0.0/8")
	for _, p := range signature.Providers {
		s, err := signature.GenerateSecret(p)
		if err != nil {
			t.Fatal(err)
		}
		provSecrets[p] = s
		ingestEnv = append(ingestEnv, secrets.EnvName(p)+"="+s)
	}
	common := env(workerSQS.URL, procDDB.URL)
	delivererEnv := append(env(workerSQS.URL, delivererDDB.URL),
		"HOOKSTACK_OUTBOUND_ALLOW_CIDRS=127.0.0.1/32", "HOOKSTACK_RETRY_SCHEDULE=1s,1s", "HOOKSTACK_DELIVERY_TIMEOUT=5s")
	fns := map[string]*rie.Function{"ingest": startFunction(t, bin, emulator, "ingest", ingestEnv)}
	for _, name := range append(slices.Clone(process.Names), "fanout") {
		fns[name] = startFunction(t, bin, emulator, name, common)
	}
	fns["deliverer"] = startFunction(t, bin, emulator, "deliverer", delivererEnv)

	gw, err := apigw.New(fns["ingest"].Invoke, "ANY /webhooks/{provider}")
	if err != nil {
		t.Fatal(err)
	}
	kill := &killer{Queue: q, rnd: rand.New(rand.NewPCG(faultSeed, 4)), rate: 0.015,
		forced:   map[string]int{envelope.QueuePayments: 2, envelope.QueueDeliveries: 3},
		receives: map[string]int{}, dropped: map[string]bool{}}
	p := &pipeline{q: q, urls: urls, store: st, gateway: httptest.NewServer(gw), secrets: provSecrets}
	t.Cleanup(p.gateway.Close)
	procRetries := 0
	p.run = &runner.Runner{Queue: kill, OnResult: func(r runner.Result) {
		switch {
		case r.Err == nil:
		case errors.Is(r.Err, runner.ErrFunction):
			p.funcErrors++
		default:
			p.retries++
			if slices.Contains(process.Names, r.Queue) {
				procRetries++
			}
		}
	}}
	recs := map[string]*outcomes{}
	for _, name := range process.Names {
		recs[name] = &outcomes{}
		invoker := recs[name].wrap(fns[name].Invoke)
		p.batched = append(p.batched, runner.Source{Queue: name, Invoker: invoker, Visibility: faultVisibility})
		p.oneByOne = append(p.oneByOne, runner.Source{Queue: name, Invoker: invoker, BatchSize: 1, Visibility: faultVisibility})
	}
	notifyStages := []runner.Source{
		{Queue: envelope.QueueNotifications, Invoker: runner.JSONInvoker(fns["fanout"].Invoke), Visibility: faultVisibility},
		{Queue: envelope.QueueDeliveries, Invoker: runner.JSONInvoker(fns["deliverer"].Invoke), Visibility: faultVisibility},
	}
	p.batched = append(p.batched, notifyStages...)
	p.oneByOne = append(p.oneByOne, notifyStages...)
	setup := time.Since(began)

	samples := orderedSamples(t)

	// Round 1: in the story's order, each webhook through the pipeline
	// before the next, the processors taking one message at a time.
	t0 := time.Now()
	sent, unavailable := p.send(t, samples, providerRetries, func() { p.drain(t, sqsClient, p.oneByOne) })
	round1 := time.Since(t0)
	p.noDeadLetters(t, sqsClient)

	// The reference: every event the processors handled successfully (the
	// first time: duplicates are expected), applied one at a time in the
	// order the webhooks were sent.
	// A second reference applies them as the processors handled them: the
	// injected faults reorder the parts of a batch delivery (HubSpot's email
	// and company changes), which changes what is notified on the way, not
	// where the records end.
	blobs := s3blob.New(s3Client, bucket)
	asHandled := newReference(t, "as-handled", blobs)
	first := map[string]envelope.Envelope{}
	handled := map[string]int{}
	var received []envelope.Envelope
	round1Batches := map[string]int{}
	for _, name := range process.Names {
		round1Batches[name] = recs[name].count()
		for _, e := range recs[name].processed(t) {
			asHandled.apply(t, name, sqsEvent(t, name, e))
			key := fmt.Sprintf("%s/%s#%d", e.Provider, e.EventID, e.Part)
			handled[e.Provider+"/"+e.EventID]++
			if _, ok := first[key]; !ok {
				first[key] = e
				received = append(received, e)
			}
		}
	}
	sort.SliceStable(received, func(i, j int) bool {
		a, b := received[i], received[j]
		ka, kb := sent.order[a.Provider+"/"+a.EventID], sent.order[b.Provider+"/"+b.EventID]
		if ka != kb {
			return ka < kb
		}
		return a.Part < b.Part
	})
	inOrder := newReference(t, "in-order", blobs)
	for _, e := range received {
		inOrder.apply(t, e.Queue, sqsEvent(t, e.Queue, e))
	}
	duplicates := 0
	var twice []string
	for key := range sent.order {
		switch n := handled[key]; {
		case n == 0:
			t.Errorf("event %s never reached its processor successfully", key)
		case n > 1:
			duplicates += n - 1
			twice = append(twice, fmt.Sprintf("%s ×%d", key, n))
		}
	}
	slices.Sort(twice)
	t.Logf("handled more than once (killed consumers, lost deletes): %s", strings.Join(twice, ", "))
	if len(handled) != len(sent.order) {
		t.Errorf("processors handled %d events, ingest accepted %d", len(handled), len(sent.order))
	}

	got := snapshot(t, st)
	sameRecords(t, "the samples applied in order", got, snapshot(t, inOrder.store))
	sameRecords(t, "the envelopes applied as the processors handled them", got, snapshot(t, asHandled.store))
	checkStory(t, got)

	expected := asHandled.out.all()
	inOrderIDs := map[string]bool{}
	for _, ev := range inOrder.out.all() {
		inOrderIDs[ev.ID] = true
	}
	for _, ev := range expected {
		if !inOrderIDs[ev.ID] {
			t.Logf("notified because the faults reordered events: %s %s (%s)", ev.Type, ev.Subject, ev.SourceEventID)
		}
	}
	// Whatever the faults reordered or repeated, each payment, subscription
	// and chat announced, by type, what the story in order announces.
	sameMilestones(t, "the notifications as handled against the story in order", milestonesBySubject(expected), milestonesBySubject(inOrder.out.all()))
	checkHTTP(t, httpSink, httpEP, expected)
	checkSlack(t, slackSink, slackEP, expected)
	httpCount, slackCount := len(httpSink.receipts()), len(slackSink.receipts())

	// Round 2: every webhook retried at once, batches of 10, faults still on:
	// nothing changes.
	t0 = time.Now()
	again, unavailable2 := p.send(t, samples, providerRetries, nil)
	if len(again.order) != len(sent.order) {
		t.Errorf("retries yielded %d events, the first sends %d", len(again.order), len(sent.order))
	}
	p.drain(t, sqsClient, p.batched)
	round2 := time.Since(t0)
	p.noDeadLetters(t, sqsClient)
	for _, name := range process.Names {
		if n := recs[name].count(); n <= round1Batches[name] {
			t.Errorf("%s got no batch in the retry round (%d before, %d after)", name, round1Batches[name], n)
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
	checkHTTP(t, httpSink, httpEP, expected)
	checkSlack(t, slackSink, slackEP, expected)
	if n := len(httpSink.receipts()); n != httpCount {
		t.Errorf("http sink: %d requests after the retries, %d before", n, httpCount)
	}
	if n := len(slackSink.receipts()); n != slackCount {
		t.Errorf("slack sink: %d messages after the retries, %d before", n, slackCount)
	}

	// The faults fired, each kind, and reached the code they test.
	fired := map[string]int{
		"ingest: SendMessage 500":                ingestSQS.injected()["sqs 500"],
		"ingest: 503 retried by the provider":    unavailable + unavailable2,
		"workers: SendMessage 500":               workerSQS.injected()["sqs 500"],
		"processors/fan-out: DynamoDB throttled": procDDB.injected()["throttle"],
		"processors/fan-out: DynamoDB timed out": procDDB.injected()["timeout"],
		"processors/fan-out: DynamoDB slow":      procDDB.injected()["slow"],
		"deliverer: DynamoDB throttled":          delivererDDB.injected()["throttle"],
		"deliverer: DynamoDB timed out":          delivererDDB.injected()["timeout"],
		"deliverer: DynamoDB slow":               delivererDDB.injected()["slow"],
		"batch item failures":                    p.retries,
		"processors: batch item failures":        procRetries,
		"consumers killed mid-batch":             kill.killed,
		"duplicate handlings":                    duplicates,
	}
	var summary []string
	for _, k := range slices.Sorted(maps.Keys(fired)) {
		summary = append(summary, fmt.Sprintf("%s %d", k, fired[k]))
		if fired[k] == 0 {
			t.Errorf("no fault of kind %q fired", k)
		}
	}
	t.Logf("%d samples, %d events, %d notifications, %d http + %d slack deliveries; faults: %s; function errors %d; "+
		"proxied calls: ingest SQS %d, workers SQS %d, DynamoDB: processors and fan-out %d, deliverer %d; timings: set-up %s, round 1 %s, round 2 %s, total %s",
		len(samples), len(sent.order), len(expected), httpCount, slackCount, strings.Join(summary, ", "), p.funcErrors,
		ingestSQS.injected()["calls"], workerSQS.injected()["calls"], procDDB.injected()["calls"], delivererDDB.injected()["calls"],
		setup.Round(time.Millisecond), round1.Round(time.Millisecond), round2.Round(time.Millisecond),
		time.Since(began).Round(time.Millisecond))
}
