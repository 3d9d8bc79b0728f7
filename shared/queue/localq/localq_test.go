package localq

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/queue/queuetest"
)

func openTemp(t *testing.T, cfg Config) (*Queue, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "queue.db")
	q, err := Open(path, cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { q.Close() })
	return q, path
}

func TestContract(t *testing.T) {
	queuetest.Run(t, func(t *testing.T, names []string, maxReceive int) queue.Queue {
		q, _ := openTemp(t, Config{Queues: names, MaxReceive: maxReceive})
		return q
	})
}

func mustSend(t *testing.T, q *Queue, name, body string) string {
	t.Helper()
	id, err := q.Send(t.Context(), name, queue.Outgoing{Body: []byte(body)})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	return id
}

func mustReceive(t *testing.T, q *Queue, name string, max int, vis, wait time.Duration) []queue.Message {
	t.Helper()
	msgs, err := q.Receive(t.Context(), name, max, vis, wait)
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	return msgs
}

// A received, undeleted message survives a restart and becomes visible again
// when its visibility lapses; deleted messages stay deleted.
func TestSurvivesReopen(t *testing.T) {
	t.Parallel()
	cfg := Config{Queues: []string{"payments"}}
	q, path := openTemp(t, cfg)
	inFlight := mustSend(t, q, "payments", "in flight")
	deleted := mustSend(t, q, "payments", "deleted")
	waiting := mustSend(t, q, "payments", "waiting")
	_ = waiting
	msgs := mustReceive(t, q, "payments", 2, 2*time.Second, 0)
	if len(msgs) != 2 || msgs[0].ID != inFlight || msgs[1].ID != deleted {
		t.Fatalf("received %v, want the two oldest messages in order", msgs)
	}
	if err := q.Delete(t.Context(), "payments", msgs[1].ReceiptHandle); err != nil {
		t.Fatal(err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}

	q2, err := Open(path, cfg)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer q2.Close()
	// Right after the restart only the never-received message is visible.
	got := mustReceive(t, q2, "payments", 10, time.Minute, 0)
	if len(got) != 1 || string(got[0].Body) != "waiting" || got[0].ReceiveCount != 1 {
		t.Fatalf("after reopen got %v, want only %q", got, "waiting")
	}
	// The in-flight message's visibility lapses across the restart.
	again := mustReceive(t, q2, "payments", 10, time.Minute, 5*time.Second)
	if len(again) != 1 || again[0].ID != inFlight || again[0].ReceiveCount != 2 {
		t.Fatalf("after the lapse got %v, want %s with count 2", again, inFlight)
	}
	// The old receipt handle does not survive as current.
	if err := q2.Delete(t.Context(), "payments", msgs[0].ReceiptHandle); !errors.Is(err, queue.ErrReceiptInvalid) {
		t.Errorf("Delete with the pre-restart handle: %v, want ErrReceiptInvalid", err)
	}
}

func TestMaxReceivePerQueue(t *testing.T) {
	t.Parallel()
	q, _ := openTemp(t, Config{
		Queues:        []string{"a", "b", "c"},
		MaxReceive:    3,
		MaxReceiveFor: map[string]int{"b": 1, "c": -1},
	})
	receivesBeforeDLQ := func(name string, limit int) int {
		mustSend(t, q, name, "poison")
		n := 0
		for n < limit {
			msgs := mustReceive(t, q, name, 1, time.Minute, 0)
			if len(msgs) == 0 {
				break
			}
			n++
			if err := q.ChangeVisibility(t.Context(), name, msgs[0].ReceiptHandle, 0); err != nil {
				t.Fatal(err)
			}
		}
		return n
	}
	tests := []struct {
		queue   string
		want    int
		wantDLQ int
	}{
		{"a", 3, 1},
		{"b", 1, 1},
		{"c", 20, 0}, // no redrive: stops at the test's limit
	}
	for _, tc := range tests {
		t.Run(tc.queue, func(t *testing.T) {
			if got := receivesBeforeDLQ(tc.queue, 20); got != tc.want {
				t.Errorf("received %d times before dead-lettering, want %d", got, tc.want)
			}
			dead, err := q.List(t.Context(), queue.DLQ(tc.queue), 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(dead) != tc.wantDLQ {
				t.Errorf("DLQ holds %d messages, want %d", len(dead), tc.wantDLQ)
			}
		})
	}
}

// Listing a DLQ next to its source does not give the DLQ a DLQ of its own.
func TestListedDLQStaysPlain(t *testing.T) {
	t.Parallel()
	q, _ := openTemp(t, Config{Queues: []string{"a-dlq", "a"}, MaxReceive: 1})
	mustSend(t, q, "a-dlq", "dead")
	for i := 1; i <= 3; i++ {
		msgs := mustReceive(t, q, "a-dlq", 1, time.Minute, 0)
		if len(msgs) != 1 || msgs[0].ReceiveCount != i {
			t.Fatalf("receive %d from the DLQ: %v", i, msgs)
		}
		if err := q.ChangeVisibility(t.Context(), "a-dlq", msgs[0].ReceiptHandle, 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := q.List(t.Context(), "a-dlq-dlq", 1); !errors.Is(err, queue.ErrUnknownQueue) {
		t.Errorf("a-dlq-dlq exists: %v", err)
	}
}

func TestListIsANewestFirstPeek(t *testing.T) {
	t.Parallel()
	q, _ := openTemp(t, Config{Queues: []string{"relay"}})
	var ids []string
	for i := range 5 {
		ids = append(ids, mustSend(t, q, "relay", fmt.Sprintf("m%d", i)))
	}
	inFlight := mustReceive(t, q, "relay", 1, time.Minute, 0)[0]

	got, err := q.List(t.Context(), "relay", 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("List(limit=3) returned %d", len(got))
	}
	for i, m := range got {
		if want := ids[4-i]; m.ID != want || string(m.Body) != fmt.Sprintf("m%d", 4-i) {
			t.Errorf("List[%d] = %s %q, want %s", i, m.ID, m.Body, want)
		}
		if m.ReceiptHandle != "" {
			t.Errorf("List must not hand out receipt handles")
		}
	}
	all, err := q.List(t.Context(), "relay", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 5 || all[4].ID != inFlight.ID || all[4].ReceiveCount != 1 {
		t.Fatalf("List(all) = %d messages, last %+v", len(all), all[len(all)-1])
	}
	// The peek changed nothing: 4 visible, 1 in flight, and its handle still works.
	d, err := q.Depth(t.Context(), "relay")
	if err != nil {
		t.Fatal(err)
	}
	if d != (Depth{Visible: 4, InFlight: 1}) {
		t.Errorf("Depth = %+v, want 4 visible, 1 in flight", d)
	}
	if err := q.Delete(t.Context(), "relay", inFlight.ReceiptHandle); err != nil {
		t.Errorf("Delete after List: %v", err)
	}
	if _, err := q.List(t.Context(), "nope", 1); !errors.Is(err, queue.ErrUnknownQueue) {
		t.Errorf("List(unknown): %v", err)
	}
}

func TestDepthCountsDelayed(t *testing.T) {
	t.Parallel()
	q, _ := openTemp(t, Config{Queues: []string{"x"}})
	if _, err := q.Send(t.Context(), "x", queue.Outgoing{Body: []byte("d"), Delay: time.Minute}); err != nil {
		t.Fatal(err)
	}
	d, err := q.Depth(t.Context(), "x")
	if err != nil {
		t.Fatal(err)
	}
	if d != (Depth{Delayed: 1}) {
		t.Errorf("Depth = %+v, want 1 delayed", d)
	}
}

// A long poll waiting for a delayed message wakes when the delay ends,
// without a send to wake it.
func TestLongPollWakesForDelayedMessage(t *testing.T) {
	t.Parallel()
	q, _ := openTemp(t, Config{Queues: []string{"x"}})
	done := make(chan []queue.Message, 1)
	go func() {
		msgs, _ := q.Receive(context.Background(), "x", 1, time.Minute, 5*time.Second)
		done <- msgs
	}()
	time.Sleep(100 * time.Millisecond) // the receiver is waiting
	start := time.Now()
	if _, err := q.Send(t.Context(), "x", queue.Outgoing{Body: []byte("soon"), Delay: 500 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	msgs := <-done
	if len(msgs) != 1 {
		t.Fatalf("got %d messages", len(msgs))
	}
	if d := time.Since(start); d < 400*time.Millisecond || d > 2*time.Second {
		t.Errorf("delayed message arrived after %v, want about 500ms", d)
	}
}

func TestCloseEndsLongPoll(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "q.db")
	q, err := Open(path, Config{Queues: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := q.Receive(context.Background(), "x", 1, time.Minute, 20*time.Second)
		errc <- err
	}()
	time.Sleep(100 * time.Millisecond)
	q.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("Receive after Close: %v, want ErrClosed", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Receive still blocked after Close")
	}
	if _, err := q.Send(t.Context(), "x", queue.Outgoing{Body: []byte("x")}); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close: %v, want ErrClosed", err)
	}
}

func TestOpenLockedFile(t *testing.T) {
	t.Parallel()
	q, path := openTemp(t, Config{Queues: []string{"x"}})
	_ = q
	_, err := Open(path, Config{Queues: []string{"x"}})
	if err == nil || !strings.Contains(err.Error(), "in use by another process") {
		t.Fatalf("second Open: %v, want an in-use error", err)
	}
}

func TestOpenConfigErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no queues", Config{}},
		{"empty name", Config{Queues: []string{""}}},
		{"visibility too long", Config{Queues: []string{"a"}, Visibility: 13 * time.Hour}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if q, err := Open(filepath.Join(dir, tc.name+".db"), tc.cfg); err == nil {
				q.Close()
				t.Fatal("Open accepted a bad config")
			}
		})
	}
}

func TestParseReceipt(t *testing.T) {
	t.Parallel()
	id := "01JDQ3N1ZK8Y7V5XW2T4R6P8M0"
	valid := newReceipt(id)
	tests := []struct {
		in     string
		wantOK bool
	}{
		{valid, true},
		{"", false},
		{id, false},
		{id + ".", false},
		{id + ".zzzzzzzzzzzzzzzzzzzzzzzz", false},
		{id + ".00112233445566778899aabbcc", false},
		{"not-a-ulid.001122334455667788990011", false},
		{"8ZZZZZZZZZZZZZZZZZZZZZZZZZ.001122334455667788990011", false}, // ULID overflow
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := parseReceipt(tc.in)
			if ok != tc.wantOK || (ok && got != id) {
				t.Errorf("parseReceipt(%q) = %q, %v; want ok=%v", tc.in, got, ok, tc.wantOK)
			}
		})
	}
}

func FuzzParseReceipt(f *testing.F) {
	f.Add(newReceipt("01JDQ3N1ZK8Y7V5XW2T4R6P8M0"))
	f.Add("01JDQ3N1ZK8Y7V5XW2T4R6P8M0.")
	f.Add("garbage")
	f.Add("AQEBzbVv...==")
	f.Fuzz(func(t *testing.T, h string) {
		id, ok := parseReceipt(h)
		if !ok {
			return
		}
		if !strings.HasPrefix(h, id+".") || len(h) != len(id)+25 {
			t.Fatalf("parseReceipt(%q) accepted %q", h, id)
		}
	})
}
