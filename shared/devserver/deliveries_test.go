package devserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookstack/hookstack/shared/eventlog"
	"github.com/hookstack/hookstack/shared/notify"
	"github.com/hookstack/hookstack/shared/store"
)

// collect reads stream messages for d, or until stop says it has them all.
func collect(t *testing.T, ch <-chan sseMessage, d time.Duration, stop func([]sseMessage) bool) []sseMessage {
	t.Helper()
	var got []sseMessage
	timeout := time.After(d)
	for {
		select {
		case m, ok := <-ch:
			if !ok {
				return got
			}
			got = append(got, m)
			if stop != nil && stop(got) {
				return got
			}
		case <-timeout:
			return got
		}
	}
}

// An accepted event shows on the stream once as queued and once as
// processed, in that order; each delivery attempt of what it produced
// follows as a "delivery" message whose data is the attempt exactly as
// GET /api/deliveries lists it; the inspector's list counts it.
func TestStreamShowsEachChangeOnceAndDeliveries(t *testing.T) {
	const secret = "whsec_stream_deliveries"
	base, stop := startDev(t, t.TempDir(), map[string]string{"HOOKSTACK_SECRET_STRIPE": secret})
	defer stop()
	sk := &sink{}
	srv := httptest.NewServer(sk)
	defer srv.Close()
	code, ep := postAPI(t, base+"/api/endpoints", map[string]any{"url": srv.URL + "/hooks", "events": []string{"payment.*"}})
	if code != 201 {
		t.Fatalf("add endpoint = %d %v", code, ep)
	}
	sk.mu.Lock()
	sk.secret = ep["secrets"].([]any)[0].(string)
	sk.mu.Unlock()

	all, cancelAll := openStream(t, base+"/api/stream")
	defer cancelAll()
	byType, cancelType := openStream(t, base+"/api/stream?type=payment.succeeded")
	defer cancelType()
	byProvider, cancelProvider := openStream(t, base+"/api/stream?provider=stripe")
	defer cancelProvider()

	reply := sendSample(t, base, secret, "stripe", "payment_intent.succeeded", nil)
	id := reply["id"].(string)
	msgs := collect(t, all, 15*time.Second, func(got []sseMessage) bool {
		return len(got) > 0 && got[len(got)-1].event == "delivery"
	})
	// Anything late (a second announcement) arrives within this.
	msgs = append(msgs, collect(t, all, 500*time.Millisecond, nil)...)

	var statuses []string
	var deliveries []string
	for _, m := range msgs {
		switch m.event {
		case "event":
			var s eventlog.Summary
			if err := json.Unmarshal([]byte(m.data), &s); err != nil {
				t.Fatal(err)
			}
			if s.ID == id {
				statuses = append(statuses, s.Status)
			}
		case "delivery":
			deliveries = append(deliveries, m.data)
		}
	}
	if fmt.Sprint(statuses) != "[queued processed]" {
		t.Fatalf("statuses of %s on the stream = %v; want [queued processed], each once", id, statuses)
	}
	if len(deliveries) != 1 {
		t.Fatalf("delivery messages = %v; want 1", deliveries)
	}
	var a notify.Attempt
	if err := json.Unmarshal([]byte(deliveries[0]), &a); err != nil || a.Outcome != notify.LogDelivered || a.EventType != "payment.succeeded" {
		t.Fatalf("delivery message = %s (%v)", deliveries[0], err)
	}
	// Exactly an item of GET /api/deliveries.
	resp, err := http.Get(base + "/api/deliveries?notification_id=" + a.NotificationID)
	if err != nil {
		t.Fatal(err)
	}
	var items []json.RawMessage
	err = json.NewDecoder(resp.Body).Decode(&items)
	resp.Body.Close()
	if err != nil || len(items) != 1 {
		t.Fatalf("deliveries = %v, %v", items, err)
	}
	var compact bytes.Buffer
	_ = json.Compact(&compact, items[0])
	if compact.String() != deliveries[0] {
		t.Fatalf("stream data\n%s\nis not the listed attempt\n%s", deliveries[0], compact.String())
	}

	// Filters: type matches the attempt's event type; provider skips deliveries.
	if got := collect(t, byType, 5*time.Second, func(got []sseMessage) bool { return got[len(got)-1].event == "delivery" }); len(got) == 0 || got[len(got)-1].data != deliveries[0] {
		t.Fatalf("type=payment.succeeded stream = %v", got)
	}
	for _, m := range collect(t, byProvider, 300*time.Millisecond, nil) {
		if m.event == "delivery" {
			t.Fatalf("provider filter let a delivery through: %v", m)
		}
	}

	// The list's row of the event counts its delivery.
	var list []eventlog.Summary
	getJSON(t, base+"/api/events?limit=1", &list)
	if len(list) != 1 || list[0].ID != id || list[0].Deliveries == nil ||
		*list[0].Deliveries != (eventlog.Deliveries{Count: 1, Delivered: 1, LastOutcome: "delivered", LastAt: a.AttemptedAt}) {
		t.Fatalf("list row = %+v (deliveries %+v)", list, list[0].Deliveries)
	}
}

type failingLister struct{ err error }

func (f failingLister) List(_ context.Context, _, _ string, _ int) ([]notify.Attempt, error) {
	return nil, f.err
}

// A backend that cannot list delivered attempts (DynamoDB) answers 400 with
// what to give instead; other failures stay 500.
func TestDeliveriesNeedANotificationWhereNotListable(t *testing.T) {
	events, err := eventlog.Open(filepath.Join(t.TempDir(), "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer events.Close()
	tests := []struct {
		name string
		err  error
		code int
		want string
	}{
		{"not listable", fmt.Errorf("list delivered attempts: %w", store.ErrNotListable), 400, errDeliveriesNeedNotification},
		{"unavailable", fmt.Errorf("list attempts: %w", store.ErrUnavailable), 500, "list deliveries failed; see the dev server's log"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(nil, events, nil, slog.New(slog.NewJSONHandler(io.Discard, nil))).
				WithOutbound(&Outbound{Deliveries: failingLister{tt.err}})
			srv := httptest.NewServer(s)
			defer srv.Close()
			var body map[string]string
			if code := getJSON(t, srv.URL+"/api/deliveries", &body); code != tt.code || body["error"] != tt.want {
				t.Fatalf("= %d %v; want %d %q", code, body, tt.code, tt.want)
			}
		})
	}
}
