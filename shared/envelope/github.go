package envelope

import (
	"net/http"
	"net/url"
	"time"
)

// extractGitHub takes id and type from the X-GitHub-Delivery and
// X-GitHub-Event headers; processors read the body's action themselves.
// GitHub sends no event time in a common place, so OccurredAt is receivedAt.
//
// A webhook configured with content type application/x-www-form-urlencoded
// carries the JSON in the payload= field: that JSON becomes Body (with
// ContentType application/json), so processors always see JSON.
func extractGitHub(h http.Header, body []byte, receivedAt time.Time) ([]Event, error) {
	payload := body
	if !looksJSON(body) {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, unparseable(ProviderGitHub, "invalid form encoding")
		}
		p := form.Get("payload")
		if p == "" {
			return nil, unparseable(ProviderGitHub, "form body without payload field")
		}
		payload = []byte(p)
	}
	_, embeddable, err := jsonObject(ProviderGitHub, payload)
	if err != nil {
		return nil, err
	}
	id := header(h, "X-GitHub-Delivery")
	if id == "" {
		return nil, unparseable(ProviderGitHub, "missing X-GitHub-Delivery header")
	}
	typ := header(h, "X-GitHub-Event")
	if typ == "" {
		return nil, unparseable(ProviderGitHub, "missing X-GitHub-Event header")
	}
	return []Event{{ID: id, Type: typ, OccurredAt: receivedAt, Body: payload, ContentType: ctJSON, JSON: embeddable}}, nil
}
