package envelope

import (
	"net/http"
	"time"
)

// extractStandard reads a Standard Webhooks (or Svix) delivery: the id from
// webhook-id (svix-id), the type from the body's type, the time from the
// body's timestamp (RFC 3339), else from webhook-timestamp (svix-timestamp).
func extractStandard(h http.Header, body []byte, receivedAt time.Time) ([]Event, error) {
	vals, embeddable, err := jsonObject(ProviderStandard, body, "type", "timestamp")
	if err != nil {
		return nil, err
	}
	id, tsHeader := header(h, "webhook-id"), header(h, "webhook-timestamp")
	if id == "" {
		id, tsHeader = header(h, "svix-id"), header(h, "svix-timestamp")
	}
	if id == "" {
		return nil, unparseable(ProviderStandard, "missing webhook-id and svix-id headers")
	}
	typ := str(vals[0])
	if typ == "" {
		return nil, unparseable(ProviderStandard, "missing type")
	}
	occurred := receivedAt
	if t, ok := rfc3339(str(vals[1])); ok {
		occurred = t
	} else if t, ok := unixHeader(tsHeader); ok {
		occurred = t
	}
	return []Event{{ID: id, Type: typ, OccurredAt: occurred, Body: body, ContentType: ctJSON, JSON: embeddable}}, nil
}
