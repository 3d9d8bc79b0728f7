// Package storetest is the contract every store.Store adapter passes: the
// embedded store (localstore) and DynamoDB (dynamostore, against the
// emulator) run the same suite, so `hookstack dev` behaves like AWS where the
// processors rely on it: conditional revisions, the outbox written with the
// state, listings newest first, idempotent notifications, expiry.
//
// Where DynamoDB is looser than the suite: gsi1 (List, ListNotifications) is
// eventually consistent in AWS, while the emulator and localstore answer
// from the latest write; the suite lists only after its writes returned.
package storetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookstack/hookstack/shared/store"
)

// Run runs the contract against newStore, which must return an empty store
// each call.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Create", testCreate},
		{"NotFound", testNotFound},
		{"ConditionalUpdate", testConditionalUpdate},
		{"StaleRevisionConflicts", testStaleRevision},
		{"ConcurrentWriters", testConcurrentWriters},
		{"OutboxPersistedWithStateAndCleared", testOutbox},
		{"OutboxCarriedForwardByNewerWriter", testOutboxCarriedForward},
		{"ListNewestFirstWithLimit", testList},
		{"ListManyRecordsWithLimit", testListMany},
		{"Notifications", testNotifications},
		{"LargeDocument", testLargeDocument},
		{"Invalid", testInvalid},
		{"Expiry", testExpiry},
		{"UpdateHelper", testUpdateHelper},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
}

// base is a time with a nanosecond part, to catch adapters that lose precision.
var base = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)

func rec(kind, key, data string, at time.Time, outbox ...store.OutboxEvent) store.Record {
	return store.Record{Kind: kind, Key: key, Data: json.RawMessage(data), UpdatedAt: at, Outbox: outbox}
}

func ev(id string) store.OutboxEvent {
	return store.OutboxEvent{ID: id, Body: json.RawMessage(fmt.Sprintf(`{"id": %q, "type":"payment.succeeded"}`, id))}
}

func mustPut(t *testing.T, s store.Store, r store.Record, expect int64) int64 {
	t.Helper()
	rev, err := s.Put(t.Context(), r, expect)
	if err != nil {
		t.Fatalf("Put(%s %q, expect %d): %v", r.Kind, r.Key, expect, err)
	}
	if rev != expect+1 {
		t.Fatalf("Put(%s %q, expect %d) = rev %d, want %d", r.Kind, r.Key, expect, rev, expect+1)
	}
	return rev
}

func mustGet(t *testing.T, s store.Store, kind, key string) store.Record {
	t.Helper()
	r, err := s.Get(t.Context(), kind, key)
	if err != nil {
		t.Fatalf("Get(%s %q): %v", kind, key, err)
	}
	return r
}

// sameRecord compares everything the store keeps.
func sameRecord(t *testing.T, got, want store.Record) {
	t.Helper()
	if got.Kind != want.Kind || got.Key != want.Key || got.Rev != want.Rev {
		t.Errorf("record %s %q rev %d, want %s %q rev %d", got.Kind, got.Key, got.Rev, want.Kind, want.Key, want.Rev)
	}
	if !bytes.Equal(got.Data, want.Data) {
		t.Errorf("%s %q: data %q, want byte for byte %q", want.Kind, want.Key, clip(got.Data), clip(want.Data))
	}
	if !got.UpdatedAt.Equal(want.UpdatedAt) || got.UpdatedAt.Location() != time.UTC {
		t.Errorf("%s %q: UpdatedAt %v, want %v in UTC", want.Kind, want.Key, got.UpdatedAt, want.UpdatedAt)
	}
	if !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Errorf("%s %q: ExpiresAt %v, want %v", want.Kind, want.Key, got.ExpiresAt, want.ExpiresAt)
	}
	if len(got.Outbox) != len(want.Outbox) {
		t.Errorf("%s %q: outbox %v, want %v", want.Kind, want.Key, ids(got.Outbox), ids(want.Outbox))
		return
	}
	for i := range want.Outbox {
		if got.Outbox[i].ID != want.Outbox[i].ID || !bytes.Equal(got.Outbox[i].Body, want.Outbox[i].Body) {
			t.Errorf("%s %q: outbox[%d] = %s %s, want %s %s", want.Kind, want.Key, i,
				got.Outbox[i].ID, got.Outbox[i].Body, want.Outbox[i].ID, want.Outbox[i].Body)
		}
	}
}

func ids(o []store.OutboxEvent) []string {
	out := make([]string, len(o))
	for i, e := range o {
		out[i] = e.ID
	}
	return out
}

func clip(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "…"
	}
	return string(b)
}

func testCreate(t *testing.T, s store.Store) {
	// Whitespace and key order must survive: the store keeps bytes, not values.
	r := rec("payment", "pi_3MtwBwLkdIwHu7ix28a3tqPa", "{ \"id\":\"pi_3Mtw\",\n  \"status\": \"succeeded\", \"amount\": 2000 }", base)
	mustPut(t, s, r, 0)
	want := r
	want.Rev = 1
	sameRecord(t, mustGet(t, s, "payment", r.Key), want)

	// Creating again is a conflict, and the first write stays.
	_, err := s.Put(t.Context(), rec("payment", r.Key, `{"other":true}`, base.Add(time.Hour)), 0)
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second create: %v, want ErrConflict", err)
	}
	sameRecord(t, mustGet(t, s, "payment", r.Key), want)

	// The same key under another kind is another record; keys may hold
	// '#', '@', '/', spaces and non-ASCII.
	for _, k := range []struct{ kind, key string }{
		{"subscription", r.Key},
		{"lead", "ana.lópez+crm@example.com"},
		{"inventory", "gid://shopify/InventoryItem/808950810#655441491"},
		{"chat", "PJ0MRSHTDG chat"},
	} {
		mustPut(t, s, rec(k.kind, k.key, `{"k":1}`, base), 0)
		got := mustGet(t, s, k.kind, k.key)
		if got.Kind != k.kind || got.Key != k.key || string(got.Data) != `{"k":1}` {
			t.Errorf("Get(%s %q) = %s %q %s", k.kind, k.key, got.Kind, got.Key, got.Data)
		}
	}
	// A zero UpdatedAt means the time of the write.
	before := time.Now().Add(-time.Second)
	mustPut(t, s, rec("chat", "no-time", `{}`, time.Time{}), 0)
	if got := mustGet(t, s, "chat", "no-time"); got.UpdatedAt.Before(before) || got.UpdatedAt.After(time.Now().Add(time.Second)) {
		t.Errorf("zero UpdatedAt stored as %v, want about now", got.UpdatedAt)
	}
}

func testNotFound(t *testing.T, s store.Store) {
	_, err := s.Get(t.Context(), "payment", "pi_missing")
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get missing: %v, want ErrNotFound", err)
	}
	if store.IsTransient(err) {
		t.Errorf("ErrNotFound is transient: %v", err)
	}
	mustPut(t, s, rec("subscription", "pi_missing", `{}`, base), 0)
	if _, err := s.Get(t.Context(), "payment", "pi_missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get under another kind: %v, want ErrNotFound", err)
	}
	if _, err := s.ClearOutbox(t.Context(), "payment", "pi_missing", 1); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ClearOutbox of a missing record: %v, want ErrNotFound", err)
	}
	if l, err := s.List(t.Context(), "lead", 10); err != nil || l == nil || len(l) != 0 {
		t.Errorf("List of an empty kind = %v, %v; want an empty, non-nil list", l, err)
	}
	if l, err := s.ListNotifications(t.Context(), "", 10); err != nil || l == nil || len(l) != 0 {
		t.Errorf("ListNotifications on an empty store = %v, %v; want an empty, non-nil list", l, err)
	}
}

func testConditionalUpdate(t *testing.T, s store.Store) {
	key := "cus_NffrFeUfNV2Hib"
	rev := mustPut(t, s, rec("subscription", key, `{"status":"trialing"}`, base), 0)
	for i, status := range []string{"active", "past_due", "canceled"} {
		r := mustGet(t, s, "subscription", key)
		if r.Rev != rev {
			t.Fatalf("Get after write %d: rev %d, want %d", i, r.Rev, rev)
		}
		r.Data = json.RawMessage(`{"status":"` + status + `"}`)
		r.UpdatedAt = base.Add(time.Duration(i+1) * time.Minute)
		rev = mustPut(t, s, r, r.Rev)
		want := r
		want.Rev = rev
		sameRecord(t, mustGet(t, s, "subscription", key), want)
	}
	if rev != 4 {
		t.Errorf("after four writes rev = %d, want 4", rev)
	}
}

func testStaleRevision(t *testing.T, s store.Store) {
	key := "pi_stale"
	mustPut(t, s, rec("payment", key, `{"status":"processing"}`, base), 0)
	a := mustGet(t, s, "payment", key)
	b := mustGet(t, s, "payment", key)

	a.Data = json.RawMessage(`{"status":"succeeded"}`)
	mustPut(t, s, a, a.Rev)

	b.Data = json.RawMessage(`{"status":"failed"}`)
	_, err := s.Put(t.Context(), b, b.Rev)
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("write at a stale revision: %v, want ErrConflict", err)
	}
	if !store.IsTransient(err) {
		t.Errorf("IsTransient(%v) = false, want true", err)
	}
	if got := mustGet(t, s, "payment", key); got.Rev != 2 || string(got.Data) != `{"status":"succeeded"}` {
		t.Errorf("after the lost race: rev %d %s, want rev 2 succeeded", got.Rev, got.Data)
	}
	for _, tc := range []struct {
		name   string
		key    string
		expect int64
	}{
		{"revision from the future", key, 7},
		{"expected revision of a missing record", "pi_none", 1},
	} {
		if _, err := s.Put(t.Context(), rec("payment", tc.key, `{}`, base), tc.expect); !errors.Is(err, store.ErrConflict) {
			t.Errorf("%s: %v, want ErrConflict", tc.name, err)
		}
	}
	if _, err := s.Get(t.Context(), "payment", "pi_none"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a conflicting write created the record: %v", err)
	}
}

// counter is the document of the concurrency test.
type counter struct {
	N int `json:"n"`
}

func testConcurrentWriters(t *testing.T, s store.Store) {
	const writers, increments = 6, 8
	key := "sku-RACE"
	mustPut(t, s, rec("inventory", key, `{"n":0}`, base), 0)

	var wg sync.WaitGroup
	var mu sync.Mutex
	conflicts := 0
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range increments {
				for {
					if err := t.Context().Err(); err != nil {
						errs <- err
						return
					}
					r, err := s.Get(t.Context(), "inventory", key)
					if err != nil {
						errs <- err
						return
					}
					var c counter
					if err := r.Decode(&c); err != nil {
						errs <- err
						return
					}
					c.N++
					if err := r.Encode(c); err != nil {
						errs <- err
						return
					}
					r.UpdatedAt = base.Add(time.Duration(c.N) * time.Millisecond)
					r.Enqueue(fmt.Sprintf("w%d-i%d", w, i), json.RawMessage(`{}`))
					_, err = s.Put(t.Context(), r, r.Rev)
					if errors.Is(err, store.ErrConflict) {
						mu.Lock()
						conflicts++
						mu.Unlock()
						continue
					}
					if err != nil {
						errs <- err
						return
					}
					break
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("writer: %v", err)
	}
	got := mustGet(t, s, "inventory", key)
	var c counter
	if err := got.Decode(&c); err != nil {
		t.Fatal(err)
	}
	if c.N != writers*increments || got.Rev != writers*increments+1 {
		t.Errorf("after %d increments: n = %d, rev %d; want n %d, rev %d", writers*increments, c.N, got.Rev, writers*increments, writers*increments+1)
	}
	// Every write carried the pending outbox forward: no event was lost.
	if len(got.Outbox) != writers*increments {
		t.Errorf("outbox holds %d events, want %d (one per increment)", len(got.Outbox), writers*increments)
	}
	t.Logf("%d writers × %d increments: %d conflicts retried", writers, increments, conflicts)
}

func testOutbox(t *testing.T, s store.Store) {
	key := "pi_outbox"
	r := rec("payment", key, `{"status":"succeeded"}`, base, ev("evt_1:payment.succeeded"), ev("evt_1:stripe.payment_intent.succeeded"))
	rev := mustPut(t, s, r, 0)
	want := r
	want.Rev = rev
	// A crash here (after the write, before the sends) loses nothing: the
	// next processing reads the pending events with the state.
	sameRecord(t, mustGet(t, s, "payment", key), want)

	// The processor sent them; it clears the outbox at the revision it wrote.
	rev2, err := s.ClearOutbox(t.Context(), "payment", key, rev)
	if err != nil || rev2 != rev+1 {
		t.Fatalf("ClearOutbox(rev %d) = %d, %v; want %d, nil", rev, rev2, err, rev+1)
	}
	want.Rev, want.Outbox = rev2, nil
	sameRecord(t, mustGet(t, s, "payment", key), want) // state and UpdatedAt untouched

	// Clearing again at the old revision is a conflict and changes nothing.
	if _, err := s.ClearOutbox(t.Context(), "payment", key, rev); !errors.Is(err, store.ErrConflict) {
		t.Errorf("ClearOutbox at a stale revision: %v, want ErrConflict", err)
	}
	sameRecord(t, mustGet(t, s, "payment", key), want)

	// A redelivered message whose transition changes nothing finds no
	// pending outbox; one that writes starts a new one.
	cur := mustGet(t, s, "payment", key)
	cur.Data = json.RawMessage(`{"status":"refunded"}`)
	cur.Enqueue("evt_2:payment.refunded", json.RawMessage(`{"id":"evt_2:payment.refunded"}`))
	cur.Enqueue("evt_2:payment.refunded", json.RawMessage(`{"dup":true}`)) // same id: kept once
	rev3 := mustPut(t, s, cur, cur.Rev)
	if got := mustGet(t, s, "payment", key); got.Rev != rev3 || len(got.Outbox) != 1 || string(got.Outbox[0].Body) != `{"id":"evt_2:payment.refunded"}` {
		t.Errorf("after a new write: rev %d outbox %v %s, want rev %d and one event", got.Rev, ids(got.Outbox), got.Outbox, rev3)
	}
}

func testOutboxCarriedForward(t *testing.T, s store.Store) {
	// A writes state + [a] at rev 1 and is slow to send. B reads rev 1,
	// applies its event and writes rev 2 carrying [a, b]. A's clear at rev 1
	// conflicts: B owns the outbox now and sends both (consumers dedupe a).
	key := "PJ0MRSHTDG"
	revA := mustPut(t, s, rec("chat", key, `{"status":"open"}`, base, ev("a")), 0)
	b := mustGet(t, s, "chat", key)
	b.Data = json.RawMessage(`{"status":"closed"}`)
	b.Enqueue("b", ev("b").Body)
	revB := mustPut(t, s, b, b.Rev)
	if _, err := s.ClearOutbox(t.Context(), "chat", key, revA); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("A's clear after B's write: %v, want ErrConflict", err)
	}
	got := mustGet(t, s, "chat", key)
	if strings.Join(ids(got.Outbox), ",") != "a,b" {
		t.Fatalf("pending after B's write: %v, want [a b]", ids(got.Outbox))
	}
	if _, err := s.ClearOutbox(t.Context(), "chat", key, revB); err != nil {
		t.Fatalf("B's clear: %v", err)
	}
	if got := mustGet(t, s, "chat", key); len(got.Outbox) != 0 || string(got.Data) != `{"status":"closed"}` {
		t.Errorf("after B's clear: outbox %v data %s", ids(got.Outbox), got.Data)
	}
}

func keysOf(rs []store.Record) string {
	k := make([]string, len(rs))
	for i, r := range rs {
		k[i] = r.Key
	}
	return strings.Join(k, ",")
}

func testList(t *testing.T, s store.Store) {
	// Times chosen so that RFC3339Nano strings would sort wrongly ("…26Z"
	// after "…26.5Z"), plus a tie broken by key.
	t0 := base.Truncate(time.Second)
	writes := []struct {
		key string
		at  time.Time
	}{
		{"a", t0},
		{"b", t0.Add(500 * time.Millisecond)},
		{"c", t0.Add(time.Second)},
		{"d", t0.Add(-time.Hour)},
		{"e", t0.Add(time.Second)}, // ties with c: e first (key descending)
		{"f", t0.Add(24 * time.Hour)},
	}
	for _, w := range writes {
		mustPut(t, s, rec("lead", w.key, `{"email":"`+w.key+`@example.com"}`, w.at), 0)
	}
	mustPut(t, s, rec("chat", "z", `{}`, t0.Add(48*time.Hour)), 0)       // other kind: never listed
	mustPut(t, s, rec("lead-alias", "y", `{}`, t0.Add(72*time.Hour)), 0) // kind sharing a prefix

	for _, tc := range []struct {
		limit int
		want  string
	}{
		{0, "f,e,c,b,a,d"},
		{3, "f,e,c"},
		{1, "f"},
		{100, "f,e,c,b,a,d"},
	} {
		got, err := s.List(t.Context(), "lead", tc.limit)
		if err != nil {
			t.Fatalf("List(lead, %d): %v", tc.limit, err)
		}
		if keysOf(got) != tc.want {
			t.Errorf("List(lead, %d) = %s, want %s", tc.limit, keysOf(got), tc.want)
		}
	}

	// Updating d makes it the newest, once (its old index entry is gone).
	d := mustGet(t, s, "lead", "d")
	d.UpdatedAt = t0.Add(25 * time.Hour)
	d.Data = json.RawMessage(`{"email":"d@example.com","status":"qualified"}`)
	rev := mustPut(t, s, d, d.Rev)
	got, err := s.List(t.Context(), "lead", 0)
	if err != nil {
		t.Fatal(err)
	}
	if keysOf(got) != "d,f,e,c,b,a" {
		t.Fatalf("List after updating d = %s, want d,f,e,c,b,a", keysOf(got))
	}
	want := d
	want.Rev = rev
	sameRecord(t, got[0], want) // listed records are complete
}

// testListMany lists more records than one index partition of an adapter
// may hold (dynamostore spreads a kind over several gsi1 keys): every limit
// gives exactly the newest records, ties broken by key descending, expired
// ones skipped, records of other kinds never mixed in.
func testListMany(t *testing.T, s store.Store) {
	type write struct {
		key string
		at  time.Time
	}
	var live []write
	for i := range 40 {
		// Times out of key order; pairs of equal times.
		r := rec("lead", fmt.Sprintf("lead_%02d@example.com", i), `{}`, base.Add(time.Duration((i*17)%40/2)*time.Second))
		if i%8 == 3 {
			r.ExpiresAt = time.Now().Add(-time.Minute).Truncate(time.Second)
		} else {
			live = append(live, write{r.Key, r.UpdatedAt})
		}
		mustPut(t, s, r, 0)
		mustPut(t, s, rec("chat", r.Key, `{}`, base.Add(time.Hour)), 0)
	}
	sort.Slice(live, func(i, j int) bool {
		if !live[i].at.Equal(live[j].at) {
			return live[i].at.After(live[j].at)
		}
		return live[i].key > live[j].key
	})
	for _, limit := range []int{1, 3, 16, len(live) - 1, len(live), 0} {
		got, err := s.List(t.Context(), "lead", limit)
		if err != nil {
			t.Fatalf("List(lead, %d): %v", limit, err)
		}
		n := min(store.ClampLimit(limit), len(live))
		want := make([]string, n)
		for i := range n {
			want[i] = live[i].key
		}
		if keysOf(got) != strings.Join(want, ",") {
			t.Errorf("List(lead, %d) = %s\nwant %s", limit, keysOf(got), strings.Join(want, ","))
		}
	}
}

func testNotifications(t *testing.T, s store.Store) {
	ctx := t.Context()
	notes := []store.Notification{
		{ID: "evt_1:payment.succeeded", Type: "payment.succeeded", Subject: "payment:pi_1", CreatedAt: base,
			Event: json.RawMessage(`{"id":"evt_1:payment.succeeded", "type":"payment.succeeded"}`)},
		{ID: "d1:github.push", Type: "github.push", Subject: "github:d1", CreatedAt: base.Add(500 * time.Millisecond)},
		{ID: "evt_3:payment.succeeded", Type: "payment.succeeded", Subject: "payment:pi_3", CreatedAt: base.Add(time.Second)},
		{ID: "inv:shopify.inventory_levels/update", Type: "shopify.inventory_levels/update", Subject: "inventory:808950810", CreatedAt: base.Add(-time.Minute)},
	}
	for _, n := range notes {
		if err := s.AppendNotification(ctx, n); err != nil {
			t.Fatalf("AppendNotification(%s): %v", n.ID, err)
		}
	}
	// Appending an id again changes nothing: not its type, time or event.
	again := store.Notification{ID: notes[0].ID, Type: "github.push", CreatedAt: base.Add(time.Hour), Event: json.RawMessage(`{}`)}
	for range 2 {
		if err := s.AppendNotification(ctx, again); err != nil {
			t.Fatalf("re-append: %v", err)
		}
	}
	idsOf := func(ns []store.Notification) string {
		out := make([]string, len(ns))
		for i, n := range ns {
			out[i] = n.ID
		}
		return strings.Join(out, ",")
	}
	for _, tc := range []struct {
		typ   string
		limit int
		want  string
	}{
		{"", 0, "evt_3:payment.succeeded,d1:github.push,evt_1:payment.succeeded,inv:shopify.inventory_levels/update"},
		{"", 2, "evt_3:payment.succeeded,d1:github.push"},
		{"payment.succeeded", 0, "evt_3:payment.succeeded,evt_1:payment.succeeded"},
		{"payment.succeeded", 1, "evt_3:payment.succeeded"},
		{"github.push", 10, "d1:github.push"},
		{"shopify.inventory_levels/update", 10, "inv:shopify.inventory_levels/update"},
		{"payment.failed", 10, ""},
	} {
		got, err := s.ListNotifications(ctx, tc.typ, tc.limit)
		if err != nil {
			t.Fatalf("ListNotifications(%q, %d): %v", tc.typ, tc.limit, err)
		}
		if idsOf(got) != tc.want || got == nil {
			t.Errorf("ListNotifications(%q, %d) = [%s], want [%s]", tc.typ, tc.limit, idsOf(got), tc.want)
		}
	}
	got, err := s.ListNotifications(ctx, "payment.succeeded", 0)
	if err != nil || len(got) != 2 {
		t.Fatalf("ListNotifications: %v %v", got, err)
	}
	first := got[1]
	if first.Type != notes[0].Type || first.Subject != notes[0].Subject || !first.CreatedAt.Equal(base) ||
		!bytes.Equal(first.Event, notes[0].Event) {
		t.Errorf("stored %+v, want the first append %+v", first, notes[0])
	}
	if len(got[0].Event) != 0 {
		t.Errorf("notification without event came back with %s", got[0].Event)
	}
	if err := s.AppendNotification(ctx, store.Notification{ID: "x", Type: ""}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("notification without type: %v, want ErrInvalid", err)
	}
}

func testLargeDocument(t *testing.T, s store.Store) {
	big := make([]string, 0, 2000)
	for i := range 2000 {
		big = append(big, fmt.Sprintf(`{"location":"loc-%05d","available":%d,"note":"ünïcødé %032d"}`, i, i%17, i))
	}
	data := json.RawMessage(`{"locations":[` + strings.Join(big, ",") + `]}`)
	if len(data) < 100<<10 {
		t.Fatalf("document is %d bytes, want ≥ 100 KiB", len(data))
	}
	r := rec("inventory", "big", string(data), base, ev("big:inventory.low_stock"))
	rev := mustPut(t, s, r, 0)
	want := r
	want.Rev = rev
	sameRecord(t, mustGet(t, s, "inventory", "big"), want)
	l, err := s.List(t.Context(), "inventory", 1)
	if err != nil || len(l) != 1 {
		t.Fatalf("List: %v, %v", l, err)
	}
	sameRecord(t, l[0], want)

	huge := `{"pad":"` + strings.Repeat("x", store.MaxRecordBytes) + `"}`
	if _, err := s.Put(t.Context(), rec("inventory", "huge", huge, base), 0); !errors.Is(err, store.ErrTooLarge) {
		t.Errorf("Put of %d bytes: %v, want ErrTooLarge", len(huge), err)
	}
	if store.IsTransient(store.ErrTooLarge) {
		t.Error("ErrTooLarge is transient")
	}
}

func testInvalid(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, tc := range []struct {
		name string
		r    store.Record
	}{
		{"empty kind", rec("", "k", `{}`, base)},
		{"upper-case kind", rec("Payment", "k", `{}`, base)},
		{"kind with #", rec("pay#ment", "k", `{}`, base)},
		{"reserved kind", rec(store.NotificationKind, "k", `{}`, base)},
		{"empty key", rec("payment", "", `{}`, base)},
		{"key with control character", rec("payment", "a\x00b", `{}`, base)},
		{"key too long", rec("payment", strings.Repeat("k", store.MaxKeyBytes+1), `{}`, base)},
		{"no data", rec("payment", "k", ``, base)},
		{"data not JSON", rec("payment", "k", `{"a":`, base)},
		{"data not UTF-8", rec("payment", "k", "\"\xff\"", base)},
		{"outbox without id", rec("payment", "k", `{}`, base, store.OutboxEvent{Body: json.RawMessage(`{}`)})},
		{"outbox body not JSON", rec("payment", "k", `{}`, base, store.OutboxEvent{ID: "e", Body: json.RawMessage(`nope`)})},
		{"outbox id twice", rec("payment", "k", `{}`, base, ev("e"), ev("e"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.Put(ctx, tc.r, 0); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("Put: %v, want ErrInvalid", err)
			}
		})
	}
	if _, err := s.Put(ctx, rec("payment", "k", `{}`, base), -1); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("Put at revision -1: %v, want ErrInvalid", err)
	}
	if _, err := s.Get(ctx, "payment", ""); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("Get with an empty key: %v, want ErrInvalid", err)
	}
	if _, err := s.List(ctx, "Bad Kind", 1); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("List of a bad kind: %v, want ErrInvalid", err)
	}
	if _, err := s.Get(ctx, "payment", "k"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an invalid Put stored something: %v", err)
	}
}

func testExpiry(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := time.Now()
	// Transient record that lives on: ExpiresAt comes back in whole seconds.
	live := rec("delivery", "live", `{"attempt":1}`, base)
	live.ExpiresAt = now.Add(time.Hour)
	rev := mustPut(t, s, live, 0)
	want := live
	want.Rev, want.ExpiresAt = rev, time.Unix(live.ExpiresAt.Unix(), 0)
	sameRecord(t, mustGet(t, s, "delivery", "live"), want)

	// Expired: reads as gone, is not listed, cannot be updated at its old
	// revision, and may be created afresh.
	dead := rec("delivery", "dead", `{"attempt":1}`, base.Add(time.Hour))
	dead.ExpiresAt = now.Add(-2 * time.Second)
	mustPut(t, s, dead, 0)
	if _, err := s.Get(ctx, "delivery", "dead"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get of an expired record: %v, want ErrNotFound", err)
	}
	l, err := s.List(ctx, "delivery", 10)
	if err != nil || keysOf(l) != "live" {
		t.Errorf("List with an expired record = %s, %v; want live", keysOf(l), err)
	}
	if _, err := s.Put(ctx, rec("delivery", "dead", `{}`, base), 1); !errors.Is(err, store.ErrConflict) {
		t.Errorf("update of an expired record: %v, want ErrConflict", err)
	}
	if _, err := s.ClearOutbox(ctx, "delivery", "dead", 1); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ClearOutbox of an expired record: %v, want ErrNotFound", err)
	}
	fresh := rec("delivery", "dead", `{"attempt":"fresh"}`, base)
	mustPut(t, s, fresh, 0)
	if got := mustGet(t, s, "delivery", "dead"); got.Rev != 1 || string(got.Data) != `{"attempt":"fresh"}` || !got.ExpiresAt.IsZero() {
		t.Errorf("re-created record: rev %d %s expires %v", got.Rev, got.Data, got.ExpiresAt)
	}

	// Notifications expire alike, and an expired id may be appended again.
	old := store.Notification{ID: "n-old", Type: "task.completed", CreatedAt: base, ExpiresAt: now.Add(-2 * time.Second)}
	if err := s.AppendNotification(ctx, old); err != nil {
		t.Fatal(err)
	}
	if ns, err := s.ListNotifications(ctx, "task.completed", 0); err != nil || len(ns) != 0 {
		t.Errorf("expired notification listed: %v, %v", ns, err)
	}
	old.ExpiresAt = time.Time{}
	old.CreatedAt = base.Add(time.Minute)
	if err := s.AppendNotification(ctx, old); err != nil {
		t.Fatal(err)
	}
	ns, err := s.ListNotifications(ctx, "task.completed", 0)
	if err != nil || len(ns) != 1 || !ns[0].CreatedAt.Equal(base.Add(time.Minute)) {
		t.Errorf("re-appended notification: %v, %v", ns, err)
	}
}

func testUpdateHelper(t *testing.T, s store.Store) {
	ctx := t.Context()
	inc := func(r *store.Record) (bool, error) {
		var c counter
		if r.Rev > 0 {
			if err := r.Decode(&c); err != nil {
				return false, err
			}
		}
		c.N++
		r.UpdatedAt = base.Add(time.Duration(c.N) * time.Second)
		r.Enqueue(fmt.Sprintf("inc-%d", c.N), json.RawMessage(`{}`))
		return true, r.Encode(c)
	}
	r, wrote, err := store.Update(ctx, s, "lead", "u@example.com", inc)
	if err != nil || !wrote || r.Rev != 1 {
		t.Fatalf("Update on a missing record = rev %d, %v, %v; want rev 1 written", r.Rev, wrote, err)
	}
	r, wrote, err = store.Update(ctx, s, "lead", "u@example.com", inc)
	if err != nil || !wrote || r.Rev != 2 || string(r.Data) != `{"n":2}` || len(r.Outbox) != 2 {
		t.Fatalf("second Update = rev %d %s outbox %v, %v, %v", r.Rev, r.Data, ids(r.Outbox), wrote, err)
	}
	sameRecord(t, mustGet(t, s, "lead", "u@example.com"), r)

	// A transition that changes nothing writes nothing.
	same, wrote, err := store.Update(ctx, s, "lead", "u@example.com", func(*store.Record) (bool, error) { return false, nil })
	if err != nil || wrote || same.Rev != 2 {
		t.Errorf("no-op Update = rev %d, %v, %v; want rev 2, not written", same.Rev, wrote, err)
	}
	// fn's error comes back as is.
	boom := errors.New("malformed payload")
	if _, _, err := store.Update(ctx, s, "lead", "u@example.com", func(*store.Record) (bool, error) { return false, boom }); !errors.Is(err, boom) {
		t.Errorf("Update with a failing transition: %v, want %v", err, boom)
	}
}

// BenchPut measures Put of a 1 KiB payment document with one outbox event,
// each write conditional on the previous revision (the processors' write).
func BenchPut(b *testing.B, s store.Store) {
	b.Helper()
	doc := json.RawMessage(`{"id":"pi_bench","status":"succeeded","amount":2000,"currency":"usd","customer":"cus_bench","pad":"` +
		strings.Repeat("x", 900) + `"}`)
	r := store.Record{Kind: "payment", Key: "pi_bench", Data: doc, Outbox: []store.OutboxEvent{ev("evt_bench:payment.succeeded")}}
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	var rev int64
	for i := 0; b.Loop(); i++ {
		r.UpdatedAt = base.Add(time.Duration(i) * time.Millisecond)
		next, err := s.Put(b.Context(), r, rev)
		if err != nil {
			b.Fatalf("Put at rev %d: %v", rev, err)
		}
		rev = next
	}
}
