package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/hookstack/hookstack/shared/store"
	"github.com/hookstack/hookstack/shared/store/localstore"
)

func newLocal(t testing.TB) *localstore.Store {
	t.Helper()
	s, err := localstore.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestIsTransient(t *testing.T) {
	api := func(code string) error {
		return fmt.Errorf("operation error DynamoDB: PutItem: %w", &smithy.GenericAPIError{Code: code, Message: "x"})
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"conflict", fmt.Errorf("put: %w", store.ErrConflict), true},
		{"unavailable", fmt.Errorf("put: %w", store.ErrUnavailable), true},
		{"deadline", fmt.Errorf("put: %w", context.DeadlineExceeded), true},
		{"canceled", context.Canceled, true},
		{"ProvisionedThroughputExceededException", api("ProvisionedThroughputExceededException"), true},
		{"ThrottlingException", api("ThrottlingException"), true},
		{"RequestLimitExceeded", api("RequestLimitExceeded"), true},
		{"InternalServerError", api("InternalServerError"), true},
		{"ServiceUnavailable", api("ServiceUnavailable"), true},
		{"ValidationException", api("ValidationException"), false},
		{"ResourceNotFoundException", api("ResourceNotFoundException"), false},
		{"request send error", &smithyhttp.RequestSendError{Err: errors.New("connection reset")}, true},
		{"smithy canceled", &smithy.CanceledError{Err: errors.New("stop")}, true},
		{"net timeout", fmt.Errorf("get: %w", timeoutErr{}), true},
		{"net op error", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, true},
		{"not found", fmt.Errorf("get: %w", store.ErrNotFound), false},
		{"invalid", store.ErrInvalid, false},
		{"too large", store.ErrTooLarge, false},
		{"other", errors.New("boom"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := store.IsTransient(tc.err); got != tc.want {
				t.Errorf("IsTransient(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestCheckKind(t *testing.T) {
	for kind, ok := range map[string]bool{
		"payment": true, "subscription": true, "inventory": true, "lead": true, "chat": true,
		"endpoint": true, "delivery": true, "lead-alias": true, "sku_map": true, "a1": true,
		"": false, "Payment": false, "1lead": false, "lead#x": false, "lead alias": false,
		store.NotificationKind: false, "notifications": true,
		"a" + strings.Repeat("b", 63): true, "a" + strings.Repeat("b", 64): false,
	} {
		if err := store.CheckKind(kind); (err == nil) != ok {
			t.Errorf("CheckKind(%q) = %v, want ok=%v", kind, err, ok)
		}
	}
}

// SortTime strings sort like the times they format, including the cases
// where time.RFC3339Nano does not (trimmed fractions).
func TestSortTime(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 5, 0, time.UTC)
	times := []time.Time{
		t0, t0.Add(time.Nanosecond), t0.Add(500 * time.Millisecond), t0.Add(time.Second),
		t0.Add(-time.Nanosecond), t0.Add(100 * 365 * 24 * time.Hour), {},
		t0.In(time.FixedZone("x", 5*3600)).Add(time.Hour), // other zones are normalised
	}
	checkSortTime(t, times)
	if s := store.SortTime(t0); s != "2025-01-01T00:00:05.000000000Z" {
		t.Errorf("SortTime = %s", s)
	}
	if _, err := store.ParseSortTime("yesterday"); err == nil {
		t.Error("ParseSortTime accepted garbage")
	}
}

func checkSortTime(t *testing.T, times []time.Time) {
	t.Helper()
	strs := make([]string, len(times))
	for i, tm := range times {
		strs[i] = store.SortTime(tm)
		back, err := store.ParseSortTime(strs[i])
		if err != nil || !back.Equal(tm) {
			t.Errorf("ParseSortTime(SortTime(%v)) = %v, %v", tm, back, err)
		}
	}
	byTime := slices.Clone(times)
	sort.SliceStable(byTime, func(i, j int) bool { return byTime[i].Before(byTime[j]) })
	sort.Strings(strs)
	for i := range byTime {
		if strs[i] != store.SortTime(byTime[i]) {
			t.Fatalf("string order %v differs from time order %v", strs, byTime)
		}
	}
}

func FuzzSortTime(f *testing.F) {
	f.Add(int64(0), int64(1))
	f.Add(int64(1736000005000000000), int64(1736000005500000000))
	f.Add(int64(-1), int64(1))
	f.Fuzz(func(t *testing.T, a, b int64) {
		ta, tb := time.Unix(0, a), time.Unix(0, b)
		checkSortTime(t, []time.Time{ta, tb})
	})
}

// Keys come from webhook payloads (emails, provider ids): whatever CheckKey
// accepts must round-trip through a store unchanged and be listed.
func FuzzKeyRoundTrip(f *testing.F) {
	for _, k := range []string{"pi_3MtwBwLkdIwHu7ix28a3tqPa", "ana.lópez+crm@example.com", "a#b", "gid://shopify/x/1", " ", "\u2028", "\x00"} {
		f.Add(k)
	}
	s := newLocal(f)
	f.Fuzz(func(t *testing.T, key string) {
		if store.CheckKey("key", key) != nil {
			return
		}
		r, _, err := store.Update(t.Context(), s, "lead", key, func(r *store.Record) (bool, error) {
			return true, r.Encode(map[string]string{"key": key})
		})
		if err != nil {
			t.Fatalf("Update(%q): %v", key, err)
		}
		got, err := s.Get(t.Context(), "lead", key)
		if err != nil || got.Key != key || got.Rev != r.Rev {
			t.Fatalf("Get(%q) = %q rev %d, %v", key, got.Key, got.Rev, err)
		}
		var doc map[string]string
		if err := got.Decode(&doc); err != nil || doc["key"] != key {
			t.Fatalf("document of %q = %v, %v", key, doc, err)
		}
	})
}

func TestEnqueueDedupes(t *testing.T) {
	var r store.Record
	r.Enqueue("a", json.RawMessage(`1`))
	r.Enqueue("b", json.RawMessage(`2`))
	r.Enqueue("a", json.RawMessage(`3`))
	if len(r.Outbox) != 2 || string(r.Outbox[0].Body) != "1" || r.Outbox[1].ID != "b" {
		t.Errorf("outbox = %+v", r.Outbox)
	}
}

func TestCheckRecordSize(t *testing.T) {
	pad := func(n int) json.RawMessage { return json.RawMessage(`"` + strings.Repeat("x", n-2) + `"`) }
	ok := store.Record{Kind: "payment", Key: "k", Data: pad(store.MaxRecordBytes - 20),
		Outbox: []store.OutboxEvent{{ID: "e", Body: json.RawMessage(`{"x":1}`)}}}
	if err := store.CheckRecord(ok); err != nil {
		t.Errorf("record just under the limit: %v", err)
	}
	over := ok
	over.Outbox = []store.OutboxEvent{{ID: "e", Body: pad(40)}} // document fits, document + outbox does not
	if err := store.CheckRecord(over); !errors.Is(err, store.ErrTooLarge) {
		t.Errorf("record whose outbox tips it over: %v, want ErrTooLarge", err)
	}
}

// WithFaults returns the hook's error without calling the store, per
// operation, and passes everything else through.
func TestWithFaults(t *testing.T) {
	ctx := t.Context()
	var mu sync.Mutex
	var seen []string
	failPut := true
	s := store.WithFaults(newLocal(t), func(op string) error {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, op)
		if op == store.OpPut && failPut {
			failPut = false
			return fmt.Errorf("injected: %w", store.ErrUnavailable)
		}
		return nil
	})
	r := store.Record{Kind: "payment", Key: "pi_1", Data: json.RawMessage(`{}`)}
	_, err := s.Put(ctx, r, 0)
	if !errors.Is(err, store.ErrUnavailable) || !store.IsTransient(err) {
		t.Fatalf("injected Put: %v, want transient ErrUnavailable", err)
	}
	if _, err := s.Get(ctx, "payment", "pi_1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the failed Put reached the store: %v", err)
	}
	rev, err := s.Put(ctx, r, 0) // the retry goes through
	if err != nil || rev != 1 {
		t.Fatalf("retried Put = %d, %v", rev, err)
	}
	if _, err := s.ClearOutbox(ctx, "payment", "pi_1", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.List(ctx, "payment", 0); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendNotification(ctx, store.Notification{ID: "n", Type: "payment.succeeded"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ListNotifications(ctx, "", 0); err != nil {
		t.Fatal(err)
	}
	want := []string{store.OpPut, store.OpGet, store.OpPut, store.OpClearOutbox, store.OpList, store.OpAppendNotification, store.OpListNotifications}
	if !slices.Equal(seen, want) {
		t.Errorf("operations %v, want %v", seen, want)
	}

	// Every operation can fail.
	boom := errors.New("boom")
	all := store.WithFaults(newLocal(t), func(string) error { return boom })
	errs := map[string]error{}
	_, errs[store.OpGet] = all.Get(ctx, "payment", "x")
	_, errs[store.OpPut] = all.Put(ctx, r, 0)
	_, errs[store.OpClearOutbox] = all.ClearOutbox(ctx, "payment", "x", 1)
	_, errs[store.OpList] = all.List(ctx, "payment", 1)
	errs[store.OpAppendNotification] = all.AppendNotification(ctx, store.Notification{ID: "n", Type: "t"})
	_, errs[store.OpListNotifications] = all.ListNotifications(ctx, "", 1)
	for op, err := range errs {
		if !errors.Is(err, boom) {
			t.Errorf("%s: %v, want the injected error", op, err)
		}
	}
}

// Update re-reads and re-applies after a lost race, and gives up with a
// transient ErrConflict after MaxAttempts; other errors stop it at once.
func TestUpdateRetries(t *testing.T) {
	ctx := t.Context()
	t.Run("conflicts then success", func(t *testing.T) {
		conflicts := 2
		s := store.WithFaults(newLocal(t), func(op string) error {
			if op == store.OpPut && conflicts > 0 {
				conflicts--
				return store.ErrConflict
			}
			return nil
		})
		calls := 0
		r, wrote, err := store.Update(ctx, s, "chat", "c1", func(r *store.Record) (bool, error) {
			calls++
			r.Data = json.RawMessage(`{"status":"open"}`)
			return true, nil
		})
		if err != nil || !wrote || r.Rev != 1 || calls != 3 {
			t.Errorf("Update = rev %d, %v, %v after %d calls; want rev 1 after 3", r.Rev, wrote, err, calls)
		}
	})
	t.Run("always conflicting", func(t *testing.T) {
		s := store.WithFaults(newLocal(t), func(op string) error {
			if op == store.OpPut {
				return store.ErrConflict
			}
			return nil
		})
		calls := 0
		_, _, err := store.Update(ctx, s, "chat", "c1", func(r *store.Record) (bool, error) {
			calls++
			r.Data = json.RawMessage(`{}`)
			return true, nil
		})
		if !errors.Is(err, store.ErrConflict) || !store.IsTransient(err) || calls != store.MaxAttempts {
			t.Errorf("Update = %v after %d calls; want ErrConflict after %d", err, calls, store.MaxAttempts)
		}
	})
	t.Run("throttled", func(t *testing.T) {
		s := store.WithFaults(newLocal(t), func(op string) error {
			if op == store.OpGet {
				return store.ErrUnavailable
			}
			return nil
		})
		calls := 0
		_, _, err := store.Update(ctx, s, "chat", "c1", func(*store.Record) (bool, error) { calls++; return true, nil })
		if !errors.Is(err, store.ErrUnavailable) || calls != 0 {
			t.Errorf("Update with a failing Get = %v, %d calls", err, calls)
		}
	})
	t.Run("context ends while backing off", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		s := store.WithFaults(newLocal(t), func(op string) error {
			if op == store.OpPut {
				cancel()
				return store.ErrConflict
			}
			return nil
		})
		_, _, err := store.Update(cctx, s, "chat", "c1", func(r *store.Record) (bool, error) {
			r.Data = json.RawMessage(`{}`)
			return true, nil
		})
		if !errors.Is(err, context.Canceled) || !errors.Is(err, store.ErrConflict) {
			t.Errorf("Update after cancel: %v, want context.Canceled and ErrConflict", err)
		}
	})
}
