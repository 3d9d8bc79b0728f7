// Package process is the processors' I/O core: the store-backed
// read-modify-write with a transactional outbox (Writer), the SQS batch
// handler with partial batch responses (Handler), and the four processors
// (payments, inventory, leads, relay) wired on top of the pure state
// transitions of shared/payments, shared/inventory, shared/leads and
// shared/relay. One copy serves every processor Lambda and the dev server.
//
// Exactly once in effect, without transactions (see shared/store/README.md):
//
//  1. Writer.Update reads the record, applies the pure transition and, only
//     when something changed, writes the next state together with the
//     emitted domain events (appended to the record's pending outbox) in one
//     conditional Put on the revision read; a lost race (ErrConflict)
//     re-reads and re-applies, a bounded number of times.
//  2. The outbox is sent to the notifications queue (body: the domain.Event
//     JSON; attribute event_id), then cleared with a conditional write. A
//     crash or a failed send in between leaves the outbox in the record: the
//     retried message (or any later message for the record) finds it and
//     sends it again, even when its own transition changes nothing.
//     Consumers dedupe by the deterministic event id.
//  3. Raw forwards ("<provider>.<type>") and stateless domain events
//     (task.completed) are sent straight after the records are updated:
//     at least once, same deterministic ids.
//
// A replayed event changes nothing, so nothing is written and nothing new
// is emitted.
package process

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/hookstack/hookstack/shared/blob"
	"github.com/hookstack/hookstack/shared/domain"
	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/sqstext"
	"github.com/hookstack/hookstack/shared/store"
)

// Record kinds in the store.
const (
	KindPayment      = "payment"
	KindSubscription = "subscription"
	KindInventory    = "inventory"
	KindLead         = "lead"
	KindChat         = "chat"
	// KindAlias holds the alias index: "sku:<sku>" → inventory item id,
	// "source:<provider>:<object id>" → lead email.
	KindAlias = "alias"
)

// Message attributes of the notifications the processors send.
const (
	// AttrEventID carries the event's deterministic id (consumers dedupe by it).
	AttrEventID = "event_id"
	// AttrEventType carries the event's type (fan-out may filter on it
	// without parsing the body).
	AttrEventType = "event_type"
	// AttrDataRef is set instead of the data when a raw forward would not
	// fit in a queue message: the claim-check reference of the body.
	AttrDataRef = "data_ref"
)

// maxNotificationBytes is the largest notification sent with its data. A
// larger raw forward travels by claim-check reference (AttrDataRef), which
// the deliverer resolves. It is far below SQS's 1 MiB message limit: the
// dev server logs every notification in its store, whose records stop at
// store.MaxRecordBytes (350 KiB), and SQS bills each 64 KB of a message as a
// request, so a reference (one S3 GET) is also the cheaper way for a large
// body. It stays above ingest's claim-check threshold (240 KiB of encoded
// envelope), so a body that was not claim-checked is small enough to go with
// its data.
const maxNotificationBytes = 300 << 10

// Deps are the adapters a processor works with.
type Deps struct {
	// Queue sends notifications and dead-letters poison messages.
	Queue queue.Queue
	// Store holds the records.
	Store store.Store
	// Blobs fetches claim-check bodies; nil when none is configured (a
	// message with a BodyRef then fails as transient).
	Blobs blob.Store
	// Logger gets one line per message; nil means slog.Default().
	Logger *slog.Logger
	// Notifications also records every event sent in the store's
	// notifications log (the dev server's GET /api/notifications).
	Notifications bool
	// Now is the clock (notification times, durations); nil means time.Now.
	Now func() time.Time
	// ArchiveTTL > 0 keeps each successfully processed envelope that long
	// for replay (see archive.go); 0 keeps none.
	ArchiveTTL time.Duration
}

func (d Deps) logger() *slog.Logger {
	if d.Logger == nil {
		return slog.Default()
	}
	return d.Logger
}

func (d Deps) now() time.Time {
	if d.Now == nil {
		return time.Now()
	}
	return d.Now()
}

// Writer applies transitions to records and sends what they emit.
type Writer struct {
	deps Deps
}

// NewWriter returns the writer over deps.Store and deps.Queue.
func NewWriter(deps Deps) *Writer { return &Writer{deps: deps} }

// Change is what a Transition decides.
type Change struct {
	// Changed: the record must be written (Data, UpdatedAt).
	Changed bool
	// Data is the next record, marshalled to JSON.
	Data any
	// UpdatedAt is the record's own updated_at (orders List); zero means
	// the time of the write.
	UpdatedAt time.Time
	// Emitted are the domain events the change emits; they are written in
	// the record's outbox with the state and sent after the write.
	Emitted []domain.Event
}

// Transition computes a record's next state from the stored one (nil when
// there is none). It may be called more than once (after a lost race) and
// must depend only on its argument.
type Transition func(old *store.Record) (Change, error)

// Update runs t on (kind, key) with optimistic concurrency (store.Update:
// bounded retries on ErrConflict), writes state and new events in one
// conditional Put that keeps the pending outbox, then sends the outbox to
// the notifications queue and clears it. A record read with a pending
// outbox gets it sent even when t changes nothing. It returns the record as
// stored afterwards (Rev 0 when there is none).
func (w *Writer) Update(ctx context.Context, kind, key string, t Transition) (store.Record, error) {
	var mine map[string]bool // the ids this update enqueued (its last run)
	rec, _, err := store.Update(ctx, w.deps.Store, kind, key, func(r *store.Record) (bool, error) {
		mine = nil
		var old *store.Record
		if r.Rev != 0 {
			cp := *r
			old = &cp
		}
		ch, err := t(old)
		if err != nil {
			return false, err
		}
		if !ch.Changed && len(ch.Emitted) == 0 {
			return false, nil
		}
		data, err := json.Marshal(ch.Data)
		if err != nil {
			return false, fmt.Errorf("encode %s %q: %w", kind, key, err)
		}
		r.Data = data
		r.UpdatedAt = ch.UpdatedAt
		r.Outbox = slices.Clone(r.Outbox)
		for _, e := range ch.Emitted {
			// SQS-safe: a U+FFFF in a payload field must not make the
			// queue refuse the event (see sqstext.EscapeJSON).
			body, err := domain.Encode(e)
			if err != nil {
				return false, fmt.Errorf("encode event %s: %w", e.ID, err)
			}
			r.Enqueue(e.ID, body)
			if mine == nil {
				mine = map[string]bool{}
			}
			mine[e.ID] = true
		}
		return true, nil
	})
	if err != nil {
		return store.Record{}, err
	}
	if len(rec.Outbox) > 0 && rec.Rev != 0 {
		if err := w.flush(ctx, rec, mine); err != nil {
			return store.Record{}, err
		}
	}
	return rec, nil
}

// flush sends a record's outbox, then clears it on the revision it was read
// or written at. ErrConflict on the clear means a newer writer carried the
// outbox forward and sends it; any other clear error only costs a repeated
// send later (consumers dedupe), so it is not the message's failure.
//
// An entry the queue refuses (queue.ErrRejected: sending it again would
// fail again) is dropped with an error log rather than left to block the
// record's outbox, and with it every later event of the record, forever;
// when this update enqueued it (mine), the message is dead-lettered with
// the reason once it is otherwise done (see rejections). Entries written
// before bodies were made SQS-safe are made so here.
func (w *Writer) flush(ctx context.Context, rec store.Record, mine map[string]bool) error {
	ns := make([]notification, 0, len(rec.Outbox))
	for _, e := range rec.Outbox {
		var head struct {
			Type          string `json:"type"`
			Subject       string `json:"subject"`
			SourceEventID string `json:"source_event_id"`
		}
		_ = json.Unmarshal(e.Body, &head)
		ns = append(ns, notification{id: e.ID, typ: head.Type, subject: head.Subject, src: head.SourceEventID, body: sqstext.EscapeJSON(e.Body)})
	}
	var first error
	for i, err := range w.sendAll(ctx, ns) {
		switch {
		case err == nil:
		case errors.Is(err, queue.ErrRejected):
			w.rejected(ctx, rec.Kind, ns[i], err, mine[ns[i].id])
		case first == nil:
			first = err
		}
	}
	if first != nil {
		return first
	}
	w.clearOutbox(ctx, rec)
	return nil
}

// rejected logs a notification the queue refused, which is dropped, and
// when the message being handled produced it (own) records it so that the
// message is dead-lettered with the reason (Handler).
//
// The log line and the reason name the notification by its type and source
// event id, not by its id, which holds the record's key (a lead's email).
func (w *Writer) rejected(ctx context.Context, kind string, n notification, err error, own bool) {
	attrs := []any{"source_event_id", n.src, "event_type", n.typ, "error", err.Error()}
	if kind != "" {
		attrs = append(attrs, "kind", kind)
	}
	w.deps.logger().ErrorContext(ctx, "notification rejected by the queue; dropped", attrs...)
	if !own {
		return
	}
	if rj := rejectionsFrom(ctx); rj != nil {
		rj.add(fmt.Errorf("dropped: %w", err))
	}
}

// clearOutbox clears a sent outbox (see flush).
func (w *Writer) clearOutbox(ctx context.Context, rec store.Record) {
	if _, err := w.deps.Store.ClearOutbox(ctx, rec.Kind, rec.Key, rec.Rev); err != nil &&
		!errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
		w.deps.logger().WarnContext(ctx, "outbox not cleared; it will be sent again",
			"kind", rec.Kind, "key", rec.Key, "error", err.Error())
	}
}

// Emit sends events straight to the notifications queue (raw forwards,
// stateless domain events): at least once, deduped downstream by id.
func (w *Writer) Emit(ctx context.Context, evs ...domain.Event) error {
	return w.emit(ctx, "", evs...)
}

// emit is Emit; dataRef is the claim-check reference of the inbound body,
// used when a raw forward is too large for a queue message. An event the
// queue refuses (queue.ErrRejected) is dropped and dead-letters the message
// once it is otherwise done (see Writer.rejected); any other send failure
// fails the call.
func (w *Writer) emit(ctx context.Context, dataRef string, evs ...domain.Event) error {
	ns := make([]notification, 0, len(evs))
	for _, e := range evs {
		body, err := domain.Encode(e)
		if err != nil {
			return fmt.Errorf("encode event %s: %w", e.ID, err)
		}
		ref := ""
		if len(body) > maxNotificationBytes && dataRef != "" {
			// Large: it travels without data, by the claim-check
			// reference of its body, which the deliverer resolves.
			e.Data = nil
			if body, err = domain.Encode(e); err != nil {
				return fmt.Errorf("encode event %s: %w", e.ID, err)
			}
			ref = dataRef
		}
		// A body ingest did not claim-check (an envelope under 240 KiB) goes
		// inline even when its notification is larger: encoding/json
		// writes <, > and & as six bytes each, so an HTML-rich body can
		// grow to about 3.5 times its size, still under SQS's 1 MiB (the
		// send checks it; a refused one is dead-lettered with the reason).
		ns = append(ns, notification{id: e.ID, typ: e.Type, subject: e.Subject, src: e.SourceEventID, body: body, dataRef: ref})
	}
	var first error
	for i, err := range w.sendAll(ctx, ns) {
		switch {
		case err == nil:
		case errors.Is(err, queue.ErrRejected):
			w.rejected(ctx, "", ns[i], err, true)
		case first == nil:
			first = err
		}
	}
	return first
}

// notification is one event for the notifications queue.
type notification struct {
	id, typ, subject string
	src              string // the source event id (errors and logs name it, not id)
	body             []byte
	dataRef          string
}

// outgoing is the queue message of n. Attribute values are made SQS-safe
// (an id naming a record may hold any character; consumers read the id from
// the body, which keeps it exactly).
func (n notification) outgoing() queue.Outgoing {
	attrs := map[string]string{AttrEventID: sqstext.Text(n.id)}
	if n.typ != "" {
		attrs[AttrEventType] = sqstext.Text(n.typ)
	}
	if n.dataRef != "" {
		attrs[AttrDataRef] = sqstext.Text(n.dataRef)
	}
	return queue.Outgoing{Body: n.body, Attributes: attrs}
}

// sendError is a failure to send n; it names n by its type and source
// event, not by its id, which holds the record's key (a lead's email).
func (n notification) sendError(err error) error {
	return fmt.Errorf("send %s notification of source event %s: %w", n.typ, n.src, err)
}

// sqsMaxMessageBytes is SQS's limit on a message: body plus each
// attribute's name, type ("String") and value.
const sqsMaxMessageBytes = 1 << 20

// check refuses, as the queue would, a message too large for SQS, so the
// refusal is queue.ErrRejected whatever the adapter reports for it.
func check(m queue.Outgoing) error {
	size := len(m.Body)
	for name, value := range m.Attributes {
		size += len(name) + len("String") + len(value)
	}
	if size > sqsMaxMessageBytes {
		return fmt.Errorf("%w: %d bytes, at most %d", queue.ErrRejected, size, sqsMaxMessageBytes)
	}
	return nil
}

// sendAll sends ns to the notifications queue — through the batch's group
// commit when there is one, else one Send each — and logs each one
// accepted (Deps.Notifications). It returns one error per notification,
// nil when it was accepted (and logged). A notification not accepted
// leaves its message to be retried, its outbox still pending, which sends
// them all again; consumers dedupe by id.
func (w *Writer) sendAll(ctx context.Context, ns []notification) []error {
	errs := make([]error, len(ns))
	if len(ns) == 0 {
		return errs
	}
	msgs := make([]queue.Outgoing, 0, len(ns))
	idx := make([]int, 0, len(ns))
	for i, n := range ns {
		m := n.outgoing()
		if err := check(m); err != nil {
			errs[i] = n.sendError(err)
			continue
		}
		msgs = append(msgs, m)
		idx = append(idx, i)
	}
	var res []queue.BatchResult
	if gc := groupCommitFrom(ctx); gc != nil {
		res = gc.send(envelope.QueueNotifications, msgs)
	} else {
		res = make([]queue.BatchResult, len(msgs))
		for j, m := range msgs {
			res[j].ID, res[j].Err = w.deps.Queue.Send(ctx, envelope.QueueNotifications, m)
		}
	}
	for j, r := range res {
		i := idx[j]
		if r.Err != nil {
			errs[i] = ns[i].sendError(r.Err)
			continue
		}
		errs[i] = w.logNotification(ctx, ns[i])
	}
	return errs
}

// logNotification records a sent notification in the store's log when
// Deps.Notifications asks for it.
func (w *Writer) logNotification(ctx context.Context, sent notification) error {
	if !w.deps.Notifications {
		return nil
	}
	n := store.Notification{ID: sent.id, Type: sent.typ, Subject: sent.subject, CreatedAt: w.deps.now(), Event: loggedEvent(sent.body)}
	if n.Type == "" {
		n.Type = "unknown"
	}
	if err := w.deps.Store.AppendNotification(ctx, n); err != nil {
		return fmt.Errorf("log notification %s: %w", sent.id, err)
	}
	return nil
}

// maxLoggedEventBytes bounds an event kept in the notifications log, a
// store record (store.MaxRecordBytes), with room for its other fields.
const maxLoggedEventBytes = store.MaxRecordBytes - 16<<10

// loggedEvent is the event as the notifications log keeps it: whole, or
// without its data when it is too large for a record (the log is the
// inspector's view; the notification itself was sent whole).
func loggedEvent(body []byte) []byte {
	if len(body) <= maxLoggedEventBytes {
		return body
	}
	var e domain.Event
	if json.Unmarshal(body, &e) != nil {
		return body // not an event: the store says what is wrong
	}
	e.Data = nil
	if b, err := domain.Encode(e); err == nil {
		return b
	}
	return body
}

// UpdateAs is Writer.Update over a typed record: apply gets the decoded
// record (nil when none) and returns the next one, whether it changed and
// the events it emits (the pure packages' Apply shape); updatedAt gives the
// record's own updated_at. It returns the record as it stands afterwards
// (nil when there is none).
func UpdateAs[T any](ctx context.Context, w *Writer, kind, key string,
	apply func(old *T) (next T, changed bool, emitted []domain.Event, err error),
	updatedAt func(T) time.Time,
) (*T, error) {
	var cur *T
	_, err := w.Update(ctx, kind, key, func(old *store.Record) (Change, error) {
		var prev *T
		if old != nil {
			prev = new(T)
			if err := old.Decode(prev); err != nil {
				return Change{}, err
			}
		}
		next, changed, emitted, err := apply(prev)
		if err != nil {
			return Change{}, err
		}
		if !changed && len(emitted) == 0 {
			cur = prev
			return Change{}, nil
		}
		cur = &next
		return Change{Changed: true, Data: next, UpdatedAt: updatedAt(next), Emitted: emitted}, nil
	})
	if err != nil {
		return nil, err
	}
	return cur, nil
}
