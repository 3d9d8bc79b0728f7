package sqsq_test

import (
	"context"
	"testing"
	"time"

	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/queue/sqsq/sqstest"
)

// A redriven message that fails again at once and is dead-lettered anew
// (a consumer still broken) is not moved again in the same redrive: the
// fallback path ends instead of cycling for ever.
func TestRedriveByHandDoesNotCycle(t *testing.T) {
	q, _, _ := sqstest.Queues(t, []string{"work"}, 5)
	if _, err := q.Send(t.Context(), queue.DLQ("work"), queue.Outgoing{Body: []byte("poison")}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // SentTimestamp has millisecond resolution; keep it clearly before the start
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() { // a consumer that dead-letters everything at once
		for ctx.Err() == nil {
			msgs, err := q.Receive(ctx, "work", 10, 30*time.Second, 200*time.Millisecond)
			if err != nil {
				continue
			}
			for _, m := range msgs {
				_, _ = q.Send(ctx, queue.DLQ("work"), queue.Outgoing{Body: m.Body})
				_ = q.Delete(ctx, "work", m.ReceiptHandle)
			}
		}
	}()
	done := make(chan int, 1)
	go func() {
		n, err := q.Redrive(ctx, queue.DLQ("work"), "work")
		if err != nil {
			t.Error(err)
		}
		done <- n
	}()
	select {
	case n := <-done:
		if n != 1 {
			t.Fatalf("moved = %d, want 1", n)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("redrive kept moving the message that came back")
	}
}
