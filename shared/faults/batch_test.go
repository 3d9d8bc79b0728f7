package faults

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookstack/hookstack/shared/queue"
)

// batchQueue is fakeQueue with SendBatch: it records each batch's bodies.
type batchQueue struct {
	fakeQueue
	bmu     sync.Mutex
	batches [][]string
}

func (b *batchQueue) SendBatch(_ context.Context, name string, msgs []queue.Outgoing) []queue.BatchResult {
	b.bmu.Lock()
	defer b.bmu.Unlock()
	var bodies []string
	res := make([]queue.BatchResult, len(msgs))
	for i, m := range msgs {
		bodies = append(bodies, string(m.Body))
		res[i].ID = "id-" + string(m.Body)
	}
	b.batches = append(b.batches, bodies)
	return res
}

func outgoing(n int) []queue.Outgoing {
	out := make([]queue.Outgoing, n)
	for i := range out {
		out[i] = queue.Outgoing{Body: fmt.Appendf(nil, "m%d", i)}
	}
	return out
}

// Faults are decided per message of a batch, with the same meaning as for
// Send: error and timeout keep the message back, ack-lost sends it and
// reports a failure, delay sends it late.
func TestSendBatchFaultsPerMessage(t *testing.T) {
	tests := []struct {
		name     string
		spec     string
		n        int
		wantSent int  // messages reaching the queue
		wantOK   int  // results without an error
		someOnly bool // with seed 1 and probability 0.5 some messages fire and some do not
		minTime  time.Duration
	}{
		{"no fault", "queue.send@other=1", 5, 5, 5, false, 0},
		{"error: none sent, all fail", "queue.send=1", 5, 0, 0, false, 0},
		{"ack-lost: all sent, all fail", "queue.send=1:ack-lost", 5, 5, 0, false, 0},
		{"delay: all sent late, all ok", "queue.send=1:delay:30ms", 5, 5, 5, false, 30 * time.Millisecond},
		{"timeout: none sent, all fail", "queue.send=1:timeout:20ms", 5, 0, 0, false, 20 * time.Millisecond},
		{"half: exactly the unfaulted are sent and ok", "queue.send=0.5,seed=1", 40, -1, -1, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, batching := range []bool{true, false} {
				bq := &batchQueue{}
				var inner queue.Queue = bq
				if !batching {
					inner = &bq.fakeQueue // Send only: the wrapper falls back to it
				}
				q := mustInjector(t, tt.spec).Queue(inner)
				bs, ok := q.(queue.BatchSender)
				if !ok {
					t.Fatal("the fault wrapper does not pass SendBatch through")
				}
				msgs := outgoing(tt.n)
				start := time.Now()
				res := bs.SendBatch(context.Background(), "payments", msgs)
				if len(res) != tt.n {
					t.Fatalf("%d results for %d messages", len(res), tt.n)
				}
				sent := map[string]bool{}
				if batching {
					for _, b := range bq.batches {
						for _, body := range b {
							sent[body] = true
						}
					}
					if len(bq.batches) > 1 {
						t.Errorf("%d inner batches, want at most 1", len(bq.batches))
					}
				} else {
					calls, _ := bq.got()
					for range calls {
						sent[fmt.Sprint(len(sent))] = true // bodies are not recorded by Send; count only
					}
				}
				okN := 0
				for i, r := range res {
					if r.Err == nil {
						okN++
						if batching && !sent[string(msgs[i].Body)] {
							t.Errorf("message %d reported sent but never reached the queue", i)
						}
						continue
					}
					if !errors.Is(r.Err, ErrInjected) {
						t.Errorf("message %d: %v, want ErrInjected", i, r.Err)
					}
					if batching && sent[string(msgs[i].Body)] && !strings.Contains(r.Err.Error(), "was sent") {
						t.Errorf("message %d reached the queue, but its error %q does not say so", i, r.Err)
					}
				}
				if tt.someOnly {
					if okN == 0 || okN == tt.n || len(sent) != okN {
						t.Errorf("ok %d, sent %d of %d: want some but not all, and exactly the ok ones sent", okN, len(sent), tt.n)
					}
				} else if okN != tt.wantOK || len(sent) != tt.wantSent {
					t.Errorf("ok %d, sent %d; want ok %d, sent %d", okN, len(sent), tt.wantOK, tt.wantSent)
				}
				if el := time.Since(start); el < tt.minTime {
					t.Errorf("took %s, want at least %s", el, tt.minTime)
				}
			}
		})
	}
}

// Each message of a batch is one call of queue.send in the stats, as if it
// had been sent alone.
func TestSendBatchCountsEachMessage(t *testing.T) {
	in := mustInjector(t, "queue.send=0,seed=3")
	q := in.Queue(&batchQueue{}).(queue.BatchSender)
	q.SendBatch(context.Background(), "payments", outgoing(7))
	if got := in.Stats().Calls[QueueSend]; got != 7 {
		t.Errorf("queue.send calls = %d, want 7", got)
	}
}
