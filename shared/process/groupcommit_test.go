package process

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hookstack/hookstack/shared/domain"
	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/store"
)

// countingQueue counts the notification sends reaching a queue, and fails
// the batch entries fail picks (they are not sent).
type countingQueue struct {
	queue.Queue // a *localq.Queue
	mu          sync.Mutex
	sends       int
	batches     []int // entries per SendBatch call
	fail        func(m queue.Outgoing) bool
}

func (c *countingQueue) Send(ctx context.Context, name string, m queue.Outgoing) (string, error) {
	if name == envelope.QueueNotifications {
		c.mu.Lock()
		c.sends++
		c.mu.Unlock()
	}
	return c.Queue.Send(ctx, name, m)
}

func (c *countingQueue) SendBatch(ctx context.Context, name string, msgs []queue.Outgoing) []queue.BatchResult {
	c.mu.Lock()
	if name == envelope.QueueNotifications {
		c.batches = append(c.batches, len(msgs))
	}
	fail := c.fail
	c.mu.Unlock()
	res := make([]queue.BatchResult, len(msgs))
	var pass []queue.Outgoing
	var idx []int
	for i, m := range msgs {
		if fail != nil && fail(m) {
			res[i].Err = fmt.Errorf("entry %s: ServiceUnavailable", m.Attributes[AttrEventID])
			continue
		}
		pass = append(pass, m)
		idx = append(idx, i)
	}
	for j, r := range queue.SendAll(ctx, c.Queue, name, pass) {
		res[idx[j]] = r
	}
	return res
}

func (c *countingQueue) counts() (sends int, batches []int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sends, slices.Clone(c.batches)
}

// sendOnly hides SendBatch: the Writer sends one by one, as before.
type sendOnly struct{ queue.Queue }

// counterProc is a processor shaped like the real ones: it updates one
// record per message (key: the envelope id), which emits one domain event
// through the outbox, then emits a raw forward — two sends in turn.
func counterProc(ctx context.Context, w *Writer, env envelope.Envelope) error {
	_, err := w.Update(ctx, "counter", env.ID, func(old *store.Record) (Change, error) {
		n := 0
		if old != nil {
			if err := old.Decode(&n); err != nil {
				return Change{}, err
			}
			return Change{Data: n}, nil // replay: nothing changes
		}
		return Change{Changed: true, Data: n + 1,
			Emitted: []domain.Event{domain.New("counter.created", "counter:"+env.ID, env.Provider, env.EventID, env.ReceivedAt, nil)}}, nil
	})
	if err != nil {
		return err
	}
	return w.emit(ctx, "", domain.New("test.forward", "counter:"+env.ID, env.Provider, env.EventID, env.ReceivedAt, nil))
}

func counterMsgs(t *testing.T, n int) []events.SQSMessage {
	t.Helper()
	var out []events.SQSMessage
	for i := range n {
		env := envelope.Envelope{V: 1, ID: fmt.Sprintf("env%02d", i), Provider: "stripe", EventID: fmt.Sprintf("evt_%02d", i),
			Type: "test.counter", Queue: "test", ContentType: "application/json", Body: []byte(`{}`),
			OccurredAt: time.Unix(1700000000, 0).UTC(), ReceivedAt: time.Unix(1700000000, 0).UTC()}
		out = append(out, msg(t, env))
	}
	return out
}

// notifiedIDs counts the notifications on the queue by event id.
func (r *rig) notifiedIDs() map[string]int {
	out := map[string]int{}
	for _, m := range r.sent(envelope.QueueNotifications) {
		out[m.Attributes[AttrEventID]]++
	}
	return out
}

// A batch of 10 messages sends its 20 notifications in at most 2
// SendBatch calls (one per round: outbox events, then forwards), where a
// queue without SendBatch gets 20 Sends.
func TestGroupCommitBatchesSends(t *testing.T) {
	tests := []struct {
		name        string
		batching    bool
		wantSends   int
		maxBatches  int
		wantEntries int
	}{
		{"SendBatch", true, 0, 2, 20},
		{"Send only: as before", false, 20, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			cq := &countingQueue{Queue: r.q}
			r.deps.Queue = cq
			if !tc.batching {
				r.deps.Queue = sendOnly{cq}
			}
			h := newHandler("test", r.deps, counterProc)
			msgs := counterMsgs(t, 10)
			if failed := r.handle(h, msgs...); len(failed) != 0 {
				t.Fatalf("failed = %v\n%s", failed, r.logs)
			}
			sends, batches := cq.counts()
			entries := 0
			for _, n := range batches {
				entries += n
			}
			if sends != tc.wantSends || len(batches) > tc.maxBatches || entries != tc.wantEntries {
				t.Errorf("Sends %d, SendBatch calls %v; want %d Sends, at most %d SendBatch calls carrying %d entries",
					sends, batches, tc.wantSends, tc.maxBatches, tc.wantEntries)
			}
			if tc.batching && len(batches) == 0 {
				t.Error("no SendBatch call")
			}
			ids := r.notifiedIDs()
			if len(ids) != 20 {
				t.Errorf("%d distinct notifications, want 20", len(ids))
			}
			for id, n := range ids {
				if n != 1 {
					t.Errorf("notification %s sent %d times", id, n)
				}
			}
		})
	}
}

// An entry the queue refuses fails exactly the message it belongs to; the
// retry of that message sends what is missing (the outbox is still
// pending, or the forward is emitted again), and nothing else twice.
func TestGroupCommitEntryFailureFailsItsMessageOnly(t *testing.T) {
	tests := []struct {
		name    string
		failTyp string // the type of the entry refused once
		outbox  int    // entries left in the failed message's outbox
		before  int    // notifications sent by the first batch
	}{
		// the failed flush stops the message before its forward
		{"outbox event refused", "counter.created", 1, 18},
		{"forward refused", "test.forward", 0, 19},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			cq := &countingQueue{Queue: r.q}
			r.deps.Queue = cq
			h := newHandler("test", r.deps, counterProc)
			msgs := counterMsgs(t, 10)
			const victim = 6
			victimEvent := domain.SubjectEventID(fmt.Sprintf("evt_%02d", victim), tc.failTyp, fmt.Sprintf("counter:env%02d", victim))
			var refused atomic.Int32
			cq.fail = func(m queue.Outgoing) bool {
				if m.Attributes[AttrEventID] == victimEvent && refused.Load() == 0 {
					refused.Add(1)
					return true
				}
				return false
			}
			failed := r.handle(h, msgs...)
			if !slices.Equal(failed, []string{msgs[victim].MessageId}) {
				t.Fatalf("failed = %v, want only %s", failed, msgs[victim].MessageId)
			}
			if n := len(r.get("counter", fmt.Sprintf("env%02d", victim)).Outbox); n != tc.outbox {
				t.Errorf("victim's outbox holds %d entries, want %d", n, tc.outbox)
			}
			before := r.notifiedIDs()
			if before[victimEvent] != 0 || len(before) != tc.before {
				t.Fatalf("after the batch: %d notifications, victim's %d; want %d and 0", len(before), before[victimEvent], tc.before)
			}
			if failed := r.handle(h, msgs[victim]); len(failed) != 0 {
				t.Fatalf("retry failed: %v\n%s", failed, r.logs)
			}
			after := r.notifiedIDs()
			if len(after) != 20 || after[victimEvent] != 1 {
				t.Errorf("after the retry: %d notifications, victim's %d times; want 20 and once", len(after), after[victimEvent])
			}
			for id, n := range after {
				if n != 1 {
					t.Errorf("notification %s sent %d times", id, n)
				}
			}
			if n := len(r.get("counter", fmt.Sprintf("env%02d", victim)).Outbox); n != 0 {
				t.Errorf("victim's outbox holds %d entries after the retry", n)
			}
		})
	}
}

// A slow message does not hold the others: their group goes after the cap,
// the slow one's on its own.
func TestGroupCommitSlowMessageCapped(t *testing.T) {
	r := newRig(t)
	cq := &countingQueue{Queue: r.q}
	r.deps.Queue = cq
	const slowID = "env00"
	h := newHandler("test", r.deps, func(ctx context.Context, w *Writer, env envelope.Envelope) error {
		if env.ID == slowID {
			time.Sleep(30 * GroupCommitWait)
		}
		return w.Emit(ctx, domain.New("test.forward", "x:"+env.ID, env.Provider, env.EventID, env.ReceivedAt, nil))
	})
	start := time.Now()
	if failed := r.handle(h, counterMsgs(t, 5)...); len(failed) != 0 {
		t.Fatalf("failed = %v", failed)
	}
	if el := time.Since(start); el < 30*GroupCommitWait {
		t.Fatalf("batch took %s, the slow message sleeps %s", el, 30*GroupCommitWait)
	}
	if _, batches := cq.counts(); !slices.Equal(batches, []int{4, 1}) {
		t.Errorf("SendBatch entries %v, want [4 1]: the quick messages after the cap, the slow one alone", batches)
	}
}

// batchRecorder answers SendBatch from memory, failing entries with body
// "bad"; it records the calls.
type batchRecorder struct {
	sendOnly
	mu    sync.Mutex
	calls [][]string
}

func (b *batchRecorder) SendBatch(_ context.Context, _ string, msgs []queue.Outgoing) []queue.BatchResult {
	b.mu.Lock()
	defer b.mu.Unlock()
	var bodies []string
	res := make([]queue.BatchResult, len(msgs))
	for i, m := range msgs {
		bodies = append(bodies, string(m.Body))
		if string(m.Body) == "bad" {
			res[i].Err = errors.New("refused")
		} else {
			res[i].ID = "id-" + string(m.Body)
		}
	}
	b.calls = append(b.calls, bodies)
	return res
}

func out(bodies ...string) []queue.Outgoing {
	o := make([]queue.Outgoing, len(bodies))
	for i, b := range bodies {
		o[i] = queue.Outgoing{Body: []byte(b)}
	}
	return o
}

// The group waits while a joined message is still running, flushes once
// every running message waits or has left, and hands each sender its own
// results.
func TestGroupCommitWaitsForRunningMessages(t *testing.T) {
	rec := &batchRecorder{}
	g := newGroupCommit(context.Background(), rec)
	g.cap = time.Hour // only the running count may release the group
	for range 3 {
		g.join()
	}
	type result struct {
		who string
		res []queue.BatchResult
	}
	results := make(chan result, 2)
	go func() { results <- result{"a", g.send(envelope.QueueNotifications, out("a1", "bad"))} }()
	go func() { results <- result{"b", g.send(envelope.QueueNotifications, out("b1"))} }()
	select {
	case r := <-results:
		t.Fatalf("%s returned while a message was still running", r.who)
	case <-time.After(100 * time.Millisecond):
	}
	g.leave() // the third message ends without sending
	got := map[string][]queue.BatchResult{}
	for range 2 {
		r := <-results
		got[r.who] = r.res
	}
	if len(rec.calls) != 1 || len(rec.calls[0]) != 3 {
		t.Fatalf("SendBatch calls %v, want one with 3 entries", rec.calls)
	}
	if a := got["a"]; len(a) != 2 || a[0].ID != "id-a1" || a[0].Err != nil || a[1].Err == nil {
		t.Errorf("a's results %+v, want a1 sent and bad refused", a)
	}
	if b := got["b"]; len(b) != 1 || b[0].ID != "id-b1" || b[0].Err != nil {
		t.Errorf("b's results %+v", b)
	}
}

// Without SendBatch there is no group commit.
func TestGroupCommitNeedsBatchSender(t *testing.T) {
	if g := newGroupCommit(context.Background(), sendOnly{&batchRecorder{}}); g != nil {
		t.Fatal("group commit over a queue without SendBatch")
	}
}

// The notifications log records exactly the notifications the queue
// accepted.
func TestGroupCommitLogsAcceptedNotifications(t *testing.T) {
	r := newRig(t)
	cq := &countingQueue{Queue: r.q}
	r.deps.Queue = cq
	r.deps.Notifications = true
	refuse := domain.SubjectEventID("evt_01", "test.forward", "counter:env01")
	cq.fail = func(m queue.Outgoing) bool { return m.Attributes[AttrEventID] == refuse }
	h := newHandler("test", r.deps, counterProc)
	msgs := counterMsgs(t, 3)
	if failed := r.handle(h, msgs...); !slices.Equal(failed, []string{msgs[1].MessageId}) {
		t.Fatalf("failed = %v", failed)
	}
	logged, err := r.base.ListNotifications(context.Background(), "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, n := range logged {
		ids = append(ids, n.ID)
		var ev struct{ ID string }
		if err := json.Unmarshal(n.Event, &ev); err != nil || ev.ID != n.ID {
			t.Errorf("logged notification %s carries event %s (%v)", n.ID, ev.ID, err)
		}
	}
	if len(ids) != 5 || slices.Contains(ids, refuse) {
		t.Errorf("logged %v: want the 5 accepted, not %s", ids, refuse)
	}
}
