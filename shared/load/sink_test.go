package load

import (
	"bytes"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

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
	if n := s.missing(map[string]bool{"msg_a": true, "msg_b": true, "msg_d": true}, 0); n != 1 {
		t.Fatalf("missing = %d, want 1", n)
	}
	// Two more expected under ids not known in advance: msg_b is one.
	if n := s.missing(map[string]bool{"msg_a": true}, 2); n != 1 {
		t.Fatalf("missing with 2 extra = %d, want 1", n)
	}
	if r := st.Received["msg_a"]; r.Type != "x" || r.ID != "" || r.Late || len(st.Received) != 2 {
		t.Fatalf("received = %+v", st.Received)
	}
}

func TestMilestoneSubject(t *testing.T) {
	tests := []struct {
		name string
		in   Received
		want string
		ok   bool
	}{
		{"payment", Received{Type: "payment.succeeded", ID: "pi_1", Late: true}, "payment:pi_1", true},
		{"raw stripe forward", Received{Type: "stripe.payment_intent.succeeded", ID: "evt_1"}, "", false},
		{"raw livechat forward", Received{Type: "livechat.incoming_chat", ID: "x"}, "", false},
		{"no data id", Received{Type: "payment.failed"}, "", false},
		{"no dot", Received{Type: "x", ID: "1"}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := milestoneSubject(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("milestoneSubject(%+v) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
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
	// The payments endpoint expects, per intent and by type, one
	// payment.succeeded, and a payment.refunded for the refund-first intent
	// (sent refund first: inverted); no delivery by id.
	want := map[string]map[string]int{}
	wantStatus := map[string]string{}
	inverted := map[string]bool{}
	for _, h := range hooks[:19] {
		if h.Sample.Provider != "stripe" {
			continue
		}
		pi := gjson.GetBytes(h.Sample.Body, "data.object.id").String()
		if h.Sample.Type == "charge.refunded" {
			pi = gjson.GetBytes(h.Sample.Body, "data.object.payment_intent").String()
		}
		subj := "payment:" + pi
		if want[subj] == nil {
			want[subj] = map[string]int{}
		}
		switch h.Sample.Type {
		case "payment_intent.succeeded":
			want[subj]["payment.succeeded"]++
			if wantStatus["/api/payments/"+pi] == "" {
				wantStatus["/api/payments/"+pi] = "succeeded"
			}
		case "charge.refunded":
			want[subj]["payment.refunded"]++
			wantStatus["/api/payments/"+pi] = "refunded"
			inverted[subj] = true
		}
	}
	if len(inverted) != 1 {
		t.Fatalf("%d refund-first intents in a plan of 20, want 1", len(inverted))
	}
	if len(exp.deliveries[sinks[0]]) != 0 || !equalMilestones(exp.milestones[sinks[0]], want) {
		t.Fatalf("payments endpoint expects %d ids and milestones %v, want none and %v", len(exp.deliveries[sinks[0]]), exp.milestones[sinks[0]], want)
	}
	if !maps.Equal(exp.inverted, inverted) {
		t.Fatalf("inverted = %v, want %v", exp.inverted, inverted)
	}
	if ids, ms := exp.expected(sinks[0]); ids != 0 || ms != len(want)+1 {
		t.Fatalf("expected(payments) = %d ids + %d milestones, want 0 + %d", ids, ms, len(want)+1)
	}
	payRecords := 0
	for _, r := range exp.records {
		if strings.HasPrefix(r.Path, "/api/payments/") {
			payRecords++
			if r.Fields["status"] != wantStatus[r.Path] || r.Fields["amount"] != float64(2000) {
				t.Fatalf("payment record %s = %v, want status %q", r.Path, r.Fields, wantStatus[r.Path])
			}
		}
	}
	if payRecords != len(want) {
		t.Fatalf("payment records = %d, want %d", payRecords, len(want))
	}
}

func equalMilestones(a, b map[string]map[string]int) bool {
	return maps.EqualFunc(a, b, func(x, y map[string]int) bool { return maps.Equal(x, y) })
}

// TestCheckSinks: the payments endpoint's deliveries are checked per
// payment by type (what the processors announce in event order), a late one
// only for a payment sent out of order, each delivery once.
func TestCheckSinks(t *testing.T) {
	succ := Received{Type: "payment.succeeded", ID: "pi_1"}
	late := Received{Type: "payment.succeeded", ID: "pi_1", Late: true}
	refund := Received{Type: "payment.refunded", ID: "pi_1"}
	want := map[string]map[string]int{"payment:pi_1": {"payment.succeeded": 1, "payment.refunded": 1}}
	tests := []struct {
		name      string
		delivered map[string]int
		got       map[string]Received
		inverted  bool
		violation string // "" for none
		late      int
	}{
		{"refund first, success late", map[string]int{"a": 1, "b": 1}, map[string]Received{"a": refund, "b": late}, true, "", 1},
		{"in order", map[string]int{"a": 1, "b": 1}, map[string]Received{"a": succ, "b": refund}, false, "", 0},
		{"late success never announced", map[string]int{"a": 1}, map[string]Received{"a": refund}, true, "announced map[payment.refunded:1], in event order", 0},
		{"late for a payment sent in order", map[string]int{"a": 1, "b": 1}, map[string]Received{"a": refund, "b": late}, false, "delivered late", 1},
		{"delivered twice", map[string]int{"a": 1, "b": 2}, map[string]Received{"a": refund, "b": succ}, true, "succeeded 2 times", 0},
		{"success announced twice", map[string]int{"a": 1, "b": 1, "c": 1}, map[string]Received{"a": refund, "b": succ, "c": late}, true, "payment.succeeded:2", 1},
		{"raw forward nobody expects", map[string]int{"a": 1, "b": 1, "c": 1}, map[string]Received{"a": refund, "b": succ, "c": {Type: "stripe.charge.refunded", ID: "ch_1"}}, true, "unexpected delivery c", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Sink{Name: "payments", Patterns: []string{"payment.*"}, ok: tt.delivered, got: tt.got}
			exp := expectations{deliveries: map[*Sink]map[string]bool{s: {}}, milestones: map[*Sink]map[string]map[string]int{s: want},
				inverted: map[string]bool{"payment:pi_1": tt.inverted}}
			rep := &Report{}
			checkSinks([]*Sink{s}, exp, rep)
			joined := strings.Join(rep.Violations, "\n")
			if tt.violation == "" && len(rep.Violations) > 0 || tt.violation != "" && !strings.Contains(joined, tt.violation) {
				t.Fatalf("violations:\n%s\nwant one with %q", joined, tt.violation)
			}
			if rep.Late != tt.late {
				t.Fatalf("late = %d, want %d", rep.Late, tt.late)
			}
		})
	}
}
