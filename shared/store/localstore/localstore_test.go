package localstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookstack/hookstack/shared/store"
	"github.com/hookstack/hookstack/shared/store/localstore"
	"github.com/hookstack/hookstack/shared/store/storetest"
)

func open(t testing.TB, path string) *localstore.Store {
	t.Helper()
	s, err := localstore.Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "state.db"))
	})
}

// What a write returned survives closing and reopening the file (a new
// process after `hookstack dev` stopped), pending outbox included; expired
// records are purged on open.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nested", "state.db")
	s, err := localstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	at := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	r := store.Record{Kind: "payment", Key: "pi_1", Data: json.RawMessage(`{"status":"succeeded"}`), UpdatedAt: at,
		Outbox: []store.OutboxEvent{{ID: "evt_1:payment.succeeded", Body: json.RawMessage(`{"type":"payment.succeeded"}`)}}}
	if _, err := s.Put(ctx, r, 0); err != nil {
		t.Fatal(err)
	}
	gone := store.Record{Kind: "delivery", Key: "d1", Data: json.RawMessage(`{}`), UpdatedAt: at, ExpiresAt: time.Now().Add(-time.Minute)}
	if _, err := s.Put(ctx, gone, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendNotification(ctx, store.Notification{ID: "n1", Type: "payment.succeeded", CreatedAt: at}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2 := open(t, path)
	got, err := s2.Get(ctx, "payment", "pi_1")
	if err != nil || got.Rev != 1 || string(got.Data) != `{"status":"succeeded"}` || len(got.Outbox) != 1 || !got.UpdatedAt.Equal(at) {
		t.Fatalf("after reopen: %+v, %v", got, err)
	}
	if ns, err := s2.ListNotifications(ctx, "", 0); err != nil || len(ns) != 1 || ns[0].ID != "n1" {
		t.Errorf("notifications after reopen: %v, %v", ns, err)
	}
	if l, err := s2.List(ctx, "delivery", 0); err != nil || len(l) != 0 {
		t.Errorf("expired record after reopen: %v, %v", l, err)
	}
	// The expired record is gone from the file, not only hidden: it can be
	// created again and is the only one of its kind.
	if _, err := s2.Put(ctx, store.Record{Kind: "delivery", Key: "d1", Data: json.RawMessage(`{}`), UpdatedAt: at}, 0); err != nil {
		t.Errorf("re-create after purge: %v", err)
	}
}

// A second process cannot open the same file while it is in use: Open
// fails after its one-second lock timeout instead of hanging.
func TestLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	open(t, path)
	start := time.Now()
	s, err := localstore.Open(path)
	if err == nil {
		_ = s.Close()
		t.Fatal("second Open of a locked file succeeded")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("second Open took %v", d)
	}
}

// A file that is not a bbolt database is an error, not a panic.
func TestOpenGarbage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	if err := os.WriteFile(path, []byte("not a database, just text that is long enough to be read as a header"), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := localstore.Open(path); err == nil {
		_ = s.Close()
		t.Fatal("Open of a garbage file succeeded")
	}
}

// Cancelled contexts are refused before any work, as with the SDK.
func TestCanceledContext(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "state.db"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := s.Put(ctx, store.Record{Kind: "payment", Key: "k", Data: json.RawMessage(`{}`)}, 0)
	if !errors.Is(err, context.Canceled) || !store.IsTransient(err) {
		t.Errorf("Put with a cancelled context: %v, want context.Canceled (transient)", err)
	}
	if _, err := s.Get(t.Context(), "payment", "k"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("cancelled Put wrote: %v", err)
	}
}

func BenchmarkLocalPut(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "state.db"))
	storetest.BenchPut(b, s)
}
