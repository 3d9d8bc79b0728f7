package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookstack/hookstack/shared/queue"
)

// indexedStore is the endpoint store as DynamoDB serves it: Endpoints lists
// from an eventually consistent index (what index holds, which the test
// moves), Endpoint reads one endpoint from the table, consistently.
type indexedStore struct {
	mu      sync.Mutex
	table   map[string]Endpoint
	index   []Endpoint
	gets    int
	lists   int
	failGet error
}

func (s *indexedStore) Endpoints(context.Context) ([]Endpoint, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lists++
	return slices.Clone(s.index), nil
}

func (s *indexedStore) Endpoint(_ context.Context, id string) (Endpoint, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gets++
	if s.failGet != nil {
		return Endpoint{}, s.failGet
	}
	ep, ok := s.table[id]
	if !ok {
		return Endpoint{}, fmt.Errorf("endpoint %q: %w", id, ErrEndpointNotFound)
	}
	return ep, nil
}

func (s *indexedStore) DisableEndpoint(context.Context, string, string) error { return nil }

// set makes eps the table's content; indexed says whether the index has
// caught up with it.
func (s *indexedStore) set(indexed bool, eps ...Endpoint) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.table = map[string]Endpoint{}
	for _, ep := range eps {
		s.table[ep.ID] = ep
	}
	if indexed {
		s.index = slices.Clone(eps)
	}
}

// The fan-out and the deliverer each cache the endpoint list for 30 s. When
// the fan-out's list is fresher (an endpoint added, re-enabled or
// subscribed to more since the deliverer last listed), the deliverer must
// not drop the delivery on its stale view: it reads the endpoint again,
// consistently, and drops only when that read agrees.
func TestDeliverHandlerConfirmsBeforeDropping(t *testing.T) {
	var hits int
	var mu sync.Mutex
	srv := server(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits++
		mu.Unlock()
	})
	ep := httpEndpoint(srv.URL, NewSecret())
	ep.Events = []string{"payment.*"}
	disabled := ep
	disabled.Enabled, disabled.DisabledReason = false, "410 Gone"
	narrow := ep
	narrow.Events = []string{"payment.failed"}
	other := ep
	other.ID = "ep_other"

	const (
		cached  = "cached"  // the deliverer listed `before` less than its TTL ago
		lagging = "lagging" // the deliverer lists now, but the index still shows `before`
		fresh   = "fresh"   // the deliverer lists now and the index has caught up
	)
	tests := []struct {
		name string
		// before is what the deliverer's view may still show; atFanOut
		// what the fan-out listed (its own, fresher view); atDelivery the
		// table when the delivery is handled.
		before, atFanOut, atDelivery []Endpoint
		view                         string
		wantSent                     bool
		wantReason                   string // of the drop
	}{
		{name: "added, deliverer's list cached", before: []Endpoint{other}, atFanOut: []Endpoint{other, ep}, atDelivery: []Endpoint{other, ep}, view: cached, wantSent: true},
		{name: "added, index lagging", before: []Endpoint{other}, atFanOut: []Endpoint{other, ep}, atDelivery: []Endpoint{other, ep}, view: lagging, wantSent: true},
		{name: "re-enabled, deliverer's list cached", before: []Endpoint{disabled}, atFanOut: []Endpoint{ep}, atDelivery: []Endpoint{ep}, view: cached, wantSent: true},
		{name: "re-enabled, index lagging", before: []Endpoint{disabled}, atFanOut: []Endpoint{ep}, atDelivery: []Endpoint{ep}, view: lagging, wantSent: true},
		{name: "filter widened, deliverer's list cached", before: []Endpoint{narrow}, atFanOut: []Endpoint{ep}, atDelivery: []Endpoint{ep}, view: cached, wantSent: true},
		{name: "removed since the fan-out", before: []Endpoint{ep}, atFanOut: []Endpoint{ep}, atDelivery: []Endpoint{other}, view: fresh, wantReason: "endpoint removed"},
		{name: "removed, index lagging shows it disabled", before: []Endpoint{disabled}, atFanOut: []Endpoint{ep}, atDelivery: []Endpoint{other}, view: lagging, wantReason: "endpoint removed"},
		{name: "disabled since the fan-out", before: []Endpoint{ep}, atFanOut: []Endpoint{ep}, atDelivery: []Endpoint{disabled}, view: fresh, wantReason: "endpoint disabled: 410 Gone"},
		{name: "unsubscribed since the fan-out", before: []Endpoint{ep}, atFanOut: []Endpoint{ep}, atDelivery: []Endpoint{narrow}, view: fresh, wantReason: "endpoint no longer subscribed to payment.succeeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			hits = 0
			now := fixedNow
			clock := func() time.Time { return now }
			fanStore, st := &indexedStore{}, &indexedStore{}
			fanCache := CachedEndpoints(fanStore, 30*time.Second)
			delCache := CachedEndpoints(st, 30*time.Second)
			fanCache.Now, delCache.Now = clock, clock

			st.set(true, tt.before...)
			switch tt.view {
			case cached:
				if _, err := delCache.Endpoints(ctx); err != nil {
					t.Fatal(err)
				}
				st.set(true, tt.atDelivery...)
			case lagging:
				st.set(false, tt.atDelivery...)
			case fresh:
				st.set(true, tt.atDelivery...)
			}
			fanStore.set(true, tt.atFanOut...)
			q := newFakeQueue()
			fan := &FanOutHandler{Endpoints: fanCache, Queue: q, Now: clock}
			if err := fan.Handle(ctx, notification(t, event(t, "payment.succeeded", samplePayment))); err != nil {
				t.Fatal(err)
			}
			var msgs []queue.Message
			for i, m := range q.sent["deliveries"] {
				if strings.Contains(string(m.Body), `"endpoint_id":"`+ep.ID+`"`) {
					msgs = append(msgs, queue.Message{ID: fmt.Sprint("d", i), ReceiptHandle: fmt.Sprint("r", i), Body: m.Body, ReceiveCount: 1})
				}
			}
			if len(msgs) != 1 {
				t.Fatalf("fan-out made %d deliveries to %s: %v", len(msgs), ep.ID, q.sent)
			}

			now = now.Add(10 * time.Second) // both caches still within their TTL
			log := &fakeLog{}
			dq := newFakeQueue()
			h := &DeliverHandler{Deliverer: testDeliverer(t), Endpoints: delCache, Disabler: st, Log: log, Queue: dq, Now: clock}
			if err := h.Handle(ctx, msgs[0]); err != nil {
				t.Fatal(err)
			}
			a := log.last(t)
			if tt.wantSent {
				if hits != 1 || a.Outcome != LogDelivered {
					t.Fatalf("endpoint hit %d times, record %+v: want the delivery sent", hits, a)
				}
				// What the consistent read found is cached: a second
				// delivery to the endpoint reads the table no more.
				gets := st.gets
				again := msgs[0]
				again.Body = []byte(strings.Replace(string(again.Body), `"id":"msg_`, `"id":"msg_x`, 1))
				if err := h.Handle(ctx, again); err != nil || hits != 2 || st.gets != gets {
					t.Errorf("second delivery: %v, hits %d, table reads %d → %d", err, hits, gets, st.gets)
				}
				return
			}
			if hits != 0 || a.Outcome != LogDropped || a.Reason != tt.wantReason {
				t.Fatalf("endpoint hit %d times, record %+v: want dropped with %q", hits, a, tt.wantReason)
			}
			if st.gets != 1 {
				t.Errorf("table read %d times before the drop, want 1 consistent read", st.gets)
			}
			if len(dq.sent) != 0 {
				t.Errorf("a drop sent %v", dq.sent)
			}
		})
	}

	t.Run("failed consistent read keeps the message", func(t *testing.T) {
		st := &indexedStore{}
		st.set(true)
		st.failGet = errors.New("throttled")
		log := &fakeLog{}
		h := &DeliverHandler{Deliverer: testDeliverer(t), Endpoints: CachedEndpoints(st, 30*time.Second), Disabler: st, Log: log, Queue: newFakeQueue()}
		d := delivery(event(t, "payment.succeeded", samplePayment), ep, 1)
		err := h.Handle(context.Background(), queue.Message{ID: "d", ReceiptHandle: "r", Body: mustJSON(t, d), ReceiveCount: 1})
		if err == nil || errors.Is(err, ErrRetryScheduled) || len(log.attempts) != 0 {
			t.Fatalf("err %v, records %+v: want an error of ours and no drop", err, log.attempts)
		}
	})
}

// ConfirmEndpoint on a source that lists only (no lookup by id) lists
// again, bypassing the TTL.
func TestEndpointCacheConfirmWithoutLookup(t *testing.T) {
	store := newFakeStore(Endpoint{ID: "a", Enabled: true})
	c := CachedEndpoints(store, time.Hour)
	ctx := context.Background()
	if _, err := c.Endpoint(ctx, "b"); !errors.Is(err, ErrEndpointNotFound) {
		t.Fatal(err)
	}
	store.eps["b"] = Endpoint{ID: "b", Enabled: true}
	store.order = append(store.order, "b")
	if _, err := c.Endpoint(ctx, "b"); !errors.Is(err, ErrEndpointNotFound) {
		t.Fatalf("cached miss not served from the cache: %v", err)
	}
	ep, err := c.ConfirmEndpoint(ctx, "b")
	if err != nil || ep.ID != "b" || store.lists != 2 {
		t.Fatalf("confirm = %+v, %v (lists %d): want b from a fresh list", ep, err, store.lists)
	}
}
