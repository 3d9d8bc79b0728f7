package process

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hookstack/hookstack/shared/batchdeadline"
	"github.com/hookstack/hookstack/shared/blob"
	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/inventory"
	"github.com/hookstack/hookstack/shared/leads"
	"github.com/hookstack/hookstack/shared/metrics"
	"github.com/hookstack/hookstack/shared/payments"
	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/relay"
	"github.com/hookstack/hookstack/shared/store"
)

// Metric names and dimension (the stack's dashboard and alarms use them).
const (
	MetricNamespace          = "Hookstack"
	MetricEventsProcessed    = "EventsProcessed"
	MetricEventsDeadLettered = "EventsDeadLettered"
	DimensionProcessor       = "Processor"
)

// Parallelism is how many messages of a batch a Handler processes at once.
// Records are independent (optimistic concurrency resolves two messages for
// one record), so a batch of 10 costs about one message's latency.
const Parallelism = 10

// maxReasonBytes bounds the reason attribute of a dead-lettered message.
const maxReasonBytes = 1024

// ErrPermanent marks errors that retrying cannot fix (see Permanent).
var ErrPermanent = errors.New("permanent failure")

// PermanentError wraps an error that retrying cannot fix: the message goes
// to the DLQ at once.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() []error {
	return []error{e.Err, ErrPermanent}
}

// Permanent marks err as permanent (nil stays nil).
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// IsPermanent reports whether err dead-letters a message at once rather
// than retrying it: a malformed envelope or handled payload (the pure
// packages' ErrMalformed), a claim-check body that does not exist, a
// record the store cannot hold (store.ErrInvalid, ErrTooLarge: a key or
// document that will never fit), or anything marked with Permanent. Errors
// store.IsTransient recognises are never permanent.
func IsPermanent(err error) bool {
	if err == nil || store.IsTransient(err) {
		return false
	}
	for _, target := range []error{
		ErrPermanent, envelope.ErrMalformed,
		payments.ErrMalformed, inventory.ErrMalformed, leads.ErrMalformed, relay.ErrMalformed,
		store.ErrInvalid, store.ErrTooLarge,
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// Handler is one processor's SQS batch handler (Lambda event source
// mapping with ReportBatchItemFailures, or the dev server's runner).
type Handler struct {
	name string
	deps Deps
	w    *Writer
	log  *slog.Logger
	proc processFunc
	// maxReceives is the queue's maxReceiveCount (0: unknown): a message
	// failing transiently on its last receive is dead-lettered by the
	// handler, with the error as its reason, rather than moved without one
	// by the queue's redrive.
	maxReceives int
}

func newHandler(name string, deps Deps, proc processFunc) *Handler {
	return &Handler{name: name, deps: deps, w: NewWriter(deps), log: deps.logger(), proc: proc}
}

// Name is the processor's name (its queue).
func (h *Handler) Name() string { return h.name }

// Writer is the handler's writer (for tools that update records the same way).
func (h *Handler) Writer() *Writer { return h.w }

// Handle processes a batch and reports the messages to retry. A permanent
// failure is sent to the queue's DLQ with the reason and acknowledged; a
// transient one (or a permanent one whose DLQ send failed) is listed in
// BatchItemFailures. It never returns an error: one bad message never
// fails its batch.
//
// When the queue can send batches (queue.BatchSender), the notifications
// of the messages running at once are sent together (see groupCommit):
// each message still learns the fate of its own notifications only, and is
// done only when all of them were accepted.
//
// When ctx has a deadline (Lambda's), the batch runs on a context that ends
// a margin earlier (batchdeadline.MaxMargin, batchdeadline.Start): calls in flight are
// cancelled, messages not yet started are not started, and every message
// not finished by then is listed in BatchItemFailures (received again;
// never dead-lettered for that reason). Dead-letter sends and archives
// that follow a decision already taken run detached from that
// cancellation, up to the batch's finish line.
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	// With a deadline (Lambda), the batch stops a margin before it: see
	// batchdeadline.Start. Unfinished messages are failures.
	ctx, finishBy, cancel := batchdeadline.Start(ctx)
	defer cancel()
	done := make([]atomic.Bool, len(ev.Records))
	sem := make(chan struct{}, Parallelism)
	gc := newGroupCommit(ctx, h.deps.Queue)
	if gc != nil {
		ctx = withGroupCommit(ctx, gc)
	}
	var wg sync.WaitGroup
	started := 0
start:
	for i := range ev.Records {
		select {
		case <-ctx.Done():
			break start
		case sem <- struct{}{}:
		}
		if ctx.Err() != nil { // the margin is reached: start nothing more
			<-sem
			break start
		}
		started++
		wg.Add(1)
		if gc != nil {
			gc.join()
		}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if gc != nil {
				defer gc.leave()
			}
			done[i].Store(h.handleRecord(ctx, &ev.Records[i]))
		}()
	}
	if finishBy.IsZero() {
		wg.Wait()
	} else {
		h.waitUntil(ctx, &wg, finishBy)
	}
	if started < len(ev.Records) {
		h.log.WarnContext(ctx, "messages not started: the batch reached its deadline margin",
			"processor", h.name, "not_started", len(ev.Records)-started, "first_message_id", ev.Records[started].MessageId)
	}
	var resp events.SQSEventResponse
	for i := range done {
		if !done[i].Load() {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: ev.Records[i].MessageId})
		}
	}
	return resp, nil
}

// waitUntil waits for the batch's messages, but not past finishBy: a
// message whose work ignores the cancellation is left behind (it is
// reported as a failure and received again), so that the answer still
// goes out before the deadline.
func (h *Handler) waitUntil(ctx context.Context, wg *sync.WaitGroup, finishBy time.Time) {
	if !batchdeadline.Wait(wg, finishBy) {
		h.log.ErrorContext(ctx, "messages still running at the batch's finish line; reported as failures",
			"processor", h.name)
	}
}

// outcome is what happened to one message, for its log line.
type outcome struct {
	env     envelope.Envelope
	decoded bool
	stack   string
}

// handleRecord processes one message and reports whether it is done with
// (processed, or dead-lettered).
func (h *Handler) handleRecord(ctx context.Context, m *events.SQSMessage) (done bool) {
	start := h.deps.now()
	var o outcome
	rj := &rejections{}
	err := h.run(withRejections(ctx, rj), m, &o)
	// What follows a decision (dead-letter, archive) must not be lost to
	// the batch's deadline margin.
	fctx, fcancel := batchdeadline.Finish(ctx)
	defer fcancel()
	if rerr := rj.err(); rerr != nil { // a notification of it can never be sent
		switch {
		case err == nil:
			err = rerr
		case !IsPermanent(err):
			// It will be retried, and its retry will not meet the dropped
			// notification again (the entry is gone): dead-letter a copy
			// with the reason now, so the drop is more than a log line.
			if dlqErr := h.deadLetter(fctx, m, rerr); dlqErr != nil {
				h.log.ErrorContext(ctx, "rejected notification not dead-lettered; only this log line records it",
					"processor", h.name, "message_id", m.MessageId, "error", dlqErr.Error())
			}
		}
	}
	status, level := "processed", slog.LevelInfo
	var processed, dead float64
	var dlqErr error
	switch {
	case err == nil:
		done, processed = true, 1
		h.archive(fctx, m, o.env)
	case IsPermanent(err):
		dlqErr = h.deadLetter(fctx, m, err)
		if dlqErr == nil {
			done, dead, status, level = true, 1, "dead", slog.LevelError
		} else {
			status, level = "failed", slog.LevelError
		}
	case cutByDeadline(ctx, err):
		// Cut by the batch's deadline margin: not a failure of the
		// message, never dead-lettered for it (not even on its last
		// receive); it is received again.
		err = fmt.Errorf("unfinished (%w): %w", context.Cause(ctx), err)
		status, level = "failed", slog.LevelWarn
	case h.lastReceive(m):
		// The queue would move it to the DLQ on its next receive, without
		// a reason: move it now, with the last error.
		err = fmt.Errorf("%w after %d receives: %w", ErrGaveUp, h.maxReceives, err)
		dlqErr = h.deadLetter(fctx, m, err)
		if dlqErr == nil {
			done, dead, status, level = true, 1, "dead", slog.LevelError
		} else {
			status, level = "failed", slog.LevelError
		}
	default:
		status, level = "failed", slog.LevelWarn
	}

	attrs := make([]slog.Attr, 0, 20)
	attrs = append(attrs,
		slog.String("processor", h.name),
		slog.String("status", status),
		slog.String("message_id", m.MessageId),
	)
	if rc := m.Attributes["ApproximateReceiveCount"]; rc != "" {
		attrs = append(attrs, slog.String("receive_count", rc))
	}
	if o.decoded {
		attrs = append(attrs,
			slog.String("event_id", o.env.EventID), // the correlation id
			slog.String("id", o.env.ID),
			slog.String("provider", o.env.Provider),
			slog.String("type", o.env.Type),
		)
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	if dlqErr != nil {
		attrs = append(attrs, slog.String("dlq_error", dlqErr.Error()))
	}
	if o.stack != "" {
		attrs = append(attrs, slog.String("stack", o.stack))
	}
	attrs = append(attrs, slog.Float64("duration_ms", float64(h.deps.now().Sub(start).Microseconds())/1000))
	attrs = append(attrs, metrics.EMF(MetricNamespace, [][]string{{DimensionProcessor}}, map[string]string{DimensionProcessor: h.name},
		metrics.Count(MetricEventsProcessed, processed),
		metrics.Count(MetricEventsDeadLettered, dead),
	)...)
	h.log.LogAttrs(ctx, level, "event", attrs...)
	return done
}

// ErrGaveUp starts the reason of a message dead-lettered on its last allowed
// receive after transient failures (see Config.MaxReceives).
var ErrGaveUp = errors.New("gave up")

// lastReceive reports whether m is on its last receive before the queue's
// redrive (SQS's ApproximateReceiveCount has reached maxReceiveCount).
func (h *Handler) lastReceive(m *events.SQSMessage) bool {
	if h.maxReceives <= 0 {
		return false
	}
	n, err := strconv.Atoi(m.Attributes["ApproximateReceiveCount"])
	return err == nil && n >= h.maxReceives
}

// run decodes the message, fetches a claim-check body and runs the
// processor; a panic becomes a permanent error.
func (h *Handler) run(ctx context.Context, m *events.SQSMessage, o *outcome) (err error) {
	defer func() {
		if r := recover(); r != nil {
			o.stack = string(debug.Stack())
			err = Permanent(fmt.Errorf("panic: %v", r))
		}
	}()
	env, err := envelope.Decode([]byte(m.Body))
	if err != nil {
		return err
	}
	o.env, o.decoded = env, true
	if env.Invalid != "" {
		return Permanent(fmt.Errorf("invalid envelope: %s", env.Invalid))
	}
	if env.BodyRef != "" {
		if h.deps.Blobs == nil {
			return fmt.Errorf("envelope %s has body_ref but no claim-check store is configured", env.ID)
		}
		body, err := h.deps.Blobs.Get(ctx, env.BodyRef)
		switch {
		case errors.Is(err, blob.ErrNotFound), errors.Is(err, blob.ErrInvalidRef):
			return Permanent(fmt.Errorf("claim-check body of %s: %w", env.ID, err))
		case err != nil:
			return fmt.Errorf("claim-check body of %s: %w", env.ID, err)
		}
		env.Body = body
	}
	return h.proc(ctx, h.w, env)
}

// deadLetter sends the original message to the queue's DLQ with the reason.
func (h *Handler) deadLetter(ctx context.Context, m *events.SQSMessage, cause error) error {
	_, err := h.deps.Queue.Send(ctx, queue.DLQ(h.name), queue.Outgoing{
		Body:       []byte(m.Body),
		Attributes: map[string]string{queue.AttrReason: reason(cause)},
	})
	if err != nil {
		return fmt.Errorf("dead-letter %s: %w", m.MessageId, err)
	}
	return nil
}

// reason makes an error text a valid message attribute: valid UTF-8
// without control characters, at most maxReasonBytes.
func reason(err error) string {
	s := strings.ToValidUTF8(err.Error(), "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0xD800 && r <= 0xDFFF) || r == 0xFFFE || r == 0xFFFF {
			return ' '
		}
		return r
	}, s)
	if len(s) > maxReasonBytes {
		cut := maxReasonBytes
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	if strings.TrimSpace(s) == "" {
		s = "unknown error"
	}
	return s
}
