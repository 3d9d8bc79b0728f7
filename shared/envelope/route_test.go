package envelope

import "testing"

func TestRoute(t *testing.T) {
	tests := []struct{ provider, typ, want string }{
		{"stripe", "payment_intent.succeeded", QueuePayments},
		{"stripe", "customer.subscription.updated", QueuePayments},
		{"stripe", "product.updated", QueuePayments},
		{"stripe", TypeUnparseable, QueuePayments},
		{"shopify", "inventory_levels/update", QueueInventory},
		{"shopify", "inventory_levels/connect", QueueInventory},
		{"shopify", "products/update", QueueInventory},
		{"shopify", "products/create", QueueInventory},
		{"shopify", "orders/create", QueueRelay},
		{"shopify", "inventory_items/update", QueueRelay},
		{"shopify", "products", QueueRelay},
		{"standard", "inventory.adjusted", QueueInventory},
		{"standard", "lead.created", QueueLeads},
		{"standard", "leads.created", QueueRelay},
		{"standard", "invoice.paid", QueueRelay},
		{"standard", "inventory", QueueRelay},
		{"salesforce", "lead", QueueLeads},
		{"salesforce", "contact", QueueLeads},
		{"hubspot", "contact.creation", QueueLeads},
		{"hubspot", "contact.propertyChange", QueueLeads},
		{"github", "push", QueueRelay},
		{"github", "lead.created", QueueRelay},
		{"slack", "app_mention", QueueRelay},
		{"livechat", "incoming_chat", QueueRelay},
		{"trello", "updateCard", QueueRelay},
		{"twilio", "message.status", QueueRelay},
		{"zoom", "meeting.started", QueueRelay},
		{"nope", "payment_intent.succeeded", QueueRelay},
	}
	for _, tt := range tests {
		t.Run(tt.provider+"/"+tt.typ, func(t *testing.T) {
			if got := Route(tt.provider, tt.typ); got != tt.want {
				t.Errorf("Route(%q, %q) = %q, want %q", tt.provider, tt.typ, got, tt.want)
			}
		})
	}
}
