package process

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/process/processtest"
	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/queue/localq"
	"github.com/hookstack/hookstack/shared/store"
	"github.com/hookstack/hookstack/shared/store/localstore"
)

// rig is one processor environment on the embedded adapters.
type rig struct {
	t     testing.TB
	q     *localq.Queue
	store store.Store // what the handlers use (maybe with faults)
	base  store.Store // the store underneath
	deps  Deps
	logs  *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newRig(t testing.TB) *rig {
	t.Helper()
	dir := t.TempDir()
	st, err := localstore.Open(filepath.Join(dir, "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return newRigOn(t, st)
}

func newRigOn(t testing.TB, st store.Store) *rig {
	t.Helper()
	q, err := localq.Open(filepath.Join(t.TempDir(), "queue.db"), localq.Config{Queues: envelope.AllQueues})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Close() })
	logs := &syncBuffer{}
	r := &rig{t: t, q: q, store: st, base: st, logs: logs}
	r.deps = Deps{Queue: q, Store: st, Logger: slog.New(slog.NewJSONHandler(logs, nil))}
	return r
}

// withStore swaps the store the handlers use (fault injection).
func (r *rig) withStore(s store.Store) *rig {
	r.store = s
	r.deps.Store = s
	return r
}

func (r *rig) handler(name string) *Handler {
	r.t.Helper()
	h, err := New(name, r.deps, Config{})
	if err != nil {
		r.t.Fatal(err)
	}
	return h
}

// handle runs one batch and returns the ids of the failed messages.
func (r *rig) handle(h *Handler, msgs ...events.SQSMessage) []string {
	r.t.Helper()
	resp, err := h.Handle(context.Background(), events.SQSEvent{Records: msgs})
	if err != nil {
		r.t.Fatalf("Handle returned an error: %v", err)
	}
	var ids []string
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	return ids
}

// sent lists the messages of a queue, oldest first.
func (r *rig) sent(name string) []queue.Message {
	r.t.Helper()
	msgs, err := r.q.List(context.Background(), name, 10000)
	if err != nil {
		r.t.Fatal(err)
	}
	slices.Reverse(msgs)
	return msgs
}

// notified counts the notifications by type.
func (r *rig) notified() map[string]int {
	r.t.Helper()
	out := map[string]int{}
	for _, m := range r.sent(envelope.QueueNotifications) {
		var e struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		}
		if err := json.Unmarshal(m.Body, &e); err != nil {
			r.t.Fatalf("notification %s: %v", m.Body, err)
		}
		if m.Attributes[AttrEventID] != e.ID || e.ID == "" {
			r.t.Fatalf("notification attribute event_id %q, body id %q", m.Attributes[AttrEventID], e.ID)
		}
		out[e.Type]++
	}
	return out
}

func (r *rig) get(kind, key string) store.Record {
	r.t.Helper()
	rec, err := r.base.Get(context.Background(), kind, key)
	if err != nil {
		r.t.Fatalf("get %s %q: %v", kind, key, err)
	}
	return rec
}

func decode[T any](t testing.TB, rec store.Record) T {
	t.Helper()
	var v T
	if err := rec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// samples loads the events/ samples as queue envelopes.
func samples(t testing.TB) map[string][]envelope.Envelope { return processtest.Samples(t) }

func one(t testing.TB, all map[string][]envelope.Envelope, name string) envelope.Envelope {
	t.Helper()
	envs := all[name]
	if len(envs) != 1 {
		t.Fatalf("sample %s: %d envelopes", name, len(envs))
	}
	return envs[0]
}

var msgSeq struct {
	mu sync.Mutex
	n  int
}

// msg wraps an envelope as an SQS record with a fresh message id.
func msg(t testing.TB, env envelope.Envelope) events.SQSMessage {
	t.Helper()
	b, err := envelope.Encode(env)
	if err != nil {
		t.Fatal(err)
	}
	return rawMsg(string(b))
}

func rawMsg(body string) events.SQSMessage {
	msgSeq.mu.Lock()
	msgSeq.n++
	id := fmt.Sprintf("msg-%d", msgSeq.n)
	msgSeq.mu.Unlock()
	return events.SQSMessage{MessageId: id, Body: body, EventSource: "aws:sqs",
		Attributes: map[string]string{"ApproximateReceiveCount": "1"}}
}

// faultyQueue fails the sends fail says.
type faultyQueue struct {
	queue.Queue
	fail func(name string, m queue.Outgoing) error
}

func (f *faultyQueue) Send(ctx context.Context, name string, m queue.Outgoing) (string, error) {
	if err := f.fail(name, m); err != nil {
		return "", err
	}
	return f.Queue.Send(ctx, name, m)
}

// editBody returns env with old replaced by new in its body.
func editBody(t testing.TB, env envelope.Envelope, old, new string) envelope.Envelope {
	t.Helper()
	if !strings.Contains(string(env.Body), old) {
		t.Fatalf("body of %s lacks %q", env.Type, old)
	}
	env.Body = []byte(strings.ReplaceAll(string(env.Body), old, new))
	return env
}
