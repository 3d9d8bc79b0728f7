package envelope

import (
	"net/http"
	"time"
)

// extractZoom reads event (e.g. "meeting.started") and event_ts (ms). Zoom
// sends no per-delivery id in the body, so the id is BodyHash(body); a retry
// resends the same bytes and so the same id.
func extractZoom(_ http.Header, body []byte, receivedAt time.Time) ([]Event, error) {
	vals, embeddable, err := jsonObject(ProviderZoom, body, "event", "event_ts")
	if err != nil {
		return nil, err
	}
	typ := str(vals[0])
	if typ == "" {
		return nil, unparseable(ProviderZoom, "missing event")
	}
	occurred := receivedAt
	if t, ok := unixMillis(vals[1]); ok {
		occurred = t
	}
	return []Event{{ID: BodyHash(body), Type: typ, OccurredAt: occurred, Body: body, ContentType: ctJSON, JSON: embeddable}}, nil
}
