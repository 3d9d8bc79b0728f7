// Package domain holds the event type the processors emit onto the
// notifications queue (domain events such as payment.succeeded, and raw
// forwards such as github.push), the version stamp the processors use to
// decide which of two writes to a field is newer, and the Timeline that makes
// the milestones a record announces independent of the arrival order. It
// does no I/O.
package domain

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/hookstack/hookstack/shared/envelope"
)

// Event is one notification emitted by a processor.
type Event struct {
	// ID is deterministic, so a retried source event never produces a
	// second notification: SourceEventID + ":" + Type + ":" + Subject for a
	// domain event (SubjectEventID: one source event may touch several
	// records, e.g. a products/update mapping two skus, and each gets its
	// own id), SourceEventID + ":" + Type for a raw forward (EventID: one
	// per source event). A milestone re-announced after a split run also
	// names the event that split it: see Milestone.EventID.
	ID string `json:"id"`
	// Type is a domain type (payment.succeeded, ...) or a raw forward
	// "<provider>.<type>" (github.push, shopify.orders/create).
	Type string `json:"type"`
	// Subject names the record the event concerns, e.g. "payment:pi_123",
	// "subscription:cus_123", "inventory:4914", "lead:a@b.c", "chat:PJ0M".
	Subject       string          `json:"subject"`
	Source        string          `json:"source"` // provider
	SourceEventID string          `json:"source_event_id"`
	OccurredAt    time.Time       `json:"occurred_at"`
	Data          json.RawMessage `json:"data,omitempty"`
	// Late marks a milestone announced after newer events for the same
	// subject were applied (its webhook arrived out of order): OccurredAt
	// is its own time and the record has already moved past it. Omitted
	// when false, so in-order events keep their exact JSON.
	Late bool `json:"late,omitempty"`
}

// Raw types are prefixed by the provider; domain types never are.
const rawSeparator = "."

// EventID is the deterministic notification id for a source event and type:
// the id of a raw forward, of which there is one per source event.
func EventID(sourceEventID, typ string) string { return sourceEventID + ":" + typ }

// SubjectEventID is the deterministic notification id of a domain event:
// EventID(sourceEventID, typ) + ":" + subject, unique per source event, type
// and record (one source event may emit the same type for several records)
// and the same whatever the redelivery. An empty subject gives EventID.
func SubjectEventID(sourceEventID, typ, subject string) string {
	if subject == "" {
		return EventID(sourceEventID, typ)
	}
	return EventID(sourceEventID, typ) + ":" + subject
}

// RawType is the raw forward's type, "<provider>.<type>".
func RawType(provider, typ string) string { return provider + rawSeparator + typ }

// New builds a domain event with id SubjectEventID(sourceEventID, typ,
// subject); data is marshalled to JSON (a value that cannot be marshalled
// yields an event without data rather than a panic).
func New(typ, subject, source, sourceEventID string, occurredAt time.Time, data any) Event {
	var raw json.RawMessage
	if data != nil {
		if b, err := json.Marshal(data); err == nil {
			raw = b
		}
	}
	return Event{
		ID:            SubjectEventID(sourceEventID, typ, subject),
		Type:          typ,
		Subject:       subject,
		Source:        source,
		SourceEventID: sourceEventID,
		OccurredAt:    occurredAt.UTC(),
		Data:          raw,
	}
}

// Raw builds the raw forward of an inbound event: type "<provider>.<type>",
// data = the body when it is JSON, else the body as a JSON string (form and
// XML bodies). Subject defaults to "<provider>:<eventID>"; use WithSubject to
// name the record when the processor knows it.
//
// The id is EventID(eventID, type), except for providers whose event id is
// an unsigned header (envelope.UnsignedEventID: github, shopify): there the
// signed body's hash stands in for it, so a captured request sent again
// with a fresh id header is the same forward and is not delivered twice.
// SourceEventID and the subject keep the provider's id, for correlation.
func Raw(provider, eventID, typ string, occurredAt time.Time, body []byte) Event {
	t := RawType(provider, typ)
	var data json.RawMessage
	if len(body) > 0 {
		if json.Valid(body) {
			data = append(json.RawMessage(nil), body...)
		} else if b, err := json.Marshal(string(body)); err == nil {
			data = b
		}
	}
	idSource := eventID
	if envelope.UnsignedEventID(provider) && len(body) > 0 {
		idSource = envelope.BodyHash(body)
	}
	return Event{
		ID:            EventID(idSource, t),
		Type:          t,
		Subject:       provider + ":" + eventID,
		Source:        provider,
		SourceEventID: eventID,
		OccurredAt:    occurredAt.UTC(),
		Data:          data,
	}
}

// Via returns e with its id qualified by ref: SubjectEventID(SourceEventID
// + "/" + ref, Type, Subject). One source event may write a record twice
// (a merge of the record ref into it, then its own write), and each write
// may announce the same type for the same record: the qualified id keeps
// the second from being taken for a copy of the first.
func (e Event) Via(ref string) Event {
	e.ID = SubjectEventID(e.SourceEventID+"/"+ref, e.Type, e.Subject)
	return e
}

// WithSubject returns a copy of e naming the given record.
func (e Event) WithSubject(subject string) Event {
	if subject != "" {
		e.Subject = subject
	}
	return e
}

// IsRaw reports whether e is a raw forward of the given provider's event.
func (e Event) IsRaw() bool {
	return e.Source != "" && strings.HasPrefix(e.Type, e.Source+rawSeparator)
}

// Version orders writes to one field of a record. A write replaces the
// field's value only when its version is After the stored one, so the
// result does not depend on arrival order, and replaying a write (equal
// version) changes nothing.
//
// Order: the provider's event time first; for equal times the Rank (a fixed
// per-field precedence, e.g. refunded beats succeeded); for equal ranks the
// source event id, so that any two distinct events are strictly ordered and
// the outcome is deterministic.
type Version struct {
	At      time.Time `json:"at"`
	Rank    int       `json:"rank,omitempty"`
	EventID string    `json:"event_id"`
}

// IsZero reports whether no write has happened.
func (v Version) IsZero() bool { return v.EventID == "" && v.At.IsZero() }

// After reports whether v is strictly newer than o.
func (v Version) After(o Version) bool {
	if !v.At.Equal(o.At) {
		return v.At.After(o.At)
	}
	if v.Rank != o.Rank {
		return v.Rank > o.Rank
	}
	return v.EventID > o.EventID
}

// Max returns the newer of v and o.
func Max(v, o Version) Version {
	if o.After(v) {
		return o
	}
	return v
}

// Field is a last-writer-wins register: a value and the version that wrote it.
type Field[T comparable] struct {
	Value   T       `json:"value"`
	Version Version `json:"version"`
}

// Set writes value at version v when v is newer than the stored version. It
// reports whether the stored value changed (a newer write of the same value
// advances the version but reports false).
func (f *Field[T]) Set(value T, v Version) (changed bool) {
	if !v.After(f.Version) {
		return false
	}
	changed = f.Value != value
	f.Value = value
	f.Version = v
	return changed
}

// Merge folds o into f (the newer version wins); it reports a value change.
func (f *Field[T]) Merge(o Field[T]) bool {
	if o.Version.IsZero() {
		return false
	}
	return f.Set(o.Value, o.Version)
}

// Set is Field.Set over a value and its version stored side by side (the
// shape records use so that their JSON keeps plain field names): it writes
// nv at version v when v is newer than *ver and reports whether the version
// advanced (the record must be saved) and whether the value changed.
func Set[T comparable](val *T, ver *Version, nv T, v Version) (advanced, changed bool) {
	if !v.After(*ver) {
		return false, false
	}
	changed = *val != nv
	*val = nv
	*ver = v
	return true, changed
}

// Milestones. A record's domain events are derived from the changes of a
// field (a payment's status, a chat's open/closed state): in-order
// processing announces an event each time the field enters a value that
// names one. When webhooks arrive out of order a newer write may land first
// and an older one then changes nothing, so the change it stood for would
// never be announced. A Timeline keeps the field's writes in version order
// so that every record announces the same milestones whatever the order of
// arrival:
//
//   - a run is a maximal stretch of consecutive writes (in version order)
//     whose values a Phase maps to the same run key; a run whose key names a
//     milestone is announced exactly once;
//   - inserting a write either extends a run (nothing to announce), starts a
//     new run (announce it), or splits a run in two (announce the new run
//     and the second part of the split one). Runs never merge, so a run
//     announced stays announced and no run is announced twice: after every
//     write, each milestone run of the writes seen so far has been announced
//     exactly once, which is what in-order processing announces;
//   - a replayed write (same event id) is already in the timeline and
//     announces nothing; a redelivery stamped earlier moves the write
//     earlier (the earliest is kept, like the records' other joins).
//
// The timeline is the sorted set of the writes, so it is the same whatever
// the arrival order. It is bounded: past MaxMarks writes the oldest are
// dropped and the newest dropped one kept as Floor; a write no newer than
// Floor (later than ~MaxMarks newer writes of the same field) is ignored.

// MaxMarks bounds a Timeline.
const MaxMarks = 32

// Mark is one write in a Timeline: its version, the value written and an
// optional reference (e.g. the chat thread a chat state belongs to).
type Mark struct {
	Version
	Value string `json:"value"`
	Ref   string `json:"ref,omitempty"`
}

// Timeline is the bounded, version-ordered history of one field's writes
// (see Milestones above).
type Timeline struct {
	Marks []Mark `json:"marks,omitempty"`
	Floor *Mark  `json:"floor,omitempty"`
}

// Phase maps a written value to its run key and the milestone a run of that
// key announces ("" for none). A value with key "" is its own run key.
type Phase func(value string) (run, milestone string)

// Milestone is a run to announce.
type Milestone struct {
	// Name is the Phase's milestone name.
	Name string
	// Mark is the run's first write: its source event and its time.
	Mark Mark
	// Late: the announcement comes after newer writes of the field were
	// applied (the webhook arrived out of order), so the record's current
	// state has already moved past it.
	Late bool
	// Cause is the event id of the write that revealed the milestone when
	// that is not Mark's (the second part of a split run).
	Cause string
}

// EventID is the notification id of the milestone as domain event typ of
// the record subject: SubjectEventID(Mark.EventID, typ, subject), or for
// the second part of a split run, which the run's first write may already
// have announced as a whole, SubjectEventID(Mark.EventID+"/"+Cause, typ,
// subject), unique because a write is inserted once.
func (m Milestone) EventID(typ, subject string) string {
	if m.Cause != "" {
		return SubjectEventID(m.Mark.EventID+"/"+m.Cause, typ, subject)
	}
	return SubjectEventID(m.Mark.EventID, typ, subject)
}

// Event builds the domain event announcing m.
func (m Milestone) Event(typ, subject, source string, data any) Event {
	e := New(typ, subject, source, m.Mark.EventID, m.Mark.At, data)
	e.ID = m.EventID(typ, subject)
	e.Late = m.Late
	return e
}

// Insert adds the write m (inserted false for a replay, or for a write no
// newer than Floor) and returns, per phase in order, the milestones it
// reveals, oldest first.
func (t *Timeline) Insert(m Mark, phases ...Phase) (inserted bool, out []Milestone) {
	if t.Floor != nil && !m.After(t.Floor.Version) {
		return false, nil
	}
	for j, o := range t.Marks {
		if o.EventID != m.EventID {
			continue
		}
		if !o.After(m.Version) {
			return false, nil // a replay (or a redelivery stamped later)
		}
		// A redelivery of the same event stamped earlier (a provider
		// without event times: the receive time): keep the earliest, so
		// the history does not depend on which came first. The write was
		// announced when it first came; only a run it now splits is new.
		rest := append(slices.Clone(t.Marks[:j]), t.Marks[j+1:]...)
		moved := Timeline{Marks: rest, Floor: t.Floor}
		ins, out := moved.Insert(m, phases...)
		if !ins { // older than Floor: leave the write where it is
			return false, nil
		}
		t.Marks = moved.Marks
		if moved.Marks[j].EventID == m.EventID {
			return true, nil // same place: nothing new
		}
		return true, slices.DeleteFunc(out, func(x Milestone) bool { return x.Cause == "" && x.Mark.EventID == m.EventID })
	}
	i := 0
	for i < len(t.Marks) && m.After(t.Marks[i].Version) {
		i++
	}
	if i < len(t.Marks) && !t.Marks[i].After(m.Version) {
		return false, nil // equal version: a replay
	}
	// A new slice: the record being replaced may share the old one.
	marks := make([]Mark, 0, len(t.Marks)+1)
	marks = append(append(append(marks, t.Marks[:i]...), m), t.Marks[i:]...)
	t.Marks = marks
	for _, ph := range phases {
		out = append(out, t.reveal(i, ph)...)
	}
	// In history order (stable: per phase for one write).
	slices.SortStableFunc(out, func(a, b Milestone) int {
		switch {
		case b.Mark.After(a.Mark.Version):
			return -1
		case a.Mark.After(b.Mark.Version):
			return 1
		}
		return 0
	})
	if n := len(t.Marks) - MaxMarks; n > 0 {
		f := t.Marks[n-1]
		t.Floor = &f
		t.Marks = append([]Mark(nil), t.Marks[n:]...)
	}
	return true, out
}

// key is the run key of mark i (-1: Floor, the newest dropped write).
func (t *Timeline) key(i int, ph Phase) (run, milestone string, ok bool) {
	var v string
	switch {
	case i >= 0 && i < len(t.Marks):
		v = t.Marks[i].Value
	case i == -1 && t.Floor != nil:
		v = t.Floor.Value
	default:
		return "", "", false
	}
	run, milestone = ph(v)
	if run == "" {
		run = v
	}
	return run, milestone, true
}

func (t *Timeline) reveal(i int, ph Phase) []Milestone {
	k, ms, _ := t.key(i, ph)
	pk, _, hasPrev := t.key(i-1, ph)
	nk, nms, hasNext := t.key(i+1, ph)
	var out []Milestone
	if ms != "" && (!hasPrev || pk != k) && (!hasNext || nk != k) {
		out = append(out, Milestone{Name: ms, Mark: t.Marks[i], Late: t.runEnd(i, ph) < len(t.Marks)-1})
	}
	if nms != "" && hasPrev && hasNext && pk == nk && nk != k {
		// The write split a run: its second part is a new run.
		out = append(out, Milestone{Name: nms, Mark: t.Marks[i+1], Late: true, Cause: t.Marks[i].EventID})
	}
	return out
}

// runEnd is the index of the last mark of the run holding mark i.
func (t *Timeline) runEnd(i int, ph Phase) int {
	k, _, _ := t.key(i, ph)
	for i+1 < len(t.Marks) {
		if nk, _, _ := t.key(i+1, ph); nk != k {
			break
		}
		i++
	}
	return i
}
