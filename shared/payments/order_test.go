package payments

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"

	"github.com/hookstack/hookstack/shared/domain"
)

// permutations calls f with every ordering of 0..n-1 (Heap's algorithm).
func permutations(n int, f func([]int)) {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	c := make([]int, n)
	f(p)
	for i := 0; i < n; {
		if c[i] < i {
			if i%2 == 0 {
				p[0], p[i] = p[i], p[0]
			} else {
				p[c[i]], p[i] = p[i], p[c[i]]
			}
			f(p)
			c[i]++
			i = 0
		} else {
			c[i] = 0
			i++
		}
	}
}

// stripeRun is the state of one run of events through Process, the records
// stored as JSON between events as the store does.
type stripeRun struct {
	t         *testing.T
	payments  map[string][]byte // by PaymentIntent
	sub       []byte
	announced map[string]map[string]int // subject → type → count
	ids       map[string]bool
}

func newStripeRun(t *testing.T) *stripeRun {
	return &stripeRun{t: t, payments: map[string][]byte{}, announced: map[string]map[string]int{}, ids: map[string]bool{}}
}

// apply processes ev and returns the domain events it announced.
func (r *stripeRun) apply(ev Event) []domain.Event {
	r.t.Helper()
	var p *Payment
	var s *Subscription
	if b := r.payments[ev.PaymentIntent]; b != nil {
		p = new(Payment)
		if err := json.Unmarshal(b, p); err != nil {
			r.t.Fatal(err)
		}
	}
	if r.sub != nil {
		s = new(Subscription)
		if err := json.Unmarshal(r.sub, s); err != nil {
			r.t.Fatal(err)
		}
	}
	res, err := Process(ev, p, s)
	if err != nil {
		r.t.Fatal(err)
	}
	if res.PaymentChanged {
		r.payments[ev.PaymentIntent], _ = json.Marshal(res.Payment)
	}
	if res.SubscriptionChanged {
		r.sub, _ = json.Marshal(res.Subscription)
	}
	var out []domain.Event
	for _, e := range res.Emitted {
		if strings.HasPrefix(e.Type, Provider+".") {
			continue
		}
		if r.ids[e.ID] {
			r.t.Fatalf("%s announced twice", e.ID)
		}
		r.ids[e.ID] = true
		if r.announced[e.Subject] == nil {
			r.announced[e.Subject] = map[string]int{}
		}
		r.announced[e.Subject][e.Type]++
		out = append(out, e)
	}
	return out
}

// TestAnyOrderAnnouncesAsInOrder applies every permutation of realistic
// event sequences (the events/stripe samples) and asserts: the records equal
// the in-order records; the domain events announced per record, by type,
// equal the in-order ones; a late announcement carries its own time and
// late=true; redelivering, at any point, the event just applied or an
// earlier one announces nothing and changes nothing.
func TestAnyOrderAnnouncesAsInOrder(t *testing.T) {
	tests := []struct {
		name  string
		steps [][]byte // in version order
		want  map[string]map[string]int
	}{
		{"payment lifecycle", [][]byte{
			sample(t, "payment_intent.payment_failed"), sample(t, "payment_intent.processing"), sample(t, "payment_intent.succeeded"),
			sample(t, "checkout.session.completed"), sample(t, "charge.refunded_partial"), sample(t, "charge.refunded"), sample(t, "charge.dispute.created"),
		}, map[string]map[string]int{
			"payment:pi_3RZx5a2eZvKYlo2C0m8kQpLd": {EventPaymentFailed: 1, EventPaymentSucceeded: 1, EventPaymentRefunded: 2, EventPaymentDisputed: 1},
		}},
		{"payment retried after a failure", [][]byte{
			sample(t, "payment_intent.payment_failed"), sample(t, "payment_intent.processing"),
			sample(t, "payment_intent.payment_failed", withID("evt_fail2"), withCreated(1767261610)), sample(t, "payment_intent.succeeded"),
		}, map[string]map[string]int{
			"payment:pi_3RZx5a2eZvKYlo2C0m8kQpLd": {EventPaymentFailed: 2, EventPaymentSucceeded: 1},
		}},
		{"subscription lifecycle", [][]byte{
			sample(t, "customer.subscription.created"), sample(t, "invoice.paid"), sample(t, "invoice.payment_failed"),
			sample(t, "customer.subscription.updated"), sample(t, "customer.subscription.deleted"),
		}, map[string]map[string]int{
			"subscription:cus_RZx4qT8mWk2LhN": {EventSubscriptionActivated: 1, EventSubscriptionPastDue: 1, EventSubscriptionCanceled: 1},
		}},
		{"subscription recovers from past due", [][]byte{
			sample(t, "customer.subscription.created"), sample(t, "customer.subscription.updated"),
			sample(t, "customer.subscription.updated", withID("evt_active"), withObject("status", "active"), withCreated(1769950000)),
			sample(t, "customer.subscription.deleted"),
		}, map[string]map[string]int{
			"subscription:cus_RZx4qT8mWk2LhN": {EventSubscriptionActivated: 2, EventSubscriptionPastDue: 1, EventSubscriptionCanceled: 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs := make([]Event, len(tt.steps))
			for i, b := range tt.steps {
				evs[i] = parse(t, b)
			}
			in := newStripeRun(t)
			for _, ev := range evs {
				for _, e := range in.apply(ev) {
					if e.Late {
						t.Fatalf("in order, %s is late", e.ID)
					}
				}
			}
			if !equalCounts(in.announced, tt.want) {
				t.Fatalf("in order announced %v, want %v", in.announced, tt.want)
			}
			n, late := 0, 0
			permutations(len(evs), func(perm []int) {
				n++
				r := newStripeRun(t)
				for k, j := range perm {
					for _, e := range r.apply(evs[j]) {
						if !e.OccurredAt.Equal(evs[j].Created) && e.SourceEventID == evs[j].ID {
							t.Fatalf("%s occurred %v, its event %v", e.ID, e.OccurredAt, evs[j].Created)
						}
						if e.Late {
							late++
							var d struct {
								Late bool `json:"late"`
							}
							if json.Unmarshal(e.Data, &d) != nil || !d.Late {
								t.Fatalf("late %s data %s", e.ID, e.Data)
							}
						}
					}
					// Redeliveries at this point (this event, an earlier
					// one) change nothing and announce nothing.
					before := r.state()
					for _, d := range []int{j, perm[(n*7+k)%(k+1)]} {
						if out := r.apply(evs[d]); len(out) != 0 || r.state() != before {
							t.Fatalf("order %v: redelivering %s announced %v", perm, evs[d].ID, out)
						}
					}
				}
				if r.state() != in.state() {
					t.Fatalf("order %v: records\n got %s\nwant %s", perm, r.state(), in.state())
				}
				if !equalCounts(r.announced, in.announced) {
					t.Fatalf("order %v: announced %v, in order %v", perm, r.announced, in.announced)
				}
			})
			if late == 0 {
				t.Fatalf("%d orders, no late announcement", n)
			}
			t.Logf("%d orders, %d late announcements", n, late)
		})
	}
}

// state is the records as stored.
func (r *stripeRun) state() string {
	b, _ := json.Marshal(r.payments)
	return string(b) + string(r.sub)
}

func equalCounts(a, b map[string]map[string]int) bool {
	return maps.EqualFunc(a, b, func(x, y map[string]int) bool { return maps.Equal(x, y) })
}
