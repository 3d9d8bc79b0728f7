package envelope

import (
	"net/http"
	"time"
)

// extractTrello reads action.id, action.type (e.g. "updateCard") and
// action.date of a Trello webhook ({"action": {...}, "model": {...}}).
func extractTrello(_ http.Header, body []byte, receivedAt time.Time) ([]Event, error) {
	vals, embeddable, err := jsonObject(ProviderTrello, body, "action")
	if err != nil {
		return nil, err
	}
	action := vals[0]
	if !action.IsObject() {
		return nil, unparseable(ProviderTrello, "missing action")
	}
	id := str(action.Get("id"))
	if id == "" {
		return nil, unparseable(ProviderTrello, "missing action.id")
	}
	typ := str(action.Get("type"))
	if typ == "" {
		return nil, unparseable(ProviderTrello, "missing action.type")
	}
	occurred := receivedAt
	if t, ok := rfc3339(str(action.Get("date"))); ok {
		occurred = t
	}
	return []Event{{ID: id, Type: typ, OccurredAt: occurred, Body: body, ContentType: ctJSON, JSON: embeddable}}, nil
}
