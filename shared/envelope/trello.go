package envelope

import (
	"net/http"
	"time"

	"github.com/tidwall/gjson"
)

// extractTrello reads action.id, action.type (e.g. "updateCard") and
// action.date of a Trello webhook ({"action": {...}, "model": {...}}).
func extractTrello(_ http.Header, body []byte, receivedAt time.Time) ([]Event, error) {
	if err := jsonObject(ProviderTrello, body); err != nil {
		return nil, err
	}
	action := gjson.GetBytes(body, "action")
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
	return []Event{{ID: id, Type: typ, OccurredAt: occurred, Body: body, ContentType: ctJSON}}, nil
}
