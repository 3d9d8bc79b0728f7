package envelope

import (
	"net/http"
	"time"

	"github.com/tidwall/gjson"
)

// maxHubSpotEvents bounds one delivery (HubSpot sends at most 100 per request).
const maxHubSpotEvents = 1000

// extractHubSpot splits a HubSpot webhook batch (a JSON array of
// {eventId, subscriptionId, portalId, appId, occurredAt, subscriptionType,
// attemptNumber, objectId, propertyName, propertyValue, changeSource, ...})
// into one Event per element: id eventId (the literal digits), type
// subscriptionType (e.g. "contact.propertyChange"), time occurredAt (ms),
// Body the element re-encoded compactly. A single object is treated as a
// batch of one. Any element without eventId or subscriptionType makes the
// whole delivery unparseable (it is dead-lettered whole, never half-applied).
func extractHubSpot(_ http.Header, body []byte, receivedAt time.Time) ([]Event, error) {
	c := firstByte(body)
	if c != '[' && c != '{' {
		return nil, unparseable(ProviderHubSpot, "expected a JSON array")
	}
	if !gjson.ValidBytes(body) {
		return nil, unparseable(ProviderHubSpot, "invalid JSON")
	}
	root := gjson.ParseBytes(body)
	var elems []gjson.Result
	if root.IsArray() {
		elems = root.Array()
	} else {
		elems = []gjson.Result{root}
	}
	if len(elems) == 0 {
		return nil, unparseable(ProviderHubSpot, "empty batch")
	}
	if len(elems) > maxHubSpotEvents {
		return nil, unparseable(ProviderHubSpot, "batch of %d events exceeds %d", len(elems), maxHubSpotEvents)
	}
	evs := make([]Event, 0, len(elems))
	for i, e := range elems {
		if !e.IsObject() {
			return nil, unparseable(ProviderHubSpot, "element %d is not an object", i)
		}
		id := idString(e.Get("eventId"))
		if id == "" {
			return nil, unparseable(ProviderHubSpot, "element %d without eventId", i)
		}
		typ := str(e.Get("subscriptionType"))
		if typ == "" {
			return nil, unparseable(ProviderHubSpot, "element %d without subscriptionType", i)
		}
		occurred := receivedAt
		if t, ok := unixMillis(e.Get("occurredAt")); ok {
			occurred = t
		}
		b, err := compactJSON(e.Raw)
		if err != nil {
			return nil, unparseable(ProviderHubSpot, "element %d is not valid JSON", i)
		}
		evs = append(evs, Event{ID: id, Type: typ, OccurredAt: occurred, Body: b, ContentType: ctJSON})
	}
	return evs, nil
}
