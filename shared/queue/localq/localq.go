// Package localq is the embedded, file-backed queue.Queue for `hookstack dev`:
// one bbolt file, crash-safe (every change is one fsynced transaction), with
// SQS semantics the pipeline relies on — visibility timeouts kept as wall
// clock deadlines (a received but undeleted message becomes visible again
// when its timeout lapses, also across restarts), receive counts, a
// dead-letter queue per queue with SQS's maxReceiveCount rule, delays, long
// polling (woken by sends, no busy loop) and redrive.
//
// It passes the same contract suite (queuetest) as the SQS adapter.
package localq

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/queue/internal/limits"
	"github.com/hookstack/hookstack/shared/ulidgen"
)

// Defaults applied by Open.
const (
	DefaultMaxReceive = 5
	DefaultVisibility = 30 * time.Second
	defaultListLimit  = 100
)

// ErrClosed is returned by calls on a closed Queue.
var ErrClosed = errors.New("local queue closed")

// Config says which queues exist. Queues not listed are unknown
// (queue.ErrUnknownQueue); data of queues dropped from the list stays in the
// file untouched.
type Config struct {
	// Queues are the source queues; each also gets its dead-letter queue
	// queue.DLQ(name), which has no DLQ of its own (listing a DLQ here as
	// well is harmless).
	Queues []string
	// MaxReceive is SQS's maxReceiveCount for every source queue: a message
	// received this many times without being deleted moves to the DLQ on the
	// next receive. 0 means DefaultMaxReceive; negative means never.
	MaxReceive int
	// MaxReceiveFor overrides MaxReceive per queue name.
	MaxReceiveFor map[string]int
	// Visibility is used when Receive is called with visibility 0 (SQS: the
	// queue's default). 0 means DefaultVisibility.
	Visibility time.Duration
}

// Queue is the embedded queue. It is safe for concurrent use; one process
// at a time may open a file.
type Queue struct {
	db         *bolt.DB
	queues     map[string]queueInfo
	visibility time.Duration

	mu      sync.Mutex
	signals map[string]chan struct{} // closed and replaced when a queue may have new visible messages
	closed  chan struct{}
	once    sync.Once
}

type queueInfo struct {
	maxReceive int    // 0: no redrive
	dlq        string // "" for DLQs
}

var (
	_ queue.Queue       = (*Queue)(nil)
	_ queue.Redriver    = (*Queue)(nil)
	_ queue.BatchSender = (*Queue)(nil)
)

// bucket layout: "q:<name>" → { "m": id → record JSON, "v": visibleAt(8) id → "" }
var (
	msgsBucket  = []byte("m")
	indexBucket = []byte("v")
)

func bucketName(name string) []byte { return []byte("q:" + name) }

type record struct {
	ID        string            `json:"id"`
	Body      []byte            `json:"body"`
	Attrs     map[string]string `json:"attrs,omitempty"`
	SentAt    int64             `json:"sent"`    // unix nanoseconds
	VisibleAt int64             `json:"visible"` // unix nanoseconds
	Count     int               `json:"count"`
	Receipt   string            `json:"receipt,omitempty"`
}

// Open opens (creating if needed) the queue file at path. It waits up to two
// seconds for another process holding the file.
func Open(path string, cfg Config) (*Queue, error) {
	if len(cfg.Queues) == 0 {
		return nil, errors.New("open local queue: no queues configured")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("open local queue: %w", err)
		}
	}
	q := &Queue{
		queues:     map[string]queueInfo{},
		visibility: cfg.Visibility,
		signals:    map[string]chan struct{}{},
		closed:     make(chan struct{}),
	}
	if q.visibility <= 0 {
		q.visibility = DefaultVisibility
	}
	if err := limits.CheckVisibility(q.visibility); err != nil {
		return nil, fmt.Errorf("open local queue: %w", err)
	}
	isDLQ := map[string]bool{}
	for _, name := range cfg.Queues {
		isDLQ[queue.DLQ(name)] = true
	}
	for _, name := range cfg.Queues {
		if name == "" {
			return nil, errors.New("open local queue: empty queue name")
		}
		if isDLQ[name] { // listed as well as its source: it stays a plain DLQ
			continue
		}
		mr := cfg.MaxReceive
		if v, ok := cfg.MaxReceiveFor[name]; ok {
			mr = v
		}
		switch {
		case mr == 0:
			mr = DefaultMaxReceive
		case mr < 0:
			mr = 0
		}
		q.queues[name] = queueInfo{maxReceive: mr, dlq: queue.DLQ(name)}
		if _, ok := q.queues[queue.DLQ(name)]; !ok {
			q.queues[queue.DLQ(name)] = queueInfo{}
		}
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("open local queue %s: the file is in use by another process (is another `hookstack dev` running?): %w", path, err)
		}
		return nil, fmt.Errorf("open local queue %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for name := range q.queues {
			b, err := tx.CreateBucketIfNotExists(bucketName(name))
			if err != nil {
				return err
			}
			if _, err := b.CreateBucketIfNotExists(msgsBucket); err != nil {
				return err
			}
			if _, err := b.CreateBucketIfNotExists(indexBucket); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open local queue %s: %w", path, err)
	}
	q.db = db
	return q, nil
}

// Close closes the file; pending long polls return ErrClosed.
func (q *Queue) Close() error {
	var err error
	q.once.Do(func() {
		close(q.closed)
		err = q.db.Close()
	})
	return err
}

func (q *Queue) info(name string) (queueInfo, error) {
	info, ok := q.queues[name]
	if !ok {
		return queueInfo{}, fmt.Errorf("local queue %q: %w", name, queue.ErrUnknownQueue)
	}
	return info, nil
}

func (q *Queue) isClosed() bool {
	select {
	case <-q.closed:
		return true
	default:
		return false
	}
}

// signal returns the channel closed at the next wake of name.
func (q *Queue) signal(name string) <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	ch, ok := q.signals[name]
	if !ok {
		ch = make(chan struct{})
		q.signals[name] = ch
	}
	return ch
}

// wake tells long polls on name to look again.
func (q *Queue) wake(name string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if ch, ok := q.signals[name]; ok {
		close(ch)
		delete(q.signals, name)
	}
}

func indexKey(visibleAt int64, id string) []byte {
	k := make([]byte, 8+len(id))
	binary.BigEndian.PutUint64(k, uint64(max(visibleAt, 0)))
	copy(k[8:], id)
	return k
}

type buckets struct{ msgs, index *bolt.Bucket }

func open(tx *bolt.Tx, name string) buckets {
	b := tx.Bucket(bucketName(name))
	return buckets{msgs: b.Bucket(msgsBucket), index: b.Bucket(indexBucket)}
}

func (b buckets) get(id string) (*record, error) {
	v := b.msgs.Get([]byte(id))
	if v == nil {
		return nil, nil
	}
	var r record
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, fmt.Errorf("decode message %s: %w", id, err)
	}
	return &r, nil
}

func (b buckets) put(r *record) error {
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := b.msgs.Put([]byte(r.ID), v); err != nil {
		return err
	}
	return b.index.Put(indexKey(r.VisibleAt, r.ID), nil)
}

func (b buckets) remove(r *record) error {
	if err := b.index.Delete(indexKey(r.VisibleAt, r.ID)); err != nil {
		return err
	}
	return b.msgs.Delete([]byte(r.ID))
}

// setVisible moves r's index entry to visibleAt and stores r.
func (b buckets) setVisible(r *record, visibleAt int64) error {
	if err := b.index.Delete(indexKey(r.VisibleAt, r.ID)); err != nil {
		return err
	}
	r.VisibleAt = visibleAt
	return b.put(r)
}

func (r *record) message() queue.Message {
	var attrs map[string]string
	if len(r.Attrs) > 0 {
		attrs = make(map[string]string, len(r.Attrs))
		for k, v := range r.Attrs {
			attrs[k] = v
		}
	}
	return queue.Message{
		ID:            r.ID,
		ReceiptHandle: r.Receipt,
		Body:          bytes.Clone(r.Body),
		Attributes:    attrs,
		ReceiveCount:  r.Count,
		SentAt:        time.Unix(0, r.SentAt),
	}
}

// ids makes the message ids: ULIDs, increasing within a process.
var ids ulidgen.Monotonic

// Send enqueues m.
// newRecord is the stored form of an outgoing message sent at now: a copy
// of its body and attributes (the caller keeps its buffers).
func newRecord(m queue.Outgoing, now time.Time) *record {
	r := &record{
		ID:        ids.Make(time.Now()),
		Body:      bytes.Clone(m.Body),
		SentAt:    now.UnixNano(),
		VisibleAt: now.Add(m.Delay).UnixNano(),
	}
	if len(m.Attributes) > 0 {
		r.Attrs = make(map[string]string, len(m.Attributes))
		for k, v := range m.Attributes {
			r.Attrs[k] = v
		}
	}
	return r
}

func (q *Queue) Send(ctx context.Context, name string, m queue.Outgoing) (string, error) {
	if _, err := q.info(name); err != nil {
		return "", err
	}
	if err := limits.CheckOutgoing(m); err != nil {
		return "", fmt.Errorf("local queue %q: send: %w: %w", name, queue.ErrRejected, err)
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	r := newRecord(m, time.Now())
	err := q.update(func(tx *bolt.Tx) error { return open(tx, name).put(r) })
	if err != nil {
		return "", fmt.Errorf("local queue %q: send: %w", name, err)
	}
	q.wake(name) // also for delayed messages: waiting receivers re-arm their timers
	return r.ID, nil
}

// SendBatch enqueues msgs in one transaction (one fsync) and returns one
// result per message, in order. A message SQS would reject fails alone
// (queue.ErrRejected); the others are all stored or, when the transaction
// fails, all fail.
func (q *Queue) SendBatch(ctx context.Context, name string, msgs []queue.Outgoing) []queue.BatchResult {
	res := make([]queue.BatchResult, len(msgs))
	if len(msgs) == 0 {
		return res
	}
	failAll := func(err error) []queue.BatchResult {
		for i := range res {
			if res[i].Err == nil {
				res[i].Err = err
			}
		}
		return res
	}
	if _, err := q.info(name); err != nil {
		return failAll(err)
	}
	now := time.Now()
	recs := make([]*record, len(msgs))
	valid := 0
	for i, m := range msgs {
		if err := limits.CheckOutgoing(m); err != nil {
			res[i].Err = fmt.Errorf("local queue %q: send batch: entry %d: %w: %w", name, i, queue.ErrRejected, err)
			continue
		}
		recs[i] = newRecord(m, now)
		valid++
	}
	if valid == 0 {
		return res
	}
	if err := ctx.Err(); err != nil {
		return failAll(err)
	}
	err := q.update(func(tx *bolt.Tx) error {
		b := open(tx, name)
		for _, r := range recs {
			if r == nil {
				continue
			}
			if err := b.put(r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return failAll(fmt.Errorf("local queue %q: send batch: %w", name, err))
	}
	for i, r := range recs {
		if r != nil {
			res[i].ID = r.ID
		}
	}
	q.wake(name)
	return res
}

func (q *Queue) update(fn func(*bolt.Tx) error) error {
	if q.isClosed() {
		return ErrClosed
	}
	return q.db.Update(fn)
}

func (q *Queue) view(fn func(*bolt.Tx) error) error {
	if q.isClosed() {
		return ErrClosed
	}
	return q.db.View(fn)
}

// Receive returns up to max (1..10) visible messages, hiding them for
// visibility (0: the configured default). With wait > 0 it blocks until a
// message is visible, wait passes, or ctx ends. Messages already received
// maxReceive times move to the DLQ instead of being returned.
func (q *Queue) Receive(ctx context.Context, name string, max int, visibility, wait time.Duration) ([]queue.Message, error) {
	info, err := q.info(name)
	if err != nil {
		return nil, err
	}
	if err := limits.CheckVisibility(visibility); err != nil {
		return nil, fmt.Errorf("local queue %q: receive: %w", name, err)
	}
	if visibility == 0 {
		visibility = q.visibility
	}
	max = limits.ClampBatch(max)
	deadline := time.Now().Add(wait)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		woken := q.signal(name) // before looking, so no send is missed
		msgs, next, err := q.tryReceive(name, info, max, visibility)
		if err != nil || len(msgs) > 0 {
			return msgs, err
		}
		sleep := time.Until(deadline)
		if sleep <= 0 {
			return nil, nil
		}
		if next > 0 {
			sleep = min(sleep, time.Until(time.Unix(0, next))+time.Millisecond)
		}
		timer := time.NewTimer(sleep)
		select {
		case <-woken:
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		case <-q.closed:
			timer.Stop()
			return nil, ErrClosed
		}
		timer.Stop()
	}
}

// tryReceive takes up to max visible messages in one transaction. next is
// when the earliest still-hidden message becomes visible (0: none).
func (q *Queue) tryReceive(name string, info queueInfo, max int, visibility time.Duration) (msgs []queue.Message, next int64, err error) {
	movedToDLQ := false
	err = q.update(func(tx *bolt.Tx) error {
		msgs, next, movedToDLQ = nil, 0, false
		b := open(tx, name)
		now := time.Now()
		for len(msgs) < max {
			k, _ := b.index.Cursor().First()
			if k == nil {
				break
			}
			visibleAt := int64(binary.BigEndian.Uint64(k[:8]))
			if visibleAt > now.UnixNano() {
				next = visibleAt
				break
			}
			id := string(k[8:])
			r, err := b.get(id)
			if err != nil {
				return err
			}
			if r == nil { // orphaned index entry
				if err := b.index.Delete(k); err != nil {
					return err
				}
				continue
			}
			if info.maxReceive > 0 && r.Count >= info.maxReceive {
				// SQS redrive policy: the message goes to the DLQ as is
				// (id, body, attributes, sent time, receive count).
				if err := b.remove(r); err != nil {
					return err
				}
				r.Receipt = ""
				r.VisibleAt = now.UnixNano()
				if err := open(tx, info.dlq).put(r); err != nil {
					return err
				}
				movedToDLQ = true
				continue
			}
			r.Count++
			r.Receipt = newReceipt(r.ID)
			if err := b.setVisible(r, now.Add(visibility).UnixNano()); err != nil {
				return err
			}
			msgs = append(msgs, r.message())
		}
		if next == 0 && len(msgs) == max {
			// more may be visible; the caller returns anyway
			return nil
		}
		if next == 0 {
			if k, _ := b.index.Cursor().First(); k != nil {
				next = int64(binary.BigEndian.Uint64(k[:8]))
			}
		}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("local queue %q: receive: %w", name, err)
	}
	if movedToDLQ {
		q.wake(info.dlq)
	}
	return msgs, next, nil
}

// receipt handles are "<message id>.<random hex>"; a new one per receive.
func newReceipt(id string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return id + "." + hex.EncodeToString(b[:])
}

// parseReceipt returns the message id of a well-formed receipt handle.
func parseReceipt(h string) (string, bool) {
	id, nonce, ok := strings.Cut(h, ".")
	if !ok || len(nonce) != 24 {
		return "", false
	}
	if !ulidgen.Valid(id) {
		return "", false
	}
	if _, err := hex.DecodeString(nonce); err != nil {
		return "", false
	}
	return id, true
}

// Delete acknowledges the message received with receiptHandle. A handle from
// an earlier receive of a message received again since is
// queue.ErrReceiptInvalid (the message stays); deleting an already deleted
// message succeeds, as in SQS.
func (q *Queue) Delete(ctx context.Context, name, receiptHandle string) error {
	if _, err := q.info(name); err != nil {
		return err
	}
	id, ok := parseReceipt(receiptHandle)
	if !ok {
		return fmt.Errorf("local queue %q: delete: %w", name, queue.ErrReceiptInvalid)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	err := q.update(func(tx *bolt.Tx) error {
		b := open(tx, name)
		r, err := b.get(id)
		if err != nil || r == nil {
			return err
		}
		if r.Receipt != receiptHandle {
			return queue.ErrReceiptInvalid
		}
		return b.remove(r)
	})
	if err != nil {
		return fmt.Errorf("local queue %q: delete: %w", name, err)
	}
	return nil
}

// ChangeVisibility hides the in-flight message for d from now (0: visible
// now). The handle must be the message's latest and the message still in
// flight, else queue.ErrReceiptInvalid.
func (q *Queue) ChangeVisibility(ctx context.Context, name, receiptHandle string, d time.Duration) error {
	if _, err := q.info(name); err != nil {
		return err
	}
	if err := limits.CheckVisibility(d); err != nil {
		return fmt.Errorf("local queue %q: change visibility: %w", name, err)
	}
	id, ok := parseReceipt(receiptHandle)
	if !ok {
		return fmt.Errorf("local queue %q: change visibility: %w", name, queue.ErrReceiptInvalid)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	err := q.update(func(tx *bolt.Tx) error {
		b := open(tx, name)
		r, err := b.get(id)
		if err != nil {
			return err
		}
		now := time.Now()
		if r == nil || r.Receipt != receiptHandle || r.VisibleAt <= now.UnixNano() {
			return queue.ErrReceiptInvalid
		}
		return b.setVisible(r, now.Add(d).UnixNano())
	})
	if err != nil {
		return fmt.Errorf("local queue %q: change visibility: %w", name, err)
	}
	q.wake(name)
	return nil
}

// Redrive moves every message of dlq (visible or not) to source as a fresh
// message: visible now, receive count 0; id, body, attributes and sent time
// are kept. It is one transaction.
func (q *Queue) Redrive(ctx context.Context, dlq, source string) (int, error) {
	if _, err := q.info(dlq); err != nil {
		return 0, err
	}
	if _, err := q.info(source); err != nil {
		return 0, err
	}
	if dlq == source {
		return 0, fmt.Errorf("local queue: redrive %q onto itself", dlq)
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	moved := 0
	err := q.update(func(tx *bolt.Tx) error {
		moved = 0
		from, to := open(tx, dlq), open(tx, source)
		now := time.Now().UnixNano()
		var recs []*record
		err := from.msgs.ForEach(func(k, v []byte) error {
			var r record
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode message %s: %w", k, err)
			}
			recs = append(recs, &r)
			return nil
		})
		if err != nil {
			return err
		}
		for _, r := range recs {
			if err := from.remove(r); err != nil {
				return err
			}
			r.Count, r.Receipt, r.VisibleAt = 0, "", now
			if err := to.put(r); err != nil {
				return err
			}
			moved++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("local queue: redrive %q to %q: %w", dlq, source, err)
	}
	if moved > 0 {
		q.wake(source)
	}
	return moved, nil
}

// List returns up to limit messages of name, newest first, without
// receiving them (a peek: visibility and receive counts are unchanged;
// ReceiptHandle is empty). limit <= 0 means 100.
func (q *Queue) List(ctx context.Context, name string, limit int) ([]queue.Message, error) {
	if _, err := q.info(name); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = defaultListLimit
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []queue.Message
	err := q.view(func(tx *bolt.Tx) error {
		c := open(tx, name).msgs.Cursor()
		for k, v := c.Last(); k != nil && len(out) < limit; k, v = c.Prev() {
			var r record
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode message %s: %w", k, err)
			}
			m := r.message()
			m.ReceiptHandle = ""
			out = append(out, m)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("local queue %q: list: %w", name, err)
	}
	return out, nil
}

// Depth counts a queue's messages by state.
type Depth struct {
	Visible  int // ready to receive
	InFlight int // received, not deleted, visibility not lapsed
	Delayed  int // sent with a delay not yet passed
}

// Depth counts name's messages (SQS ApproximateNumberOfMessages and friends).
func (q *Queue) Depth(ctx context.Context, name string) (Depth, error) {
	if _, err := q.info(name); err != nil {
		return Depth{}, err
	}
	if err := ctx.Err(); err != nil {
		return Depth{}, err
	}
	var d Depth
	err := q.view(func(tx *bolt.Tx) error {
		now := time.Now().UnixNano()
		return open(tx, name).msgs.ForEach(func(k, v []byte) error {
			var r record
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode message %s: %w", k, err)
			}
			switch {
			case r.VisibleAt <= now:
				d.Visible++
			case r.Count > 0:
				d.InFlight++
			default:
				d.Delayed++
			}
			return nil
		})
	})
	if err != nil {
		return Depth{}, fmt.Errorf("local queue %q: depth: %w", name, err)
	}
	return d, nil
}
