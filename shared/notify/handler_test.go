package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hookstack/hookstack/shared/domain"
	"github.com/hookstack/hookstack/shared/queue"
)

// fakeQueue records what the handlers do with queues.
type fakeQueue struct {
	mu         sync.Mutex
	sent       map[string][]queue.Outgoing
	visibility map[string]time.Duration // receipt → last delay
	deleted    []string
	failSend   error
}

func newFakeQueue() *fakeQueue {
	return &fakeQueue{sent: map[string][]queue.Outgoing{}, visibility: map[string]time.Duration{}}
}

func (q *fakeQueue) Send(_ context.Context, name string, m queue.Outgoing) (string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.failSend != nil {
		return "", q.failSend
	}
	q.sent[name] = append(q.sent[name], m)
	return fmt.Sprintf("m%d", len(q.sent[name])), nil
}

func (q *fakeQueue) ChangeVisibility(_ context.Context, _ string, receipt string, d time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.visibility[receipt] = d
	return nil
}

func (q *fakeQueue) Delete(_ context.Context, _ string, receipt string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.deleted = append(q.deleted, receipt)
	return nil
}

// fakeLog is an in-memory DeliveryLog.
type fakeLog struct {
	mu       sync.Mutex
	attempts []Attempt
	err      error
}

func (l *fakeLog) Record(_ context.Context, a Attempt) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.attempts = append(l.attempts, a)
	return nil
}

func (l *fakeLog) Delivered(_ context.Context, id string) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return false, l.err
	}
	for _, a := range l.attempts {
		if a.DeliveryID == id && a.Outcome == LogDelivered {
			return true, nil
		}
	}
	return false, nil
}

func (l *fakeLog) last(t *testing.T) Attempt {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.attempts) == 0 {
		t.Fatal("nothing recorded")
	}
	return l.attempts[len(l.attempts)-1]
}

// fakeStore is the endpoint store: source, lookup and disabler.
type fakeStore struct {
	mu    sync.Mutex
	eps   map[string]Endpoint
	order []string
	err   error
	lists int
}

func newFakeStore(eps ...Endpoint) *fakeStore {
	s := &fakeStore{eps: map[string]Endpoint{}}
	for _, ep := range eps {
		s.eps[ep.ID] = ep
		s.order = append(s.order, ep.ID)
	}
	return s
}

func (s *fakeStore) Endpoints(context.Context) ([]Endpoint, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lists++
	if s.err != nil {
		return nil, s.err
	}
	var out []Endpoint
	for _, id := range s.order {
		if ep, ok := s.eps[id]; ok {
			out = append(out, ep)
		}
	}
	return out, nil
}

func (s *fakeStore) DisableEndpoint(_ context.Context, id, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ep := s.eps[id]
	ep.Enabled, ep.DisabledReason = false, reason
	s.eps[id] = ep
	return nil
}

func notification(t *testing.T, ev domain.Event) queue.Message {
	return queue.Message{ID: "n1", ReceiptHandle: "rn1", Body: mustJSON(t, ev), ReceiveCount: 1}
}

func TestFanOutHandler(t *testing.T) {
	store := newFakeStore(
		Endpoint{ID: "ep_a", Type: TypeHTTP, Events: []string{"payment.*"}, Enabled: true},
		Endpoint{ID: "ep_b", Type: TypeSlack, Events: []string{"*"}, Enabled: true},
		Endpoint{ID: "ep_c", Type: TypeHTTP, Events: []string{"inventory.*"}, Enabled: true},
		Endpoint{ID: "ep_d", Type: TypeHTTP, Events: []string{"*"}, Enabled: false},
	)
	q := newFakeQueue()
	h := &FanOutHandler{Endpoints: CachedEndpoints(store, time.Minute), Queue: q, Now: func() time.Time { return fixedNow }}
	ev := event(t, "payment.succeeded", samplePayment)
	for range 2 { // a redelivered notification yields the same deliveries
		if err := h.Handle(context.Background(), notification(t, ev)); err != nil {
			t.Fatal(err)
		}
	}
	sent := q.sent["deliveries"]
	if len(sent) != 4 {
		t.Fatalf("sent %d deliveries, want 2 endpoints × 2 runs", len(sent))
	}
	var ids []string
	for _, m := range sent {
		var d Delivery
		if err := json.Unmarshal(m.Body, &d); err != nil {
			t.Fatal(err)
		}
		if d.Event.ID != ev.ID || d.EventID != ev.ID || !d.FirstAttemptAt.Equal(fixedNow) || d.ID != DeliveryID(ev.ID, d.EndpointID) {
			t.Errorf("delivery %+v", d)
		}
		ids = append(ids, d.EndpointID+"="+d.ID)
	}
	if ids[0] != ids[2] || ids[1] != ids[3] || !strings.HasPrefix(ids[0], "ep_a=") || !strings.HasPrefix(ids[1], "ep_b=") {
		t.Errorf("delivery ids not stable: %v", ids)
	}
	if store.lists != 1 {
		t.Errorf("store listed %d times, want 1 (cached)", store.lists)
	}

	t.Run("malformed goes to the notifications DLQ", func(t *testing.T) {
		q := newFakeQueue()
		h := &FanOutHandler{Endpoints: store, Queue: q}
		for _, body := range []string{"{", `{"type":"x"}`} {
			if err := h.Handle(context.Background(), queue.Message{ID: "bad", Body: []byte(body)}); err != nil {
				t.Fatal(err)
			}
		}
		dlq := q.sent["notifications-dlq"]
		if len(dlq) != 2 || !strings.HasPrefix(dlq[0].Attributes[queue.AttrReason], "malformed notification") || string(dlq[0].Body) != "{" {
			t.Errorf("dlq %+v", dlq)
		}
	})
	t.Run("store down keeps the message", func(t *testing.T) {
		h := &FanOutHandler{Endpoints: &fakeStore{err: errors.New("throttled")}, Queue: newFakeQueue()}
		msgs := []queue.Message{notification(t, ev)}
		if failed := h.HandleBatch(context.Background(), msgs); len(failed) != 1 || failed[0] != "n1" {
			t.Errorf("failed %v", failed)
		}
	})
	t.Run("send failure keeps the message", func(t *testing.T) {
		q := newFakeQueue()
		q.failSend = errors.New("sqs down")
		h := &FanOutHandler{Endpoints: store, Queue: q}
		if err := h.Handle(context.Background(), notification(t, ev)); err == nil {
			t.Error("send failure not reported")
		}
	})
}

// deliverEnv wires a DeliverHandler to fakes and a local HTTP server whose
// answers the test scripts.
type deliverEnv struct {
	h     *DeliverHandler
	q     *fakeQueue
	log   *fakeLog
	store *fakeStore
	ep    Endpoint
	hits  int
	mu    sync.Mutex
	reply func(n int, w http.ResponseWriter)
}

func newDeliverEnv(t *testing.T, schedule Schedule) *deliverEnv {
	e := &deliverEnv{q: newFakeQueue(), log: &fakeLog{}}
	srv := server(t, func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.hits++
		n := e.hits
		e.mu.Unlock()
		e.reply(n, w)
	})
	e.ep = httpEndpoint(srv.URL, NewSecret())
	e.store = newFakeStore(e.ep)
	dl := testDeliverer(t)
	dl.Schedule = schedule
	e.h = &DeliverHandler{Deliverer: dl, Endpoints: CachedEndpoints(e.store, time.Minute), Disabler: e.store, Log: e.log, Queue: e.q,
		Now: func() time.Time { return fixedNow }}
	return e
}

func (e *deliverEnv) message(t *testing.T, ev domain.Event, receive int) queue.Message {
	d := FanOut(ev, []Endpoint{e.ep})[0]
	return queue.Message{ID: fmt.Sprintf("d%d", receive), ReceiptHandle: fmt.Sprintf("r%d", receive), Body: mustJSON(t, d), ReceiveCount: receive}
}

func TestDeliverHandler500Then200(t *testing.T) {
	e := newDeliverEnv(t, DefaultSchedule())
	e.reply = func(n int, w http.ResponseWriter) {
		if n == 1 {
			w.WriteHeader(500)
		}
	}
	ev := event(t, "payment.succeeded", samplePayment)
	ctx := context.Background()
	if err := e.h.Handle(ctx, e.message(t, ev, 1)); !errors.Is(err, ErrRetryScheduled) {
		t.Fatalf("first receive: %v, want ErrRetryScheduled", err)
	}
	if e.q.visibility["r1"] != 5*time.Second {
		t.Errorf("visibility %s, want the first step 5s", e.q.visibility["r1"])
	}
	a := e.log.last(t)
	if a.Outcome != LogRetry || a.Attempt != 1 || a.StatusCode != 500 || !a.NextAttemptAt.Equal(fixedNow.Add(5*time.Second)) || !a.ExpiresAt.Equal(fixedNow.Add(30*24*time.Hour)) {
		t.Errorf("attempt 1 record %+v", a)
	}
	if err := e.h.Handle(ctx, e.message(t, ev, 2)); err != nil {
		t.Fatalf("second receive: %v", err)
	}
	if a := e.log.last(t); a.Outcome != LogDelivered || a.Attempt != 2 || a.StatusCode != 200 || a.NotificationID != ev.ID || a.EndpointID != e.ep.ID || a.EventType != ev.Type {
		t.Errorf("attempt 2 record %+v", a)
	}
	// The same message once more (a duplicate or a failed delete): not sent.
	if err := e.h.Handle(ctx, e.message(t, ev, 3)); err != nil || e.hits != 2 {
		t.Errorf("redelivery: %v, endpoint hit %d times, want 2", err, e.hits)
	}
	if len(e.q.sent) != 0 {
		t.Errorf("sent %v", e.q.sent)
	}
}

func TestDeliverHandlerExhaustedGoesToDLQ(t *testing.T) {
	e := newDeliverEnv(t, Schedule{time.Second, 2 * time.Second})
	e.reply = func(_ int, w http.ResponseWriter) { w.WriteHeader(503) }
	ev := event(t, "payment.failed", samplePayment)
	for receive, want := range []error{ErrRetryScheduled, ErrRetryScheduled, nil} {
		m := e.message(t, ev, receive+1)
		err := e.h.Handle(context.Background(), m)
		if !errors.Is(err, want) || (want == nil && err != nil) {
			t.Fatalf("receive %d: %v, want %v", receive+1, err, want)
		}
	}
	if e.q.visibility["r1"] != time.Second || e.q.visibility["r2"] != 2*time.Second {
		t.Errorf("visibility %v", e.q.visibility)
	}
	dlq := e.q.sent["deliveries-dlq"]
	if len(dlq) != 1 {
		t.Fatalf("dlq %+v", e.q.sent)
	}
	attrs := dlq[0].Attributes
	if !strings.HasPrefix(attrs[queue.AttrReason], "retries exhausted") || attrs[AttrEndpointID] != e.ep.ID || attrs[AttrEventType] != "payment.failed" || attrs[AttrAttempts] != "3" || attrs[AttrDeliveryID] == "" {
		t.Errorf("dlq attributes %v", attrs)
	}
	if a := e.log.last(t); a.Outcome != LogFailed || a.Attempt != 3 || a.Reason != ReasonExhausted {
		t.Errorf("record %+v", a)
	}
}

func TestDeliverHandlerPermanent(t *testing.T) {
	for name, status := range map[string]int{"400": 400, "302": 302} {
		t.Run(name, func(t *testing.T) {
			e := newDeliverEnv(t, DefaultSchedule())
			e.reply = func(_ int, w http.ResponseWriter) {
				w.Header().Set("Location", "http://elsewhere.example/")
				w.WriteHeader(status)
			}
			if err := e.h.Handle(context.Background(), e.message(t, event(t, "payment.failed", samplePayment), 1)); err != nil {
				t.Fatal(err)
			}
			if dlq := e.q.sent["deliveries-dlq"]; len(dlq) != 1 || len(e.q.visibility) != 0 || e.hits != 1 {
				t.Errorf("dlq %v visibility %v hits %d", dlq, e.q.visibility, e.hits)
			}
		})
	}
	t.Run("blocked address", func(t *testing.T) {
		e := newDeliverEnv(t, DefaultSchedule())
		e.reply = func(int, http.ResponseWriter) { t.Error("blocked endpoint reached") }
		e.h.Deliverer.Client = NewClient(&Guard{}, nil)
		if err := e.h.Handle(context.Background(), e.message(t, event(t, "payment.failed", samplePayment), 1)); err != nil {
			t.Fatal(err)
		}
		if dlq := e.q.sent["deliveries-dlq"]; len(dlq) != 1 || !strings.HasPrefix(dlq[0].Attributes[queue.AttrReason], "blocked address") {
			t.Errorf("dlq %+v", dlq)
		}
	})
}

func TestDeliverHandler410DisablesAndDrops(t *testing.T) {
	e := newDeliverEnv(t, DefaultSchedule())
	e.reply = func(_ int, w http.ResponseWriter) { w.WriteHeader(410) }
	ctx := context.Background()
	if err := e.h.Handle(ctx, e.message(t, event(t, "payment.failed", samplePayment), 1)); err != nil {
		t.Fatal(err)
	}
	if ep := e.store.eps[e.ep.ID]; ep.Enabled || !strings.Contains(ep.DisabledReason, "410") {
		t.Fatalf("endpoint after 410: %+v", ep)
	}
	if a := e.log.last(t); a.Outcome != LogDisabled || a.StatusCode != 410 {
		t.Errorf("record %+v", a)
	}
	// A pending delivery of another event to the same endpoint is dropped
	// with the reason, not sent and not dead-lettered.
	other := event(t, "payment.succeeded", samplePayment)
	other.ID = "evt_2:payment.succeeded"
	if err := e.h.Handle(ctx, e.message(t, other, 1)); err != nil {
		t.Fatal(err)
	}
	if a := e.log.last(t); a.Outcome != LogDropped || !strings.Contains(a.Reason, "endpoint disabled: 410") {
		t.Errorf("record %+v", a)
	}
	if e.hits != 1 || len(e.q.sent) != 0 {
		t.Errorf("hits %d, sent %v", e.hits, e.q.sent)
	}
}

func TestDeliverHandlerDrops(t *testing.T) {
	ctx := context.Background()
	t.Run("removed endpoint", func(t *testing.T) {
		e := newDeliverEnv(t, DefaultSchedule())
		var logs bytes.Buffer
		e.h.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
		e.reply = func(int, http.ResponseWriter) { t.Error("sent") }
		m := e.message(t, event(t, "payment.failed", samplePayment), 1)
		delete(e.store.eps, e.ep.ID)
		if err := e.h.Handle(ctx, m); err != nil {
			t.Fatal(err)
		}
		if a := e.log.last(t); a.Outcome != LogDropped || a.Reason != "endpoint removed" {
			t.Errorf("record %+v", a)
		}
		// hookstack tail --stack --type reads the type from this line.
		if !strings.Contains(logs.String(), `"msg":"delivery dropped"`) || !strings.Contains(logs.String(), `"event_type":"payment.failed"`) ||
			!strings.Contains(logs.String(), `"attempt":1`) {
			t.Errorf("drop log line without its event type or attempt: %s", logs.String())
		}
	})
	t.Run("unsubscribed since the fan-out", func(t *testing.T) {
		e := newDeliverEnv(t, DefaultSchedule())
		e.reply = func(int, http.ResponseWriter) { t.Error("sent") }
		m := e.message(t, event(t, "payment.failed", samplePayment), 1)
		ep := e.store.eps[e.ep.ID]
		ep.Events = []string{"inventory.*"}
		e.store.eps[e.ep.ID] = ep
		if err := e.h.Handle(ctx, m); err != nil {
			t.Fatal(err)
		}
		if a := e.log.last(t); a.Outcome != LogDropped {
			t.Errorf("record %+v", a)
		}
	})
	t.Run("malformed message", func(t *testing.T) {
		e := newDeliverEnv(t, DefaultSchedule())
		if err := e.h.Handle(ctx, queue.Message{ID: "x", Body: []byte(`{"id":""}`)}); err != nil {
			t.Fatal(err)
		}
		if dlq := e.q.sent["deliveries-dlq"]; len(dlq) != 1 || !strings.HasPrefix(dlq[0].Attributes[queue.AttrReason], "malformed delivery") {
			t.Errorf("dlq %+v", dlq)
		}
	})
	t.Run("log down keeps the message unsent", func(t *testing.T) {
		e := newDeliverEnv(t, DefaultSchedule())
		e.reply = func(int, http.ResponseWriter) { t.Error("sent without the dedup check") }
		e.log.err = errors.New("dynamodb throttled")
		err := e.h.Handle(ctx, e.message(t, event(t, "payment.failed", samplePayment), 1))
		if err == nil || errors.Is(err, ErrRetryScheduled) {
			t.Errorf("err %v", err)
		}
	})
}

func TestDeliverHandlerRetryAfterCappedBelowSQSLimit(t *testing.T) {
	e := newDeliverEnv(t, DefaultSchedule())
	e.reply = func(_ int, w http.ResponseWriter) {
		w.Header().Set("Retry-After", "999999")
		w.WriteHeader(429)
	}
	if err := e.h.Handle(context.Background(), e.message(t, event(t, "payment.failed", samplePayment), 1)); !errors.Is(err, ErrRetryScheduled) {
		t.Fatal(err)
	}
	d := e.q.visibility["r1"]
	if d > 12*time.Hour-time.Minute || d < 12*time.Hour-2*time.Minute {
		t.Errorf("visibility %s: want just under SQS's 12h", d)
	}
}

func TestDeliverHandleSQSAndDeleteDone(t *testing.T) {
	e := newDeliverEnv(t, DefaultSchedule())
	e.reply = func(int, http.ResponseWriter) {} // 200
	failing := server(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) })
	failEP := httpEndpoint(failing.URL, NewSecret())
	failEP.ID = "ep_fail"
	e.store.eps[failEP.ID] = failEP
	e.store.order = append(e.store.order, failEP.ID)
	ok := FanOut(event(t, "payment.succeeded", samplePayment), []Endpoint{e.ep})[0]
	bad := FanOut(event(t, "payment.failed", samplePayment), []Endpoint{failEP})[0]
	ev := events.SQSEvent{Records: []events.SQSMessage{
		{MessageId: "ok", ReceiptHandle: "r-ok", Body: string(mustJSON(t, ok)), Attributes: map[string]string{"ApproximateReceiveCount": "4"}},
		{MessageId: "bad", ReceiptHandle: "r-bad", Body: string(mustJSON(t, bad)), Attributes: map[string]string{"ApproximateReceiveCount": "1"}},
	}}

	resp, err := e.h.HandleSQS(context.Background(), ev)
	if err != nil || len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "bad" {
		t.Fatalf("response %+v, %v", resp, err)
	}
	var sawAttempt4 bool
	for _, a := range e.log.attempts {
		if a.Outcome == LogDelivered && a.Attempt == 4 {
			sawAttempt4 = true
		}
	}
	if !sawAttempt4 {
		t.Errorf("attempt number not taken from ApproximateReceiveCount: %+v", e.log.attempts)
	}
	msgs := FromSQS(ev)
	if err := DeleteDone(context.Background(), e.q, "deliveries", msgs, []string{"bad"}); err != nil {
		t.Fatal(err)
	}
	if len(e.q.deleted) != 1 || e.q.deleted[0] != "r-ok" {
		t.Errorf("deleted %v", e.q.deleted)
	}
}

func TestEndpointCache(t *testing.T) {
	store := newFakeStore(Endpoint{ID: "a", Enabled: true})
	now := fixedNow
	c := CachedEndpoints(store, time.Minute)
	c.Now = func() time.Time { return now }
	ctx := context.Background()
	for range 3 {
		if _, err := c.Endpoints(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Endpoint(ctx, "a"); err != nil || store.lists != 1 {
		t.Fatalf("lists %d, %v", store.lists, err)
	}
	if _, err := c.Endpoint(ctx, "nope"); !errors.Is(err, ErrEndpointNotFound) {
		t.Errorf("missing endpoint: %v", err)
	}
	now = now.Add(time.Minute)
	c.Endpoints(ctx)
	if store.lists != 2 {
		t.Errorf("not refreshed after the TTL: %d lists", store.lists)
	}
	c.Invalidate()
	c.Endpoints(ctx)
	if store.lists != 3 {
		t.Errorf("not refreshed after Invalidate: %d lists", store.lists)
	}
	store.err = errors.New("down")
	c.Invalidate()
	if _, err := c.Endpoints(ctx); err == nil {
		t.Error("error not returned")
	}
}

func TestFanOutPure(t *testing.T) {
	ev := event(t, "inventory.low_stock", nil)
	eps := []Endpoint{
		{ID: "a", Events: []string{"inventory.*"}, Enabled: true},
		{ID: "a", Events: []string{"*"}, Enabled: true}, // duplicate id
		{ID: "b", Events: []string{"payment.*"}, Enabled: true},
		{ID: "c", Events: []string{"*"}, Enabled: false},
		{ID: "", Events: []string{"*"}, Enabled: true},
	}
	ds := FanOut(ev, eps)
	if len(ds) != 1 || ds[0].EndpointID != "a" || ds[0].ID != DeliveryID(ev.ID, "a") {
		t.Fatalf("deliveries %+v", ds)
	}
	if DeliveryID("e1", "a") == DeliveryID("e1", "b") || DeliveryID("e1", "a") == DeliveryID("e2", "a") {
		t.Error("ids collide")
	}
	if got := DeliveryID("evt_1:payment.succeeded", "ep_1"); got != DeliveryID("evt_1:payment.succeeded", "ep_1") || len(got) != 30 || strings.ToLower(got) != got {
		t.Errorf("id %q", got)
	}
}

// Two copies of one delivery in the same batch are sent once: the copies run
// one after the other, and the second finds the first recorded as delivered.
func TestDeliverHandlerDuplicateInOneBatchSentOnce(t *testing.T) {
	e := newDeliverEnv(t, DefaultSchedule())
	e.reply = func(int, http.ResponseWriter) {}
	ev := event(t, "payment.succeeded", samplePayment)
	a, b := e.message(t, ev, 1), e.message(t, ev, 1)
	b.ID, b.ReceiptHandle = "copy", "r-copy"
	for i := 0; i < 20; i++ { // the race showed in a few runs out of ten
		e.log = &fakeLog{}
		e.h.Log = e.log
		e.hits = 0
		if failed := e.h.HandleBatch(context.Background(), []queue.Message{a, b}); len(failed) != 0 {
			t.Fatalf("failed %v", failed)
		}
		if e.hits != 1 {
			t.Fatalf("run %d: endpoint hit %d times, want 1", i, e.hits)
		}
	}
}

// Every attempt's log line carries the CloudWatch EMF metrics the dashboard
// reads: DeliveriesSucceeded / DeliveriesFailed / DeliveryLatency, no dimensions.
func TestDeliverHandlerEmitsEMFMetrics(t *testing.T) {
	e := newDeliverEnv(t, DefaultSchedule())
	var buf bytes.Buffer
	e.h.Logger = slog.New(slog.NewJSONHandler(&buf, nil))
	e.reply = func(n int, w http.ResponseWriter) {
		if n == 1 {
			w.WriteHeader(503)
		}
	}
	ev := event(t, "payment.succeeded", samplePayment)
	_ = e.h.Handle(context.Background(), e.message(t, ev, 1))
	_ = e.h.Handle(context.Background(), e.message(t, ev, 2))
	var lines []map[string]any
	for _, l := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatalf("log line %s: %v", l, err)
		}
		lines = append(lines, m)
	}
	var failed, succeeded bool
	for _, m := range lines {
		aws, ok := m["_aws"].(map[string]any)
		if !ok {
			continue
		}
		d := aws["CloudWatchMetrics"].([]any)[0].(map[string]any)
		if d["Namespace"] != "Hookstack" || fmt.Sprint(d["Dimensions"]) != "[[]]" {
			t.Fatalf("directive %v", d)
		}
		if m["DeliveriesFailed"] == float64(1) && m["msg"] == "retry scheduled" {
			failed = true
		}
		if m["DeliveriesSucceeded"] == float64(1) && m["msg"] == "delivered" {
			if _, ok := m["DeliveryLatency"].(float64); !ok {
				t.Fatalf("no latency in %v", m)
			}
			succeeded = true
		}
	}
	if !failed || !succeeded {
		t.Fatalf("metrics missing (failed %v, succeeded %v): %s", failed, succeeded, buf.String())
	}
}

// flakyLog fails its first `fail` Record calls (a throttled table).
type flakyLog struct {
	*fakeLog
	fail int
}

func (l *flakyLog) Record(ctx context.Context, a Attempt) error {
	l.mu.Lock()
	if l.fail > 0 {
		l.fail--
		l.mu.Unlock()
		return errors.New("ProvisionedThroughputExceededException")
	}
	l.mu.Unlock()
	return l.fakeLog.Record(ctx, a)
}

// A success is recorded even when the log is briefly unavailable, so the
// same message coming back is not sent a second time.
func TestDeliverHandlerRetriesRecordingASuccess(t *testing.T) {
	e := newDeliverEnv(t, DefaultSchedule())
	e.reply = func(int, http.ResponseWriter) {}
	flaky := &flakyLog{fakeLog: e.log, fail: 3}
	e.h.Log = flaky
	ev := event(t, "payment.succeeded", samplePayment)
	if err := e.h.Handle(context.Background(), e.message(t, ev, 1)); err != nil {
		t.Fatal(err)
	}
	if err := e.h.Handle(context.Background(), e.message(t, ev, 2)); err != nil || e.hits != 1 {
		t.Fatalf("redelivery: %v, endpoint hit %d times, want 1", err, e.hits)
	}
}
