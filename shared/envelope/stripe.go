package envelope

import (
	"net/http"
	"time"

	"github.com/tidwall/gjson"
)

// extractStripe reads id, type and created from a Stripe event. It is on the
// hot path of every Stripe webhook: one validating pass that also picks the
// three top-level fields (no unmarshal), and Body is the request body itself.
//
// created is epoch seconds for snapshot events and an RFC 3339 string for
// v2 ("thin") event notifications; both are accepted.
func extractStripe(_ http.Header, body []byte, receivedAt time.Time) ([]Event, error) {
	vals, embeddable, err := jsonObject(ProviderStripe, body, "id", "type", "created")
	if err != nil {
		return nil, err
	}
	id := str(vals[0])
	if id == "" {
		return nil, unparseable(ProviderStripe, "missing id")
	}
	typ := str(vals[1])
	if typ == "" {
		return nil, unparseable(ProviderStripe, "missing type")
	}
	occurred := receivedAt
	created := vals[2]
	if t, ok := unixSeconds(created); ok && created.Type == gjson.Number {
		occurred = t
	} else if t, ok := rfc3339(str(created)); ok {
		occurred = t
	}
	return []Event{{ID: id, Type: typ, OccurredAt: occurred, Body: body, ContentType: ctJSON, JSON: embeddable}}, nil
}
