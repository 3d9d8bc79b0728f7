package envelope

import (
	"net/http"
	"time"

	"github.com/tidwall/gjson"
)

// extractZoom reads event (e.g. "meeting.started") and event_ts (ms). Zoom
// sends no per-delivery id in the body, so the id is BodyHash(body); a retry
// resends the same bytes and so the same id.
func extractZoom(_ http.Header, body []byte, receivedAt time.Time) ([]Event, error) {
	if err := jsonObject(ProviderZoom, body); err != nil {
		return nil, err
	}
	typ := str(gjson.GetBytes(body, "event"))
	if typ == "" {
		return nil, unparseable(ProviderZoom, "missing event")
	}
	occurred := receivedAt
	if t, ok := unixMillis(gjson.GetBytes(body, "event_ts")); ok {
		occurred = t
	}
	return []Event{{ID: BodyHash(body), Type: typ, OccurredAt: occurred, Body: body, ContentType: ctJSON}}, nil
}
