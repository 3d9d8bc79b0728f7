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
}

// Entry is one received event (or rejected request) in full.
type Entry struct {
	Summary
	Headers      http.Header        `json:"headers,omitempty"`
	Body         string             `json:"body,omitempty"`
	Envelope     *envelope.Envelope `json:"envelope,omitempty"`
	ReceiveCount int                `json:"receive_count"`
	UpdatedAt    time.Time          `json:"updated_at"`
}

// ErrNotFound: no entry with that id.
var ErrNotFound = errors.New("event not found")

var (
	bucketEntries = []byte("entries")  // id → Entry JSON
	bucketByEvent = []byte("by_event") // provider + "\x00" + event_id → id
)

// Log is the embedded event log.
type Log struct {
	db *bolt.DB

	mu   sync.Mutex
	subs map[chan Summary]struct{}
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
	return &Log{db: db, subs: map[chan Summary]struct{}{}}, nil
}

// Close closes the file.
func (l *Log) Close() error { return l.db.Close() }

// Put stores or replaces entries.
// Concurrent puts are coalesced into one transaction (bbolt Batch).
func (l *Log) Put(entries ...Entry) error {
	err := l.db.Batch(func(tx *bolt.Tx) error {
		b, idx := tx.Bucket(bucketEntries), tx.Bucket(bucketByEvent)
		for i := range entries {
			e := &entries[i]
			// The pipeline can finish with a message before its receipt is
			// recorded: keep the outcome an earlier Update stored.
			if old := b.Get([]byte(e.ID)); old != nil && e.Status == StatusQueued {
				var prev Entry
				if json.Unmarshal(old, &prev) == nil && prev.Status != "" {
					e.Status, e.Reason, e.ReceiveCount = prev.Status, prev.Reason, prev.ReceiveCount
				}
			}
			raw, err := json.Marshal(e)
			if err != nil {
				return err
			}
			if err := b.Put([]byte(e.ID), raw); err != nil {
				return err
			}
			if e.EventID != "" {
				if err := idx.Put(eventKey(e.Provider, e.EventID), []byte(e.ID)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("put events: %w", err)
	}
	for _, e := range entries {
		l.publish(e.Summary)
	}
	return nil
}

// Update applies fn to the entry with id, atomically. An entry not
// recorded yet is started with just its id (Put fills in the rest).
func (l *Log) Update(id string, fn func(*Entry)) error {
	return l.Upsert(Entry{Summary: Summary{ID: id}}, fn)
}

// Upsert applies fn to the entry with base.ID, atomically, starting from
// base when there is none yet (a message processed before, or without, the
// record of its receipt: the pipeline can be faster than the observer, and
// a send that landed while ingest answered 503 has no receipt of its own).
func (l *Log) Upsert(base Entry, fn func(*Entry)) error {
	id := base.ID
	var updated Entry
	err := l.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketEntries)
		if raw := b.Get([]byte(id)); raw != nil {
			if err := json.Unmarshal(raw, &updated); err != nil {
				return err
			}
		} else {
			updated = base
			if updated.EventID != "" {
				if err := tx.Bucket(bucketByEvent).Put(eventKey(updated.Provider, updated.EventID), []byte(id)); err != nil {
					return err
				}
			}
		}
		fn(&updated)
		out, err := json.Marshal(updated)
		if err != nil {
			return err
		}
		return b.Put([]byte(id), out)
	})
	if err != nil {
		return fmt.Errorf("update event %s: %w", id, err)
	}
	l.publish(updated.Summary)
	return nil
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

// Subscribe streams summaries of new and updated entries until cancel.
func (l *Log) Subscribe() (<-chan Summary, func()) {
	ch := make(chan Summary, 64)
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

func (l *Log) publish(s Summary) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for ch := range l.subs {
		select {
		case ch <- s:
		default: // a slow subscriber misses updates rather than blocking ingest
		}
	}
}

func eventKey(provider, eventID string) []byte {
	return []byte(provider + "\x00" + eventID)
}
