package main

// The built bootstrap under the Lambda Runtime Interface Emulator with the
// SQS and DynamoDB emulators: a batch of a good message, one whose write
// fails once (HOOKSTACK_FAULTS) and a malformed one.

import (
	"testing"

	"github.com/hookstack/hookstack/shared/payments"
	"github.com/hookstack/hookstack/shared/process"
	"github.com/hookstack/hookstack/shared/process/processtest"
	"github.com/hookstack/hookstack/shared/store"
)

func TestPaymentsBootstrapUnderRIE(t *testing.T) {
	all := processtest.Samples(t)
	good := processtest.One(t, all, "stripe/payment_intent.succeeded")
	bad := good
	bad.ID, bad.EventID = "env-bad", "evt_bad"
	bad.Body = []byte(`{"id":"evt_bad","object":"event","type":"payment_intent.succeeded","created":1767261630,"data":{"object":{"object":"payment_intent"}}}`)
	processtest.RunBootstrap(t, process.Payments, processtest.Case{
		Good:      good,
		Transient: processtest.One(t, all, "stripe/payment_intent.canceled"),
		FaultKind: process.KindPayment, FaultKey: "pi_3RZxA12eZvKYlo2C1c4NwTsv",
		Bad: processtest.Encode(t, bad), BadReason: "malformed stripe event",
		CheckGood: func(t *testing.T, s store.Store) {
			p := processtest.Get[payments.Payment](t, s, process.KindPayment, "pi_3RZx5a2eZvKYlo2C0m8kQpLd")
			if p.Status != payments.StatusSucceeded || p.Amount != 2000 {
				t.Fatalf("payment = %+v", p)
			}
		},
		CheckRetried: func(t *testing.T, s store.Store) {
			if p := processtest.Get[payments.Payment](t, s, process.KindPayment, "pi_3RZxA12eZvKYlo2C1c4NwTsv"); p.Status != payments.StatusCanceled {
				t.Fatalf("payment = %+v", p)
			}
		},
	})
}
