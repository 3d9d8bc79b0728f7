package load

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookstack/hookstack/events"
	"github.com/hookstack/hookstack/shared/domain"
	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/notify"
)

func TestSinkCountsVerifiedDeliveries(t *testing.T) {
	s := &Sink{Name: "t", FailFirst: 2}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	secret := notify.NewSecret()
	s.setEndpoint("ep_1", secret)
	deliver := func(id, sec string) int {
		body := []byte(`{"type":"x","timestamp":"2026-01-01T00:00:00Z","data":{}}`)
		h, err := notify.SignHeaders(id, time.Now(), body, []string{sec})
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPost, s.URL(), bytes.NewReader(body))
		req.Header = h
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	codes := []int{deliver("msg_a", secret), deliver("msg_a", secret), deliver("msg_a", secret), deliver("msg_b", secret), deliver("msg_a", secret), deliver("msg_c", notify.NewSecret())}
	want := []int{503, 503, 204, 204, 204, 401}
	for i := range want {
		if codes[i] != want[i] {
			t.Fatalf("answers = %v, want %v", codes, want)
		}
	}
	st := s.Stats()
	if st.Calls != 6 || st.Failed != 2 || st.BadSignature != 1 || st.Delivered["msg_a"] != 2 || st.Delivered["msg_b"] != 1 || st.Delivered["msg_c"] != 0 {
		t.Fatalf("stats = %+v", st)
	}
	if n := s.missing(map[string]bool{"msg_a": true, "msg_b": true, "msg_d": true}); n != 1 {
		t.Fatalf("missing = %d, want 1", n)
	}
}

// TestExpect checks the expected deliveries and records of a small plan:
// one raw forward per event to each matching endpoint, one
// payment.succeeded per intent, the payment record the pure core computes.
func TestExpect(t *testing.T) {
	p, err := NewPlanner(events.FS, 3)
	if err != nil {
		t.Fatal(err)
	}
	hooks, err := p.Plan(20)
	if err != nil {
		t.Fatal(err)
	}
	results := make([]result, len(hooks))
	for i := range hooks {
		evs, err := envelope.Extract(hooks[i].Sample.Provider, hooks[i].Sample.Header, hooks[i].Sample.Body, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		hooks[i].Events = evs
		results[i] = result{hook: &hooks[i], accepted: i != 19} // the last one never acknowledged
	}
	sinks := []*Sink{
		{Name: "payments", Patterns: []string{"payment.*"}, endpointID: "ep_pay"},
		{Name: "all-raw", Patterns: []string{"stripe.*", "shopify.*", "standard.*", "hubspot.*", "salesforce.*", "livechat.*", "trello.*", "github.*"}, endpointID: "ep_raw"},
	}
	exp, err := expect(hooks, results, sinks)
	if err != nil {
		t.Fatal(err)
	}
	rawWant := 0
	for _, h := range hooks[:19] {
		rawWant += len(h.Events)
	}
	if got := len(exp.deliveries[sinks[1]]); got != rawWant {
		t.Fatalf("raw deliveries expected = %d, want %d (one per event of each accepted webhook)", got, rawWant)
	}
	first := hooks[0].Events[0]
	if !exp.deliveries[sinks[1]][notify.DeliveryID(domain.EventID(first.ID, "stripe."+first.Type), "ep_raw")] {
		t.Fatal("the first event's raw delivery is not expected")
	}
	// One payment.succeeded per intent: one per succeeded webhook (pairs
	// are processing + succeeded on one intent).
	succeeded := 0
	for _, h := range hooks[:19] {
		if h.Sample.Type == "payment_intent.succeeded" {
			succeeded++
		}
	}
	if got := len(exp.deliveries[sinks[0]]); got != succeeded || succeeded == 0 {
		t.Fatalf("payment.succeeded deliveries = %d, want %d", got, succeeded)
	}
	payRecords := 0
	for _, r := range exp.records {
		if strings.HasPrefix(r.Path, "/api/payments/") {
			payRecords++
			if r.Fields["status"] != "succeeded" || r.Fields["amount"] != float64(2000) {
				t.Fatalf("payment record %s = %v", r.Path, r.Fields)
			}
		}
	}
	if payRecords != succeeded {
		t.Fatalf("payment records = %d, want %d", payRecords, succeeded)
	}
}
