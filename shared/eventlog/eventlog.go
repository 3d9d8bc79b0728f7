// Package eventlog records every request the dev server received — accepted,
// handshakes and rejected alike — with redacted headers and body, for the
// inspector and `hookstack tail`. It is an embedded bbolt file; it is not on
// the AWS path.
package eventlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/hookstack/hookstack/shared/envelope"
)

// Statuses of an entry.
const (
	StatusQueued    = "queued"
	StatusProcessed = "processed"
	StatusFailed    = "failed"
	StatusDead      = "dead"
	StatusRejected  = "rejected"
)

// Statuses are every status an entry can have, in the order of the contract.
var Statuses = []string{StatusQueued, StatusProcessed, StatusFailed, StatusDead, StatusRejected}

// Summary is the list form (GET /api/events).
type Summary struct {
	ID         string    `json:"id"`
	Provider   string    `json:"provider"`
	EventID    string    `json:"event_id"`
	Type       string    `json:"type"`
	Queue      string    `json:"queue"`
	ReceivedAt time.Time `json:"received_at"`
	Status     string    `json:"status"`
	Reason     string    `json:"reason,omitempty"`
	HTTPStatus int       `json:"http_status"`
	// Deliveries counts the outbound deliveries of the notifications the
	// event produced (RecordDelivery); omitted while there are none.
	Deliveries *Deliveries `json:"deliveries,omitempty"`
}

// Deliveries is an event's delivery indicator in the list: one delivery per
// notification and endpoint, each counted by its newest attempt.
type Deliveries struct {
	Count       int       `json:"count"`        // deliveries attempted (or dropped)
	Delivered   int       `json:"delivered"`    // those whose newest attempt delivered
	LastOutcome string    `json:"last_outcome"` // the newest attempt's outcome: delivered, retry, failed, disabled, dropped
	LastAt      time.Time `json:"last_at"`
}

// DeliveryNote is one recorded delivery attempt, as the event log counts it.
type DeliveryNote struct {
	DeliveryID     string    `json:"delivery_id"`
	NotificationID string    `json:"notification_id"`
	EndpointID     string    `json:"endpoint_id"`
	Attempt        int       `json:"attempt"`
	Outcome        string    `json:"outcome"`
	At             time.Time `json:"at"`
}

// OutcomeDelivered is the attempt outcome counted as delivered (notify.LogDelivered).
const OutcomeDelivered = "delivered"

// Entry is one received event (or rejected request) in full.
type Entry struct {
	Summary
	Headers      http.Header        `json:"headers,omitempty"`
	Body         string             `json:"body,omitempty"`
	Envelope     *envelope.Envelope `json:"envelope,omitempty"`
	ReceiveCount int                `json:"receive_count"`
	UpdatedAt    time.Time          `json:"updated_at"`
}

// received reports whether ingest's record of the request (Put) is in:
// only the Recorder sets the HTTP answer, so an entry the pipeline started
// (Upsert) has none until then.
func (e *Entry) received() bool { return e.HTTPStatus != 0 }

// ErrNotFound: no entry with that id.
var ErrNotFound = errors.New("event not found")

var (
	bucketEntries = []byte("entries")  // id → stored JSON
	bucketByEvent = []byte("by_event") // provider + "\x00" + event_id → id
)

// stored is an entry as kept in the file: the entry, plus the newest attempt
// of each of its deliveries (not served: GET /api/deliveries has them all).
type stored struct {
	Entry
	Notes map[string]DeliveryNote `json:"_deliveries,omitempty"`
}

// Message is one item of a subscription: either an entry's summary (its
// receipt, or a change of its status or reason) or a delivery attempt
// (Delivery: its JSON as given to RecordDelivery; EventType: the type of
// the notification delivered, for filters).
type Message struct {
	Summary   *Summary
	Delivery  json.RawMessage
	EventType string
}

// Log is the embedded event log.
type Log struct {
	db *bolt.DB

	// order keeps each write and its announcement together, so that
	// subscribers see an entry's changes in the order they were made: Puts
	// share it (bbolt batches them), Upserts and deliveries hold it alone.
	order sync.RWMutex

	mu   sync.Mutex
	subs map[chan Message]struct{}
}

// Open opens (or creates) the log file.
func Open(path string) (*Log, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open event log %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketEntries, bucketByEvent} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("init event log: %w", err)
	}
	return &Log{db: db, subs: map[chan Message]struct{}{}}, nil
}

// Close closes the file.
func (l *Log) Close() error { return l.db.Close() }

func load(b *bolt.Bucket, id string) (stored, bool, error) {
	var s stored
	raw := b.Get([]byte(id))
	if raw == nil {
		return s, false, nil
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return s, false, fmt.Errorf("entry %s: %w", id, err)
	}
	return s, true, nil
}

func save(b *bolt.Bucket, s *stored) error {
	raw, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return b.Put([]byte(s.ID), raw)
}

// Put stores ingest's record of requests (the Recorder's). Concurrent puts
// are coalesced into one transaction (bbolt Batch).
//
// The pipeline can finish with a message before its receipt is recorded
// (Upsert then made the entry): Put keeps the outcome stored, and announces
// the receipt as recorded (queued) and then, when the pipeline got further,
// the entry as it stands, so that a subscriber sees queued → processed in
// that order and each once. Upsert announces nothing before the receipt.
func (l *Log) Put(entries ...Entry) error {
	l.order.RLock()
	defer l.order.RUnlock()
	var announce []Summary
	err := l.db.Batch(func(tx *bolt.Tx) error {
		announce = announce[:0] // Batch may run this more than once
		b, idx := tx.Bucket(bucketEntries), tx.Bucket(bucketByEvent)
		for _, e := range entries {
			prev, had, err := load(b, e.ID)
			if err != nil {
				return err
			}
			rec := stored{Entry: e}
			if had {
				rec.Notes, rec.Deliveries = prev.Notes, prev.Deliveries
				if e.Status == StatusQueued && prev.Status != "" {
					rec.Status, rec.Reason, rec.ReceiveCount = prev.Status, prev.Reason, prev.ReceiveCount
				}
			}
			if err := save(b, &rec); err != nil {
				return err
			}
			if e.EventID != "" {
				if err := idx.Put(eventKey(e.Provider, e.EventID), []byte(e.ID)); err != nil {
					return err
				}
			}
			switch {
			case !had || !prev.received():
				receipt := e.Summary
				receipt.Deliveries = rec.Deliveries
				announce = append(announce, receipt)
				if changed(receipt, rec.Summary) {
					announce = append(announce, rec.Summary)
				}
			case changed(prev.Summary, rec.Summary):
				announce = append(announce, rec.Summary)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("put events: %w", err)
	}
	for i := range announce {
		l.publish(Message{Summary: &announce[i]})
	}
	return nil
}

// changed reports whether b says something a subscriber has not seen in
// a: another status or reason.
func changed(a, b Summary) bool { return a.Status != b.Status || a.Reason != b.Reason }

// Update applies fn to the entry with id, atomically. An entry not
// recorded yet is started with just its id (Put fills in the rest).
func (l *Log) Update(id string, fn func(*Entry)) error {
	return l.Upsert(Entry{Summary: Summary{ID: id}}, fn)
}

// Upsert applies fn to the entry with base.ID, atomically, starting from
// base when there is none yet (a message processed before, or without, the
// record of its receipt: the pipeline can be faster than the observer, and
// a send that landed while ingest answered 503 has no receipt of its own).
//
// Subscribers are told when the status or reason changed, once the receipt
// is recorded (Put announces what happened before it).
func (l *Log) Upsert(base Entry, fn func(*Entry)) error {
	id := base.ID
	l.order.Lock()
	defer l.order.Unlock()
	var (
		updated stored
		notify  bool
	)
	err := l.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketEntries)
		prev, had, err := load(b, id)
		if err != nil {
			return err
		}
		if had {
			updated = prev
		} else {
			updated = stored{Entry: base}
			if updated.EventID != "" {
				if err := tx.Bucket(bucketByEvent).Put(eventKey(updated.Provider, updated.EventID), []byte(id)); err != nil {
					return err
				}
			}
		}
		before := updated.Summary
		fn(&updated.Entry)
		updated.ID = id
		notify = had && updated.received() && changed(before, updated.Summary)
		return save(b, &updated)
	})
	if err != nil {
		return fmt.Errorf("update event %s: %w", id, err)
	}
	if notify {
		s := updated.Summary
		l.publish(Message{Summary: &s})
	}
	return nil
}

// RecordDelivery notes a delivery attempt of a notification that the
// provider's event eventID produced: the entry's Deliveries count it (by
// each delivery's newest attempt; an attempt noted again changes nothing),
// without announcing the entry again. Subscribers then receive data (the
// attempt as the dev server serves it) as a delivery message, whether or
// not the event is in the log: ErrNotFound says it is not.
func (l *Log) RecordDelivery(provider, eventID string, n DeliveryNote, eventType string, data json.RawMessage) error {
	l.order.Lock()
	defer l.order.Unlock()
	err := l.db.Update(func(tx *bolt.Tx) error {
		id := tx.Bucket(bucketByEvent).Get(eventKey(provider, eventID))
		if id == nil {
			return ErrNotFound
		}
		b := tx.Bucket(bucketEntries)
		s, had, err := load(b, string(id))
		if err != nil {
			return err
		}
		if !had {
			return ErrNotFound
		}
		if old, ok := s.Notes[n.DeliveryID]; ok && !newer(n, old) {
			return nil
		}
		if s.Notes == nil {
			s.Notes = map[string]DeliveryNote{}
		}
		s.Notes[n.DeliveryID] = n
		s.Deliveries = count(s.Notes)
		return save(b, &s)
	})
	l.publish(Message{Delivery: data, EventType: eventType})
	if err != nil {
		return fmt.Errorf("record delivery %s of %s %s: %w", n.DeliveryID, provider, eventID, err)
	}
	return nil
}

// newer reports whether attempt n comes after old: a later time, or the
// same time and a higher attempt number.
func newer(n, old DeliveryNote) bool {
	if !n.At.Equal(old.At) {
		return n.At.After(old.At)
	}
	return n.Attempt > old.Attempt || (n.Attempt == old.Attempt && n.Outcome != old.Outcome)
}

func count(notes map[string]DeliveryNote) *Deliveries {
	d := &Deliveries{Count: len(notes)}
	var last DeliveryNote
	for _, n := range notes {
		if n.Outcome == OutcomeDelivered {
			d.Delivered++
		}
		if last.DeliveryID == "" || n.At.After(last.At) || (n.At.Equal(last.At) && n.DeliveryID > last.DeliveryID) {
			last = n
		}
	}
	d.LastOutcome, d.LastAt = last.Outcome, last.At
	return d
}

// Get returns one entry by our id, or by a provider's event id.
func (l *Log) Get(id string) (Entry, error) {
	var e Entry
	err := l.db.View(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bucketEntries).Get([]byte(id))
		if raw == nil {
			// Accept a provider event id too ("evt_..."), any provider.
			c := tx.Bucket(bucketByEvent).Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				if i := bytes.IndexByte(k, 0); i >= 0 && string(k[i+1:]) == id {
					raw = tx.Bucket(bucketEntries).Get(v)
					break
				}
			}
		}
		if raw == nil {
			return ErrNotFound
		}
		return json.Unmarshal(raw, &e)
	})
	return e, err
}

// Filter narrows List.
type Filter struct {
	Provider string
	Status   string
	Type     string
	Limit    int // default 100
}

// List returns summaries newest first (ids are ULIDs: time-ordered).
func (l *Log) List(f Filter) ([]Summary, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	out := []Summary{}
	err := l.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketEntries).Cursor()
		for k, v := c.Last(); k != nil && len(out) < f.Limit; k, v = c.Prev() {
			var e Entry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("entry %s: %w", k, err)
			}
			if (f.Provider != "" && e.Provider != f.Provider) || (f.Status != "" && e.Status != f.Status) ||
				(f.Type != "" && e.Type != f.Type) {
				continue
			}
			out = append(out, e.Summary)
		}
		return nil
	})
	return out, err
}

// Subscribe streams messages: summaries of entries received and of their
// status changes, and delivery attempts, in the order they happened, until
// cancel. A subscriber that falls behind misses messages rather than
// blocking ingest.
func (l *Log) Subscribe() (<-chan Message, func()) {
	ch := make(chan Message, 64)
	l.mu.Lock()
	l.subs[ch] = struct{}{}
	l.mu.Unlock()
	return ch, func() {
		l.mu.Lock()
		if _, ok := l.subs[ch]; ok {
			delete(l.subs, ch)
			close(ch)
		}
		l.mu.Unlock()
	}
}

func (l *Log) publish(m Message) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for ch := range l.subs {
		select {
		case ch <- m:
		default: // a slow subscriber misses updates rather than blocking ingest
		}
	}
}

func eventKey(provider, eventID string) []byte {
	return []byte(provider + "\x00" + eventID)
}
