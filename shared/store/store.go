// Package store is the processors' state port: one JSON document per
// (kind, key) with an optimistic-concurrency revision and a transactional
// outbox of pending domain events, plus the notifications log the dev server
// shows. Adapters: dynamostore (one DynamoDB table) and localstore (one bbolt
// file, for `hookstack dev`); both pass the contract suite in storetest.
//
// Exactly-once effects without transactions: every write is a single
// conditional write on the revision the caller read. The state change and the
// domain events it emits are written together (the record's Outbox), so a
// crash between the write and the sends loses nothing: the next processing of
// any message for that record finds the pending outbox and sends it again,
// and consumers dedupe by the events' deterministic ids. See README.md.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// Store is everything the processors and the dev server do with state.
type Store interface {
	// Get returns the record (kind, key): ErrNotFound when there is none
	// (an expired record counts as none).
	Get(ctx context.Context, kind, key string) (Record, error)
	// Put writes r (Data, Outbox, UpdatedAt, ExpiresAt; r.Rev is ignored)
	// when the stored revision is expectRev, 0 meaning "must not exist",
	// and returns the new revision expectRev+1. Otherwise: ErrConflict, and
	// the caller re-reads and re-applies its transition.
	Put(ctx context.Context, r Record, expectRev int64) (newRev int64, err error)
	// ClearOutbox empties the record's outbox when its revision is still
	// rev and returns the new revision (rev+1); ErrConflict when the record
	// was written since (the newer writer carried the outbox forward and
	// sends it), ErrNotFound when it does not exist.
	ClearOutbox(ctx context.Context, kind, key string, rev int64) (newRev int64, err error)
	// List returns up to limit records of kind, most recently updated
	// first (by UpdatedAt, then key descending). limit <= 0 means
	// DefaultLimit; it is capped at MaxLimit. An adapter may index only
	// some kinds (dynamostore): the others are ErrNotListable.
	List(ctx context.Context, kind string, limit int) ([]Record, error)
	// AppendNotification records n once: appending an id that exists
	// already changes nothing and is not an error.
	AppendNotification(ctx context.Context, n Notification) error
	// ListNotifications returns up to limit notifications, newest
	// (CreatedAt, then id) first, of the given type or of every type when
	// typ is "". limit as in List.
	ListNotifications(ctx context.Context, typ string, limit int) ([]Notification, error)
}

// Record is the stored state of one (Kind, Key).
type Record struct {
	Kind string
	Key  string
	// Rev is the revision read (0 for a record not stored yet). Put and
	// ClearOutbox return the next one.
	Rev int64
	// Data is the processor's record marshalled to JSON; stored and
	// returned byte for byte.
	Data json.RawMessage
	// UpdatedAt orders List. Processors set it to the record's own
	// updated_at (the provider's event time); zero means the time of the
	// write. Stored with nanosecond precision, returned in UTC.
	UpdatedAt time.Time
	// ExpiresAt, when set, makes the record transient: from then on it reads
	// as not found, and DynamoDB's TTL deletes it (attribute expires_at,
	// epoch seconds, so it is returned truncated to the second).
	ExpiresAt time.Time
	// Outbox holds the events emitted by writes whose sends have not been
	// confirmed yet (see ClearOutbox). Put writes it as given.
	Outbox []OutboxEvent
}

// OutboxEvent is one pending event: its deterministic id (consumers dedupe
// by it) and its body as sent to the notifications queue.
type OutboxEvent struct {
	ID   string          `json:"id"`
	Body json.RawMessage `json:"body"`
}

// Notification is one entry of the notifications log (`GET /api/notifications`).
type Notification struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	Subject   string    `json:"subject"` // the record it concerns, e.g. "payment:pi_123"
	CreatedAt time.Time `json:"created_at"`
	// Event is the full event as sent (optional).
	Event json.RawMessage `json:"event,omitempty"`
	// ExpiresAt, when set, drops the entry from then on (TTL).
	ExpiresAt time.Time `json:"-"`
}

// Errors shared by the adapters.
var (
	// ErrNotFound: no such record (or it expired).
	ErrNotFound = errors.New("record not found")
	// ErrConflict: the stored revision is not the one the write expected.
	// Re-read, re-apply, write again. Transient.
	ErrConflict = errors.New("revision conflict")
	// ErrInvalid: a kind, key, id, type or document the store cannot hold.
	ErrInvalid = errors.New("invalid record")
	// ErrTooLarge: the document and outbox exceed MaxRecordBytes.
	ErrTooLarge = errors.New("record too large")
	// ErrNotListable: List of a kind the adapter does not index (dynamostore's ListKinds).
	ErrNotListable = errors.New("kind not listable")
	// ErrUnavailable: the backend could not be reached or refused the work
	// for now (throttling, timeouts). Transient. Adapters wrap the backend's
	// own error with it where they can; fault injection returns it.
	ErrUnavailable = errors.New("store unavailable")
)

// Limits.
const (
	// DefaultLimit is List's and ListNotifications' limit when given <= 0.
	DefaultLimit = 100
	// MaxLimit caps List and ListNotifications.
	MaxLimit = 1000
	// MaxKeyBytes bounds keys, notification ids and types (DynamoDB keys
	// ≤ 2048 bytes, GSI sort keys ≤ 1024).
	MaxKeyBytes = 512
	// MaxRecordBytes bounds len(Data) plus the outbox bodies and ids, below
	// DynamoDB's 400 KB item limit with room for the other attributes.
	MaxRecordBytes = 350 << 10
)

// NotificationKind is reserved: the notifications log lives beside the
// records under this name.
const NotificationKind = "notification"

// CheckKind accepts lower-case names such as "payment" or "lead-alias"
// (letters, digits, '_' and '-', at most 64), except NotificationKind.
func CheckKind(kind string) error {
	if !validKind(kind) || kind == NotificationKind {
		return fmt.Errorf("%w: kind %q: want [a-z][a-z0-9_-]{0,63}, not %q", ErrInvalid, kind, NotificationKind)
	}
	return nil
}

// validKind is ^[a-z][a-z0-9_-]{0,63}$, by hand: the regular expression
// (its counted repetition) cost a quarter of a millisecond of every Lambda
// cold start to compile, and is slower to run.
func validKind(kind string) bool {
	if len(kind) == 0 || len(kind) > 64 || kind[0] < 'a' || kind[0] > 'z' {
		return false
	}
	for i := 1; i < len(kind); i++ {
		c := kind[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// CheckKey accepts 1..MaxKeyBytes bytes of valid UTF-8 without control
// characters (emails, provider ids, event types).
func CheckKey(what, key string) error {
	if key == "" || len(key) > MaxKeyBytes || !utf8.ValidString(key) {
		return fmt.Errorf("%w: %s %q: want 1..%d bytes of UTF-8", ErrInvalid, what, key, MaxKeyBytes)
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: %s %q: control character", ErrInvalid, what, key)
		}
	}
	return nil
}

// CheckRecord validates r for Put: kind, key, a JSON document, outbox
// entries with ids and JSON bodies, and the size bound. Adapters call it
// first so both reject the same records.
func CheckRecord(r Record) error {
	if err := CheckKind(r.Kind); err != nil {
		return err
	}
	if err := CheckKey("key", r.Key); err != nil {
		return err
	}
	if !validJSON(r.Data) {
		return fmt.Errorf("%w: %s %q: data is not a JSON document", ErrInvalid, r.Kind, r.Key)
	}
	size := len(r.Data)
	seen := make(map[string]bool, len(r.Outbox))
	for i, e := range r.Outbox {
		if err := CheckKey("outbox id", e.ID); err != nil {
			return fmt.Errorf("%s %q: outbox[%d]: %w", r.Kind, r.Key, i, err)
		}
		if seen[e.ID] {
			return fmt.Errorf("%w: %s %q: outbox id %q twice", ErrInvalid, r.Kind, r.Key, e.ID)
		}
		seen[e.ID] = true
		if !validJSON(e.Body) {
			return fmt.Errorf("%w: %s %q: outbox %q: body is not JSON", ErrInvalid, r.Kind, r.Key, e.ID)
		}
		size += len(e.ID) + len(e.Body)
	}
	if size > MaxRecordBytes {
		return fmt.Errorf("%w: %s %q: %d bytes > %d", ErrTooLarge, r.Kind, r.Key, size, MaxRecordBytes)
	}
	return nil
}

// CheckNotification validates n for AppendNotification.
func CheckNotification(n Notification) error {
	if err := CheckKey("notification id", n.ID); err != nil {
		return err
	}
	if err := CheckKey("notification type", n.Type); err != nil {
		return err
	}
	if n.Subject != "" && !utf8.ValidString(n.Subject) {
		return fmt.Errorf("%w: notification %q: subject is not UTF-8", ErrInvalid, n.ID)
	}
	if len(n.Event) > 0 && !validJSON(n.Event) {
		return fmt.Errorf("%w: notification %q: event is not JSON", ErrInvalid, n.ID)
	}
	if len(n.Event)+len(n.Subject) > MaxRecordBytes {
		return fmt.Errorf("%w: notification %q", ErrTooLarge, n.ID)
	}
	return nil
}

// validJSON: non-empty, syntactically valid JSON in valid UTF-8 (DynamoDB
// strings must be UTF-8, and both adapters store the bytes verbatim).
func validJSON(b []byte) bool {
	return len(b) > 0 && utf8.Valid(b) && json.Valid(b)
}

// ClampLimit maps a requested list limit to 1..MaxLimit.
func ClampLimit(limit int) int {
	switch {
	case limit <= 0:
		return DefaultLimit
	case limit > MaxLimit:
		return MaxLimit
	}
	return limit
}

// sortTimeLayout is RFC 3339 with a fixed nine-digit fraction: unlike
// time.RFC3339Nano (which trims trailing zeros, so "…05Z" sorts after
// "…05.5Z"), its strings sort in time order.
const sortTimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// SortTime formats t (in UTC) so that byte order is time order (years
// 0000–9999). Adapters use it for UpdatedAt, CreatedAt and sort keys.
func SortTime(t time.Time) string { return t.UTC().Format(sortTimeLayout) }

// ParseSortTime parses SortTime's output.
func ParseSortTime(s string) (time.Time, error) {
	t, err := time.Parse(sortTimeLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse stored time %q: %w", s, err)
	}
	return t.UTC(), nil
}

// Expired reports whether a record or notification with the given
// ExpiresAt has expired at now (zero never expires).
func Expired(expiresAt, now time.Time) bool {
	return !expiresAt.IsZero() && !expiresAt.After(now)
}

// Decode unmarshals r.Data into v.
func (r Record) Decode(v any) error {
	if err := json.Unmarshal(r.Data, v); err != nil {
		return fmt.Errorf("decode %s %q: %w", r.Kind, r.Key, err)
	}
	return nil
}

// Encode marshals v into r.Data.
func (r *Record) Encode(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s %q: %w", r.Kind, r.Key, err)
	}
	r.Data = b
	return nil
}

// Enqueue adds an event to the outbox unless one with its id is pending
// already (a replayed transition emits the same ids).
func (r *Record) Enqueue(id string, body json.RawMessage) {
	for _, e := range r.Outbox {
		if e.ID == id {
			return
		}
	}
	r.Outbox = append(r.Outbox, OutboxEvent{ID: id, Body: body})
}
