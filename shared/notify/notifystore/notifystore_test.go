package notifystore_test

import (
	"errors"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookstack/hookstack/shared/domain"
	"github.com/hookstack/hookstack/shared/notify"
	"github.com/hookstack/hookstack/shared/notify/notifystore"
	"github.com/hookstack/hookstack/shared/store"
	"github.com/hookstack/hookstack/shared/store/dynamostore"
	"github.com/hookstack/hookstack/shared/store/dynamostore/dynamotest"
	"github.com/hookstack/hookstack/shared/store/localstore"
)

// backends are the stores every test runs on: localstore always, DynamoDB
// on the emulator (skipped without it unless HOOKSTACK_REQUIRE_EMULATORS=1).
var backends = []struct {
	name string
	open func(t *testing.T) store.Store
}{
	{"local", func(t *testing.T) store.Store {
		s, err := localstore.Open(filepath.Join(t.TempDir(), "state.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}},
	// The production configuration (env.go): only the kinds this package lists are indexed.
	{"dynamodb", func(t *testing.T) store.Store {
		return dynamotest.Store(t, dynamostore.ListKinds(notifystore.ListedKinds...))
	}},
}

func TestSuite(t *testing.T) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"AddFillsIDSecretAndValidates", testAdd},
		{"ListNewestCreatedFirst", testListOrder},
		{"RotateSecretKeepsPrevious", testRotate},
		{"ConcurrentRotations", testConcurrentRotate},
		{"DisableAndEnable", testDisable},
		{"RemoveIsAnExpiredTombstone", testRemove},
		{"UnknownEndpoint", testUnknown},
		{"ConfirmReadsPastTheCachedList", testConfirm},
		{"LogDeliveredMarker", testDelivered},
		{"LogSameAttemptTwiceAndRedrive", testRedriveAttempts},
		{"LogListFilters", testLogList},
		{"LogListDeliveredByNotification", testLogListDelivered},
		{"LogTTL", testLogTTL},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.fn(t, b.open(t))
				})
			}
		})
	}
}

var base = time.Date(2026, 11, 29, 18, 0, 0, 0, time.UTC)

func httpEP(url string, events ...string) notify.Endpoint {
	return notify.Endpoint{Type: notify.TypeHTTP, URL: url, Events: events}
}

func mustAdd(t *testing.T, e *notifystore.Endpoints, ep notify.Endpoint) notify.Endpoint {
	t.Helper()
	got, err := e.Add(t.Context(), ep)
	if err != nil {
		t.Fatalf("Add(%+v): %v", ep, err)
	}
	return got
}

func testAdd(t *testing.T, s store.Store) {
	ctx := t.Context()
	e := notifystore.NewEndpoints(s, nil)
	ep := mustAdd(t, e, notify.Endpoint{Type: notify.TypeHTTP, URL: "https://hooks.example.com/in", Events: []string{"payment.*"}, Description: "billing"})
	if !strings.HasPrefix(ep.ID, "ep_") || len(ep.Secrets) != 1 || !notify.ValidSecret(ep.Secrets[0]) || !ep.Enabled || ep.CreatedAt.IsZero() {
		t.Fatalf("Add did not fill id, secret, enabled, created_at: %+v", ep)
	}
	got, err := e.Get(ctx, ep.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != ep.ID || got.URL != ep.URL || !slices.Equal(got.Secrets, ep.Secrets) || !got.CreatedAt.Equal(ep.CreatedAt) || got.Description != "billing" {
		t.Fatalf("Get = %+v, want %+v", got, ep)
	}

	// A given id and secret are kept; a second Add of the id is refused.
	secret := notify.NewSecret()
	mine := mustAdd(t, e, notify.Endpoint{ID: "ep_mine", Type: notify.TypeHTTP, URL: "https://a.example/h", Events: []string{"*"}, Secrets: []string{secret}})
	if mine.ID != "ep_mine" || !slices.Equal(mine.Secrets, []string{secret}) {
		t.Fatalf("given id/secret not kept: %+v", mine)
	}
	if _, err := e.Add(ctx, notify.Endpoint{ID: "ep_mine", Type: notify.TypeSlack, URL: "https://hooks.slack.com/x", Events: []string{"*"}}); !errors.Is(err, notifystore.ErrEndpointExists) {
		t.Fatalf("second Add of ep_mine: %v, want ErrEndpointExists", err)
	}

	invalid := []struct {
		name string
		ep   notify.Endpoint
		want string
	}{
		{"loopback literal", httpEP("http://127.0.0.1:9/x", "*"), "loopback"},
		{"metadata", httpEP("http://169.254.169.254/latest", "*"), "cloud metadata"},
		{"scheme", httpEP("ftp://example.com/x", "*"), "scheme"},
		{"no events", httpEP("https://example.com/x"), "no event patterns"},
		{"bad secret", notify.Endpoint{Type: notify.TypeHTTP, URL: "https://example.com", Events: []string{"*"}, Secrets: []string{"whsec_short"}}, "secret 1"},
		{"mailchimp without list", notify.Endpoint{Type: notify.TypeMailchimp, URL: "https://us1.api.mailchimp.com", Events: []string{"lead.*"}}, "list-id"},
		{"type", notify.Endpoint{Type: "smtp", URL: "https://example.com", Events: []string{"*"}}, "type"},
		{"id with control character", notify.Endpoint{ID: "ep\x01", Type: notify.TypeSlack, URL: "https://hooks.slack.com/x", Events: []string{"*"}}, "control"},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.Add(ctx, tc.ep)
			if !errors.Is(err, notify.ErrInvalidEndpoint) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Add: %v, want ErrInvalidEndpoint mentioning %q", err, tc.want)
			}
		})
	}

	// The guard decides about literal addresses: the dev guard lets the
	// local sink in, never the metadata address.
	dev := notifystore.NewEndpoints(s, &notify.Guard{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	if _, err := dev.Add(ctx, httpEP("http://127.0.0.1:8081/sink", "*")); err != nil {
		t.Fatalf("allowed loopback: %v", err)
	}
	if _, err := dev.Add(ctx, httpEP("http://169.254.169.254/", "*")); !errors.Is(err, notify.ErrInvalidURL) {
		t.Fatalf("metadata with an allowlist: %v", err)
	}

	list, err := e.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 {
		t.Fatalf("List has %d endpoints, want 3 (failed adds stored nothing): %+v", len(list), list)
	}
}

func testListOrder(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := base
	e := &notifystore.Endpoints{Store: s, Now: func() time.Time { return now }}
	var ids []string
	for i := range 3 {
		now = base.Add(time.Duration(i) * time.Minute)
		ids = append(ids, mustAdd(t, e, httpEP("https://example.com/"+string(rune('a'+i)), "*")).ID)
	}
	// Changing the oldest does not move it: the list is by creation.
	if err := e.Disable(ctx, ids[0], "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.RotateSecret(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	list, err := e.Endpoints(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ep := range list {
		got = append(got, ep.ID)
	}
	want := []string{ids[2], ids[1], ids[0]}
	if !slices.Equal(got, want) {
		t.Fatalf("order = %v, want newest created first %v", got, want)
	}
}

func testRotate(t *testing.T, s store.Store) {
	ctx := t.Context()
	e := notifystore.NewEndpoints(s, nil)
	ep := mustAdd(t, e, httpEP("https://example.com/h", "*"))
	first := ep.Secrets[0]

	second, err := e.RotateSecret(ctx, ep.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !notify.ValidSecret(second) || second == first {
		t.Fatalf("new secret %q (old %q)", second, first)
	}
	got, _ := e.Get(ctx, ep.ID)
	if !slices.Equal(got.Secrets, []string{second, first}) {
		t.Fatalf("secrets after one rotation = %v, want [new, previous]", got.Secrets)
	}

	third, err := e.RotateSecret(ctx, ep.ID)
	if err != nil {
		t.Fatal(err)
	}
	got, _ = e.Get(ctx, ep.ID)
	if !slices.Equal(got.Secrets, []string{third, second}) {
		t.Fatalf("secrets after two rotations = %v, want [%s %s] (oldest retired)", got.Secrets, third, second)
	}

	slack := mustAdd(t, e, notify.Endpoint{Type: notify.TypeSlack, URL: "https://hooks.slack.com/services/x", Events: []string{"*"}})
	if _, err := e.RotateSecret(ctx, slack.ID); !errors.Is(err, notifystore.ErrNotHTTP) {
		t.Fatalf("rotate slack: %v, want ErrNotHTTP", err)
	}
	if _, err := e.RotateSecret(ctx, "ep_missing"); !errors.Is(err, notify.ErrEndpointNotFound) {
		t.Fatalf("rotate missing: %v", err)
	}
}

// Concurrent rotations all succeed (the store's revision loop) and the
// stored pair is the last two that won.
func testConcurrentRotate(t *testing.T, s store.Store) {
	ctx := t.Context()
	e := notifystore.NewEndpoints(s, nil)
	ep := mustAdd(t, e, httpEP("https://example.com/h", "*"))
	const n = 5
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		got []string
	)
	for range n {
		wg.Go(func() {
			sec, err := e.RotateSecret(ctx, ep.ID)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			got = append(got, sec)
			mu.Unlock()
		})
	}
	wg.Wait()
	final, _ := e.Get(ctx, ep.ID)
	if len(final.Secrets) != 2 || !slices.Contains(got, final.Secrets[0]) || !slices.Contains(append(got, ep.Secrets[0]), final.Secrets[1]) {
		t.Fatalf("after %d concurrent rotations: %v (returned %v)", n, final.Secrets, got)
	}
}

func testDisable(t *testing.T, s store.Store) {
	ctx := t.Context()
	e := notifystore.NewEndpoints(s, nil)
	ep := mustAdd(t, e, httpEP("https://example.com/h", "payment.*"))

	var d notify.EndpointDisabler = e
	if err := d.DisableEndpoint(ctx, ep.ID, "410 Gone"); err != nil {
		t.Fatal(err)
	}
	if err := e.Disable(ctx, ep.ID, "operator"); err != nil {
		t.Fatal(err)
	}
	got, _ := e.Get(ctx, ep.ID)
	if got.Enabled || got.DisabledReason != "410 Gone" {
		t.Fatalf("after disable: enabled=%v reason=%q, want disabled with the first reason", got.Enabled, got.DisabledReason)
	}
	// The fan-out stops matching it.
	list, _ := e.Endpoints(ctx)
	ev := notify.FanOut(eventOf("payment.succeeded"), list)
	if len(ev) != 0 {
		t.Fatalf("a disabled endpoint got deliveries: %+v", ev)
	}
	if err := e.Enable(ctx, ep.ID); err != nil {
		t.Fatal(err)
	}
	got, _ = e.Get(ctx, ep.ID)
	if !got.Enabled || got.DisabledReason != "" || !slices.Equal(got.Secrets, ep.Secrets) {
		t.Fatalf("after enable: %+v", got)
	}
	if err := e.Disable(ctx, "ep_missing", "x"); !errors.Is(err, notify.ErrEndpointNotFound) {
		t.Fatalf("disable missing: %v", err)
	}
}

func testRemove(t *testing.T, s store.Store) {
	ctx := t.Context()
	e := notifystore.NewEndpoints(s, nil)
	keep := mustAdd(t, e, httpEP("https://example.com/keep", "*"))
	gone := mustAdd(t, e, httpEP("https://example.com/gone", "*"))
	if err := e.Remove(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Get(ctx, gone.ID); !errors.Is(err, notify.ErrEndpointNotFound) {
		t.Fatalf("Get removed: %v", err)
	}
	if _, err := s.Get(ctx, notifystore.KindEndpoint, gone.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the raw record of a removed endpoint reads as %v, want ErrNotFound", err)
	}
	list, _ := e.List(ctx)
	if len(list) != 1 || list[0].ID != keep.ID {
		t.Fatalf("List after remove = %+v", list)
	}
	if err := e.Remove(ctx, gone.ID); !errors.Is(err, notify.ErrEndpointNotFound) {
		t.Fatalf("second Remove: %v", err)
	}
	if err := e.Disable(ctx, gone.ID, "x"); !errors.Is(err, notify.ErrEndpointNotFound) {
		t.Fatalf("Disable removed: %v", err)
	}
	// The id can be used again.
	again := mustAdd(t, e, notify.Endpoint{ID: gone.ID, Type: notify.TypeSlack, URL: "https://hooks.slack.com/x", Events: []string{"*"}})
	if got, err := e.Get(ctx, gone.ID); err != nil || got.Type != notify.TypeSlack || len(got.Secrets) != 0 {
		t.Fatalf("re-added: %+v %v (was %+v)", got, err, again)
	}
}

func testUnknown(t *testing.T, s store.Store) {
	e := notifystore.NewEndpoints(s, nil)
	var lookup notify.EndpointLookup = e
	for _, id := range []string{"ep_none", "", strings.Repeat("x", 600), "bad\x00id"} {
		if _, err := lookup.Endpoint(t.Context(), id); !errors.Is(err, notify.ErrEndpointNotFound) {
			t.Errorf("Endpoint(%q): %v, want ErrEndpointNotFound", id, err)
		}
	}
	list, err := e.Endpoints(t.Context())
	if err != nil || len(list) != 0 {
		t.Fatalf("empty store: %v %v", list, err)
	}
}

func eventOf(typ string) domain.Event {
	return domain.Event{ID: "evt_1:" + typ, Type: typ}
}

func attempt(deliveryID, event, endpoint string, n int, outcome string, at time.Time) notify.Attempt {
	return notify.Attempt{
		DeliveryID: deliveryID, NotificationID: event, EventType: "payment.succeeded", EndpointID: endpoint,
		Attempt: n, Outcome: outcome, StatusCode: 500, AttemptedAt: at,
	}
}

func testDelivered(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Second)
	l := notifystore.NewDeliveryLog(s)
	id := notify.DeliveryID("evt_1", "ep_1")
	if ok, err := l.Delivered(ctx, id); ok || err != nil {
		t.Fatalf("Delivered before any attempt = %v, %v", ok, err)
	}
	if err := l.Record(ctx, attempt(id, "evt_1", "ep_1", 1, notify.LogRetry, now)); err != nil {
		t.Fatal(err)
	}
	if ok, _ := l.Delivered(ctx, id); ok {
		t.Fatal("a retry counted as delivered")
	}
	ok := attempt(id, "evt_1", "ep_1", 2, notify.LogDelivered, now.Add(time.Second))
	ok.StatusCode = 204
	if err := l.Record(ctx, ok); err != nil {
		t.Fatal(err)
	}
	// Recorded twice (a retried handler): no error, still one record.
	if err := l.Record(ctx, ok); err != nil {
		t.Fatal(err)
	}
	if got, err := l.Delivered(ctx, id); !got || err != nil {
		t.Fatalf("Delivered = %v, %v", got, err)
	}
	if other, _ := l.Delivered(ctx, notify.DeliveryID("evt_1", "ep_2")); other {
		t.Fatal("another delivery counted as delivered")
	}
	// Both record kinds carry the 30-day TTL.
	marker, err := s.Get(ctx, notifystore.KindDelivered, id)
	if err != nil {
		t.Fatal(err)
	}
	if want := ok.AttemptedAt.Add(notify.LogTTL); !marker.ExpiresAt.Equal(want) {
		t.Fatalf("marker expires %v, want %v", marker.ExpiresAt, want)
	}
	// The marker is the successful attempt's only record: one write.
	var logged notify.Attempt
	if err := marker.Decode(&logged); err != nil || logged.StatusCode != 204 || logged.Attempt != 2 || logged.EndpointID != "ep_1" {
		t.Fatalf("marker holds %+v, %v; want the delivered attempt", logged, err)
	}
	if _, err := s.Get(ctx, notifystore.KindAttempt, ok.Key()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a separate attempt record for the delivered attempt: %v", err)
	}
	rec, err := s.Get(ctx, notifystore.KindAttempt, attempt(id, "evt_1", "ep_1", 1, notify.LogRetry, now).Key())
	if err != nil {
		t.Fatal(err)
	}
	if want := now.Add(notify.LogTTL); !rec.ExpiresAt.Equal(want) {
		t.Fatalf("attempt expires %v, want %v", rec.ExpiresAt, want)
	}
	list, err := l.List(ctx, "evt_1", "ep_1", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Outcome != notify.LogDelivered || list[0].StatusCode != 204 || list[1].Outcome != notify.LogRetry {
		t.Fatalf("List = %+v, want [delivered, retry]", list)
	}
	if !list[0].ExpiresAt.Equal(ok.AttemptedAt.Add(notify.LogTTL)) {
		t.Fatalf("listed ExpiresAt = %v", list[0].ExpiresAt)
	}

	// A copy of the delivery sent again (a residual duplicate) succeeds
	// too: the marker stays, the second success is kept as an attempt.
	again := attempt(id, "evt_1", "ep_1", 3, notify.LogDelivered, now.Add(2*time.Second))
	if err := l.Record(ctx, again); err != nil {
		t.Fatal(err)
	}
	if list, err = l.List(ctx, "evt_1", "ep_1", 0); err != nil || len(list) != 3 || list[0].Attempt != 3 || list[1].Attempt != 2 {
		t.Fatalf("List after a second success = %+v, %v", list, err)
	}

	// A marker of the earlier layout (delivery id, time, attempt; the
	// attempt itself in a KindAttempt record) still answers Delivered and
	// is not listed as an attempt.
	oldID := notify.DeliveryID("evt_old", "ep_1")
	oldMarker := store.Record{Kind: notifystore.KindDelivered, Key: oldID, UpdatedAt: now, ExpiresAt: now.Add(notify.LogTTL)}
	if err := oldMarker.Encode(map[string]any{"delivery_id": oldID, "at": now, "attempt": 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, oldMarker, 0); err != nil {
		t.Fatal(err)
	}
	if got, err := l.Delivered(ctx, oldID); !got || err != nil {
		t.Fatalf("Delivered(old marker) = %v, %v", got, err)
	}
	if list, err = l.List(ctx, "evt_1", "", 0); err != nil || len(list) != 3 {
		t.Fatalf("List with an old marker = %+v, %v", list, err)
	}
	if list, err = l.List(ctx, "evt_old", "ep_1", 0); err != nil || len(list) != 0 {
		t.Fatalf("List of the old marker's notification = %+v, %v; want nothing", list, err)
	}
}

// A redriven delivery starts again at attempt 1: its attempts are kept
// beside the first run's, not dropped or overwritten.
func testRedriveAttempts(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Second)
	l := notifystore.NewDeliveryLog(s)
	id := notify.DeliveryID("evt_r", "ep_r")
	first := attempt(id, "evt_r", "ep_r", 1, notify.LogFailed, now.Add(-time.Hour))
	if err := l.Record(ctx, first); err != nil {
		t.Fatal(err)
	}
	redriven := attempt(id, "evt_r", "ep_r", 1, notify.LogDelivered, now)
	for range 2 { // the second is the same attempt again
		if err := l.Record(ctx, redriven); err != nil {
			t.Fatal(err)
		}
	}
	list, err := l.List(ctx, "evt_r", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Outcome != notify.LogDelivered || list[1].Outcome != notify.LogFailed {
		t.Fatalf("List = %+v, want the redriven attempt and the first run's", list)
	}
	if ok, _ := l.Delivered(ctx, id); !ok {
		t.Fatal("not delivered after the redriven success")
	}
}

func testLogList(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
	l := notifystore.NewDeliveryLog(s)
	i := 0
	for _, ev := range []string{"evt_a", "evt_b"} {
		for _, ep := range []string{"ep_1", "ep_2"} {
			for n := 1; n <= 2; n++ {
				i++
				a := attempt(notify.DeliveryID(ev, ep), ev, ep, n, notify.LogRetry, now.Add(time.Duration(i)*time.Second))
				if err := l.Record(ctx, a); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	tests := []struct {
		event, endpoint string
		limit           int
		want            int
	}{
		{"", "", 0, 8},
		{"evt_a", "", 0, 4},
		{"", "ep_2", 0, 4},
		{"evt_b", "ep_1", 0, 2},
		{"evt_b", "ep_1", 1, 1},
		{"evt_c", "", 0, 0},
		{"", "", 3, 3},
	}
	for _, tc := range tests {
		got, err := l.List(ctx, tc.event, tc.endpoint, tc.limit)
		if tc.event == "" && !listsDelivered(s) {
			// See testLogListDelivered: no list that would leave out the
			// delivered attempts.
			if !errors.Is(err, notifystore.ErrNotificationIDRequired) {
				t.Errorf("List(%q, %q) = %d attempts, %v; want ErrNotificationIDRequired", tc.event, tc.endpoint, len(got), err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != tc.want {
			t.Errorf("List(%q, %q, %d) = %d attempts, want %d", tc.event, tc.endpoint, tc.limit, len(got), tc.want)
		}
		for k, a := range got {
			if (tc.event != "" && a.NotificationID != tc.event) || (tc.endpoint != "" && a.EndpointID != tc.endpoint) {
				t.Errorf("List(%q, %q) returned %+v", tc.event, tc.endpoint, a)
			}
			if k > 0 && a.AttemptedAt.After(got[k-1].AttemptedAt) {
				t.Errorf("List(%q, %q) not newest first at %d", tc.event, tc.endpoint, k)
			}
		}
	}
	if got, _ := l.List(ctx, "evt_b", "", 0); got[0].NotificationID != "evt_b" || got[0].EndpointID != "ep_2" || got[0].Attempt != 2 {
		t.Errorf("newest = %+v, want evt_b/ep_2 attempt 2", got[0])
	}
}

// listsDelivered reports whether s lists KindDelivered (localstore does;
// dynamostore with ListedKinds does not).
func listsDelivered(s store.Store) bool {
	lister, ok := s.(interface{ Listable(string) bool })
	return !ok || lister.Listable(notifystore.KindDelivered)
}

// Records older than the TTL read as gone: attempts and the delivered
// marker alike.
func testLogTTL(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := time.Now().UTC()
	l := &notifystore.DeliveryLog{Store: s, TTL: 24 * time.Hour}
	old := attempt(notify.DeliveryID("evt_old", "ep"), "evt_old", "ep", 1, notify.LogDelivered, now.Add(-25*time.Hour))
	recent := attempt(notify.DeliveryID("evt_new", "ep"), "evt_new", "ep", 1, notify.LogDelivered, now.Add(-23*time.Hour))
	for _, a := range []notify.Attempt{old, recent} {
		if err := l.Record(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if ok, _ := l.Delivered(ctx, old.DeliveryID); ok {
		t.Error("an expired marker still counts as delivered")
	}
	if ok, _ := l.Delivered(ctx, recent.DeliveryID); !ok {
		t.Error("a live marker does not count")
	}
	for _, tc := range []struct {
		event string
		want  int
	}{{"evt_old", 0}, {"evt_new", 1}} {
		list, err := l.List(ctx, tc.event, "ep", 0)
		if err != nil || len(list) != tc.want {
			t.Fatalf("List(%s) = %+v, %v; want %d attempts", tc.event, list, err, tc.want)
		}
	}
}

// Delivered attempts are listed by notification on every store: by key
// (the delivery id of each endpoint) where the store does not index
// KindDelivered (DynamoDB, ListedKinds), from the index where it does.
func testLogListDelivered(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
	eps := notifystore.NewEndpoints(s, nil)
	ep1 := mustAdd(t, eps, httpEP("https://one.example.com/hook", "*"))
	ep2 := mustAdd(t, eps, httpEP("https://two.example.com/hook", "*"))
	l := notifystore.NewDeliveryLog(s)
	record := func(ev, ep string, n int, outcome string, sec int) {
		t.Helper()
		if err := l.Record(ctx, attempt(notify.DeliveryID(ev, ep), ev, ep, n, outcome, now.Add(time.Duration(sec)*time.Second))); err != nil {
			t.Fatal(err)
		}
	}
	record("evt_a", ep1.ID, 1, notify.LogDelivered, 1)
	record("evt_a", ep2.ID, 1, notify.LogRetry, 2)
	record("evt_a", ep2.ID, 2, notify.LogDelivered, 3)
	record("evt_b", ep1.ID, 1, notify.LogDelivered, 4)
	record("evt_c", "ep_gone", 1, notify.LogRetry, 5) // an endpoint no longer listed
	record("evt_c", "ep_gone", 2, notify.LogDelivered, 6)

	tests := []struct {
		event, endpoint string
		want            []string // outcome@endpoint, newest first
	}{
		{"evt_a", "", []string{"delivered@" + ep2.ID, "retry@" + ep2.ID, "delivered@" + ep1.ID}},
		{"evt_a", ep2.ID, []string{"delivered@" + ep2.ID, "retry@" + ep2.ID}},
		{"evt_b", "", []string{"delivered@" + ep1.ID}},
		{"evt_b", ep2.ID, nil},
		{"evt_c", "", []string{"delivered@ep_gone", "retry@ep_gone"}},
		{"evt_none", "", nil},
	}
	for _, tc := range tests {
		list, err := l.List(ctx, tc.event, tc.endpoint, 0)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range list {
			got = append(got, a.Outcome+"@"+a.EndpointID)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("List(%q, %q) = %v, want %v", tc.event, tc.endpoint, got, tc.want)
		}
	}
	// Without a notification id: every attempt where the store lists the
	// delivered ones; where it does not (DynamoDB), an error saying the id
	// is required, never the failed attempts alone as if complete.
	for _, endpoint := range []string{"", ep1.ID} {
		all, err := l.List(ctx, "", endpoint, 0)
		if !listsDelivered(s) {
			if !errors.Is(err, notifystore.ErrNotificationIDRequired) || !errors.Is(err, store.ErrNotListable) || all != nil {
				t.Errorf("List(\"\", %q) = %d attempts, %v; want ErrNotificationIDRequired", endpoint, len(all), err)
			}
			continue
		}
		want := map[string]int{"": 6, ep1.ID: 2}[endpoint]
		if err != nil || len(all) != want {
			t.Errorf("List(\"\", %q) = %d attempts, %v; want %d", endpoint, len(all), err, want)
		}
	}
}

// The deliverer's cache (notify.CachedEndpoints over Endpoints) confirms a
// lookup with the store's own read of the endpoint (a consistent GetItem on
// DynamoDB), past a list cached before the change.
func testConfirm(t *testing.T, s store.Store) {
	ctx := t.Context()
	eps := notifystore.NewEndpoints(s, nil)
	old := mustAdd(t, eps, httpEP("https://old.example.com/hook", "*"))
	cache := notify.CachedEndpoints(eps, time.Hour)
	if _, err := cache.Endpoints(ctx); err != nil {
		t.Fatal(err)
	}
	added := mustAdd(t, eps, httpEP("https://new.example.com/hook", "payment.*"))
	if err := eps.Remove(ctx, old.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := cache.Endpoint(ctx, added.ID); !errors.Is(err, notify.ErrEndpointNotFound) {
		t.Fatalf("cached lookup of the new endpoint: %v, want the stale miss", err)
	}
	got, err := cache.ConfirmEndpoint(ctx, added.ID)
	if err != nil || got.ID != added.ID || !got.Enabled {
		t.Fatalf("ConfirmEndpoint(new) = %+v, %v", got, err)
	}
	if _, err := cache.Endpoint(ctx, added.ID); err != nil {
		t.Errorf("the confirmed endpoint is not cached: %v", err)
	}
	if _, err := cache.ConfirmEndpoint(ctx, old.ID); !errors.Is(err, notify.ErrEndpointNotFound) {
		t.Errorf("ConfirmEndpoint(removed) = %v, want ErrEndpointNotFound", err)
	}
	if _, err := cache.Endpoint(ctx, old.ID); !errors.Is(err, notify.ErrEndpointNotFound) {
		t.Errorf("the removed endpoint is still cached: %v", err)
	}
}
