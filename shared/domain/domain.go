// Package domain holds the event type the processors emit onto the
// notifications queue (domain events such as payment.succeeded, and raw
// forwards such as github.push), and the version stamp the processors use to
// decide which of two writes to a field is newer. It does no I/O.
package domain

import (
	"encoding/json"
	"strings"
	"time"
)

// Event is one notification emitted by a processor.
type Event struct {
	// ID is deterministic: SourceEventID + ":" + Type, so a retried source
	// event never produces a second notification.
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
}

// Raw types are prefixed by the provider; domain types never are.
const rawSeparator = "."

// EventID is the deterministic notification id for a source event and type.
func EventID(sourceEventID, typ string) string { return sourceEventID + ":" + typ }

// RawType is the raw forward's type, "<provider>.<type>".
func RawType(provider, typ string) string { return provider + rawSeparator + typ }

// New builds a domain event; data is marshalled to JSON (a value that cannot
// be marshalled yields an event without data rather than a panic).
func New(typ, subject, source, sourceEventID string, occurredAt time.Time, data any) Event {
	var raw json.RawMessage
	if data != nil {
		if b, err := json.Marshal(data); err == nil {
			raw = b
		}
	}
	return Event{
		ID:            EventID(sourceEventID, typ),
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
	return Event{
		ID:            EventID(eventID, t),
		Type:          t,
		Subject:       provider + ":" + eventID,
		Source:        provider,
		SourceEventID: eventID,
		OccurredAt:    occurredAt.UTC(),
		Data:          data,
	}
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
