package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hookstack/hookstack/shared/batchdeadline"
	"github.com/hookstack/hookstack/shared/blob"
	"github.com/hookstack/hookstack/shared/domain"
	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/metrics"
	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/sqstext"
)

// Delivery log.
const (
	// LogTTL is how long attempt records are kept.
	LogTTL = 30 * 24 * time.Hour
	// visibilitySlack is kept below SQS's 12 h so that a change of
	// visibility made a little after the receive is still accepted.
	visibilitySlack = time.Minute
	maxReasonAttr   = 512
)

// Attempt outcomes as recorded in the delivery log.
const (
	LogDelivered = "delivered" // 2xx (or a skipped no-op)
	LogRetry     = "retry"     // will be attempted again at NextAttemptAt
	LogDisabled  = "disabled"  // 410: the endpoint was disabled
	LogFailed    = "failed"    // permanent failure or retries exhausted: dead-lettered
	LogDropped   = "dropped"   // not attempted: endpoint disabled, removed or unsubscribed
)

// AttrDataRef is the attribute of a notification sent without its data
// (a raw forward too large for a queue message): the claim-check reference
// of the inbound body the data is built from (process.AttrDataRef).
const AttrDataRef = "data_ref"

// Message attributes set on dead-lettered deliveries (besides
// queue.AttrReason).
const (
	AttrEndpointID = "endpoint_id"
	AttrEventID    = "event_id"
	AttrEventType  = "event_type"
	AttrDeliveryID = "delivery_id"
	AttrAttempts   = "attempts"
)

// ErrRetryScheduled is returned by DeliverHandler.Handle when the message was
// left on the queue for a later attempt (its visibility set to the delay): the
// caller must not delete it. It is not a failure of the handler.
var ErrRetryScheduled = errors.New("delivery retry scheduled")

// Attempt is one delivery-log record (`GET /api/deliveries`).
type Attempt struct {
	DeliveryID     string    `json:"delivery_id"`
	NotificationID string    `json:"notification_id"` // the event id
	EventType      string    `json:"event_type"`
	EndpointID     string    `json:"endpoint_id"`
	Attempt        int       `json:"attempt"`
	Outcome        string    `json:"outcome"` // LogDelivered, ...
	StatusCode     int       `json:"status_code"`
	DurationMS     int64     `json:"duration_ms"`
	Reason         string    `json:"reason,omitempty"`
	Error          string    `json:"error,omitempty"`
	Response       string    `json:"response,omitempty"` // first SnippetBytes
	AttemptedAt    time.Time `json:"attempted_at"`
	NextAttemptAt  time.Time `json:"next_attempt_at,omitzero"`
	ExpiresAt      time.Time `json:"expires_at"` // AttemptedAt + LogTTL (the store's TTL)
}

// Key is a stable key for the record: delivery id and zero-padded attempt.
func (a Attempt) Key() string { return fmt.Sprintf("%s#%03d", a.DeliveryID, a.Attempt) }

// DeliveryLog records attempts and answers whether a delivery succeeded.
type DeliveryLog interface {
	Record(ctx context.Context, a Attempt) error
	// Delivered reports whether an attempt of the delivery was recorded with
	// outcome LogDelivered.
	Delivered(ctx context.Context, deliveryID string) (bool, error)
}

// BlobGetter reads a claim-check body by reference (blob.Store has it):
// blob.ErrNotFound when it is gone, blob.ErrInvalidRef for a reference it
// cannot read.
type BlobGetter interface {
	Get(ctx context.Context, ref string) ([]byte, error)
}

// EndpointDisabler marks an endpoint disabled with a reason.
type EndpointDisabler interface {
	DisableEndpoint(ctx context.Context, id, reason string) error
}

// Sender sends queue messages (queue.Queue has it).
type Sender interface {
	Send(ctx context.Context, queue string, m queue.Outgoing) (string, error)
}

// DeliveryQueue is what the deliverer does with queues (queue.Queue has it).
type DeliveryQueue interface {
	Sender
	ChangeVisibility(ctx context.Context, queue, receiptHandle string, d time.Duration) error
}

// FanOutHandler consumes the notifications queue: each message (a JSON
// domain.Event) becomes one deliveries message (a JSON Delivery) per enabled
// endpoint whose filter matches. Delivery ids are stable per (event,
// endpoint), so handling a message twice yields the same deliveries, which
// the deliverer sends once (DeliveryLog.Delivered; receivers can also
// deduplicate on webhook-id).
type FanOutHandler struct {
	Endpoints EndpointSource
	Queue     Sender
	// Deliveries is the deliveries queue; "" means envelope.QueueDeliveries.
	Deliveries string
	// Notifications names the consumed queue; its DLQ receives malformed
	// messages. "" means envelope.QueueNotifications.
	Notifications string
	Now           func() time.Time
	Logger        *slog.Logger
}

func (h *FanOutHandler) names() (src, dst string) {
	src, dst = h.Notifications, h.Deliveries
	if src == "" {
		src = envelope.QueueNotifications
	}
	if dst == "" {
		dst = envelope.QueueDeliveries
	}
	return src, dst
}

// Handle fans one notifications message out. nil means the message is done
// (the caller deletes it; a malformed one has been dead-lettered with the
// reason); an error means it must stay for another try.
//
// A delivery the deliveries queue rejects (queue.ErrRejected: it will never
// be accepted) dead-letters the notification with the reason once its
// other deliveries are sent; any other send error keeps it for a retry.
func (h *FanOutHandler) Handle(ctx context.Context, m queue.Message) error {
	_, dst := h.names()
	out, err := h.safeDeliveries(ctx, m)
	if err != nil {
		return err
	}
	var rejected []error
	for _, d := range out {
		if _, err := h.Queue.Send(ctx, dst, d.msg); err != nil {
			err = fmt.Errorf("fan out %s to %s: %w", d.eventID, d.endpointID, err)
			if errors.Is(err, queue.ErrRejected) {
				rejected = append(rejected, err)
				continue
			}
			return err
		}
	}
	if len(rejected) > 0 {
		return h.deadLetterRejected(ctx, m, out[0].eventID, rejected)
	}
	return nil
}

// ErrDeliveryRejected starts the DLQ reason of a notification one of whose
// deliveries the deliveries queue rejected (queue.ErrRejected).
var ErrDeliveryRejected = errors.New("delivery rejected by the deliveries queue")

// deadLetterRejected dead-letters notification m, whose deliveries errs
// were rejected by the deliveries queue (its other deliveries were sent and
// stay sent), with the reason.
func (h *FanOutHandler) deadLetterRejected(ctx context.Context, m queue.Message, eventID string, errs []error) error {
	src, _ := h.names()
	reason := ErrDeliveryRejected.Error()
	for i, err := range errs {
		sep := "; "
		if i == 0 {
			sep = ": "
		}
		reason += sep + err.Error()
	}
	logger(h.Logger).ErrorContext(ctx, "notification dead-lettered: a delivery was rejected", "message_id", m.ID,
		"event_id", eventID, "reason", reason)
	fctx, cancel := batchdeadline.Finish(ctx)
	defer cancel()
	return deadLetter(fctx, h.Queue, src, m, map[string]string{
		queue.AttrReason: truncate(reason, maxReasonAttr),
		AttrEventID:      eventID,
	})
}

// safeDeliveries is deliveries with a panic turned into the dead-lettering
// of m with the reason (nothing to send; an error when that fails).
func (h *FanOutHandler) safeDeliveries(ctx context.Context, m queue.Message) (out []outgoingDelivery, err error) {
	defer func() {
		if r := recover(); r != nil {
			src, _ := h.names()
			out, err = nil, recovered(ctx, logger(h.Logger), h.Queue, src, m, r, nil)
		}
	}()
	return h.deliveries(ctx, m)
}

// outgoingDelivery is a delivery ready for the deliveries queue.
type outgoingDelivery struct {
	eventID, endpointID string
	msg                 queue.Outgoing
}

// deliveries returns m's deliveries to send. A malformed message is
// dead-lettered here (nothing to send; an error when that fails).
func (h *FanOutHandler) deliveries(ctx context.Context, m queue.Message) ([]outgoingDelivery, error) {
	src, _ := h.names()
	var ev domain.Event
	if err := json.Unmarshal(m.Body, &ev); err != nil || ev.ID == "" || ev.Type == "" {
		reason := "malformed notification: want a JSON event with id and type"
		if err != nil {
			reason = "malformed notification: " + err.Error()
		}
		fctx, cancel := batchdeadline.Finish(ctx)
		defer cancel()
		return nil, deadLetter(fctx, h.Queue, src, m, map[string]string{queue.AttrReason: truncate(reason, maxReasonAttr)})
	}
	endpoints, err := h.Endpoints.Endpoints(ctx)
	if err != nil {
		return nil, fmt.Errorf("fan out %s: %w", ev.ID, err)
	}
	// A raw forward too large for its message came without data, naming
	// the inbound body instead: each delivery carries the reference and
	// the deliverer reads it.
	ref := ""
	if len(ev.Data) == 0 {
		ref = m.Attributes[AttrDataRef]
	}
	now := nowOr(h.Now)
	var out []outgoingDelivery
	for _, d := range FanOut(ev, endpoints) {
		d.FirstAttemptAt = now.UTC()
		d.DataRef = ref
		body, err := marshalJSON(d)
		if err != nil {
			return nil, fmt.Errorf("fan out %s to %s: %w", ev.ID, d.EndpointID, err)
		}
		out = append(out, outgoingDelivery{eventID: ev.ID, endpointID: d.EndpointID, msg: queue.Outgoing{Body: body}})
	}
	return out, nil
}

// HandleBatch fans msgs out and returns the ids of those that must stay on
// the queue (the partial batch response). When the queue can send batches
// (queue.BatchSender), the deliveries of every message go out together in
// one SendBatch (chunked by the adapter), and exactly the messages with a
// delivery that was not accepted stay: their retry recomputes the same
// delivery ids, and the deliverer sends a delivery once. Otherwise the
// messages are handled one by one, in order.
//
// A message whose only refused deliveries were rejected (queue.ErrRejected)
// is dead-lettered with the reason (see Handle). A panic while fanning a
// message out dead-letters that message with the reason.
//
// When ctx has a deadline (Lambda's), the batch runs on a context that ends
// a margin earlier (batchdeadline.MaxMargin): messages not started by then are
// not started and stay, as do those whose deliveries were cut.
func (h *FanOutHandler) HandleBatch(ctx context.Context, msgs []queue.Message) []string {
	ctx, _, cancel := batchdeadline.Start(ctx)
	defer cancel()
	log := logger(h.Logger)
	bs, ok := h.Queue.(queue.BatchSender)
	if !ok {
		var failed []string
		for i, m := range msgs {
			if ctx.Err() != nil {
				log.WarnContext(ctx, "fan-out not started: the batch reached its deadline margin", "not_started", len(msgs)-i)
				for _, m := range msgs[i:] {
					failed = append(failed, m.ID)
				}
				break
			}
			if err := h.Handle(ctx, m); err != nil {
				log.WarnContext(ctx, "fan-out failed", "message_id", m.ID, "error", err)
				failed = append(failed, m.ID)
			}
		}
		return failed
	}
	_, dst := h.names()
	bad := make([]bool, len(msgs))
	var (
		out   []queue.Outgoing
		owner []int // index in msgs of each entry of out
		what  []outgoingDelivery
	)
	for i, m := range msgs {
		if ctx.Err() != nil {
			log.WarnContext(ctx, "fan-out not started: the batch reached its deadline margin", "message_id", m.ID)
			bad[i] = true
			continue
		}
		ds, err := h.safeDeliveries(ctx, m)
		if err != nil {
			log.WarnContext(ctx, "fan-out failed", "message_id", m.ID, "error", err)
			bad[i] = true
			continue
		}
		for _, d := range ds {
			out = append(out, d.msg)
			owner = append(owner, i)
			what = append(what, d)
		}
	}
	var rejected map[int][]error // by index in msgs
	if len(out) > 0 {
		// Deliveries computed before the margin was reached are still sent
		// (the fan-out's decision is taken), by the batch's finish line.
		sctx := ctx
		if ctx.Err() != nil {
			var cancel context.CancelFunc
			sctx, cancel = batchdeadline.Finish(ctx)
			defer cancel()
		}
		res := bs.SendBatch(sctx, dst, out)
		for j := range out {
			var err error
			switch {
			case j >= len(res):
				err = queue.ErrNoResult
			default:
				err = res[j].Err
			}
			if err == nil {
				continue
			}
			i := owner[j]
			err = fmt.Errorf("fan out %s to %s: %w", what[j].eventID, what[j].endpointID, err)
			if errors.Is(err, queue.ErrRejected) {
				if rejected == nil {
					rejected = map[int][]error{}
				}
				rejected[i] = append(rejected[i], err)
				continue
			}
			if !bad[i] {
				log.WarnContext(ctx, "fan-out failed", "message_id", msgs[i].ID, "error", err)
			}
			bad[i] = true
		}
	}
	// A message refused only by rejections is dead-lettered with the
	// reason (a retry would meet the same rejection); one that also has a
	// transient failure stays, and its retry decides.
	for i, errs := range rejected {
		if bad[i] {
			continue
		}
		if err := h.deadLetterRejected(ctx, msgs[i], what[slices.Index(owner, i)].eventID, errs); err != nil {
			log.WarnContext(ctx, "fan-out failed", "message_id", msgs[i].ID, "error", err)
			bad[i] = true
		}
	}
	var failed []string
	for i, b := range bad {
		if b {
			failed = append(failed, msgs[i].ID)
		}
	}
	return failed
}

// HandleSQS is the Lambda handler (SQS event source with
// ReportBatchItemFailures).
func (h *FanOutHandler) HandleSQS(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	return batchResponse(h.HandleBatch(ctx, FromSQS(ev))), nil
}

// DeliverHandler consumes the deliveries queue: one attempt per receive.
//
//   - already delivered (DeliveryLog.Delivered): done, nothing sent;
//   - endpoint removed, disabled or no longer subscribed: dropped (recorded,
//     done, not dead-lettered), once a fresh read of the endpoint
//     (EndpointConfirmer: a consistent read) agrees with the cached view;
//   - a large raw forward (Delivery.DataRef): its data is built from the
//     claim-check body first; a body that is gone is recorded as failed
//     and dead-lettered (ReasonDataMissing);
//   - Delivered: recorded, done;
//   - Retry: recorded with the next attempt time, the message's visibility
//     set to the delay (at most SQS's 12 h less what has elapsed since the
//     receive) and left on the queue (ErrRetryScheduled);
//   - Disable (410): the endpoint is disabled with the reason, recorded,
//     done; its other pending deliveries are dropped as they arrive;
//   - Permanent (incl. retries exhausted and blocked address): recorded,
//     sent to the deliveries DLQ with the reason attribute, done.
//
// The attempt number is the message's receive count (see the package
// documentation).
type DeliverHandler struct {
	Deliverer *Deliverer
	// Endpoints finds a delivery's endpoint; when it is also an
	// EndpointConfirmer (EndpointCache), a delivery is dropped only after
	// ConfirmEndpoint agrees.
	Endpoints EndpointLookup
	Disabler  EndpointDisabler
	Log       DeliveryLog
	Queue     DeliveryQueue
	// Blobs reads the claim-check bodies of large raw forwards
	// (Delivery.DataRef); nil: such deliveries are dead-lettered
	// (ReasonNoClaimStore).
	Blobs BlobGetter
	// Deliveries is the consumed queue; "" means envelope.QueueDeliveries.
	Deliveries string
	Now        func() time.Time
	Logger     *slog.Logger
}

func (h *DeliverHandler) queueName() string {
	if h.Deliveries != "" {
		return h.Deliveries
	}
	return envelope.QueueDeliveries
}

// Handle makes one attempt of the delivery in m. nil: done (the caller
// deletes the message). ErrRetryScheduled: left for a later attempt. Any
// other error: a failure of ours (store, queue); the message stays and comes
// back after the queue's visibility timeout.
func (h *DeliverHandler) Handle(ctx context.Context, m queue.Message) error {
	received := time.Now()
	var d Delivery
	if err := json.Unmarshal(m.Body, &d); err != nil || d.ID == "" || d.EndpointID == "" {
		reason := "malformed delivery: want a JSON delivery with id and endpoint_id"
		if err != nil {
			reason = "malformed delivery: " + err.Error()
		}
		fctx, cancel := batchdeadline.Finish(ctx)
		defer cancel()
		return deadLetter(fctx, h.Queue, h.queueName(), m, map[string]string{queue.AttrReason: truncate(reason, maxReasonAttr)})
	}
	d.Attempt = max(m.ReceiveCount, 1)
	done, err := h.Log.Delivered(ctx, d.ID)
	if err != nil {
		return fmt.Errorf("delivery %s: check log: %w", d.ID, err)
	}
	if done {
		return nil
	}
	ep, why, err := h.endpoint(ctx, d)
	if err != nil {
		return fmt.Errorf("delivery %s: endpoint %s: %w", d.ID, d.EndpointID, err)
	}
	if why != "" {
		return h.drop(ctx, d, why)
	}
	if d.DataRef != "" && len(d.Event.Data) == 0 {
		data, reason, err := h.resolveData(ctx, d)
		if err != nil {
			return fmt.Errorf("delivery %s: %w", d.ID, err)
		}
		if reason != "" {
			return h.fail(ctx, m, d, reason)
		}
		d.Event.Data = data
	}

	res := h.Deliverer.Attempt(ctx, d, ep)
	if ctx.Err() != nil && res.StatusCode == 0 && res.Outcome != Delivered {
		// The context ended (the batch's deadline margin) before any
		// answer: not a failure of the endpoint. Nothing is recorded and
		// no retry delay is set; the message is received again. (Its
		// receive count still grows, so the next attempt's number is one
		// higher: see the package documentation.)
		logger(h.Logger).WarnContext(ctx, "attempt cut before an answer", "delivery_id", d.ID, "endpoint_id", d.EndpointID,
			"attempt", d.Attempt, "cause", context.Cause(ctx).Error())
		return fmt.Errorf("delivery %s: %w (%w)", d.ID, ErrAttemptCut, context.Cause(ctx))
	}
	// The attempt is made: what it decided is recorded even when the
	// batch's margin is reached meanwhile.
	ctx, cancel := batchdeadline.Finish(ctx)
	defer cancel()
	now := nowOr(h.Now)
	rec := Attempt{
		DeliveryID: d.ID, NotificationID: d.EventID, EventType: d.Event.Type, EndpointID: d.EndpointID,
		Attempt: d.Attempt, StatusCode: res.StatusCode, DurationMS: res.Duration.Milliseconds(),
		Reason: res.Reason, Error: res.Error, Response: res.ResponseSnippet,
		AttemptedAt: now.UTC(), ExpiresAt: now.Add(LogTTL).UTC(),
	}
	log := logger(h.Logger).With("delivery_id", d.ID, "endpoint_id", d.EndpointID, "event_type", d.Event.Type, "attempt", d.Attempt)
	switch res.Outcome {
	case Delivered:
		rec.Outcome = LogDelivered
		if err := h.recordDelivered(ctx, rec); err != nil {
			// Sent already: a second send is worse than a missing record. If
			// this message comes back (crash, lost delete), the receiver sees the
			// same webhook-id again and can drop it.
			log.ErrorContext(ctx, "delivered but not recorded", "error", err)
		}
		log.LogAttrs(ctx, slog.LevelInfo, "delivered", append([]slog.Attr{
			slog.Int("status", res.StatusCode), slog.Int64("duration_ms", rec.DurationMS)},
			deliveryMetrics(1, 0, res.Duration)...)...)
		return nil

	case Retry:
		delay := res.Delay
		if limit := MaxDelay - time.Since(received) - visibilitySlack; delay > limit {
			delay = limit
		}
		rec.Outcome, rec.NextAttemptAt = LogRetry, now.Add(delay).UTC()
		if err := h.Log.Record(ctx, rec); err != nil {
			log.ErrorContext(ctx, "attempt not recorded", "error", err)
		}
		if err := h.Queue.ChangeVisibility(ctx, h.queueName(), m.ReceiptHandle, delay); err != nil {
			// The message comes back after the queue's own visibility
			// timeout instead: sooner than planned, never lost.
			log.WarnContext(ctx, "retry delay not set", "error", err)
		}
		log.LogAttrs(ctx, slog.LevelInfo, "retry scheduled", append([]slog.Attr{
			slog.String("reason", res.Reason), slog.String("delay", delay.String())},
			deliveryMetrics(0, 1, res.Duration)...)...)
		return ErrRetryScheduled

	case Disable:
		reason := "410 Gone from " + d.EndpointID + " at " + now.UTC().Format(time.RFC3339)
		if err := h.Disabler.DisableEndpoint(ctx, ep.ID, reason); err != nil {
			return fmt.Errorf("delivery %s: disable endpoint %s: %w", d.ID, ep.ID, err)
		}
		// A cached lookup forgets the endpoint, so the next delivery to it
		// sees it disabled and is dropped.
		if inv, ok := h.Endpoints.(interface{ Invalidate() }); ok {
			inv.Invalidate()
		}
		rec.Outcome = LogDisabled
		if err := h.Log.Record(ctx, rec); err != nil {
			log.ErrorContext(ctx, "attempt not recorded", "error", err)
		}
		log.LogAttrs(ctx, slog.LevelWarn, "endpoint disabled", append([]slog.Attr{slog.String("reason", reason)},
			deliveryMetrics(0, 1, res.Duration)...)...)
		return nil

	default: // Permanent
		rec.Outcome = LogFailed
		if err := h.Log.Record(ctx, rec); err != nil {
			log.ErrorContext(ctx, "attempt not recorded", "error", err)
		}
		attrs := map[string]string{
			queue.AttrReason: truncate(joinReason(res.Reason, res.Error), maxReasonAttr),
			AttrEndpointID:   d.EndpointID,
			AttrEventID:      d.EventID,
			AttrEventType:    d.Event.Type,
			AttrDeliveryID:   d.ID,
			AttrAttempts:     strconv.Itoa(d.Attempt),
		}
		log.LogAttrs(ctx, slog.LevelWarn, "delivery failed", append([]slog.Attr{slog.String("reason", res.Reason)},
			deliveryMetrics(0, 1, res.Duration)...)...)
		return deadLetter(ctx, h.Queue, h.queueName(), m, attrs)
	}
}

// endpoint returns the delivery's endpoint, or why the delivery is to be
// dropped: removed, disabled, or no longer subscribed to the event's type.
// The lookup is usually a cache of a list read from an eventually
// consistent index, which may not show yet an endpoint added, re-enabled
// or subscribed since (while the fan-out, whose list is fresher, already
// made the delivery): so before saying "drop", the endpoint is read again
// with h.Endpoints' ConfirmEndpoint (a consistent read of that endpoint),
// and only what that read shows counts.
func (h *DeliverHandler) endpoint(ctx context.Context, d Delivery) (Endpoint, string, error) {
	ep, err := h.Endpoints.Endpoint(ctx, d.EndpointID)
	why, err := dropReason(d, ep, err)
	if err != nil || why == "" {
		return ep, why, err
	}
	c, ok := h.Endpoints.(EndpointConfirmer)
	if !ok {
		return ep, why, nil
	}
	ep, err = c.ConfirmEndpoint(ctx, d.EndpointID)
	why, err = dropReason(d, ep, err)
	if why == "" && err == nil {
		logger(h.Logger).InfoContext(ctx, "endpoint list stale: delivery kept", "delivery_id", d.ID, "endpoint_id", d.EndpointID)
	}
	return ep, why, err
}

// dropReason says why d is not to be sent to ep (the result of a lookup):
// "" when it is to be sent; an error for a failed lookup.
func dropReason(d Delivery, ep Endpoint, err error) (string, error) {
	switch {
	case errors.Is(err, ErrEndpointNotFound):
		return "endpoint removed", nil
	case err != nil:
		return "", err
	case !ep.Enabled:
		return "endpoint disabled: " + firstNonEmpty(ep.DisabledReason, "by an operator"), nil
	case !ep.Matches(d.Event.Type):
		return "endpoint no longer subscribed to " + d.Event.Type, nil
	}
	return "", nil
}

// Reasons a delivery whose data is a claim-check body fails for good.
const (
	ReasonDataMissing  = "claim-check data missing"
	ReasonNoClaimStore = "claim-check data unreadable: no claim-check store configured"
)

// resolveData reads the claim-check body of a large raw forward (d.DataRef)
// and returns the event's data built from it exactly as a raw forward that
// fitted in its message carries it (RawData). A body that is gone (or a
// reference no store of ours reads) is a permanent failure: reason says
// why. Any other error is transient (the message stays).
func (h *DeliverHandler) resolveData(ctx context.Context, d Delivery) (data json.RawMessage, reason string, err error) {
	if h.Blobs == nil {
		return nil, ReasonNoClaimStore, nil
	}
	body, err := h.Blobs.Get(ctx, d.DataRef)
	switch {
	case errors.Is(err, blob.ErrNotFound), errors.Is(err, blob.ErrInvalidRef):
		return nil, ReasonDataMissing + ": " + err.Error(), nil
	case err != nil:
		return nil, "", fmt.Errorf("claim-check data of %s: %w", d.EventID, err)
	}
	data, err = RawData(d.Event.Source, body)
	if err != nil {
		return nil, ReasonDataMissing + ": " + err.Error(), nil
	}
	return data, "", nil
}

// fail records d as failed without an attempt (reason) and dead-letters m
// with the reason and the delivery's attributes.
func (h *DeliverHandler) fail(ctx context.Context, m queue.Message, d Delivery, reason string) error {
	now := nowOr(h.Now)
	rec := Attempt{
		DeliveryID: d.ID, NotificationID: d.EventID, EventType: d.Event.Type, EndpointID: d.EndpointID,
		Attempt: d.Attempt, Outcome: LogFailed, Reason: truncate(reason, maxReasonAttr),
		AttemptedAt: now.UTC(), ExpiresAt: now.Add(LogTTL).UTC(),
	}
	ctx, cancel := batchdeadline.Finish(ctx)
	defer cancel()
	if err := h.Log.Record(ctx, rec); err != nil {
		logger(h.Logger).ErrorContext(ctx, "attempt not recorded", "delivery_id", d.ID, "error", err)
	}
	logger(h.Logger).WarnContext(ctx, "delivery failed", "delivery_id", d.ID, "endpoint_id", d.EndpointID,
		"event_type", d.Event.Type, "attempt", d.Attempt, "reason", rec.Reason)
	return deadLetter(ctx, h.Queue, h.queueName(), m, map[string]string{
		queue.AttrReason: rec.Reason,
		AttrEndpointID:   d.EndpointID,
		AttrEventID:      d.EventID,
		AttrEventType:    d.Event.Type,
		AttrDeliveryID:   d.ID,
		AttrAttempts:     strconv.Itoa(d.Attempt),
	})
}

// The "delivered" record's retries: deliveredTries calls, the waits
// doubling from deliveredFirstWait (3.1 s of waits in all). They run on
// batchdeadline.Finish's context, which lasts to the batch's finish line.
const (
	deliveredTries     = 6
	deliveredFirstWait = 100 * time.Millisecond
)

// recordDelivered records a successful attempt, retrying (about 3 s in
// all) while the log is unavailable: the "delivered" mark is what stops a
// redelivered message from being sent again, so it is worth waiting for.
func (h *DeliverHandler) recordDelivered(ctx context.Context, rec Attempt) error {
	wait := deliveredFirstWait
	var err error
	for try := 0; try < deliveredTries; try++ {
		if err = h.Log.Record(ctx, rec); err == nil {
			return nil
		}
		if try == deliveredTries-1 {
			break // no wait after the last call
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(wait):
		}
		wait *= 2
	}
	return err
}

// deliveryMetrics are the attempt's CloudWatch EMF fields (namespace
// Hookstack, no dimensions: the dashboard reads them so).
func deliveryMetrics(succeeded, failed float64, took time.Duration) []slog.Attr {
	return metrics.EMF("Hookstack", [][]string{{}}, nil,
		metrics.Count("DeliveriesSucceeded", succeeded),
		metrics.Count("DeliveriesFailed", failed),
		metrics.Milliseconds("DeliveryLatency", float64(took.Microseconds())/1000),
	)
}

// drop records a delivery that is not attempted and finishes it.
func (h *DeliverHandler) drop(ctx context.Context, d Delivery, reason string) error {
	now := nowOr(h.Now)
	rec := Attempt{
		DeliveryID: d.ID, NotificationID: d.EventID, EventType: d.Event.Type, EndpointID: d.EndpointID,
		Attempt: d.Attempt, Outcome: LogDropped, Reason: reason,
		AttemptedAt: now.UTC(), ExpiresAt: now.Add(LogTTL).UTC(),
	}
	fctx, cancel := batchdeadline.Finish(ctx)
	defer cancel()
	if err := h.Log.Record(fctx, rec); err != nil {
		return fmt.Errorf("delivery %s: record drop: %w", d.ID, err)
	}
	logger(h.Logger).InfoContext(ctx, "delivery dropped", "delivery_id", d.ID, "endpoint_id", d.EndpointID,
		"event_type", d.Event.Type, "attempt", d.Attempt, "reason", reason)
	return nil
}

// HandleBatch handles msgs concurrently (a batch is at most 10 messages) and
// returns the ids of those that must stay on the queue: retries scheduled
// and failures of ours. A panic while handling a message dead-letters that
// message with the reason; the rest of the batch goes on.
//
// When ctx has a deadline (Lambda's), the batch runs on a context that ends
// a margin earlier (batchdeadline.MaxMargin): HTTP attempts and store calls in
// flight are cancelled, messages not started are not started, and every
// message not finished stays (an attempt cut before an answer is not an
// attempt: ErrAttemptCut).
func (h *DeliverHandler) HandleBatch(ctx context.Context, msgs []queue.Message) []string {
	ctx, finishBy, cancel := batchdeadline.Start(ctx)
	defer cancel()
	// Deliveries run concurrently, but copies of one delivery (a duplicate
	// send of the same message) run one after the other, so the second sees
	// the first recorded as delivered instead of sending again.
	groups := map[string][]int{}
	var order []string
	for i, m := range msgs {
		var peek struct {
			ID string `json:"id"`
		}
		key := "message:" + m.ID
		if json.Unmarshal(m.Body, &peek) == nil && peek.ID != "" {
			key = peek.ID
		}
		if _, ok := groups[key]; !ok {
			order = append(order, key)
		}
		groups[key] = append(groups[key], i)
	}
	var mu sync.Mutex // guards errs: a message left running may still write
	errs := make([]error, len(msgs))
	for i := range errs {
		errs[i] = errNotStarted
	}
	set := func(i int, err error) {
		mu.Lock()
		errs[i] = err
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for _, key := range order {
		idx := groups[key]
		wg.Go(func() {
			for _, i := range idx {
				if ctx.Err() != nil {
					return // the rest stay errNotStarted
				}
				set(i, errStillRunning)
				set(i, h.handleSafe(ctx, msgs[i]))
			}
		})
	}
	if !batchdeadline.Wait(&wg, finishBy) {
		logger(h.Logger).ErrorContext(ctx, "deliveries still running at the batch's finish line; reported as failures")
	}
	mu.Lock()
	errs = slices.Clone(errs)
	mu.Unlock()
	var failed []string
	for i, err := range errs {
		if err == nil {
			continue
		}
		switch {
		case errors.Is(err, ErrRetryScheduled):
		case errors.Is(err, batchdeadline.ErrBatchDeadline), errors.Is(err, ErrAttemptCut):
			logger(h.Logger).WarnContext(ctx, "delivery unfinished", "message_id", msgs[i].ID, "error", err)
		default:
			logger(h.Logger).ErrorContext(ctx, "delivery not handled", "message_id", msgs[i].ID, "error", err)
		}
		failed = append(failed, msgs[i].ID)
	}
	return failed
}

// handleSafe is Handle with a panic turned into the dead-lettering of m
// with the reason (and the delivery's attributes when its body reads).
func (h *DeliverHandler) handleSafe(ctx context.Context, m queue.Message) (err error) {
	defer func() {
		if r := recover(); r != nil {
			var attrs map[string]string
			var d Delivery
			if json.Unmarshal(m.Body, &d) == nil {
				d.Attempt = max(m.ReceiveCount, 1)
				attrs = deliveryAttrs(d)
			}
			err = recovered(ctx, logger(h.Logger), h.Queue, h.queueName(), m, r, attrs)
		}
	}()
	return h.Handle(ctx, m)
}

// HandleSQS is the Lambda handler (SQS event source with
// ReportBatchItemFailures): messages not reported are deleted by Lambda.
func (h *DeliverHandler) HandleSQS(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	return batchResponse(h.HandleBatch(ctx, FromSQS(ev))), nil
}

// deadLetter sends m's body to queue.DLQ(src) with attrs (empty values
// dropped). A send failure keeps the message on its queue.
func deadLetter(ctx context.Context, s Sender, src string, m queue.Message, attrs map[string]string) error {
	clean := make(map[string]string, len(attrs))
	for k, v := range attrs {
		if v != "" {
			clean[k] = sqstext.Text(v)
		}
	}
	if _, err := s.Send(ctx, queue.DLQ(src), queue.Outgoing{Body: m.Body, Attributes: clean}); err != nil {
		return fmt.Errorf("dead-letter message %s: %w", m.ID, err)
	}
	return nil
}

// Deleter deletes received messages (queue.Queue has it).
type Deleter interface {
	Delete(ctx context.Context, queue, receiptHandle string) error
}

// DeleteDone deletes the messages of msgs whose ids are not in failed: what
// Lambda's event source mapping does after a partial batch response, for the
// consumers that poll a queue themselves (the dev server, tests).
func DeleteDone(ctx context.Context, q Deleter, queueName string, msgs []queue.Message, failed []string) error {
	keep := make(map[string]bool, len(failed))
	for _, id := range failed {
		keep[id] = true
	}
	var errs []error
	for _, m := range msgs {
		if keep[m.ID] {
			continue
		}
		if err := q.Delete(ctx, queueName, m.ReceiptHandle); err != nil {
			errs = append(errs, fmt.Errorf("delete %s: %w", m.ID, err))
		}
	}
	return errors.Join(errs...)
}

// FromSQS converts a Lambda SQS event into queue messages (receive count
// from ApproximateReceiveCount, string message attributes).
func FromSQS(ev events.SQSEvent) []queue.Message {
	out := make([]queue.Message, 0, len(ev.Records))
	for _, r := range ev.Records {
		n, _ := strconv.Atoi(r.Attributes["ApproximateReceiveCount"])
		var sent time.Time
		if ms, err := strconv.ParseInt(r.Attributes["SentTimestamp"], 10, 64); err == nil {
			sent = time.UnixMilli(ms).UTC()
		}
		var attrs map[string]string
		for k, v := range r.MessageAttributes {
			if v.StringValue != nil {
				if attrs == nil {
					attrs = map[string]string{}
				}
				attrs[k] = *v.StringValue
			}
		}
		out = append(out, queue.Message{ID: r.MessageId, ReceiptHandle: r.ReceiptHandle, Body: []byte(r.Body), Attributes: attrs, ReceiveCount: max(n, 1), SentAt: sent})
	}
	return out
}

func batchResponse(failed []string) events.SQSEventResponse {
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	for _, id := range failed {
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: id})
	}
	return resp
}

func nowOr(f func() time.Time) time.Time {
	if f != nil {
		return f()
	}
	return time.Now()
}

func logger(l *slog.Logger) *slog.Logger {
	if l != nil {
		return l
	}
	return slog.New(slog.DiscardHandler)
}
