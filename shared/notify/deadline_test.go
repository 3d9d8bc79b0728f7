package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookstack/hookstack/shared/queue"
)

const testDeadline = 600 * time.Millisecond

// withDeadline runs f under a context ending in testDeadline and fails the
// test when f returns after it.
func withDeadline(t *testing.T, f func(ctx context.Context) []string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	defer cancel()
	start := time.Now()
	failed := f(ctx)
	if took := time.Since(start); took >= testDeadline {
		t.Errorf("returned after %s, not before the %s deadline", took, testDeadline)
	}
	slices.Sort(failed)
	return failed
}

// The deliverer stops a margin before its deadline: an HTTP attempt hung
// until cancelled is cut and is no attempt (nothing recorded, no retry
// delay, not dead-lettered even on its last step), a copy behind it is not
// started, and the batchmates are delivered and acknowledged.
func TestDeliverBatchStopsBeforeDeadline(t *testing.T) {
	tests := []struct {
		name       string
		schedule   Schedule
		receive    int  // receive count of the hung delivery
		copyOfHung bool // a second copy of the hung delivery in the batch
		wantFailed []string
	}{
		{"hung attempt cut, batchmate delivered", DefaultSchedule(), 1, false, []string{"hung"}},
		{"hung attempt on the last step is not exhausted", Schedule{time.Second}, 2, false, []string{"hung"}},
		{"a copy behind the hung attempt is not started", DefaultSchedule(), 1, true, []string{"hung", "hung-copy"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			release := make(chan struct{})
			defer close(release)
			var slowHits atomic.Int32
			slow := server(t, func(w http.ResponseWriter, r *http.Request) {
				slowHits.Add(1)
				select { // answers only once the client gave up
				case <-r.Context().Done():
				case <-release:
				}
			})
			fast := server(t, func(http.ResponseWriter, *http.Request) {})
			slowEP, fastEP := httpEndpoint(slow.URL, NewSecret()), httpEndpoint(fast.URL, NewSecret())
			slowEP.ID, fastEP.ID = "ep_slow", "ep_fast"
			st := newFakeStore(slowEP, fastEP)
			q, lg := newFakeQueue(), &fakeLog{}
			dl := testDeliverer(t)
			dl.Schedule = tc.schedule
			h := &DeliverHandler{Deliverer: dl, Endpoints: CachedEndpoints(st, time.Minute), Disabler: st, Log: lg, Queue: q, Now: func() time.Time { return fixedNow }}
			hung := FanOut(event(t, "payment.failed", samplePayment), []Endpoint{slowEP})[0]
			ok := FanOut(event(t, "payment.succeeded", samplePayment), []Endpoint{fastEP})[0]
			msgs := []queue.Message{
				{ID: "hung", ReceiptHandle: "r-hung", Body: mustJSON(t, hung), ReceiveCount: tc.receive},
				{ID: "ok", ReceiptHandle: "r-ok", Body: mustJSON(t, ok), ReceiveCount: 1},
			}
			if tc.copyOfHung {
				msgs = append(msgs, queue.Message{ID: "hung-copy", ReceiptHandle: "r-copy", Body: mustJSON(t, hung), ReceiveCount: 1})
			}
			failed := withDeadline(t, func(ctx context.Context) []string { return h.HandleBatch(ctx, msgs) })
			if !slices.Equal(failed, tc.wantFailed) {
				t.Errorf("failed %v, want %v", failed, tc.wantFailed)
			}
			if n := slowHits.Load(); n != 1 {
				t.Errorf("hung endpoint reached %d times, want 1", n)
			}
			lg.mu.Lock()
			defer lg.mu.Unlock()
			var delivered bool
			for _, a := range lg.attempts {
				switch a.DeliveryID {
				case hung.ID:
					t.Errorf("cut attempt recorded: %+v", a)
				case ok.ID:
					delivered = delivered || a.Outcome == LogDelivered
				}
			}
			if !delivered {
				t.Errorf("batchmate not recorded as delivered: %+v", lg.attempts)
			}
			if len(q.visibility) != 0 || len(q.sent) != 0 {
				t.Errorf("cut attempt scheduled or dead-lettered: visibility %v, sent %v", q.visibility, q.sent)
			}
		})
	}
}

// panicLookup panics when asked for the endpoint id boom.
type panicLookup struct {
	EndpointLookup
	boom string
}

func (p panicLookup) Endpoint(ctx context.Context, id string) (Endpoint, error) {
	if id == p.boom {
		panic("lookup exploded")
	}
	return p.EndpointLookup.Endpoint(ctx, id)
}

// A panic while handling one delivery dead-letters it with the panic as the
// reason; its batchmates are delivered.
func TestDeliverBatchPanicDeadLettered(t *testing.T) {
	tests := []struct {
		name       string
		failDLQ    bool
		wantFailed []string
		wantDLQ    int
	}{
		{"dead-lettered, batchmates delivered", false, nil, 1},
		{"dead-letter send fails: the message stays", true, []string{"boom"}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newDeliverEnv(t, DefaultSchedule())
			e.reply = func(int, http.ResponseWriter) {}
			boomEP := e.ep
			boomEP.ID = "ep_boom"
			e.store.eps[boomEP.ID] = boomEP
			e.store.order = append(e.store.order, boomEP.ID)
			e.h.Endpoints = panicLookup{EndpointLookup: CachedEndpoints(e.store, time.Minute), boom: boomEP.ID}
			if tc.failDLQ {
				e.q.failSend = errors.New("sqs down")
			}
			ok1 := FanOut(event(t, "payment.succeeded", samplePayment), []Endpoint{e.ep})[0]
			boom := FanOut(event(t, "payment.failed", samplePayment), []Endpoint{boomEP})[0]
			msgs := []queue.Message{
				{ID: "ok", ReceiptHandle: "r-ok", Body: mustJSON(t, ok1), ReceiveCount: 1},
				{ID: "boom", ReceiptHandle: "r-boom", Body: mustJSON(t, boom), ReceiveCount: 3},
			}
			failed := e.h.HandleBatch(context.Background(), msgs)
			if !slices.Equal(failed, tc.wantFailed) {
				t.Errorf("failed %v, want %v", failed, tc.wantFailed)
			}
			if e.hits != 1 {
				t.Errorf("endpoint hit %d times, want 1 (the batchmate)", e.hits)
			}
			dlq := e.q.sent["deliveries-dlq"]
			if len(dlq) != tc.wantDLQ {
				t.Fatalf("dead letters %+v, want %d", dlq, tc.wantDLQ)
			}
			for _, m := range dlq {
				a := m.Attributes
				if a[queue.AttrReason] != "panic: lookup exploded" || a[AttrEndpointID] != boomEP.ID || a[AttrDeliveryID] != boom.ID || a[AttrAttempts] != "3" {
					t.Errorf("dead letter attributes %v", a)
				}
			}
		})
	}
}

func TestPanicReasonBounded(t *testing.T) {
	long := strings.Repeat("x", 2000)
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"string", "boom", "panic: boom"},
		{"error", errors.New("nil map"), "panic: nil map"},
		{"long value cut to the attribute's bound", long, "panic: " + long[:maxReasonAttr-len("panic: ")-1] + "…"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := panicReason(tc.v); got != tc.want {
				t.Errorf("panicReason = %q, want %q", got, tc.want)
			}
		})
	}
}

// ctxBatchQueue is a fakeQueue with SendBatch that honours its context and
// refuses the entries its functions pick: rejected (queue.ErrRejected) or
// transiently.
type ctxBatchQueue struct {
	*fakeQueue
	reject, transient func(d Delivery) bool
}

func (q *ctxBatchQueue) SendBatch(ctx context.Context, name string, msgs []queue.Outgoing) []queue.BatchResult {
	res := make([]queue.BatchResult, len(msgs))
	for i, m := range msgs {
		var d Delivery
		_ = json.Unmarshal(m.Body, &d)
		switch {
		case ctx.Err() != nil:
			res[i].Err = ctx.Err()
		case q.reject != nil && q.reject(d):
			res[i].Err = fmt.Errorf("%w: InvalidMessageContents", queue.ErrRejected)
		case q.transient != nil && q.transient(d):
			res[i].Err = errors.New("sqs: ServiceUnavailable")
		default:
			q.mu.Lock()
			q.sent[name] = append(q.sent[name], m)
			q.mu.Unlock()
			res[i].ID = "id-" + d.ID
		}
	}
	return res
}

// onlySend hides SendBatch: the fan-out sends one by one.
type onlySend struct{ q *ctxBatchQueue }

func (s onlySend) Send(ctx context.Context, name string, m queue.Outgoing) (string, error) {
	if name == "deliveries" {
		res := s.q.SendBatch(ctx, name, []queue.Outgoing{m})
		return res[0].ID, res[0].Err
	}
	return s.q.Send(ctx, name, m)
}

// A delivery the deliveries queue rejects dead-letters its notification with
// the reason (its other deliveries stay sent); a transient refusal keeps
// it for a retry, which decides.
func TestFanOutRejectedDeliveryDeadLetters(t *testing.T) {
	eps := newFakeStore(
		Endpoint{ID: "ep_a", Type: TypeHTTP, Events: []string{"*"}, Enabled: true},
		Endpoint{ID: "ep_b", Type: TypeSlack, Events: []string{"*"}, Enabled: true},
	)
	isB := func(d Delivery) bool { return d.EndpointID == "ep_b" && strings.Contains(d.EventID, "evt_1") }
	isA := func(d Delivery) bool { return d.EndpointID == "ep_a" && strings.Contains(d.EventID, "evt_1") }
	tests := []struct {
		name              string
		batch             bool
		reject, transient func(Delivery) bool
		failSend          bool // the DLQ send fails
		wantFailed        []string
		wantSent          int // deliveries accepted
		wantDLQ           bool
	}{
		{"batch: rejected entry dead-letters its notification", true, isB, nil, false, nil, 3, true},
		{"batch: rejected and transient: kept for a retry", true, isB, isA, false, []string{"n1"}, 2, false},
		{"batch: dead-letter send fails: kept", true, isB, nil, true, []string{"n1"}, 3, false},
		{"one by one: rejected delivery dead-letters its notification", false, isB, nil, false, nil, 3, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := &ctxBatchQueue{fakeQueue: newFakeQueue(), reject: tc.reject, transient: tc.transient}
			if tc.failSend {
				q.failSend = errors.New("sqs down")
			}
			var s Sender = q
			if !tc.batch {
				s = onlySend{q}
			}
			h := &FanOutHandler{Endpoints: eps, Queue: s, Now: func() time.Time { return fixedNow }}
			msgs := []queue.Message{notificationMsg(t, "n1", "payment.succeeded", "evt_1"), notificationMsg(t, "n2", "payment.failed", "evt_2")}
			failed := h.HandleBatch(context.Background(), msgs)
			if !slices.Equal(failed, tc.wantFailed) {
				t.Errorf("failed %v, want %v", failed, tc.wantFailed)
			}
			q.mu.Lock()
			defer q.mu.Unlock()
			if n := len(q.sent["deliveries"]); n != tc.wantSent {
				t.Errorf("%d deliveries sent, want %d", n, tc.wantSent)
			}
			dlq := q.sent["notifications-dlq"]
			if !tc.wantDLQ {
				if len(dlq) != 0 {
					t.Errorf("dead-lettered %+v", dlq)
				}
				return
			}
			if len(dlq) != 1 || string(dlq[0].Body) != string(msgs[0].Body) {
				t.Fatalf("dead letters %+v, want notification n1", dlq)
			}
			reason := dlq[0].Attributes[queue.AttrReason]
			if !strings.HasPrefix(reason, ErrDeliveryRejected.Error()+": fan out ") || !strings.Contains(reason, "ep_b") ||
				!strings.Contains(reason, "InvalidMessageContents") || dlq[0].Attributes[AttrEventID] == "" {
				t.Errorf("dead letter attributes %v", dlq[0].Attributes)
			}
		})
	}
}

// blockingSource is an endpoint source whose call number block (1-based)
// waits until its context ends; panicOn makes a call panic instead.
type blockingSource struct {
	*fakeStore
	mu             sync.Mutex
	n              int
	block, panicOn int
}

func (s *blockingSource) Endpoints(ctx context.Context) ([]Endpoint, error) {
	s.mu.Lock()
	s.n++
	n := s.n
	s.mu.Unlock()
	switch n {
	case s.block:
		<-ctx.Done()
		return nil, fmt.Errorf("list endpoints: %w", ctx.Err())
	case s.panicOn:
		panic("source exploded")
	}
	return s.fakeStore.Endpoints(ctx)
}

// The fan-out stops a margin before its deadline: the message whose store
// call hangs and those not started stay, the ones fanned out before are
// sent and acknowledged; a panic dead-letters its message only.
func TestFanOutBatchDeadlineAndPanic(t *testing.T) {
	eps := newFakeStore(Endpoint{ID: "ep_a", Type: TypeHTTP, Events: []string{"*"}, Enabled: true})
	tests := []struct {
		name           string
		block, panicOn int
		deadline       bool
		wantFailed     []string
		wantSent       int
		wantDLQReason  string
	}{
		{"hung store call cut, later message not started", 2, 0, true, []string{"n2", "n3"}, 1, ""},
		{"panic dead-letters its message only", 0, 2, false, nil, 2, "panic: source exploded"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := &ctxBatchQueue{fakeQueue: newFakeQueue()}
			src := &blockingSource{fakeStore: eps, block: tc.block, panicOn: tc.panicOn}
			h := &FanOutHandler{Endpoints: src, Queue: q, Now: func() time.Time { return fixedNow }}
			msgs := []queue.Message{
				notificationMsg(t, "n1", "a.b", "evt_1"), notificationMsg(t, "n2", "a.b", "evt_2"), notificationMsg(t, "n3", "a.b", "evt_3"),
			}
			var failed []string
			if tc.deadline {
				failed = withDeadline(t, func(ctx context.Context) []string { return h.HandleBatch(ctx, msgs) })
			} else {
				failed = h.HandleBatch(context.Background(), msgs)
			}
			if !slices.Equal(failed, tc.wantFailed) {
				t.Errorf("failed %v, want %v", failed, tc.wantFailed)
			}
			if n := len(q.sent["deliveries"]); n != tc.wantSent {
				t.Errorf("%d deliveries sent, want %d", n, tc.wantSent)
			}
			dlq := q.sent["notifications-dlq"]
			if tc.wantDLQReason == "" {
				if len(dlq) != 0 {
					t.Errorf("dead-lettered %+v", dlq)
				}
				return
			}
			if len(dlq) != 1 || dlq[0].Attributes[queue.AttrReason] != tc.wantDLQReason || string(dlq[0].Body) != string(msgs[1].Body) {
				t.Errorf("dead letters %+v, want n2 with reason %q", dlq, tc.wantDLQReason)
			}
		})
	}
}
