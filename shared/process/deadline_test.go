package process

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/queue"
)

// A batch whose context has a deadline stops a margin before it: the call
// blocked until cancelled returns, the handler answers in time, exactly
// the unfinished messages are failures (never dead-lettered for that, even
// on their last receive), a message not started is a failure, and a
// decision taken as the margin is reached is still dead-lettered.
func TestHandleStopsBeforeDeadline(t *testing.T) {
	const deadline = 600 * time.Millisecond
	// Each message's event id says what the processor does with it.
	behave := func(ctx context.Context, calls *atomic.Int32, eventID string) error {
		calls.Add(1)
		switch eventID {
		case "ok":
			return nil
		case "block": // a store call hung until its context ends
			<-ctx.Done()
			return fmt.Errorf("store get: %w", ctx.Err())
		case "late-permanent": // decided as the margin is reached
			<-ctx.Done()
			return Permanent(errors.New("bad payload"))
		case "stuck": // ignores its context
			time.Sleep(deadline + 300*time.Millisecond)
			return nil
		}
		return fmt.Errorf("unknown behaviour %q", eventID)
	}
	tests := []struct {
		name       string
		events     []string // one message per entry, ids msg-<index>
		wantFailed []int    // indexes of the messages reported
		wantCalls  int32    // messages started
		wantDLQ    int
	}{
		{"blocked message cut, batchmates done", []string{"ok", "block", "ok"}, []int{1}, 3, 0},
		{"messages not started are failures",
			[]string{"block", "block", "block", "block", "block", "block", "block", "block", "block", "block", "ok", "ok"},
			[]int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, Parallelism, 0},
		{"a decision at the margin is still dead-lettered", []string{"late-permanent", "ok"}, nil, 2, 1},
		{"work ignoring the cancellation is left behind", []string{"stuck", "ok"}, []int{0}, 2, 0},
	}
	base := one(t, samples(t), "stripe/payment_intent.succeeded")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			var calls atomic.Int32
			h := newHandler(envelope.QueuePayments, r.deps, func(ctx context.Context, _ *Writer, env envelope.Envelope) error {
				return behave(ctx, &calls, env.EventID)
			})
			h.maxReceives = 1 // every message is on its last receive
			var recs []events.SQSMessage
			for i, id := range tc.events {
				env := base
				env.ID, env.EventID = fmt.Sprintf("env-%d", i), id
				m := msg(t, env)
				m.MessageId = fmt.Sprintf("msg-%d", i)
				recs = append(recs, m)
			}
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			start := time.Now()
			resp, err := h.Handle(ctx, events.SQSEvent{Records: recs})
			took := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			if took >= deadline {
				t.Errorf("Handle returned after %s, not before the %s deadline", took, deadline)
			}
			var got, want []string
			for _, f := range resp.BatchItemFailures {
				got = append(got, f.ItemIdentifier)
			}
			for _, i := range tc.wantFailed {
				want = append(want, fmt.Sprintf("msg-%d", i))
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("failures %v, want %v", got, want)
			}
			if n := calls.Load(); n != tc.wantCalls {
				t.Errorf("%d messages started, want %d", n, tc.wantCalls)
			}
			dlq := r.sent(queue.DLQ(envelope.QueuePayments))
			if len(dlq) != tc.wantDLQ {
				t.Fatalf("%d dead letters, want %d: %+v", len(dlq), tc.wantDLQ, dlq)
			}
			for _, m := range dlq {
				if m.Attributes[queue.AttrReason] != "permanent failure: bad payload" && m.Attributes[queue.AttrReason] != "bad payload" {
					t.Errorf("dead letter reason %q", m.Attributes[queue.AttrReason])
				}
			}
		})
	}
}
