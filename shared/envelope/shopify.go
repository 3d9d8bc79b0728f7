package envelope

import (
	"net/http"
	"time"
)

// extractShopify takes the id from X-Shopify-Event-Id (the same across
// retries of one event; X-Shopify-Webhook-Id for older API versions), the type
// from X-Shopify-Topic (e.g. "inventory_levels/update") and the time from
// X-Shopify-Triggered-At, else the body's updated_at.
func extractShopify(h http.Header, body []byte, receivedAt time.Time) ([]Event, error) {
	vals, embeddable, err := jsonObject(ProviderShopify, body, "updated_at")
	if err != nil {
		return nil, err
	}
	id := header(h, "X-Shopify-Event-Id")
	if id == "" {
		id = header(h, "X-Shopify-Webhook-Id")
	}
	if id == "" {
		return nil, unparseable(ProviderShopify, "missing X-Shopify-Event-Id and X-Shopify-Webhook-Id headers")
	}
	typ := header(h, "X-Shopify-Topic")
	if typ == "" {
		return nil, unparseable(ProviderShopify, "missing X-Shopify-Topic header")
	}
	occurred := receivedAt
	if t, ok := rfc3339(header(h, "X-Shopify-Triggered-At")); ok {
		occurred = t
	} else if t, ok := rfc3339(str(vals[0])); ok {
		occurred = t
	}
	return []Event{{ID: id, Type: typ, OccurredAt: occurred, Body: body, ContentType: ctJSON, JSON: embeddable}}, nil
}
