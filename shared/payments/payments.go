// Package payments is the pure core of the payments processor: Stripe events
// in, payment and subscription records plus domain events out. No I/O.
//
// Order safety: every field of a record is a last-writer-wins register
// versioned by (Stripe event created, precedence rank, event id) — see
// domain.Version. A write only lands when its version is newer than the
// field's, so an older event never overwrites newer state, the same set of
// events yields the same record in any arrival order, and a replayed event
// (equal version) changes nothing.
//
// Domain events are milestones, announced the same whatever the arrival
// order. In order, an event is announced when the status changes into a
// status that names one (payment.succeeded, payment.failed,
// payment.refunded for a partial and again for a full refund,
// payment.disputed; subscription.activated when the subscription becomes
// premium, subscription.past_due, subscription.canceled). Each record keeps
// its status writes in version order (History, a domain.Timeline, bounded),
// so a late older event, which leaves the status alone, still announces the
// change it stood for: charge.refunded before payment_intent.succeeded ends
// "refunded" and announces payment.refunded, then payment.succeeded when
// the success arrives. Every run of equal statuses in version order is
// announced exactly once, so the set of announcements per record (by type)
// is the in-order one; a redelivery announces nothing. A late announcement
// has its own occurred time and late=true (in the event and in its data,
// whose status is the milestone's, not the record's current one).
// Cycles count: failed → processing → failed announces payment.failed twice,
// back-to-back failures once; past_due → active announces
// subscription.activated again.
package payments

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/hookstack/hookstack/shared/domain"
)

// Provider is the source name used in domain events.
const Provider = "stripe"

// Payment statuses.
const (
	StatusProcessing        = "processing"
	StatusSucceeded         = "succeeded"
	StatusFailed            = "failed"
	StatusCanceled          = "canceled"
	StatusRefunded          = "refunded"
	StatusPartiallyRefunded = "partially_refunded"
	StatusDisputed          = "disputed"
)

// statusRank is the precedence for two status writes with the same event
// time (Stripe's `created` has one-second resolution). A PaymentIntent moves
// processing → failed → (retry) → succeeded, or ends canceled; a succeeded
// payment may then be partially refunded, fully refunded or disputed. At a
// tie the state that can only come later in that lifecycle wins. A dispute
// can follow a refund (the cardholder disputes anyway) but a disputed charge
// cannot be refunded, so disputed is last; a full refund can follow a
// partial one, never the reverse; refunds and disputes need a succeeded
// payment before them; succeeded and canceled are both terminal, and a
// PaymentIntent is canceled after a failed attempt (abandoned) but never
// fails after it is canceled, hence canceled > failed; processing precedes
// every outcome:
//
//	disputed > refunded > partially_refunded > succeeded > canceled > failed > processing
var statusRank = map[string]int{
	StatusProcessing:        1,
	StatusFailed:            2,
	StatusCanceled:          3,
	StatusSucceeded:         4,
	StatusPartiallyRefunded: 5,
	StatusRefunded:          6,
	StatusDisputed:          7,
}

// Domain event types.
const (
	EventPaymentSucceeded      = "payment.succeeded"
	EventPaymentFailed         = "payment.failed"
	EventPaymentRefunded       = "payment.refunded"
	EventPaymentDisputed       = "payment.disputed"
	EventSubscriptionActivated = "subscription.activated"
	EventSubscriptionCanceled  = "subscription.canceled"
	EventSubscriptionPastDue   = "subscription.past_due"
)

// paymentEvents maps a status to the domain event emitted on entering it
// (partially_refunded also emits payment.refunded, with full=false).
var paymentEvents = map[string]string{
	StatusSucceeded:         EventPaymentSucceeded,
	StatusFailed:            EventPaymentFailed,
	StatusRefunded:          EventPaymentRefunded,
	StatusPartiallyRefunded: EventPaymentRefunded,
	StatusDisputed:          EventPaymentDisputed,
}

// ErrWrongRecord means Apply was given a record that the event is not about.
var ErrWrongRecord = errors.New("event does not concern this record")

// Payment is the record of one PaymentIntent. JSON field names are the dev
// server's API (`GET /api/payments/{id}`); Versions hold the per-field write
// versions that make updates order-safe.
type Payment struct {
	ID             string          `json:"id"`
	Status         string          `json:"status"`
	Amount         int64           `json:"amount"`
	AmountRefunded int64           `json:"amount_refunded"`
	Currency       string          `json:"currency"`
	Customer       string          `json:"customer"`
	Subscription   string          `json:"subscription,omitempty"`
	UpdatedAt      time.Time       `json:"updated_at"`
	LastEventID    string          `json:"last_event_id"`
	Versions       PaymentVersions `json:"versions"`
	// History is the status writes in version order: which milestones
	// (payment.succeeded, ...) the payment has announced (see the package
	// doc).
	History domain.Timeline `json:"history,omitzero"`
}

// PaymentVersions is the version of the last write of each Payment field.
type PaymentVersions struct {
	Status         domain.Version `json:"status,omitzero"`
	Amount         domain.Version `json:"amount,omitzero"`
	AmountRefunded domain.Version `json:"amount_refunded,omitzero"`
	Currency       domain.Version `json:"currency,omitzero"`
	Customer       domain.Version `json:"customer,omitzero"`
	Subscription   domain.Version `json:"subscription,omitzero"`
}

// Subject names the record in domain events.
func (p Payment) Subject() string { return "payment:" + p.ID }

// Invoice is a subscription's last invoice.
type Invoice struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Amount int64  `json:"amount"`
}

// Subscription statuses this package names (others pass through as Stripe
// sends them).
const (
	SubIncomplete        = "incomplete"
	SubIncompleteExpired = "incomplete_expired"
	SubTrialing          = "trialing"
	SubActive            = "active"
	SubPastDue           = "past_due"
	SubUnpaid            = "unpaid"
	SubPaused            = "paused"
	SubCanceled          = "canceled"
)

// subRank breaks ties between subscription status writes with equal event
// times: terminal states first, then the states that restrict access, so a
// tie never grants premium by accident (the next event, a second later,
// corrects a wrong guess either way):
//
//	canceled > incomplete_expired > unpaid > past_due > paused > active > trialing > incomplete
var subRank = map[string]int{
	SubIncomplete:        1,
	SubTrialing:          2,
	SubActive:            3,
	SubPaused:            4,
	SubPastDue:           5,
	SubUnpaid:            6,
	SubIncompleteExpired: 7,
	SubCanceled:          8,
}

// invoiceRank: at equal times a paid invoice beats a failed attempt (a retry
// that succeeds in the same second comes after the failure).
var invoiceRank = map[string]int{TypeInvoicePaymentFailed: 1, TypeInvoicePaid: 2}

// Subscription is the record of a customer's subscription (one per
// customer: `GET /api/subscriptions/{customer_id}`). Premium is derived:
// status active or trialing.
type Subscription struct {
	Customer         string               `json:"customer"`
	ID               string               `json:"id"`
	Status           string               `json:"status"`
	Price            string               `json:"price"`
	CurrentPeriodEnd time.Time            `json:"current_period_end,omitzero"`
	Premium          bool                 `json:"premium"`
	LastInvoice      Invoice              `json:"last_invoice,omitzero"`
	UpdatedAt        time.Time            `json:"updated_at"`
	LastEventID      string               `json:"last_event_id"`
	Versions         SubscriptionVersions `json:"versions"`
	// History is the status writes in version order (see Payment.History).
	History domain.Timeline `json:"history,omitzero"`
}

// SubscriptionVersions is the version of the last write of each field.
type SubscriptionVersions struct {
	ID               domain.Version `json:"id,omitzero"`
	Status           domain.Version `json:"status,omitzero"`
	Price            domain.Version `json:"price,omitzero"`
	CurrentPeriodEnd domain.Version `json:"current_period_end,omitzero"`
	LastInvoice      domain.Version `json:"last_invoice,omitzero"`
}

// Subject names the record in domain events.
func (s Subscription) Subject() string { return "subscription:" + s.Customer }

// IsPremium reports whether a subscription status grants premium.
func IsPremium(status string) bool { return status == SubActive || status == SubTrialing }

func (ev Event) version(rank int) domain.Version {
	return domain.Version{At: ev.Created, Rank: rank, EventID: ev.ID}
}

// ApplyPayment applies ev to the payment record old (nil when none exists
// yet). It returns the next record, whether it must be saved (some field
// version advanced) and the domain events to emit (only on a status change
// into succeeded, failed, refunded, partially_refunded or disputed).
// Events that do not concern a payment leave it unchanged.
func ApplyPayment(old *Payment, ev Event) (next Payment, changed bool, emitted []domain.Event, err error) {
	if old != nil {
		next = *old
	}
	if !ev.Handled || ev.payment == nil || ev.PaymentIntent == "" {
		return next, false, nil, nil
	}
	if old != nil && old.ID != ev.PaymentIntent {
		return next, false, nil, fmt.Errorf("apply %s to payment %s: %w", ev.ID, old.ID, ErrWrongRecord)
	}
	next.ID = ev.PaymentIntent
	f := ev.payment
	var adv [7]bool
	var milestones []domain.Milestone
	if f.status != "" {
		v := ev.version(statusRank[f.status])
		adv[0], _ = domain.Set(&next.Status, &next.Versions.Status, f.status, v)
		adv[6], milestones = next.History.Insert(domain.Mark{Version: v, Value: f.status}, paymentPhase)
	}
	if f.amount != nil {
		adv[1], _ = domain.Set(&next.Amount, &next.Versions.Amount, *f.amount, ev.version(0))
	}
	if f.amountRefunded != nil {
		adv[2], _ = domain.Set(&next.AmountRefunded, &next.Versions.AmountRefunded, *f.amountRefunded, ev.version(refundedRank(*f.amountRefunded)))
	}
	if f.currency != "" {
		adv[3], _ = domain.Set(&next.Currency, &next.Versions.Currency, f.currency, ev.version(0))
	}
	if f.customer != "" {
		adv[4], _ = domain.Set(&next.Customer, &next.Versions.Customer, f.customer, ev.version(0))
	}
	if f.subscription != "" {
		adv[5], _ = domain.Set(&next.Subscription, &next.Versions.Subscription, f.subscription, ev.version(0))
	}
	for _, a := range adv {
		changed = changed || a
	}
	if !changed {
		if old == nil {
			return Payment{}, false, nil, nil
		}
		return next, false, nil, nil
	}
	v := domain.Max(domain.Max(domain.Max(next.Versions.Status, next.Versions.Amount), domain.Max(next.Versions.AmountRefunded, next.Versions.Currency)), domain.Max(next.Versions.Customer, next.Versions.Subscription))
	next.UpdatedAt, next.LastEventID = v.At, v.EventID
	for _, m := range milestones {
		d := paymentData(next)
		if m.Late {
			d = lateData(d, m, ev)
		}
		emitted = append(emitted, m.Event(m.Name, next.Subject(), Provider, d))
	}
	return next, true, emitted, nil
}

// refundedRank ranks amount_refunded writes of equal `created` by the
// amount: Stripe's amount_refunded is cumulative and only grows, so of two
// refunds in the same second the larger total is the later state (the
// event ids say nothing about their order).
func refundedRank(amount int64) int {
	return int(min(max(amount, 0), math.MaxInt32))
}

// paymentPhase: a run of one status announces its event (a partial and a
// full refund are different runs, both payment.refunded).
func paymentPhase(status string) (run, milestone string) { return status, paymentEvents[status] }

// lateData describes a late milestone as of its own write: its status (and
// for a refund the amount that write reports) over the record's other fields.
func lateData(d paymentEventData, m domain.Milestone, ev Event) paymentEventData {
	d.Status, d.Full, d.Late = m.Mark.Value, nil, true
	if d.Status == StatusRefunded || d.Status == StatusPartiallyRefunded {
		full := d.Status == StatusRefunded
		d.Full = &full
		if m.Mark.EventID == ev.ID && ev.payment.amountRefunded != nil {
			d.AmountRefunded = *ev.payment.amountRefunded
		}
	}
	return d
}

type paymentEventData struct {
	ID             string `json:"id"`
	Status         string `json:"status"`
	Amount         int64  `json:"amount"`
	AmountRefunded int64  `json:"amount_refunded,omitempty"`
	Currency       string `json:"currency"`
	Customer       string `json:"customer,omitempty"`
	Full           *bool  `json:"full,omitempty"` // payment.refunded: full or partial
	Late           bool   `json:"late,omitempty"` // see domain.Event.Late
}

func paymentData(p Payment) paymentEventData {
	d := paymentEventData{ID: p.ID, Status: p.Status, Amount: p.Amount, AmountRefunded: p.AmountRefunded, Currency: p.Currency, Customer: p.Customer}
	if p.Status == StatusRefunded || p.Status == StatusPartiallyRefunded {
		full := p.Status == StatusRefunded
		d.Full = &full
	}
	return d
}

// ApplySubscription applies ev to the subscription record of ev.Customer
// (old nil when none exists). Emits subscription.activated when the record
// becomes premium (active or trialing) from not premium or from nothing,
// subscription.past_due and subscription.canceled when the status changes
// into those values.
func ApplySubscription(old *Subscription, ev Event) (next Subscription, changed bool, emitted []domain.Event, err error) {
	if old != nil {
		next = *old
	}
	if !ev.Handled || ev.Customer == "" || (ev.sub == nil && ev.invoice == nil && ev.subID == "") {
		return next, false, nil, nil
	}
	if old != nil && old.Customer != ev.Customer {
		return next, false, nil, fmt.Errorf("apply %s to subscription of %s: %w", ev.ID, old.Customer, ErrWrongRecord)
	}
	next.Customer = ev.Customer
	var adv [6]bool
	var milestones []domain.Milestone
	if ev.subID != "" {
		adv[0], _ = domain.Set(&next.ID, &next.Versions.ID, ev.subID, ev.version(0))
	}
	if s := ev.sub; s != nil {
		v := ev.version(subRank[s.status])
		adv[1], _ = domain.Set(&next.Status, &next.Versions.Status, s.status, v)
		adv[5], milestones = next.History.Insert(domain.Mark{Version: v, Value: s.status}, premiumPhase, subStatusPhase)
		if s.price != "" {
			adv[2], _ = domain.Set(&next.Price, &next.Versions.Price, s.price, ev.version(0))
		}
		if !s.currentPeriodEnd.IsZero() {
			adv[3], _ = domain.Set(&next.CurrentPeriodEnd, &next.Versions.CurrentPeriodEnd, s.currentPeriodEnd, ev.version(0))
		}
	}
	if ev.invoice != nil {
		adv[4], _ = domain.Set(&next.LastInvoice, &next.Versions.LastInvoice, *ev.invoice, ev.version(invoiceRank[ev.Type]))
	}
	for _, a := range adv {
		changed = changed || a
	}
	if !changed {
		if old == nil {
			return Subscription{}, false, nil, nil
		}
		return next, false, nil, nil
	}
	next.Premium = IsPremium(next.Status)
	vs := next.Versions
	v := domain.Max(domain.Max(domain.Max(vs.ID, vs.Status), domain.Max(vs.Price, vs.CurrentPeriodEnd)), vs.LastInvoice)
	next.UpdatedAt, next.LastEventID = v.At, v.EventID
	for _, m := range milestones {
		d := subscriptionData(next)
		if m.Late {
			d.Status, d.Premium, d.Late = m.Mark.Value, IsPremium(m.Mark.Value), true
		}
		emitted = append(emitted, m.Event(m.Name, next.Subject(), Provider, d))
	}
	return next, true, emitted, nil
}

// premiumPhase: a run of premium statuses (active, trialing) announces
// subscription.activated; a run of the others announces nothing.
func premiumPhase(status string) (run, milestone string) {
	if IsPremium(status) {
		return "premium", EventSubscriptionActivated
	}
	return "free", ""
}

// subStatusPhase: a run of past_due or canceled announces its event.
func subStatusPhase(status string) (run, milestone string) {
	switch status {
	case SubPastDue:
		return status, EventSubscriptionPastDue
	case SubCanceled:
		return status, EventSubscriptionCanceled
	}
	return status, ""
}

type subscriptionEventData struct {
	Customer         string    `json:"customer"`
	ID               string    `json:"id"`
	Status           string    `json:"status"`
	Price            string    `json:"price,omitempty"`
	CurrentPeriodEnd time.Time `json:"current_period_end,omitzero"`
	Premium          bool      `json:"premium"`
	Late             bool      `json:"late,omitempty"` // see domain.Event.Late
}

func subscriptionData(s Subscription) subscriptionEventData {
	return subscriptionEventData{Customer: s.Customer, ID: s.ID, Status: s.Status, Price: s.Price, CurrentPeriodEnd: s.CurrentPeriodEnd, Premium: s.Premium}
}

// Forward is the raw forward of ev ("stripe.<type>"), naming the payment or
// subscription record it concerns when there is one.
func Forward(ev Event) domain.Event {
	raw := domain.Raw(Provider, ev.ID, ev.Type, ev.Created, ev.Body)
	switch {
	case ev.PaymentIntent != "":
		return raw.WithSubject("payment:" + ev.PaymentIntent)
	case ev.Customer != "":
		return raw.WithSubject("subscription:" + ev.Customer)
	}
	return raw
}

// Result is the outcome of Process for one event.
type Result struct {
	Payment             *Payment // nil when the event concerns no payment
	PaymentChanged      bool
	Subscription        *Subscription // nil when it concerns no subscription
	SubscriptionChanged bool
	// Emitted holds the domain events, then the raw forward (always last).
	Emitted []domain.Event
}

// Process applies ev to both records it may concern (pass the current
// records of ev.PaymentIntent and ev.Customer, nil when absent) and adds the
// raw forward. The store saves each changed record with a conditional write.
func Process(ev Event, payment *Payment, sub *Subscription) (Result, error) {
	var r Result
	if ev.PaymentIntent != "" && ev.payment != nil {
		p, changed, out, err := ApplyPayment(payment, ev)
		if err != nil {
			return Result{}, err
		}
		if changed || payment != nil {
			r.Payment = &p
		}
		r.PaymentChanged = changed
		r.Emitted = append(r.Emitted, out...)
	}
	if ev.Customer != "" {
		s, changed, out, err := ApplySubscription(sub, ev)
		if err != nil {
			return Result{}, err
		}
		if changed || sub != nil {
			r.Subscription = &s
		}
		r.SubscriptionChanged = changed
		r.Emitted = append(r.Emitted, out...)
	}
	r.Emitted = append(r.Emitted, Forward(ev))
	return r, nil
}
