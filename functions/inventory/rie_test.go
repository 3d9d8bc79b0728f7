package main

// The built bootstrap under the Lambda Runtime Interface Emulator with the
// SQS and DynamoDB emulators: a batch of a good message, one whose write
// fails once (HOOKSTACK_FAULTS) and a malformed one.

import (
	"testing"

	"github.com/hookstack/hookstack/shared/inventory"
	"github.com/hookstack/hookstack/shared/process"
	"github.com/hookstack/hookstack/shared/process/processtest"
	"github.com/hookstack/hookstack/shared/store"
)

func TestInventoryBootstrapUnderRIE(t *testing.T) {
	all := processtest.Samples(t)
	good := processtest.One(t, all, "shopify/inventory_levels_update")
	bad := good
	bad.ID, bad.EventID = "env-bad", "evt-bad"
	bad.Body = []byte(`{"location_id":73525526818,"available":3,"updated_at":"2026-01-05T09:12:44-05:00"}`)
	processtest.RunBootstrap(t, process.Inventory, processtest.Case{
		Good:      good,
		Transient: processtest.One(t, all, "standard/inventory.adjusted"),
		FaultKind: process.KindInventory, FaultKey: "sku:HS-TEE-M",
		Bad: processtest.Encode(t, bad), BadReason: "malformed inventory event",
		Env: []string{"HOOKSTACK_LOW_STOCK=2"},
		CheckGood: func(t *testing.T, s store.Store) {
			it := processtest.Get[inventory.Item](t, s, process.KindInventory, "49148385591586")
			if it.Available != 3 || it.Level != inventory.LevelOK { // 3 > HOOKSTACK_LOW_STOCK=2
				t.Fatalf("item = %+v", it)
			}
		},
		CheckRetried: func(t *testing.T, s store.Store) {
			if it := processtest.Get[inventory.Item](t, s, process.KindInventory, "sku:HS-TEE-M"); it.Available != 40 {
				t.Fatalf("item = %+v", it)
			}
		},
	})
}
