package main

// End to end in the emulators: the built fanout and deliverer bootstraps
// (make build-amd64) under the Lambda Runtime Interface Emulator, driven by
// the SQS event-source loop (shared/runner) on the SQS emulator (fauxqs),
// endpoints and the delivery log in the DynamoDB emulator (dynalite), and
// local httptest sinks as the receivers.

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookstack/hookstack/shared/blob/s3blob"
	"github.com/hookstack/hookstack/shared/blob/s3blob/s3test"
	"github.com/hookstack/hookstack/shared/domain"
	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/notify"
	"github.com/hookstack/hookstack/shared/notify/notifystore"
	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/queue/sqsq"
	"github.com/hookstack/hookstack/shared/queue/sqsq/sqstest"
	"github.com/hookstack/hookstack/shared/rie"
	"github.com/hookstack/hookstack/shared/runner"
	"github.com/hookstack/hookstack/shared/signature"
	"github.com/hookstack/hookstack/shared/store/dynamostore"
	"github.com/hookstack/hookstack/shared/store/dynamostore/dynamotest"
)

// receipt is one request a sink received.
type receipt struct {
	at     time.Time
	header http.Header
	body   []byte
	status int
}

// sink is a receiver that answers 500 to its first fail requests, then 200.
type sink struct {
	*httptest.Server
	mu   sync.Mutex
	fail int
	got  []receipt
}

func newSink(t *testing.T, fail int) *sink {
	s := &sink{fail: fail}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		status := http.StatusOK
		if len(s.got) < s.fail {
			status = http.StatusInternalServerError
		}
		s.got = append(s.got, receipt{at: time.Now(), header: r.Header.Clone(), body: body, status: status})
		s.mu.Unlock()
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *sink) receipts() []receipt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]receipt(nil), s.got...)
}

func (s *sink) delivered() int {
	n := 0
	for _, r := range s.receipts() {
		if r.status == http.StatusOK {
			n++
		}
	}
	return n
}

// pipeline is the emulated deployment.
type pipeline struct {
	q         *sqsq.Queue
	endpoints *notifystore.Endpoints
	log       *notifystore.DeliveryLog
	blobs     *s3blob.Store // the claim-check bucket the deliverer reads
	bucket    string
	run       *runner.Runner
	fanout    runner.Source
	deliver   runner.Source
}

func newPipeline(t *testing.T) *pipeline {
	t.Helper()
	sqsEndpoint, dynamoEndpoint, s3Endpoint := sqstest.Endpoint(t), dynamotest.Endpoint(t), s3test.Endpoint(t)
	s3Client, bucket := s3test.Bucket(t, s3Endpoint)
	names := []string{envelope.QueueNotifications, envelope.QueueDeliveries}
	// maxReceiveCount above the schedule's 3 attempts: the deliverer, not
	// the queue, decides when a delivery is dead.
	q, _, urls := sqstest.Queues(t, names, 10)
	client, table := dynamotest.Table(t)
	st := dynamostore.New(client, table, dynamostore.ListKinds(notifystore.ListedKinds...))

	env := []string{
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"AWS_ENDPOINT_URL_SQS=" + sqsEndpoint, "AWS_ENDPOINT_URL_DYNAMODB=" + dynamoEndpoint,
		"AWS_ENDPOINT_URL_S3=" + s3Endpoint, "HOOKSTACK_CLAIM_BUCKET=" + bucket,
		"HOOKSTACK_TABLE=" + table,
		"HOOKSTACK_RETRY_SCHEDULE=1s,2s",
		"HOOKSTACK_DELIVERY_TIMEOUT=5s",
		"HOOKSTACK_OUTBOUND_ALLOW_CIDRS=127.0.0.1/32",
	}
	if v := os.Getenv("AWS_CA_BUNDLE"); v != "" {
		env = append(env, "AWS_CA_BUNDLE="+v)
	}
	for name, url := range urls {
		env = append(env, sqsq.EnvVar(name)+"="+url)
	}
	fan, del := rie.StartBuilt(t, "fanout", env), rie.StartBuilt(t, "deliverer", env)

	p := &pipeline{
		q:         q,
		endpoints: notifystore.NewEndpoints(st, &notify.Guard{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}),
		log:       notifystore.NewDeliveryLog(st),
		blobs:     s3blob.New(s3Client, bucket),
		bucket:    bucket,
		run: &runner.Runner{Queue: q, OnResult: func(r runner.Result) {
			// A retry is a batch item failure; a function error never is fine.
			if errors.Is(r.Err, runner.ErrFunction) {
				t.Errorf("%s: message %s: %v", r.Queue, r.Message.ID, r.Err)
			}
		}},
		fanout:  runner.Source{Queue: envelope.QueueNotifications, Invoker: runner.JSONInvoker(fan.Invoke), Wait: time.Second},
		deliver: runner.Source{Queue: envelope.QueueDeliveries, Invoker: runner.JSONInvoker(del.Invoke), Wait: time.Second},
	}
	return p
}

// pollUntil polls src until cond holds, failing after timeout.
func (p *pipeline) pollUntil(t *testing.T, src runner.Source, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %s", what, timeout)
		}
		if _, err := p.run.Poll(t.Context(), src); err != nil {
			t.Fatalf("poll %s: %v", src.Queue, err)
		}
	}
}

// drain polls src until a poll finds nothing; it returns how many messages
// it handled.
func (p *pipeline) drain(t *testing.T, src runner.Source) int {
	t.Helper()
	total := 0
	for range 20 {
		n, err := p.run.Poll(t.Context(), src)
		if err != nil {
			t.Fatalf("poll %s: %v", src.Queue, err)
		}
		if n == 0 {
			return total
		}
		total += n
	}
	t.Fatalf("%s did not drain", src.Queue)
	return total
}

func (p *pipeline) notify(t *testing.T, ev domain.Event) {
	t.Helper()
	body, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.q.Send(t.Context(), envelope.QueueNotifications, queue.Outgoing{Body: body}); err != nil {
		t.Fatal(err)
	}
}

func TestPipelineUnderRIE(t *testing.T) {
	p := newPipeline(t)
	ctx := t.Context()
	good, failing := newSink(t, 0), newSink(t, 3)
	epGood, err := p.endpoints.Add(ctx, notify.Endpoint{Type: notify.TypeHTTP, URL: good.URL + "/hooks", Events: []string{"payment.*"}})
	if err != nil {
		t.Fatal(err)
	}
	epFailing, err := p.endpoints.Add(ctx, notify.Endpoint{Type: notify.TypeHTTP, URL: failing.URL + "/hooks", Events: []string{"inventory.*"}})
	if err != nil {
		t.Fatal(err)
	}
	rawSink := newSink(t, 0)
	epRaw, err := p.endpoints.Add(ctx, notify.Endpoint{Type: notify.TypeHTTP, URL: rawSink.URL + "/hooks", Events: []string{"github.*"}})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("signed delivery, exactly once", func(t *testing.T) {
		ev := domain.New("payment.succeeded", "payment:pi_e2e", "stripe", "evt_e2e_1", time.Now().Add(-time.Second),
			map[string]any{"id": "pi_e2e", "amount": 2000, "currency": "usd"})
		p.notify(t, ev)
		p.drain(t, p.fanout)
		p.pollUntil(t, p.deliver, 20*time.Second, "delivery to the good sink", func() bool { return len(good.receipts()) >= 1 })

		r := good.receipts()[0]
		wantID := notify.DeliveryID(ev.ID, epGood.ID)
		if got := r.header.Get("Webhook-Id"); got != wantID {
			t.Fatalf("webhook-id = %q, want the delivery id %q", got, wantID)
		}
		verifier, _, _ := signature.For("standard", signature.Options{})
		req := &signature.Request{Method: http.MethodPost, URL: good.URL + "/hooks", Header: r.header, Body: r.body}
		if err := verifier.Verify(req, epGood.Secrets, time.Now()); err != nil {
			t.Fatalf("signature does not verify with the endpoint secret: %v", err)
		}
		if err := verifier.Verify(req, []string{notify.NewSecret()}, time.Now()); err == nil {
			t.Fatal("signature verifies with a random secret")
		}
		var payload struct {
			Type      string          `json:"type"`
			Timestamp time.Time       `json:"timestamp"`
			Data      json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(r.body, &payload); err != nil || payload.Type != "payment.succeeded" || !strings.Contains(string(payload.Data), `"pi_e2e"`) {
			t.Fatalf("body %s: %v", r.body, err)
		}
		if ua := r.header.Get("User-Agent"); !strings.HasPrefix(ua, "Hookstack/") {
			t.Errorf("User-Agent = %q", ua)
		}

		// The same event again (a processor's retried send): the fan-out
		// yields the same delivery id, the deliverer sends nothing.
		p.notify(t, ev)
		p.drain(t, p.fanout)
		if n := p.drain(t, p.deliver); n != 1 {
			t.Fatalf("deliverer handled %d messages for the duplicate, want 1", n)
		}
		if n := len(good.receipts()); n != 1 {
			t.Fatalf("good sink received %d requests, want exactly 1", n)
		}
		if n := len(failing.receipts()); n != 0 {
			t.Fatalf("the inventory endpoint got %d payment requests", n)
		}
		attempts, err := p.log.List(ctx, ev.ID, epGood.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(attempts) != 1 || attempts[0].Outcome != notify.LogDelivered || attempts[0].StatusCode != 200 || attempts[0].DeliveryID != wantID {
			t.Fatalf("delivery log = %+v, want one delivered attempt", attempts)
		}
	})

	t.Run("retries on schedule, DLQ, redrive, delivered once", func(t *testing.T) {
		ev := domain.New("inventory.low_stock", "inventory:4914", "shopify", "evt_e2e_2", time.Now().Add(-time.Second),
			map[string]any{"inventory_item_id": "4914", "available": 2})
		wantID := notify.DeliveryID(ev.ID, epFailing.ID)
		p.notify(t, ev)
		p.drain(t, p.fanout)

		// Three attempts (1 + the two steps of 1s,2s), all answered 500.
		p.pollUntil(t, p.deliver, 30*time.Second, "three attempts", func() bool { return len(failing.receipts()) >= 3 })
		got := failing.receipts()
		gaps := []time.Duration{got[1].at.Sub(got[0].at), got[2].at.Sub(got[1].at)}
		// Steps with ±20% jitter, rounded up to whole seconds: 1s and 2s.
		// The upper bound shows the visibility came from the schedule, not
		// from the runner's 30 s default.
		for i, min := range []time.Duration{900 * time.Millisecond, 1800 * time.Millisecond} {
			if gaps[i] < min || gaps[i] > 8*time.Second {
				t.Errorf("gap before attempt %d = %s, want about step %d of the schedule", i+2, gaps[i], i+1)
			}
		}
		t.Logf("attempt gaps %v", gaps)
		for _, r := range got {
			if r.header.Get("Webhook-Id") != wantID {
				t.Fatalf("retry with webhook-id %q, want the same %q", r.header.Get("Webhook-Id"), wantID)
			}
		}

		// Dead-lettered with the reason after the last attempt.
		dlq := queue.DLQ(envelope.QueueDeliveries)
		var dead []queue.Message
		deadline := time.Now().Add(10 * time.Second)
		for len(dead) == 0 && time.Now().Before(deadline) {
			dead, err = p.q.Receive(ctx, dlq, 10, 2*time.Second, time.Second)
			if err != nil {
				t.Fatal(err)
			}
		}
		if len(dead) != 1 {
			t.Fatalf("deliveries DLQ has %d messages, want 1", len(dead))
		}
		a := dead[0].Attributes
		if !strings.HasPrefix(a[queue.AttrReason], notify.ReasonExhausted) || !strings.Contains(a[queue.AttrReason], "500") ||
			a[notify.AttrEndpointID] != epFailing.ID || a[notify.AttrDeliveryID] != wantID || a[notify.AttrAttempts] != "3" ||
			a[notify.AttrEventType] != "inventory.low_stock" {
			t.Fatalf("dead-letter attributes = %v", a)
		}
		if err := p.q.ChangeVisibility(ctx, dlq, dead[0].ReceiptHandle, 0); err != nil {
			t.Fatal(err)
		}
		if n := len(failing.receipts()); n != 3 {
			t.Fatalf("%d requests after the last attempt, want 3", n)
		}

		// Redrive: a fresh message, a fresh schedule; the sink now answers 200.
		moved, err := p.q.Redrive(ctx, dlq, envelope.QueueDeliveries)
		if err != nil || moved != 1 {
			t.Fatalf("redrive moved %d: %v", moved, err)
		}
		p.pollUntil(t, p.deliver, 20*time.Second, "delivery after redrive", func() bool { return failing.delivered() >= 1 })

		// Redelivered again (a second redrive, an SQS duplicate): not sent.
		if _, err := p.q.Send(ctx, envelope.QueueDeliveries, queue.Outgoing{Body: dead[0].Body}); err != nil {
			t.Fatal(err)
		}
		p.drain(t, p.deliver)
		if n, ok := len(failing.receipts()), failing.delivered(); n != 4 || ok != 1 {
			t.Fatalf("sink saw %d requests, %d successful; want 4 and exactly 1", n, ok)
		}
		if left, _ := p.q.Receive(ctx, dlq, 10, time.Second, 0); len(left) != 0 {
			t.Fatalf("DLQ still holds %d messages", len(left))
		}

		attempts, err := p.log.List(ctx, ev.ID, epFailing.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		var outcomes []string
		for _, at := range attempts {
			outcomes = append(outcomes, at.Outcome)
		}
		want := []string{notify.LogDelivered, notify.LogFailed, notify.LogRetry, notify.LogRetry}
		if strings.Join(outcomes, ",") != strings.Join(want, ",") {
			t.Fatalf("delivery log outcomes (newest first) = %v, want %v", outcomes, want)
		}
		if next := attempts[3].NextAttemptAt; next.IsZero() || next.Before(attempts[3].AttemptedAt) {
			t.Errorf("retry record without a next attempt time: %+v", attempts[3])
		}
	})
	// A raw forward too large for a queue message reaches the fan-out
	// without data and with data_ref (shared/process); the deliverer reads
	// the body from the claim-check bucket and sends the data a small
	// forward would have carried. A body that is gone is dead-lettered
	// with the reason.
	t.Run("large raw forward: data from the claim-check body", func(t *testing.T) {
		body := []byte(`{"ref":"refs/heads/main","commits":[{"id":"c1","message":"fix <things> & more"}],"pad":"` + strings.Repeat("x", 4096) + `"}`)
		ref, err := p.blobs.Put(ctx, "bodies/github/01JRIEBIGPUSH0000000000000", body)
		if err != nil {
			t.Fatal(err)
		}
		ev := domain.Raw("github", "d-rie-big", "push", time.Now().Add(-time.Second), nil)
		p.notifyRef(t, ev, ref)
		p.drain(t, p.fanout)
		p.pollUntil(t, p.deliver, 20*time.Second, "large forward delivered", func() bool { return rawSink.delivered() >= 1 })
		var payload struct {
			Type string          `json:"type"`
			Data json.RawMessage `json:"data"`
		}
		r := rawSink.receipts()[0]
		want, _ := json.Marshal(json.RawMessage(body))
		if err := json.Unmarshal(r.body, &payload); err != nil || payload.Type != "github.push" || string(payload.Data) != string(want) {
			t.Fatalf("payload %.200s (%v): want the body as data", r.body, err)
		}

		gone := domain.Raw("github", "d-rie-gone", "push", time.Now().Add(-time.Second), nil)
		p.notifyRef(t, gone, "s3://"+p.bucket+"/bodies/github/none")
		p.drain(t, p.fanout)
		p.drain(t, p.deliver)
		dead, err := p.q.Receive(ctx, queue.DLQ(envelope.QueueDeliveries), 10, 30*time.Second, 2*time.Second)
		if err != nil || len(dead) != 1 {
			t.Fatalf("deliveries DLQ: %d messages, %v; want the delivery without its body", len(dead), err)
		}
		if a := dead[0].Attributes; !strings.HasPrefix(a[queue.AttrReason], notify.ReasonDataMissing) || a[notify.AttrEndpointID] != epRaw.ID {
			t.Fatalf("dead-letter attributes %v", a)
		}
		if n := len(rawSink.receipts()); n != 1 {
			t.Fatalf("raw sink received %d requests, want 1", n)
		}
	})
}

// notifyRef sends ev as the processors send a raw forward too large for a
// queue message: without data, with the data_ref attribute.
func (p *pipeline) notifyRef(t *testing.T, ev domain.Event, ref string) {
	t.Helper()
	ev.Data = nil
	body, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.q.Send(t.Context(), envelope.QueueNotifications, queue.Outgoing{Body: body, Attributes: map[string]string{notify.AttrDataRef: ref}}); err != nil {
		t.Fatal(err)
	}
}
