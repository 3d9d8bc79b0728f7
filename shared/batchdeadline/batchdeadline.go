// Package batchdeadline is how Hookstack's queue consumers stop a batch
// before the Lambda deadline. A Lambda handler's context ends at the
// function's deadline, when Lambda kills the process: a batch still running
// then returns no partial batch response, so every message of it is
// received again (the ones already done too, and the deliverer's attempt
// numbers, taken from the receive count, skip ahead). A consumer therefore
// runs its batch on the context Start returns, which ends a margin earlier:
// the SDK calls and HTTP attempts in flight are cancelled, messages not
// started are not started, and every message not finished is reported as a
// failure (received again, never dead-lettered for that reason). Work that
// must follow a decision already taken (a dead-letter send, a delivery-log
// record) runs on Finish's context, detached from that cutoff.
//
// Without a deadline (the dev server, tests) nothing changes.
package batchdeadline

import (
	"context"
	"errors"
	"sync"
	"time"
)

const (
	// MaxMargin caps the margin kept before the incoming context's
	// deadline: the margin is min(MaxMargin, 10% of the time remaining when
	// the batch starts) (3 s of a 30 s function).
	MaxMargin = 3 * time.Second
	// marginDivisor: the margin is at most 1/marginDivisor of the
	// remaining time.
	marginDivisor = 10
)

// ErrBatchDeadline is the cause of the batch context's end: the margin
// before the Lambda deadline was reached. A message cut by it is reported
// as a failure and received again.
var ErrBatchDeadline = errors.New("batch stopped before the function's deadline")

// limits is what Start leaves in the batch's context.
type limits struct {
	// finishBy is the latest moment work detached from the margin may run
	// to, leaving a quarter of the margin to return the response.
	finishBy time.Time
}

type limitsKey struct{}

// Start returns the context a batch handled under ctx runs on, and the
// moment by which the handler must have returned its answer (zero: no
// deadline). Without a deadline it returns ctx itself.
func Start(ctx context.Context) (context.Context, time.Time, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return ctx, time.Time{}, func() {}
	}
	margin := min(MaxMargin, time.Until(deadline)/marginDivisor)
	margin = max(margin, 0)
	lim := limits{finishBy: deadline.Add(-margin / 4)}
	ctx = context.WithValue(ctx, limitsKey{}, lim)
	work, cancel := context.WithDeadlineCause(ctx, deadline.Add(-margin), ErrBatchDeadline)
	return work, lim.finishBy, cancel
}

// Finish returns the context for work that must follow a decision already
// taken, even when the margin has been reached: detached from the batch
// context's cancellation, bounded only by the batch's finish line. No
// shorter bound: that work is what keeps a decision (a "delivered" mark
// stops a redelivered message from being sent twice), and under throttling
// the SDK's own retries of one call can take seconds. Outside a batch with
// a deadline it is ctx itself.
func Finish(ctx context.Context) (context.Context, context.CancelFunc) {
	lim, ok := ctx.Value(limitsKey{}).(limits)
	if !ok {
		return ctx, func() {}
	}
	return context.WithDeadline(context.WithoutCancel(ctx), lim.finishBy)
}

// Wait waits for wg, but not past finishBy (zero: no limit). It reports
// whether everything finished. Work that ignores its context's cancellation
// is left behind so the answer still goes out in time.
func Wait(wg *sync.WaitGroup, finishBy time.Time) bool {
	if finishBy.IsZero() {
		wg.Wait()
		return true
	}
	all := make(chan struct{})
	go func() {
		wg.Wait()
		close(all)
	}()
	t := time.NewTimer(time.Until(finishBy))
	defer t.Stop()
	select {
	case <-all:
		return true
	case <-t.C:
		return false
	}
}
