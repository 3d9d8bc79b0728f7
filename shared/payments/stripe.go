package payments

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hookstack/hookstack/shared/domain"
	"github.com/hookstack/hookstack/shared/envelope"
)

// ErrMalformed marks a Stripe event that cannot be processed: the body is not
// a Stripe event, or an event type this processor handles lacks the fields it
// needs. Permanent: the message goes to the DLQ with this reason.
var ErrMalformed = errors.New("malformed stripe event")

// Stripe event types the processor handles.
const (
	TypePaymentIntentSucceeded     = "payment_intent.succeeded"
	TypePaymentIntentPaymentFailed = "payment_intent.payment_failed"
	TypePaymentIntentProcessing    = "payment_intent.processing"
	TypePaymentIntentCanceled      = "payment_intent.canceled"
	TypeChargeRefunded             = "charge.refunded"
	TypeChargeDisputeCreated       = "charge.dispute.created"
	TypeInvoicePaid                = "invoice.paid"
	TypeInvoicePaymentFailed       = "invoice.payment_failed"
	TypeSubscriptionCreated        = "customer.subscription.created"
	TypeSubscriptionUpdated        = "customer.subscription.updated"
	TypeSubscriptionDeleted        = "customer.subscription.deleted"
	TypeCheckoutSessionCompleted   = "checkout.session.completed"
)

// Event is a parsed Stripe event: its identity and the facts this processor
// takes from it. Which records it touches: PaymentIntent (the payment record
// key) and/or Customer (the subscription record key); both empty for event
// types the processor does not handle (they are only forwarded raw).
type Event struct {
	ID      string
	Type    string
	Created time.Time
	Body    []byte
	Handled bool

	PaymentIntent string // payment record key, "" when the event has none
	Customer      string // subscription record key, "" when none

	payment *paymentFacts
	sub     *subscriptionFacts
	invoice *Invoice
	subID   string // subscription id linked to Customer
}

type paymentFacts struct {
	status         string // "" = leave the status alone
	amount         *int64
	amountRefunded *int64
	currency       string
	customer       string
	subscription   string
}

type subscriptionFacts struct {
	id               string
	status           string
	price            string
	currentPeriodEnd time.Time
}

// expandable is a Stripe reference: an id string, or the expanded object.
type expandable string

func (e *expandable) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*e = ""
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*e = expandable(s)
		return nil
	default:
		var o struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(b, &o); err != nil {
			return err
		}
		*e = expandable(o.ID)
		return nil
	}
}

type envelopeJSON struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Type    string `json:"type"`
	Created *int64 `json:"created"`
	Data    struct {
		Object json.RawMessage `json:"object"`
	} `json:"data"`
}

type paymentIntentJSON struct {
	ID       string     `json:"id"`
	Amount   *int64     `json:"amount"`
	Currency string     `json:"currency"`
	Customer expandable `json:"customer"`
	Status   string     `json:"status"`
}

type chargeJSON struct {
	ID             string     `json:"id"`
	Amount         *int64     `json:"amount"`
	AmountRefunded *int64     `json:"amount_refunded"`
	Refunded       bool       `json:"refunded"`
	Currency       string     `json:"currency"`
	Customer       expandable `json:"customer"`
	PaymentIntent  expandable `json:"payment_intent"`
}

type disputeJSON struct {
	ID            string     `json:"id"`
	Currency      string     `json:"currency"`
	Charge        expandable `json:"charge"`
	PaymentIntent expandable `json:"payment_intent"`
}

type priceRef struct {
	ID string `json:"id"`
}

type subscriptionJSON struct {
	ID               string     `json:"id"`
	Customer         expandable `json:"customer"`
	Status           string     `json:"status"`
	CurrentPeriodEnd *int64     `json:"current_period_end"`
	Items            struct {
		Data []struct {
			Price            priceRef `json:"price"`
			CurrentPeriodEnd *int64   `json:"current_period_end"` // API 2025-03-31 and later
		} `json:"data"`
	} `json:"items"`
}

type invoiceJSON struct {
	ID            string     `json:"id"`
	Customer      expandable `json:"customer"`
	Status        string     `json:"status"`
	AmountPaid    *int64     `json:"amount_paid"`
	AmountDue     *int64     `json:"amount_due"`
	Subscription  expandable `json:"subscription"`   // before API 2025-03-31
	PaymentIntent expandable `json:"payment_intent"` // before API 2025-03-31
	Parent        *struct {
		SubscriptionDetails *struct {
			Subscription expandable `json:"subscription"`
		} `json:"subscription_details"`
	} `json:"parent"` // API 2025-03-31 and later
}

type checkoutSessionJSON struct {
	ID            string     `json:"id"`
	Mode          string     `json:"mode"`
	Customer      expandable `json:"customer"`
	PaymentIntent expandable `json:"payment_intent"`
	Subscription  expandable `json:"subscription"`
	AmountTotal   *int64     `json:"amount_total"`
	Currency      string     `json:"currency"`
}

func malformed(typ, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrMalformed, typ, fmt.Sprintf(format, args...))
}

// Parse reads a Stripe event body (the exact bytes Stripe signed). Unknown
// event types parse with Handled false; a body that is not a Stripe event,
// or a handled type missing what it needs, is ErrMalformed.
func Parse(body []byte) (Event, error) {
	var env envelopeJSON
	if err := json.Unmarshal(body, &env); err != nil {
		return Event{}, fmt.Errorf("%w: %s", ErrMalformed, domain.DecodeError(err))
	}
	if env.ID == "" || env.Type == "" || env.Created == nil {
		return Event{}, fmt.Errorf("%w: missing id, type or created", ErrMalformed)
	}
	ev := Event{ID: env.ID, Type: env.Type, Created: time.Unix(*env.Created, 0).UTC(), Body: body}
	obj := env.Data.Object
	decode := func(v any) error {
		if len(obj) == 0 || bytes.Equal(bytes.TrimSpace(obj), []byte("null")) {
			return malformed(env.Type, "missing data.object")
		}
		if err := json.Unmarshal(obj, v); err != nil {
			return malformed(env.Type, "data.object: %s", domain.DecodeError(err))
		}
		return nil
	}
	switch env.Type {
	case TypePaymentIntentSucceeded, TypePaymentIntentPaymentFailed, TypePaymentIntentProcessing, TypePaymentIntentCanceled:
		var pi paymentIntentJSON
		if err := decode(&pi); err != nil {
			return Event{}, err
		}
		if pi.ID == "" || pi.Amount == nil || pi.Currency == "" {
			return Event{}, malformed(env.Type, "payment intent without id, amount or currency")
		}
		ev.PaymentIntent = pi.ID
		ev.payment = &paymentFacts{
			status:   map[string]string{TypePaymentIntentSucceeded: StatusSucceeded, TypePaymentIntentPaymentFailed: StatusFailed, TypePaymentIntentProcessing: StatusProcessing, TypePaymentIntentCanceled: StatusCanceled}[env.Type],
			amount:   pi.Amount,
			currency: pi.Currency,
			customer: string(pi.Customer),
		}
	case TypeChargeRefunded:
		var ch chargeJSON
		if err := decode(&ch); err != nil {
			return Event{}, err
		}
		if ch.ID == "" || ch.Amount == nil || ch.AmountRefunded == nil {
			return Event{}, malformed(env.Type, "charge without id, amount or amount_refunded")
		}
		status := StatusPartiallyRefunded
		if ch.Refunded || *ch.AmountRefunded >= *ch.Amount {
			status = StatusRefunded
		}
		// A charge made without a PaymentIntent (legacy Charges API) has no
		// payment record: it is forwarded raw only.
		ev.PaymentIntent = string(ch.PaymentIntent)
		ev.payment = &paymentFacts{status: status, amount: ch.Amount, amountRefunded: ch.AmountRefunded, currency: ch.Currency, customer: string(ch.Customer)}
	case TypeChargeDisputeCreated:
		var du disputeJSON
		if err := decode(&du); err != nil {
			return Event{}, err
		}
		if du.ID == "" || du.Charge == "" {
			return Event{}, malformed(env.Type, "dispute without id or charge")
		}
		ev.PaymentIntent = string(du.PaymentIntent)
		ev.payment = &paymentFacts{status: StatusDisputed, currency: du.Currency}
	case TypeSubscriptionCreated, TypeSubscriptionUpdated, TypeSubscriptionDeleted:
		var s subscriptionJSON
		if err := decode(&s); err != nil {
			return Event{}, err
		}
		if s.ID == "" || s.Customer == "" || s.Status == "" {
			return Event{}, malformed(env.Type, "subscription without id, customer or status")
		}
		f := &subscriptionFacts{id: s.ID, status: s.Status}
		if env.Type == TypeSubscriptionDeleted {
			f.status = SubCanceled
		}
		end := s.CurrentPeriodEnd
		if len(s.Items.Data) > 0 {
			f.price = s.Items.Data[0].Price.ID
			if end == nil {
				end = s.Items.Data[0].CurrentPeriodEnd
			}
		}
		if end != nil {
			f.currentPeriodEnd = time.Unix(*end, 0).UTC()
		}
		ev.Customer = string(s.Customer)
		ev.sub = f
		ev.subID = s.ID
	case TypeInvoicePaid, TypeInvoicePaymentFailed:
		var in invoiceJSON
		if err := decode(&in); err != nil {
			return Event{}, err
		}
		if in.ID == "" || in.Customer == "" {
			return Event{}, malformed(env.Type, "invoice without id or customer")
		}
		inv := Invoice{ID: in.ID, Status: in.Status}
		amount := in.AmountDue
		if env.Type == TypeInvoicePaid && in.AmountPaid != nil {
			amount = in.AmountPaid
		}
		if amount == nil {
			return Event{}, malformed(env.Type, "invoice without amount")
		}
		inv.Amount = *amount
		if inv.Status == "" {
			inv.Status = map[string]string{TypeInvoicePaid: "paid", TypeInvoicePaymentFailed: "open"}[env.Type]
		}
		ev.Customer = string(in.Customer)
		ev.invoice = &inv
		ev.subID = string(in.Subscription)
		if ev.subID == "" && in.Parent != nil && in.Parent.SubscriptionDetails != nil {
			ev.subID = string(in.Parent.SubscriptionDetails.Subscription)
		}
		if pi := string(in.PaymentIntent); pi != "" && ev.subID != "" {
			ev.PaymentIntent = pi
			ev.payment = &paymentFacts{subscription: ev.subID, customer: ev.Customer}
		}
	case TypeCheckoutSessionCompleted:
		var cs checkoutSessionJSON
		if err := decode(&cs); err != nil {
			return Event{}, err
		}
		if cs.ID == "" {
			return Event{}, malformed(env.Type, "session without id")
		}
		if pi := string(cs.PaymentIntent); pi != "" {
			ev.PaymentIntent = pi
			ev.payment = &paymentFacts{customer: string(cs.Customer), subscription: string(cs.Subscription)}
			if cs.AmountTotal != nil && cs.Mode == "payment" {
				ev.payment.amount = cs.AmountTotal
				ev.payment.currency = cs.Currency
			}
		}
		if cus, sub := string(cs.Customer), string(cs.Subscription); cus != "" && sub != "" {
			ev.Customer = cus
			ev.subID = sub
		}
	default:
		return ev, nil
	}
	ev.Handled = true
	return ev, nil
}

// FromEnvelope parses the body of a payments-queue envelope (fetched from the
// claim-check store first when BodyRef is set). Stripe's body carries its own
// id, type and created time, which win over the envelope's.
func FromEnvelope(env envelope.Envelope) (Event, error) {
	ev, err := Parse(env.Body)
	if err != nil {
		return Event{}, fmt.Errorf("stripe event %s: %w", env.EventID, err)
	}
	return ev, nil
}
