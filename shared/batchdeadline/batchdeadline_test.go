package batchdeadline

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// Without a deadline nothing changes: the batch context is the caller's.
func TestStartWithoutDeadline(t *testing.T) {
	ctx := context.Background()
	got, finishBy, cancel := Start(ctx)
	defer cancel()
	if got != ctx || !finishBy.IsZero() {
		t.Errorf("Start changed a context without deadline")
	}
	if f, c := Finish(ctx); f != ctx {
		t.Errorf("Finish changed a context without deadline")
	} else {
		c()
	}
}

func TestStartMargin(t *testing.T) {
	tests := []struct {
		remaining, margin time.Duration
	}{
		{30 * time.Second, MaxMargin},
		{900 * time.Second, MaxMargin},
		{3 * time.Second, 300 * time.Millisecond},
		{time.Second, 100 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.remaining.String(), func(t *testing.T) {
			deadline := time.Now().Add(tc.remaining)
			parent, cancel := context.WithDeadline(context.Background(), deadline)
			defer cancel()
			ctx, finishBy, cancel2 := Start(parent)
			defer cancel2()
			d, _ := ctx.Deadline()
			if got := deadline.Sub(d); got < tc.margin-10*time.Millisecond || got > tc.margin {
				t.Errorf("margin %s, want about %s", got, tc.margin)
			}
			if !finishBy.After(d) || !finishBy.Before(deadline) {
				t.Errorf("finish line %s not between the work deadline and the deadline", finishBy)
			}
			// A context detached from the margin outlives it, not the finish line.
			cancel2()
			f, fc := Finish(ctx)
			defer fc()
			if f.Err() != nil {
				t.Errorf("finish context ended with the batch context")
			}
			if fd, ok := f.Deadline(); !ok || !fd.Equal(finishBy) {
				t.Errorf("finish context deadline %s, want the finish line %s", fd, finishBy)
			}
		})
	}
}

// The batch context ends with ErrBatchDeadline as its cause, so a handler
// can tell the margin from the caller's own cancellation.
func TestStartCause(t *testing.T) {
	parent, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	ctx, _, stop := Start(parent)
	defer stop()
	<-ctx.Done()
	if !errors.Is(context.Cause(ctx), ErrBatchDeadline) || parent.Err() != nil {
		t.Fatalf("cause %v (parent %v), want ErrBatchDeadline before the parent ends", context.Cause(ctx), parent.Err())
	}
}

func TestWait(t *testing.T) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { time.Sleep(10 * time.Millisecond); wg.Done() }()
	if !Wait(&wg, time.Time{}) {
		t.Fatal("Wait without a finish line gave up")
	}
	var stuck sync.WaitGroup
	stuck.Add(1)
	defer stuck.Done()
	start := time.Now()
	if Wait(&stuck, start.Add(50*time.Millisecond)) || time.Since(start) > 2*time.Second {
		t.Fatalf("Wait past its finish line: %s", time.Since(start))
	}
}
