package main

// The built bootstrap under the Lambda Runtime Interface Emulator with the
// SQS and DynamoDB emulators: a batch of a good message, one whose write
// fails once (HOOKSTACK_FAULTS) and a malformed one.

import (
	"strings"
	"testing"

	"github.com/hookstack/hookstack/shared/process"
	"github.com/hookstack/hookstack/shared/process/processtest"
	"github.com/hookstack/hookstack/shared/relay"
	"github.com/hookstack/hookstack/shared/store"
)

func TestRelayBootstrapUnderRIE(t *testing.T) {
	all := processtest.Samples(t)
	good := processtest.One(t, all, "livechat/incoming_chat")
	// The same close, for another chat.
	transient := processtest.One(t, all, "livechat/chat_deactivated")
	transient.Body = []byte(strings.ReplaceAll(string(transient.Body), "PJ0MRSHTDG", "PJ0OTHERCHT"))
	transient.ID, transient.EventID = "env-other", "other-chat-close"
	bad := good
	bad.ID, bad.EventID = "env-bad", "bad"
	bad.Body = []byte(`{"action":"incoming_chat","payload":{}}`)
	processtest.RunBootstrap(t, process.Relay, processtest.Case{
		Good:      good,
		Transient: transient,
		FaultKind: process.KindChat, FaultKey: "PJ0OTHERCHT",
		Bad: processtest.Encode(t, bad), BadReason: "malformed relay event",
		CheckGood: func(t *testing.T, s store.Store) {
			c := processtest.Get[relay.Chat](t, s, process.KindChat, "PJ0MRSHTDG")
			if c.Status != relay.StatusOpen || c.Customer.Email == "" {
				t.Fatalf("chat = %+v", c)
			}
		},
		CheckRetried: func(t *testing.T, s store.Store) {
			if c := processtest.Get[relay.Chat](t, s, process.KindChat, "PJ0OTHERCHT"); c.Status != relay.StatusClosed {
				t.Fatalf("chat = %+v", c)
			}
		},
	})
}
