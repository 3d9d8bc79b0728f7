// Package localstore is the store.Store of `hookstack dev`: one bbolt file
// (crash-safe: every write is one fsynced bbolt transaction), with the same
// semantics as dynamostore — conditional revisions, the outbox written with
// the state, expiry, and newest-first listings by kind and by notification
// type through index buckets that play the part of the table's GSI.
package localstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/hookstack/hookstack/shared/store"
)

// Buckets. Keys use NUL as separator: kinds, keys, ids and types never
// contain control characters (store.CheckKey).
var (
	bRecords  = []byte("records")               // kind NUL key → item
	bByTime   = []byte("records_by_time")       // kind NUL updated NUL key → ""
	bNotes    = []byte("notifications")         // id → note
	bNotesAll = []byte("notifications_by_time") // created NUL id → ""
	bNotesTyp = []byte("notifications_by_type") // type NUL created NUL id → ""
)

// Store is a store.Store in one bbolt file. Safe for concurrent use by the
// goroutines of one process; bbolt locks the file against other processes.
type Store struct {
	db  *bolt.DB
	now func() time.Time
}

var _ store.Store = (*Store)(nil)

// Open opens (creating it and its directory if needed) the store at path,
// waiting up to a second for another process's lock, and drops expired
// records and notifications.
func Open(path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("localstore open %s: %w", path, err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("localstore open %s: %w", path, err)
	}
	s := &Store{db: db, now: time.Now}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bRecords, bByTime, bNotes, bNotesAll, bNotesTyp} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return s.purge(tx)
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("localstore open %s: %w", path, err)
	}
	return s, nil
}

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

// item is a record as stored. Strings, not json.RawMessage: encoding/json
// would compact raw messages, and the store returns documents byte for byte.
type item struct {
	Rev       int64        `json:"rev"`
	Data      string       `json:"data"`
	UpdatedAt string       `json:"updated_at"`
	ExpiresAt int64        `json:"expires_at,omitempty"` // epoch seconds
	Outbox    []outboxItem `json:"outbox,omitempty"`
}

type outboxItem struct {
	ID   string `json:"id"`
	Body string `json:"body"`
}

type note struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	Subject   string `json:"subject,omitempty"`
	CreatedAt string `json:"created_at"`
	Event     string `json:"event,omitempty"`
	ExpiresAt int64  `json:"expires_at,omitempty"`
}

func join(parts ...string) []byte {
	var b bytes.Buffer
	for i, p := range parts {
		if i > 0 {
			b.WriteByte(0)
		}
		b.WriteString(p)
	}
	return b.Bytes()
}

func expiresUnix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func expiresTime(sec int64) time.Time {
	if sec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}

func (s *Store) expired(sec int64) bool { return store.Expired(expiresTime(sec), s.now()) }

func (it item) record(kind, key string) (store.Record, error) {
	updated, err := store.ParseSortTime(it.UpdatedAt)
	if err != nil {
		return store.Record{}, err
	}
	r := store.Record{
		Kind: kind, Key: key, Rev: it.Rev,
		Data:      json.RawMessage(it.Data),
		UpdatedAt: updated,
		ExpiresAt: expiresTime(it.ExpiresAt),
	}
	for _, e := range it.Outbox {
		r.Outbox = append(r.Outbox, store.OutboxEvent{ID: e.ID, Body: json.RawMessage(e.Body)})
	}
	return r, nil
}

// load reads the item (kind, key); ok is false when there is none.
func load(tx *bolt.Tx, kind, key string) (it item, ok bool, err error) {
	v := tx.Bucket(bRecords).Get(join(kind, key))
	if v == nil {
		return item{}, false, nil
	}
	if err := json.Unmarshal(v, &it); err != nil {
		return item{}, false, fmt.Errorf("corrupt record %s %q: %w", kind, key, err)
	}
	return it, true, nil
}

// save writes it under (kind, key), replacing old's index entry.
func save(tx *bolt.Tx, kind, key string, old *item, it item) error {
	if old != nil {
		if err := tx.Bucket(bByTime).Delete(join(kind, old.UpdatedAt, key)); err != nil {
			return err
		}
	}
	v, err := json.Marshal(it)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bRecords).Put(join(kind, key), v); err != nil {
		return err
	}
	return tx.Bucket(bByTime).Put(join(kind, it.UpdatedAt, key), nil)
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, kind, key string) (store.Record, error) {
	if err := checkKindKey(kind, key); err != nil {
		return store.Record{}, fmt.Errorf("localstore get: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return store.Record{}, fmt.Errorf("localstore get %s %q: %w", kind, key, err)
	}
	var r store.Record
	err := s.db.View(func(tx *bolt.Tx) error {
		it, ok, err := load(tx, kind, key)
		if err != nil {
			return err
		}
		if !ok || s.expired(it.ExpiresAt) {
			return store.ErrNotFound
		}
		r, err = it.record(kind, key)
		return err
	})
	if err != nil {
		return store.Record{}, fmt.Errorf("localstore get %s %q: %w", kind, key, err)
	}
	return r, nil
}

// Put implements store.Store.
func (s *Store) Put(ctx context.Context, r store.Record, expectRev int64) (int64, error) {
	if err := store.CheckRecord(r); err != nil {
		return 0, fmt.Errorf("localstore put: %w", err)
	}
	if expectRev < 0 {
		return 0, fmt.Errorf("localstore put %s %q: %w: negative revision %d", r.Kind, r.Key, store.ErrInvalid, expectRev)
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("localstore put %s %q: %w", r.Kind, r.Key, err)
	}
	updated := r.UpdatedAt
	if updated.IsZero() {
		updated = s.now()
	}
	it := item{
		Rev:       expectRev + 1,
		Data:      string(r.Data),
		UpdatedAt: store.SortTime(updated),
		ExpiresAt: expiresUnix(r.ExpiresAt),
	}
	for _, e := range r.Outbox {
		it.Outbox = append(it.Outbox, outboxItem{ID: e.ID, Body: string(e.Body)})
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		old, exists, err := load(tx, r.Kind, r.Key)
		if err != nil {
			return err
		}
		live := exists && !s.expired(old.ExpiresAt)
		switch {
		case expectRev == 0 && live:
			return fmt.Errorf("exists at rev %d, expected none: %w", old.Rev, store.ErrConflict)
		case expectRev > 0 && !live:
			return fmt.Errorf("does not exist, expected rev %d: %w", expectRev, store.ErrConflict)
		case expectRev > 0 && old.Rev != expectRev:
			return fmt.Errorf("at rev %d, expected %d: %w", old.Rev, expectRev, store.ErrConflict)
		}
		var prev *item
		if exists {
			prev = &old
		}
		return save(tx, r.Kind, r.Key, prev, it)
	})
	if err != nil {
		return 0, fmt.Errorf("localstore put %s %q: %w", r.Kind, r.Key, err)
	}
	return it.Rev, nil
}

// ClearOutbox implements store.Store.
func (s *Store) ClearOutbox(ctx context.Context, kind, key string, rev int64) (int64, error) {
	if err := checkKindKey(kind, key); err != nil {
		return 0, fmt.Errorf("localstore clear outbox: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("localstore clear outbox %s %q: %w", kind, key, err)
	}
	var newRev int64
	err := s.db.Update(func(tx *bolt.Tx) error {
		old, exists, err := load(tx, kind, key)
		if err != nil {
			return err
		}
		if !exists || s.expired(old.ExpiresAt) {
			return store.ErrNotFound
		}
		if old.Rev != rev {
			return fmt.Errorf("at rev %d, expected %d: %w", old.Rev, rev, store.ErrConflict)
		}
		it := old
		it.Outbox = nil
		it.Rev = rev + 1
		newRev = it.Rev
		return save(tx, kind, key, &old, it)
	})
	if err != nil {
		return 0, fmt.Errorf("localstore clear outbox %s %q: %w", kind, key, err)
	}
	return newRev, nil
}

// List implements store.Store.
func (s *Store) List(ctx context.Context, kind string, limit int) ([]store.Record, error) {
	if err := store.CheckKind(kind); err != nil {
		return nil, fmt.Errorf("localstore list: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("localstore list %s: %w", kind, err)
	}
	limit = store.ClampLimit(limit)
	out := []store.Record{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return scanDesc(tx.Bucket(bByTime), join(kind, ""), func(k []byte) (bool, error) {
			parts := bytes.SplitN(k, []byte{0}, 3)
			if len(parts) != 3 {
				return false, fmt.Errorf("corrupt index key %q", k)
			}
			key := string(parts[2])
			it, ok, err := load(tx, kind, key)
			if err != nil || !ok || s.expired(it.ExpiresAt) {
				return true, err
			}
			r, err := it.record(kind, key)
			if err != nil {
				return false, err
			}
			out = append(out, r)
			return len(out) < limit, nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("localstore list %s: %w", kind, err)
	}
	return out, nil
}

// AppendNotification implements store.Store.
func (s *Store) AppendNotification(ctx context.Context, n store.Notification) error {
	if err := store.CheckNotification(n); err != nil {
		return fmt.Errorf("localstore append notification: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("localstore append notification %q: %w", n.ID, err)
	}
	created := n.CreatedAt
	if created.IsZero() {
		created = s.now()
	}
	nt := note{
		ID: n.ID, Type: n.Type, Subject: n.Subject,
		CreatedAt: store.SortTime(created),
		Event:     string(n.Event),
		ExpiresAt: expiresUnix(n.ExpiresAt),
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		notes := tx.Bucket(bNotes)
		if v := notes.Get([]byte(n.ID)); v != nil {
			var old note
			if err := json.Unmarshal(v, &old); err != nil {
				return fmt.Errorf("corrupt notification: %w", err)
			}
			if !s.expired(old.ExpiresAt) {
				return nil // appended already: first write wins
			}
			if err := deleteNote(tx, old); err != nil {
				return err
			}
		}
		v, err := json.Marshal(nt)
		if err != nil {
			return err
		}
		if err := notes.Put([]byte(n.ID), v); err != nil {
			return err
		}
		if err := tx.Bucket(bNotesAll).Put(join(nt.CreatedAt, nt.ID), nil); err != nil {
			return err
		}
		return tx.Bucket(bNotesTyp).Put(join(nt.Type, nt.CreatedAt, nt.ID), nil)
	})
	if err != nil {
		return fmt.Errorf("localstore append notification %q: %w", n.ID, err)
	}
	return nil
}

func deleteNote(tx *bolt.Tx, n note) error {
	if err := tx.Bucket(bNotes).Delete([]byte(n.ID)); err != nil {
		return err
	}
	if err := tx.Bucket(bNotesAll).Delete(join(n.CreatedAt, n.ID)); err != nil {
		return err
	}
	return tx.Bucket(bNotesTyp).Delete(join(n.Type, n.CreatedAt, n.ID))
}

// ListNotifications implements store.Store.
func (s *Store) ListNotifications(ctx context.Context, typ string, limit int) ([]store.Notification, error) {
	if typ != "" {
		if err := store.CheckKey("notification type", typ); err != nil {
			return nil, fmt.Errorf("localstore list notifications: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("localstore list notifications: %w", err)
	}
	limit = store.ClampLimit(limit)
	out := []store.Notification{}
	err := s.db.View(func(tx *bolt.Tx) error {
		idx, prefix := tx.Bucket(bNotesAll), []byte(nil)
		if typ != "" {
			idx, prefix = tx.Bucket(bNotesTyp), join(typ, "")
		}
		notes := tx.Bucket(bNotes)
		return scanDesc(idx, prefix, func(k []byte) (bool, error) {
			id := k[bytes.LastIndexByte(k, 0)+1:]
			v := notes.Get(id)
			if v == nil {
				return true, nil
			}
			var nt note
			if err := json.Unmarshal(v, &nt); err != nil {
				return false, fmt.Errorf("corrupt notification %q: %w", id, err)
			}
			if s.expired(nt.ExpiresAt) {
				return true, nil
			}
			created, err := store.ParseSortTime(nt.CreatedAt)
			if err != nil {
				return false, err
			}
			n := store.Notification{
				ID: nt.ID, Type: nt.Type, Subject: nt.Subject, CreatedAt: created,
				ExpiresAt: expiresTime(nt.ExpiresAt),
			}
			if nt.Event != "" {
				n.Event = json.RawMessage(nt.Event)
			}
			out = append(out, n)
			return len(out) < limit, nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("localstore list notifications: %w", err)
	}
	return out, nil
}

// scanDesc calls fn with every key of b that starts with prefix, greatest
// first, until fn returns false or an error.
func scanDesc(b *bolt.Bucket, prefix []byte, fn func(k []byte) (bool, error)) error {
	c := b.Cursor()
	var k []byte
	if upper := prefixEnd(prefix); upper == nil {
		k, _ = c.Last()
	} else if k, _ = c.Seek(upper); k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	for ; k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Prev() {
		more, err := fn(k)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// prefixEnd returns the least key greater than every key with prefix, or
// nil when there is none (empty prefix or all 0xff).
func prefixEnd(prefix []byte) []byte {
	end := bytes.Clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// purge deletes expired records and notifications (DynamoDB's TTL does the
// same in the background).
func (s *Store) purge(tx *bolt.Tx) error {
	type dead struct {
		kind, key string
		it        item
	}
	var records []dead
	err := tx.Bucket(bRecords).ForEach(func(k, v []byte) error {
		var it item
		if json.Unmarshal(v, &it) != nil || !s.expired(it.ExpiresAt) {
			return nil
		}
		kind, key, _ := bytes.Cut(k, []byte{0})
		records = append(records, dead{string(kind), string(key), it})
		return nil
	})
	if err != nil {
		return err
	}
	for _, d := range records {
		if err := tx.Bucket(bRecords).Delete(join(d.kind, d.key)); err != nil {
			return err
		}
		if err := tx.Bucket(bByTime).Delete(join(d.kind, d.it.UpdatedAt, d.key)); err != nil {
			return err
		}
	}
	var notes []note
	err = tx.Bucket(bNotes).ForEach(func(_, v []byte) error {
		var nt note
		if json.Unmarshal(v, &nt) == nil && s.expired(nt.ExpiresAt) {
			notes = append(notes, nt)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, nt := range notes {
		if err := deleteNote(tx, nt); err != nil {
			return err
		}
	}
	return nil
}

func checkKindKey(kind, key string) error {
	if err := store.CheckKind(kind); err != nil {
		return err
	}
	return store.CheckKey("key", key)
}
