package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hookstack/hookstack/shared/store"
	"github.com/hookstack/hookstack/shared/store/localstore"
)

// The processor's write: apply the pure transition and put its events in
// the outbox in one conditional write (store.Update), send the outbox, then
// clear it. A crash before the clear leaves the events pending; the next
// processing of any message for the record sends them again, and consumers
// drop the duplicates by id.
func Example_processorWrite() {
	dir, _ := os.MkdirTemp("", "store-example")
	defer os.RemoveAll(dir)
	s, err := localstore.Open(filepath.Join(dir, "state.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	ctx := context.Background()
	send := func(e store.OutboxEvent) error { fmt.Println("send", e.ID); return nil }

	at := time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)
	r, wrote, err := store.Update(ctx, s, "payment", "pi_1", func(r *store.Record) (bool, error) {
		// Pending events of an earlier, interrupted processing stay in r.Outbox.
		r.Data = json.RawMessage(`{"id":"pi_1","status":"succeeded"}`)
		r.UpdatedAt = at
		r.Enqueue("evt_1:payment.succeeded", json.RawMessage(`{"type":"payment.succeeded"}`))
		return true, nil
	})
	if err != nil || !wrote {
		fmt.Println(wrote, err)
		return
	}
	for _, e := range r.Outbox {
		if err := send(e); err != nil {
			return // transient: the message is retried, the outbox stays
		}
	}
	if _, err := s.ClearOutbox(ctx, "payment", "pi_1", r.Rev); err != nil {
		fmt.Println(err) // ErrConflict: a newer writer carried the outbox forward
	}
	got, _ := s.Get(ctx, "payment", "pi_1")
	fmt.Println(got.Rev, string(got.Data), len(got.Outbox))
	// Output:
	// send evt_1:payment.succeeded
	// 2 {"id":"pi_1","status":"succeeded"} 0
}
