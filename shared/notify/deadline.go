package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"

	"github.com/hookstack/hookstack/shared/batchdeadline"
	"github.com/hookstack/hookstack/shared/queue"
)

// Errors of deliveries the batch deadline left unfinished (both wrap
// batchdeadline.ErrBatchDeadline).
var (
	errNotStarted   = fmt.Errorf("not started: %w", batchdeadline.ErrBatchDeadline)
	errStillRunning = fmt.Errorf("still running at the batch's finish line: %w", batchdeadline.ErrBatchDeadline)
)

// ErrAttemptCut is the error of a delivery whose HTTP attempt was cut by
// the end of its context before any answer came: it is not an attempt
// that failed (nothing is recorded, no retry delay is set); the message is
// reported as a failure and received again.
var ErrAttemptCut = errors.New("attempt cut before an answer")

// panicReason is the DLQ reason of a message whose handling panicked: the
// panic's value (the stack goes to the log line only, as in
// shared/process).
func panicReason(r any) string {
	return truncate(fmt.Sprintf("panic: %v", r), maxReasonAttr)
}

// recovered dead-letters m after a panic of its handling (r, the recovered
// value) with the reason and attrs, logs the stack, and returns what the
// message's handling returns: nil once dead-lettered (done), the send's
// error otherwise (the message stays).
func recovered(ctx context.Context, log *slog.Logger, s Sender, src string, m queue.Message, r any, attrs map[string]string) error {
	reason := panicReason(r)
	log.ErrorContext(ctx, "message handling panicked; dead-lettered", "message_id", m.ID, "queue", src,
		"error", reason, "stack", string(debug.Stack()))
	if attrs == nil {
		attrs = map[string]string{}
	}
	attrs[queue.AttrReason] = reason
	fctx, cancel := batchdeadline.Finish(ctx)
	defer cancel()
	return deadLetter(fctx, s, src, m, attrs)
}

// deliveryAttrs are the DLQ attributes of delivery d (attempt included
// when known).
func deliveryAttrs(d Delivery) map[string]string {
	attrs := map[string]string{
		AttrEndpointID: d.EndpointID,
		AttrEventID:    d.EventID,
		AttrEventType:  d.Event.Type,
		AttrDeliveryID: d.ID,
	}
	if d.Attempt > 0 {
		attrs[AttrAttempts] = strconv.Itoa(d.Attempt)
	}
	return attrs
}
