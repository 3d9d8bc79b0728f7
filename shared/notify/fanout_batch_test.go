package notify

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookstack/hookstack/shared/domain"
	"github.com/hookstack/hookstack/shared/queue"
)

// batchQueue is fakeQueue with SendBatch: it refuses the entries refuse
// picks (or the whole call), records the accepted ones in sent and counts
// the calls.
type batchQueue struct {
	*fakeQueue
	bmu     sync.Mutex
	calls   []int // entries per call
	refuse  func(d Delivery) bool
	wholeDo bool // every entry of every call fails
}

func (q *batchQueue) SendBatch(_ context.Context, name string, msgs []queue.Outgoing) []queue.BatchResult {
	q.bmu.Lock()
	q.calls = append(q.calls, len(msgs))
	q.bmu.Unlock()
	res := make([]queue.BatchResult, len(msgs))
	for i, m := range msgs {
		var d Delivery
		_ = json.Unmarshal(m.Body, &d)
		if q.wholeDo || (q.refuse != nil && q.refuse(d)) {
			res[i].Err = errors.New("sqs: ServiceUnavailable")
			continue
		}
		q.mu.Lock()
		q.sent[name] = append(q.sent[name], m)
		q.mu.Unlock()
		res[i].ID = "id-" + d.ID
	}
	return res
}

func (q *batchQueue) deliveryIDs(t *testing.T) []string {
	t.Helper()
	q.mu.Lock()
	defer q.mu.Unlock()
	var ids []string
	for _, m := range q.sent["deliveries"] {
		var d Delivery
		if err := json.Unmarshal(m.Body, &d); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, d.ID)
	}
	return ids
}

func notificationMsg(t *testing.T, id, typ, eventID string) queue.Message {
	ev := domain.New(typ, "test:1", "stripe", eventID, fixedNow.Add(-time.Minute), samplePayment)
	return queue.Message{ID: id, ReceiptHandle: "r" + id, Body: mustJSON(t, ev), ReceiveCount: 1}
}

func TestFanOutBatch(t *testing.T) {
	eps := newFakeStore(
		Endpoint{ID: "ep_a", Type: TypeHTTP, Events: []string{"payment.*"}, Enabled: true},
		Endpoint{ID: "ep_b", Type: TypeSlack, Events: []string{"*"}, Enabled: true},
	)
	batch := func(t *testing.T) []queue.Message {
		return []queue.Message{
			notificationMsg(t, "n1", "payment.succeeded", "evt_1"), // ep_a, ep_b
			notificationMsg(t, "n2", "lead.created", "evt_2"),      // ep_b
			{ID: "n3", ReceiptHandle: "rn3", Body: []byte("{"), ReceiveCount: 1},
			notificationMsg(t, "n4", "payment.failed", "evt_4"), // ep_a, ep_b
		}
	}
	// The id notificationMsg's event has (however domain derives it).
	evID := func(src, typ string) string { return domain.New(typ, "test:1", "stripe", src, time.Time{}, nil).ID }
	tests := []struct {
		name       string
		refuse     func(d Delivery) bool
		whole      bool
		wantFailed []string
		wantSent   int
	}{
		{"all accepted in one call", nil, false, nil, 5},
		{"a refused delivery fails its message only",
			func(d Delivery) bool { return d.EndpointID == "ep_b" && d.EventID == evID("evt_4", "payment.failed") },
			false, []string{"n4"}, 4},
		{"a failed call fails every message with deliveries", nil, true, []string{"n1", "n2", "n4"}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := &batchQueue{fakeQueue: newFakeQueue(), refuse: tc.refuse, wholeDo: tc.whole}
			h := &FanOutHandler{Endpoints: CachedEndpoints(eps, time.Minute), Queue: q, Now: func() time.Time { return fixedNow }}
			msgs := batch(t)
			failed := h.HandleBatch(context.Background(), msgs)
			if !slices.Equal(failed, tc.wantFailed) {
				t.Fatalf("failed = %v, want %v", failed, tc.wantFailed)
			}
			if !slices.Equal(q.calls, []int{5}) {
				t.Errorf("SendBatch calls %v, want one call with the batch's 5 deliveries", q.calls)
			}
			if got := len(q.deliveryIDs(t)); got != tc.wantSent {
				t.Errorf("%d deliveries accepted, want %d", got, tc.wantSent)
			}
			// The malformed notification is dead-lettered (and done).
			if dlq := q.sent["notifications-dlq"]; len(dlq) != 1 || string(dlq[0].Body) != "{" ||
				!strings.HasPrefix(dlq[0].Attributes[queue.AttrReason], "malformed notification") {
				t.Errorf("dead letters %+v", dlq)
			}
			if len(tc.wantFailed) == 0 {
				return
			}
			// The retry of the failed messages, with the queue healthy,
			// yields the same delivery ids: with the first try's accepted
			// ones, every (event, endpoint) pair is there, and the
			// duplicates are those the deliverer dedupes.
			first := q.deliveryIDs(t)
			q.refuse, q.wholeDo = nil, false
			var retry []queue.Message
			for _, m := range msgs {
				if slices.Contains(tc.wantFailed, m.ID) {
					retry = append(retry, m)
				}
			}
			if failed := h.HandleBatch(context.Background(), retry); len(failed) != 0 {
				t.Fatalf("retry failed: %v", failed)
			}
			all := q.deliveryIDs(t)
			want := []string{
				DeliveryID(evID("evt_1", "payment.succeeded"), "ep_a"), DeliveryID(evID("evt_1", "payment.succeeded"), "ep_b"),
				DeliveryID(evID("evt_2", "lead.created"), "ep_b"),
				DeliveryID(evID("evt_4", "payment.failed"), "ep_a"), DeliveryID(evID("evt_4", "payment.failed"), "ep_b"),
			}
			distinct := slices.Compact(slices.Sorted(slices.Values(all)))
			if !slices.Equal(distinct, slices.Sorted(slices.Values(want))) {
				t.Errorf("deliveries after the retry %v, want %v", distinct, want)
			}
			perMsg := map[string]int{"n1": 2, "n2": 1, "n4": 2}
			wantRetry := 0
			for _, m := range retry {
				wantRetry += perMsg[m.ID]
			}
			if got := len(all) - len(first); got != wantRetry {
				t.Errorf("the retry sent %d deliveries, want %d (all of the retried messages', no others)", got, wantRetry)
			}
		})
	}
}

// With only Send, the batch is handled message by message, as before.
func TestFanOutBatchWithoutBatchSender(t *testing.T) {
	eps := newFakeStore(Endpoint{ID: "ep_b", Type: TypeSlack, Events: []string{"*"}, Enabled: true})
	q := newFakeQueue()
	h := &FanOutHandler{Endpoints: eps, Queue: q}
	msgs := []queue.Message{notificationMsg(t, "n1", "a.b", "evt_1"), notificationMsg(t, "n2", "a.c", "evt_2")}
	if failed := h.HandleBatch(context.Background(), msgs); len(failed) != 0 {
		t.Fatal(failed)
	}
	if n := len(q.sent["deliveries"]); n != 2 {
		t.Errorf("%d deliveries sent, want 2", n)
	}
}
