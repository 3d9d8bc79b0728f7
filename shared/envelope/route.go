package envelope

import "strings"

// Route returns the domain queue for an event: QueuePayments for stripe;
// QueueInventory for shopify inventory_levels/* and products/*, and standard
// inventory.*; QueueLeads for salesforce, hubspot, and standard lead.*;
// QueueRelay for everything else (including unknown providers).
func Route(provider, eventType string) string {
	switch provider {
	case ProviderStripe:
		return QueuePayments
	case ProviderShopify:
		if strings.HasPrefix(eventType, "inventory_levels/") || strings.HasPrefix(eventType, "products/") {
			return QueueInventory
		}
	case ProviderStandard:
		switch {
		case strings.HasPrefix(eventType, "inventory."):
			return QueueInventory
		case strings.HasPrefix(eventType, "lead."):
			return QueueLeads
		}
	case ProviderSalesforce, ProviderHubSpot:
		return QueueLeads
	}
	return QueueRelay
}
