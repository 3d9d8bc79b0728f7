package main

// The built bootstrap under the Lambda Runtime Interface Emulator with the
// SQS and DynamoDB emulators: a batch of a good message, one whose write
// fails once (HOOKSTACK_FAULTS) and a malformed one.

import (
	"testing"

	"github.com/hookstack/hookstack/shared/leads"
	"github.com/hookstack/hookstack/shared/process"
	"github.com/hookstack/hookstack/shared/process/processtest"
	"github.com/hookstack/hookstack/shared/store"
)

func TestLeadsBootstrapUnderRIE(t *testing.T) {
	all := processtest.Samples(t)
	good := processtest.One(t, all, "standard/lead.created")
	bad := good
	bad.ID, bad.EventID = "env-bad", "msg_bad"
	bad.Body = []byte(`{"type":"lead.created","timestamp":"2026-01-05T17:05:00Z","data":{"first_name":"Nobody"}}`)
	processtest.RunBootstrap(t, process.Leads, processtest.Case{
		Good:      good,
		Transient: processtest.One(t, all, "salesforce/lead"),
		FaultKind: process.KindLead, FaultKey: "sam.lee@example.com",
		Bad: processtest.Encode(t, bad), BadReason: "malformed lead event",
		CheckGood: func(t *testing.T, s store.Store) {
			l := processtest.Get[leads.Lead](t, s, process.KindLead, "ada.lovelace@example.com")
			if l.FirstName != "Ada" || l.Company != "Analytical Engines Ltd" {
				t.Fatalf("lead = %+v", l)
			}
		},
		CheckRetried: func(t *testing.T, s store.Store) {
			if l := processtest.Get[leads.Lead](t, s, process.KindLead, "sam.lee@example.com"); l.Email != "sam.lee@example.com" || l.Source == "" {
				t.Fatalf("lead = %+v", l)
			}
		},
	})
}
