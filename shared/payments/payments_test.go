package payments

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hookstack/hookstack/shared/domain"
	"github.com/hookstack/hookstack/shared/envelope"
)

const samples = "../../events/stripe"

// sample reads events/stripe/<name>.json, optionally rewriting the event id
// and created time (to build variants with other timestamps).
func sample(t testing.TB, name string, edits ...func(m map[string]any)) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(samples, name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(edits) == 0 {
		return b
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, e := range edits {
		e(m)
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func withID(id string) func(map[string]any) { return func(m map[string]any) { m["id"] = id } }
func withCreated(c int64) func(map[string]any) {
	return func(m map[string]any) { m["created"] = c }
}
func withObject(k string, v any) func(map[string]any) {
	return func(m map[string]any) { m["data"].(map[string]any)["object"].(map[string]any)[k] = v }
}

func parse(t testing.TB, body []byte) Event {
	t.Helper()
	ev, err := Parse(body)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return ev
}

func types(evs []domain.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

func TestParseSamples(t *testing.T) {
	tests := []struct {
		file          string
		handled       bool
		paymentIntent string
		customer      string
	}{
		{"payment_intent.succeeded", true, "pi_3RZx5a2eZvKYlo2C0m8kQpLd", ""},
		{"payment_intent.payment_failed", true, "pi_3RZx5a2eZvKYlo2C0m8kQpLd", ""},
		{"payment_intent.processing", true, "pi_3RZx5a2eZvKYlo2C0m8kQpLd", ""},
		{"payment_intent.canceled", true, "pi_3RZxA12eZvKYlo2C1c4NwTsv", ""},
		{"charge.refunded", true, "pi_3RZx5a2eZvKYlo2C0m8kQpLd", ""},
		{"charge.refunded_partial", true, "pi_3RZx5a2eZvKYlo2C0m8kQpLd", ""},
		{"charge.dispute.created", true, "pi_3RZx5a2eZvKYlo2C0m8kQpLd", ""},
		{"checkout.session.completed", true, "pi_3RZx5a2eZvKYlo2C0m8kQpLd", ""},
		{"customer.subscription.created", true, "", "cus_RZx4qT8mWk2LhN"},
		{"customer.subscription.updated", true, "", "cus_RZx4qT8mWk2LhN"},
		{"customer.subscription.deleted", true, "", "cus_RZx4qT8mWk2LhN"},
		{"invoice.paid", true, "pi_3RZx6c2eZvKYlo2C1Inv0001", "cus_RZx4qT8mWk2LhN"},
		{"invoice.payment_failed", true, "pi_3Sa3Kd2eZvKYlo2C0Inv0002", "cus_RZx4qT8mWk2LhN"},
		{"customer.created", false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			ev := parse(t, sample(t, tt.file))
			if ev.Handled != tt.handled || ev.PaymentIntent != tt.paymentIntent || ev.Customer != tt.customer {
				t.Fatalf("handled=%v pi=%q cus=%q", ev.Handled, ev.PaymentIntent, ev.Customer)
			}
			if ev.Created.IsZero() || !strings.HasPrefix(ev.ID, "evt_") {
				t.Fatalf("identity not parsed: %+v", ev)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		malformed bool
	}{
		{"not json", `{"id":`, true},
		{"no type", `{"id":"evt_1","created":1,"data":{"object":{}}}`, true},
		{"no created", `{"id":"evt_1","type":"customer.created","data":{"object":{}}}`, true},
		{"handled type without object", `{"id":"evt_1","type":"payment_intent.succeeded","created":1,"data":{}}`, true},
		{"handled type with wrong shape", `{"id":"evt_1","type":"payment_intent.succeeded","created":1,"data":{"object":{"id":5}}}`, true},
		{"payment intent without amount", `{"id":"evt_1","type":"payment_intent.succeeded","created":1,"data":{"object":{"id":"pi_1","currency":"usd"}}}`, true},
		{"subscription without customer", `{"id":"evt_1","type":"customer.subscription.updated","created":1,"data":{"object":{"id":"sub_1","status":"active"}}}`, true},
		{"invoice without amount", `{"id":"evt_1","type":"invoice.paid","created":1,"data":{"object":{"id":"in_1","customer":"cus_1"}}}`, true},
		{"unhandled type with odd object is fine", `{"id":"evt_1","type":"balance.available","created":1,"data":{"object":[1,2]}}`, false},
		{"expanded customer object", `{"id":"evt_1","type":"payment_intent.succeeded","created":1,"data":{"object":{"id":"pi_1","amount":5,"currency":"usd","customer":{"id":"cus_9","object":"customer"}}}}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := Parse([]byte(tt.body))
			if got := errors.Is(err, ErrMalformed); got != tt.malformed {
				t.Fatalf("err = %v, want malformed=%v", err, tt.malformed)
			}
			if tt.name == "expanded customer object" {
				p, _, _, _ := ApplyPayment(nil, ev)
				if p.Customer != "cus_9" {
					t.Fatalf("customer = %q", p.Customer)
				}
			}
		})
	}
}

// apply runs ev against *p and returns emitted domain event types.
func applyP(t *testing.T, p **Payment, body []byte) (bool, []string) {
	t.Helper()
	next, changed, out, err := ApplyPayment(*p, parse(t, body))
	if err != nil {
		t.Fatal(err)
	}
	if changed {
		*p = &next
	}
	return changed, types(out)
}

func TestApplyPayment(t *testing.T) {
	const tie = 1767348000 // the partial refund's time
	tests := []struct {
		name       string
		steps      [][]byte
		wantStatus string
		wantEmit   []string // emitted by the last step
		wantChange bool     // by the last step
	}{
		{"first observation emits", [][]byte{sample(t, "payment_intent.succeeded")}, StatusSucceeded, []string{EventPaymentSucceeded}, true},
		{"replay changes nothing", [][]byte{sample(t, "payment_intent.succeeded"), sample(t, "payment_intent.succeeded")}, StatusSucceeded, nil, false},
		// The older write is kept in the history (changed), not in the status.
		{"older event never overwrites", [][]byte{sample(t, "payment_intent.succeeded"), sample(t, "payment_intent.processing")}, StatusSucceeded, nil, true},
		{"late failure is announced, status stays", [][]byte{sample(t, "payment_intent.succeeded"), sample(t, "payment_intent.payment_failed")}, StatusSucceeded, []string{EventPaymentFailed}, true},
		{"late success after refund is announced", [][]byte{sample(t, "charge.refunded"), sample(t, "payment_intent.succeeded")}, StatusRefunded, []string{EventPaymentSucceeded}, true},
		{"replayed late event announces nothing", [][]byte{sample(t, "charge.refunded"), sample(t, "payment_intent.succeeded"), sample(t, "payment_intent.succeeded")}, StatusRefunded, nil, false},
		{"failed then succeeded", [][]byte{sample(t, "payment_intent.payment_failed"), sample(t, "payment_intent.succeeded")}, StatusSucceeded, []string{EventPaymentSucceeded}, true},
		{"processing emits nothing", [][]byte{sample(t, "payment_intent.processing")}, StatusProcessing, nil, true},
		{"canceled emits nothing", [][]byte{sample(t, "payment_intent.canceled")}, StatusCanceled, nil, true},
		{"partial refund", [][]byte{sample(t, "payment_intent.succeeded"), sample(t, "charge.refunded_partial")}, StatusPartiallyRefunded, []string{EventPaymentRefunded}, true},
		{"full after partial", [][]byte{sample(t, "charge.refunded_partial"), sample(t, "charge.refunded")}, StatusRefunded, []string{EventPaymentRefunded}, true},
		{"late partial after full", [][]byte{sample(t, "charge.refunded"), sample(t, "charge.refunded_partial")}, StatusRefunded, []string{EventPaymentRefunded}, true},
		{"dispute", [][]byte{sample(t, "charge.refunded"), sample(t, "charge.dispute.created")}, StatusDisputed, []string{EventPaymentDisputed}, true},
		// The late succeeded loses the status tie (it ranks before the
		// refund): in order it came first, so it is announced late.
		{"tie: refund beats succeeded (succeeded last)", [][]byte{sample(t, "charge.refunded_partial"), sample(t, "payment_intent.succeeded", withID("evt_tie"), withCreated(tie))}, StatusPartiallyRefunded, []string{EventPaymentSucceeded}, true},
		{"tie: refund beats succeeded (refund last)", [][]byte{sample(t, "payment_intent.succeeded", withID("evt_tie"), withCreated(tie)), sample(t, "charge.refunded_partial")}, StatusPartiallyRefunded, []string{EventPaymentRefunded}, true},
		{"tie: canceled beats failed", [][]byte{sample(t, "payment_intent.canceled", withObject("id", "pi_3RZx5a2eZvKYlo2C0m8kQpLd"), withCreated(1767261500)), sample(t, "payment_intent.payment_failed")}, StatusCanceled, []string{EventPaymentFailed}, true},
		{"second failure after processing is announced", [][]byte{sample(t, "payment_intent.payment_failed"), sample(t, "payment_intent.processing"), sample(t, "payment_intent.payment_failed", withID("evt_fail2"), withCreated(1767261610))}, StatusFailed, []string{EventPaymentFailed}, true},
		{"back-to-back failures are one run", [][]byte{sample(t, "payment_intent.payment_failed"), sample(t, "payment_intent.payment_failed", withID("evt_fail2"), withCreated(1767261510))}, StatusFailed, nil, true},
		{"newer event with the same status advances the version", [][]byte{sample(t, "payment_intent.succeeded"), sample(t, "payment_intent.succeeded", withID("evt_again"), withCreated(1767261640))}, StatusSucceeded, nil, true},
		{"checkout links the customer without status", [][]byte{sample(t, "checkout.session.completed")}, "", nil, true},
		{"unhandled type changes nothing", [][]byte{sample(t, "customer.created")}, "", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p *Payment
			var changed bool
			var emit []string
			for _, s := range tt.steps {
				changed, emit = applyP(t, &p, s)
			}
			status := ""
			if p != nil {
				status = p.Status
			}
			if status != tt.wantStatus || changed != tt.wantChange || !reflect.DeepEqual(emit, tt.wantEmit) {
				t.Fatalf("status %q changed %v emitted %v; want %q %v %v", status, changed, emit, tt.wantStatus, tt.wantChange, tt.wantEmit)
			}
		})
	}
}

// Two partial refunds in the same second: amount_refunded is cumulative, so
// the record ends at the larger total whatever the arrival order and
// whatever their event ids say.
func TestRefundsInOneSecondKeepTheLargestTotal(t *testing.T) {
	const tie = 1767348000
	refund := func(id string, total int64) []byte {
		return sample(t, "charge.refunded_partial", withID(id), withCreated(tie), withObject("amount_refunded", total))
	}
	tests := []struct {
		name  string
		order [][]byte
		want  int64
	}{
		{"smaller id has the larger total, in order", [][]byte{refund("evt_z", 500), refund("evt_a", 1500)}, 1500},
		{"smaller id has the larger total, reversed", [][]byte{refund("evt_a", 1500), refund("evt_z", 500)}, 1500},
		{"larger id has the larger total, in order", [][]byte{refund("evt_a", 500), refund("evt_z", 1500)}, 1500},
		{"larger id has the larger total, reversed", [][]byte{refund("evt_z", 1500), refund("evt_a", 500)}, 1500},
		{"with the success in the same second", [][]byte{refund("evt_z", 1500), sample(t, "payment_intent.succeeded", withID("evt_0"), withCreated(tie)), refund("evt_a", 500)}, 1500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p *Payment
			for _, b := range tt.order {
				applyP(t, &p, b)
			}
			if p.AmountRefunded != tt.want || p.Status != StatusPartiallyRefunded {
				t.Fatalf("amount_refunded %d status %s, want %d partially_refunded", p.AmountRefunded, p.Status, tt.want)
			}
		})
	}
}

func TestPaymentRecordFields(t *testing.T) {
	var p *Payment
	for _, f := range []string{"charge.dispute.created", "payment_intent.succeeded", "checkout.session.completed", "charge.refunded"} {
		applyP(t, &p, sample(t, f))
	}
	if p.ID != "pi_3RZx5a2eZvKYlo2C0m8kQpLd" || p.Amount != 2000 || p.AmountRefunded != 2000 || p.Currency != "usd" || p.Customer != "cus_RZx4qT8mWk2LhN" {
		t.Fatalf("record %+v", p)
	}
	if p.LastEventID != "evt_1Sb0Dp2eZvKYlo2CdS7pT007" || !p.UpdatedAt.Equal(time.Unix(1767520800, 0)) {
		t.Fatalf("updated_at/last_event_id = %v %s", p.UpdatedAt, p.LastEventID)
	}
	b, _ := json.Marshal(p)
	for _, k := range []string{`"id":`, `"status":"disputed"`, `"amount":2000`, `"currency":"usd"`, `"customer":"cus_`, `"updated_at":"2026-01-04T10:00:00Z"`, `"last_event_id":"evt_`} {
		if !strings.Contains(string(b), k) {
			t.Fatalf("json %s lacks %s", b, k)
		}
	}
	ev := parse(t, sample(t, "charge.refunded"))
	if _, _, _, err := ApplyPayment(&Payment{ID: "pi_other"}, ev); !errors.Is(err, ErrWrongRecord) {
		t.Fatalf("err = %v", err)
	}
}

func TestApplySubscription(t *testing.T) {
	trialing := sample(t, "customer.subscription.created", withObject("status", "trialing"))
	activeLater := sample(t, "customer.subscription.updated", withID("evt_active"), withObject("status", "active"), withCreated(1767300000))
	tests := []struct {
		name        string
		steps       [][]byte
		wantStatus  string
		wantPremium bool
		wantEmit    []string
	}{
		{"created active", [][]byte{sample(t, "customer.subscription.created")}, SubActive, true, []string{EventSubscriptionActivated}},
		{"trialing is premium", [][]byte{trialing}, SubTrialing, true, []string{EventSubscriptionActivated}},
		{"trialing to active is not a second activation", [][]byte{trialing, activeLater}, SubActive, true, nil},
		{"past due", [][]byte{sample(t, "customer.subscription.created"), sample(t, "customer.subscription.updated")}, SubPastDue, false, []string{EventSubscriptionPastDue}},
		{"deleted", [][]byte{sample(t, "customer.subscription.updated"), sample(t, "customer.subscription.deleted")}, SubCanceled, false, []string{EventSubscriptionCanceled}},
		{"late created after deleted is announced", [][]byte{sample(t, "customer.subscription.deleted"), sample(t, "customer.subscription.created")}, SubCanceled, false, []string{EventSubscriptionActivated}},
		{"late past due between activations", [][]byte{sample(t, "customer.subscription.created"), sample(t, "customer.subscription.updated", withID("evt_active"), withObject("status", "active"), withCreated(1769950000)), sample(t, "customer.subscription.updated")}, SubActive, true, []string{EventSubscriptionPastDue, EventSubscriptionActivated}}, // in history order
		{"invoice alone records the invoice", [][]byte{sample(t, "invoice.paid")}, "", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s *Subscription
			var emit []string
			for _, b := range tt.steps {
				next, changed, out, err := ApplySubscription(s, parse(t, b))
				if err != nil {
					t.Fatal(err)
				}
				if changed {
					s = &next
				}
				emit = types(out)
			}
			if s.Status != tt.wantStatus || s.Premium != tt.wantPremium || !reflect.DeepEqual(emit, tt.wantEmit) {
				t.Fatalf("status %q premium %v emitted %v", s.Status, s.Premium, emit)
			}
		})
	}
}

func TestSubscriptionRecordFields(t *testing.T) {
	var s *Subscription
	for _, f := range []string{"invoice.payment_failed", "customer.subscription.updated", "invoice.paid", "customer.subscription.created"} {
		next, _, _, err := ApplySubscription(s, parse(t, sample(t, f)))
		if err != nil {
			t.Fatal(err)
		}
		s = &next
	}
	want := Invoice{ID: "in_1Sa3Kd2eZvKYlo2CvB6wX0Lm", Status: "open", Amount: 1500}
	if s.LastInvoice != want || s.ID != "sub_1RZx6b2eZvKYlo2CtW9fJ2Ka" || s.Price != "price_1RZx1c2eZvKYlo2CkP4mHs7Q" ||
		!s.CurrentPeriodEnd.Equal(time.Unix(1772618400, 0)) || s.Status != SubPastDue {
		t.Fatalf("record %+v", s)
	}
	// Newer API versions moved subscription and period end.
	basilInvoice := `{"id":"evt_b1","type":"invoice.paid","created":5,"data":{"object":{"id":"in_9","customer":"cus_9","status":"paid","amount_paid":700,
		"parent":{"subscription_details":{"subscription":"sub_9"}}}}}`
	basilSub := `{"id":"evt_b2","type":"customer.subscription.updated","created":6,"data":{"object":{"id":"sub_9","customer":"cus_9","status":"active",
		"items":{"data":[{"price":{"id":"price_9"},"current_period_end":1800000000}]}}}}`
	var b *Subscription
	for _, body := range []string{basilInvoice, basilSub} {
		next, _, _, err := ApplySubscription(b, parse(t, []byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		b = &next
	}
	if b.ID != "sub_9" || b.LastInvoice.Amount != 700 || b.Price != "price_9" || b.CurrentPeriodEnd.Unix() != 1800000000 {
		t.Fatalf("basil record %+v", b)
	}
	// A subscription-mode checkout links the customer to the subscription.
	cs := sample(t, "checkout.session.completed", withObject("mode", "subscription"), withObject("payment_intent", nil), withObject("subscription", "sub_1RZx6b2eZvKYlo2CtW9fJ2Ka"))
	ev := parse(t, cs)
	if ev.PaymentIntent != "" || ev.Customer != "cus_RZx4qT8mWk2LhN" {
		t.Fatalf("targets pi=%q cus=%q", ev.PaymentIntent, ev.Customer)
	}
	linked, changed, out, err := ApplySubscription(nil, ev)
	if err != nil || !changed || len(out) != 0 || linked.ID != "sub_1RZx6b2eZvKYlo2CtW9fJ2Ka" {
		t.Fatalf("link: %+v changed=%v out=%v err=%v", linked, changed, out, err)
	}
}

func TestForwardAndProcess(t *testing.T) {
	tests := []struct {
		file        string
		wantSubject string
		wantDomain  []string
	}{
		{"customer.created", "stripe:evt_1RZx4x2eZvKYlo2CcC7rT014", nil},
		{"payment_intent.succeeded", "payment:pi_3RZx5a2eZvKYlo2C0m8kQpLd", []string{EventPaymentSucceeded}},
		{"customer.subscription.created", "subscription:cus_RZx4qT8mWk2LhN", []string{EventSubscriptionActivated}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			ev := parse(t, sample(t, tt.file))
			r, err := Process(ev, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			raw := r.Emitted[len(r.Emitted)-1]
			if raw.Type != "stripe."+ev.Type || raw.ID != ev.ID+":stripe."+ev.Type || raw.Subject != tt.wantSubject || !raw.IsRaw() {
				t.Fatalf("raw forward %+v", raw)
			}
			if got := types(r.Emitted[:len(r.Emitted)-1]); !reflect.DeepEqual(got, tt.wantDomain) {
				t.Fatalf("domain events %v", got)
			}
			if !json.Valid(raw.Data) || string(raw.Data) != string(ev.Body) {
				t.Fatal("raw data is not the body")
			}
		})
	}
}

// store simulates the table: records are saved as JSON (as the store does),
// and only when Apply reports a change.
type store struct {
	payments map[string][]byte
	subs     map[string][]byte
	emitted  []domain.Event
}

func (s *store) apply(t *testing.T, body []byte) {
	t.Helper()
	ev := parse(t, body)
	var p *Payment
	var sub *Subscription
	if b, ok := s.payments[ev.PaymentIntent]; ok {
		p = new(Payment)
		if err := json.Unmarshal(b, p); err != nil {
			t.Fatal(err)
		}
	}
	if b, ok := s.subs[ev.Customer]; ok {
		sub = new(Subscription)
		if err := json.Unmarshal(b, sub); err != nil {
			t.Fatal(err)
		}
	}
	r, err := Process(ev, p, sub)
	if err != nil {
		t.Fatal(err)
	}
	if r.PaymentChanged {
		s.payments[ev.PaymentIntent], _ = json.Marshal(r.Payment)
	}
	if r.SubscriptionChanged {
		s.subs[ev.Customer], _ = json.Marshal(r.Subscription)
	}
	for _, e := range r.Emitted {
		if !e.IsRaw() {
			s.emitted = append(s.emitted, e)
		}
	}
}

func run(t *testing.T, bodies [][]byte) *store {
	s := &store{payments: map[string][]byte{}, subs: map[string][]byte{}}
	for _, b := range bodies {
		s.apply(t, b)
	}
	return s
}

func TestShuffleDuplicateReplay(t *testing.T) {
	// The scenario: a failed attempt, then success, checkout, partial and
	// full refund, dispute; a subscription's life; an unrelated cancel and an
	// unhandled event; plus variants with other timestamps: a tie with the
	// partial refund, a retried "processing" sent late, a second failure.
	bodies := [][]byte{}
	for _, f := range []string{"payment_intent.payment_failed", "payment_intent.processing", "payment_intent.succeeded", "checkout.session.completed",
		"charge.refunded_partial", "charge.refunded", "charge.dispute.created", "payment_intent.canceled", "customer.created",
		"customer.subscription.created", "invoice.paid", "invoice.payment_failed", "customer.subscription.updated", "customer.subscription.deleted"} {
		bodies = append(bodies, sample(t, f))
	}
	bodies = append(bodies,
		sample(t, "payment_intent.succeeded", withID("evt_tie_succeeded"), withCreated(1767348000)),
		sample(t, "payment_intent.payment_failed", withID("evt_second_failure"), withCreated(1767261550)),
		sample(t, "payment_intent.processing", withID("evt_retry_processing"), withCreated(1767261580)),
		sample(t, "customer.subscription.updated", withID("evt_sub_active_again"), withCreated(1769990000), withObject("status", "active")),
	)
	// In order = by Stripe's created time (ties by id, as the versions do).
	inOrder := append([][]byte(nil), bodies...)
	sort.SliceStable(inOrder, func(i, j int) bool {
		a, b := parse(t, inOrder[i]), parse(t, inOrder[j])
		if !a.Created.Equal(b.Created) {
			return a.Created.Before(b.Created)
		}
		return a.ID < b.ID
	})
	want := run(t, inOrder)
	wantCounts := countBy(want.emitted)
	if got := wantCounts["payment:pi_3RZx5a2eZvKYlo2C0m8kQpLd "+EventPaymentRefunded]; got != 2 {
		t.Fatalf("in-order refunds emitted %d, want 2 (partial, full)", got)
	}
	var p Payment
	_ = json.Unmarshal(want.payments["pi_3RZx5a2eZvKYlo2C0m8kQpLd"], &p)
	if p.Status != StatusDisputed || p.AmountRefunded != 2000 || p.Customer == "" {
		t.Fatalf("in-order payment %+v", p)
	}
	var sub Subscription
	_ = json.Unmarshal(want.subs["cus_RZx4qT8mWk2LhN"], &sub)
	if sub.Status != SubCanceled || sub.Premium || sub.LastInvoice.ID != "in_1Sa3Kd2eZvKYlo2CvB6wX0Lm" {
		t.Fatalf("in-order subscription %+v", sub)
	}

	r := rand.New(rand.NewSource(20260105))
	for i := range 200 {
		seq := make([][]byte, 0, 3*len(bodies))
		for _, j := range r.Perm(len(bodies)) {
			seq = append(seq, bodies[j])
			if r.Intn(3) == 0 { // duplicate delivery
				seq = append(seq, bodies[j])
			}
		}
		for range 5 { // replays of random earlier events at the end
			seq = append(seq, bodies[r.Intn(len(bodies))])
		}
		got := run(t, seq)
		t.Run(fmt.Sprintf("perm%03d", i), func(t *testing.T) {
			if !reflect.DeepEqual(got.payments, want.payments) {
				t.Fatalf("payments differ:\n got %s\nwant %s", dump(got.payments), dump(want.payments))
			}
			if !reflect.DeepEqual(got.subs, want.subs) {
				t.Fatalf("subscriptions differ:\n got %s\nwant %s", dump(got.subs), dump(want.subs))
			}
			seen := map[string]bool{}
			for _, e := range got.emitted {
				if seen[e.ID] {
					t.Fatalf("domain event %s emitted twice", e.ID)
				}
				seen[e.ID] = true
			}
			for k, n := range countBy(got.emitted) {
				if n > wantCounts[k] {
					t.Fatalf("%s emitted %d times, in order only %d", k, n, wantCounts[k])
				}
			}
		})
	}
}

func countBy(evs []domain.Event) map[string]int {
	m := map[string]int{}
	for _, e := range evs {
		m[e.Subject+" "+e.Type]++
	}
	return m
}

func dump(m map[string][]byte) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, m[k])
	}
	return b.String()
}

func FuzzParseStripe(f *testing.F) {
	entries, _ := os.ReadDir(samples)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".json") {
			b, err := os.ReadFile(filepath.Join(samples, e.Name()))
			if err == nil {
				f.Add(b)
			}
		}
	}
	f.Add([]byte(`{"id":"evt_1","type":"charge.refunded","created":1,"data":{"object":{"id":"ch_1","amount":1,"amount_refunded":0,"payment_intent":{"id":"pi_1"}}}}`))
	f.Add([]byte(`{"id":"evt_1","type":"invoice.paid","created":-1,"data":{"object":null}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := Parse(body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not ErrMalformed: %v", err)
			}
			return
		}
		r, err := Process(ev, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		// Replaying onto the result changes nothing and emits only the raw forward.
		r2, err := Process(ev, r.Payment, r.Subscription)
		if err != nil {
			t.Fatal(err)
		}
		if r2.PaymentChanged || r2.SubscriptionChanged || len(r2.Emitted) != 1 {
			t.Fatalf("replay changed state: %+v", r2)
		}
	})
}

func TestFromEnvelope(t *testing.T) {
	ev, err := FromEnvelope(envelope.Envelope{Provider: "stripe", EventID: "evt_x", Body: sample(t, "invoice.paid")})
	if err != nil || ev.ID != "evt_1RZx6c2eZvKYlo2CiP4aI011" || ev.Type != TypeInvoicePaid {
		t.Fatalf("%+v %v", ev, err)
	}
	if _, err := FromEnvelope(envelope.Envelope{EventID: "evt_bad", Body: []byte("x")}); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "evt_bad") {
		t.Fatalf("err = %v", err)
	}
}
