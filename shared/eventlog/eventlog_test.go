package eventlog

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func open(t *testing.T) *Log {
	t.Helper()
	l, err := Open(filepath.Join(t.TempDir(), "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// drain returns what the subscription holds now (publication is synchronous).
func drain(ch <-chan Message) []Message {
	var out []Message
	for {
		select {
		case m := <-ch:
			out = append(out, m)
		default:
			return out
		}
	}
}

// statuses renders the summaries of msgs as "id:status", deliveries as "delivery".
func statuses(msgs []Message) []string {
	var out []string
	for _, m := range msgs {
		if m.Summary != nil {
			out = append(out, m.Summary.ID+":"+m.Summary.Status)
		} else {
			out = append(out, "delivery")
		}
	}
	return out
}

// receipt is the Recorder's entry for an accepted event.
func receipt(id, status string) Entry {
	return Entry{Summary: Summary{ID: id, Provider: "stripe", EventID: "evt_" + id, Type: "payment_intent.succeeded",
		Queue: "payments", Status: status, HTTPStatus: 200}}
}

// pipeline is the status tracker's base entry (no receipt: no HTTP answer).
func pipeline(id string) Entry {
	return Entry{Summary: Summary{ID: id, Provider: "stripe", EventID: "evt_" + id, Status: StatusQueued}}
}

func set(status, reason string, count int) func(*Entry) {
	return func(e *Entry) { e.Status, e.Reason, e.ReceiveCount = status, reason, count }
}

// Each entry is announced once when received and once per change of its
// status or reason, in order, whichever of ingest's record and the
// pipeline's outcome is written first.
func TestAnnouncementsFollowStatusChanges(t *testing.T) {
	type step struct {
		put    *Entry       // the Recorder's Put
		upsert func(*Entry) // the pipeline's Upsert (base: pipeline("A"))
		update func(*Entry) // Update (replay)
		want   []string     // announced by this step
		check  func(*testing.T, Entry)
	}
	rec := receipt("A", StatusQueued)
	rejected := Entry{Summary: Summary{ID: "A", Provider: "stripe", Status: StatusRejected, Reason: "signature", HTTPStatus: 401}}
	tests := []struct {
		name  string
		steps []step
		final string
	}{
		{"receipt then processed", []step{
			{put: &rec, want: []string{"A:queued"}},
			{upsert: set(StatusProcessed, "", 1), want: []string{"A:processed"}},
			{upsert: set(StatusProcessed, "", 1), want: nil}, // reported again: no change
		}, StatusProcessed},
		{"processed before the receipt", []step{
			{upsert: set(StatusProcessed, "", 1), want: nil}, // nothing before the receipt
			{put: &rec, want: []string{"A:queued", "A:processed"}},
		}, StatusProcessed},
		{"dead before the receipt, reason kept", []step{
			{upsert: set(StatusFailed, "boom", 1), want: nil},
			{upsert: set(StatusDead, "permanent", 1), want: nil},
			{put: &rec, want: []string{"A:queued", "A:dead"}},
		}, StatusDead},
		{"retries failing the same way are one change", []step{
			{put: &rec, want: []string{"A:queued"}},
			{upsert: set(StatusFailed, "timeout", 1), want: []string{"A:failed"}},
			{upsert: set(StatusFailed, "timeout", 2), want: nil},
			{upsert: set(StatusFailed, "refused", 3), want: []string{"A:failed"}}, // a new reason
			{upsert: set(StatusDead, "failed 5 times", 5), want: []string{"A:dead"}},
		}, StatusDead},
		{"replay goes back to queued", []step{
			{put: &rec, want: []string{"A:queued"}},
			{upsert: set(StatusProcessed, "", 1), want: []string{"A:processed"}},
			{update: set(StatusQueued, "", 0), want: []string{"A:queued"}},
			{upsert: set(StatusProcessed, "", 1), want: []string{"A:processed"}},
		}, StatusProcessed},
		{"rejected", []step{{put: &rejected, want: []string{"A:rejected"}}}, StatusRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := open(t)
			ch, cancel := l.Subscribe()
			defer cancel()
			for i, s := range tt.steps {
				var err error
				switch {
				case s.put != nil:
					err = l.Put(*s.put)
				case s.upsert != nil:
					err = l.Upsert(pipeline("A"), s.upsert)
				default:
					err = l.Update("A", s.update)
				}
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if got := statuses(drain(ch)); !equal(got, s.want) {
					t.Fatalf("step %d announced %v, want %v", i, got, s.want)
				}
			}
			e, err := l.Get("A")
			if err != nil || e.Status != tt.final {
				t.Fatalf("stored %+v, %v; want status %s", e, err, tt.final)
			}
		})
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRecordDelivery(t *testing.T) {
	l := open(t)
	if err := l.Put(receipt("A", StatusQueued)); err != nil {
		t.Fatal(err)
	}
	ch, cancel := l.Subscribe()
	defer cancel()
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	note := func(delivery string, attempt int, outcome string, at time.Duration) DeliveryNote {
		return DeliveryNote{DeliveryID: delivery, NotificationID: "evt_A:payment.succeeded", EndpointID: "ep_" + delivery,
			Attempt: attempt, Outcome: outcome, At: t0.Add(at)}
	}
	tests := []struct {
		name string
		note DeliveryNote
		want Deliveries
	}{
		{"first attempt retries", note("d1", 1, "retry", 0), Deliveries{Count: 1, Delivered: 0, LastOutcome: "retry", LastAt: t0}},
		{"second endpoint delivered", note("d2", 1, "delivered", time.Second), Deliveries{Count: 2, Delivered: 1, LastOutcome: "delivered", LastAt: t0.Add(time.Second)}},
		{"the retry delivers", note("d1", 2, "delivered", 2*time.Second), Deliveries{Count: 2, Delivered: 2, LastOutcome: "delivered", LastAt: t0.Add(2 * time.Second)}},
		{"an older attempt noted late changes nothing", note("d1", 1, "retry", 0), Deliveries{Count: 2, Delivered: 2, LastOutcome: "delivered", LastAt: t0.Add(2 * time.Second)}},
		{"the same attempt noted again changes nothing", note("d2", 1, "delivered", time.Second), Deliveries{Count: 2, Delivered: 2, LastOutcome: "delivered", LastAt: t0.Add(2 * time.Second)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := json.RawMessage(`{"delivery_id":"` + tt.note.DeliveryID + `"}`)
			if err := l.RecordDelivery("stripe", "evt_A", tt.note, "payment.succeeded", data); err != nil {
				t.Fatal(err)
			}
			msgs := drain(ch)
			if len(msgs) != 1 || msgs[0].Summary != nil || string(msgs[0].Delivery) != string(data) || msgs[0].EventType != "payment.succeeded" {
				t.Fatalf("announced %+v; want the delivery alone", msgs)
			}
			list, err := l.List(Filter{})
			if err != nil || len(list) != 1 || list[0].Deliveries == nil {
				t.Fatalf("list = %+v, %v", list, err)
			}
			if got := *list[0].Deliveries; got != tt.want {
				t.Fatalf("deliveries = %+v, want %+v", got, tt.want)
			}
		})
	}
	t.Run("unknown event: published, ErrNotFound", func(t *testing.T) {
		err := l.RecordDelivery("stripe", "evt_nope", note("d9", 1, "delivered", 0), "x", json.RawMessage(`{}`))
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
		if msgs := drain(ch); len(msgs) != 1 || msgs[0].Delivery == nil {
			t.Fatalf("announced %+v", msgs)
		}
	})
	t.Run("a later receipt keeps the counts", func(t *testing.T) {
		if err := l.Put(receipt("A", StatusQueued)); err != nil {
			t.Fatal(err)
		}
		e, _ := l.Get("A")
		if e.Deliveries == nil || e.Deliveries.Count != 2 {
			t.Fatalf("deliveries after Put = %+v", e.Deliveries)
		}
	})
}
