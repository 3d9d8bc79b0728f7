package envelope

import (
	"net/http"
	"net/url"
	"time"
)

// Slack event types given to requests that are not Events API callbacks.
const (
	SlackTypeSlashCommand = "slash_command"
	// SlackTypeInteractivePrefix + the payload's type, e.g.
	// "interactive.block_actions", "interactive.view_submission".
	SlackTypeInteractivePrefix = "interactive."
	SlackTypeSSLCheck          = "ssl_check"
	SlackTypeURLVerification   = "url_verification"
)

// extractSlack handles the three kinds of Slack requests:
//   - Events API (JSON): an event_callback has id event_id, type the inner
//     event.type (e.g. "app_mention"), time event_time; other envelopes
//     (url_verification, app_rate_limited) keep their top-level type and get
//     id BodyHash(body).
//   - slash commands (form with command): id trigger_id, type "slash_command".
//   - interactivity (form with payload=JSON): the JSON becomes Body; id the
//     payload's trigger_id (BodyHash of that JSON when absent, e.g.
//     view_closed); type "interactive." + the payload's type.
//
// Slash commands and interactivity carry no event time: receivedAt.
//
// Slack's verification token (a shared secret; the signature is what
// authenticates) is removed from every stored Body: the top-level "token"
// of Events API JSON and of an interaction payload, the token field of a
// form. The rest keeps its exact bytes; ids computed from a body hash the
// stored Body.
func extractSlack(_ http.Header, body []byte, receivedAt time.Time) ([]Event, error) {
	if looksJSON(body) {
		return slackEventsAPI(body, receivedAt)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, unparseable(ProviderSlack, "invalid form encoding")
	}
	switch {
	case form.Has("payload"):
		payload := []byte(form.Get("payload"))
		vals, embeddable, err := jsonObject(ProviderSlack, payload, "type", "trigger_id")
		if err != nil {
			return nil, err
		}
		payload = stripJSONMember(payload, slackTokenField)
		typ := str(vals[0])
		if typ == "" {
			return nil, unparseable(ProviderSlack, "interactive payload without type")
		}
		id := str(vals[1])
		if id == "" {
			id = BodyHash(payload)
		}
		return []Event{{ID: id, Type: SlackTypeInteractivePrefix + typ, OccurredAt: receivedAt,
			Body: payload, ContentType: ctJSON, JSON: embeddable}}, nil
	case form.Get("command") != "":
		id := form.Get("trigger_id")
		if id == "" {
			return nil, unparseable(ProviderSlack, "slash command without trigger_id")
		}
		return []Event{{ID: id, Type: SlackTypeSlashCommand, OccurredAt: receivedAt, Body: stripFormField(body, slackTokenField), ContentType: ctForm}}, nil
	case form.Get("ssl_check") == "1":
		stored := stripFormField(body, slackTokenField)
		return []Event{{ID: BodyHash(stored), Type: SlackTypeSSLCheck, OccurredAt: receivedAt, Body: stored, ContentType: ctForm}}, nil
	}
	return nil, unparseable(ProviderSlack, "form body is neither a slash command nor an interaction")
}

func slackEventsAPI(body []byte, receivedAt time.Time) ([]Event, error) {
	vals, embeddable, err := jsonObject(ProviderSlack, body, "type", "event_time", "event_id", "event")
	if err != nil {
		return nil, err
	}
	typ := str(vals[0])
	if typ == "" {
		return nil, unparseable(ProviderSlack, "missing type")
	}
	body = stripJSONMember(body, slackTokenField)
	occurred := receivedAt
	if t, ok := unixSeconds(vals[1]); ok {
		occurred = t
	}
	if typ != "event_callback" {
		return []Event{{ID: BodyHash(body), Type: typ, OccurredAt: occurred, Body: body, ContentType: ctJSON, JSON: embeddable}}, nil
	}
	id := str(vals[2])
	if id == "" {
		return nil, unparseable(ProviderSlack, "event_callback without event_id")
	}
	inner := str(vals[3].Get("type"))
	if inner == "" {
		return nil, unparseable(ProviderSlack, "event_callback without event.type")
	}
	return []Event{{ID: id, Type: inner, OccurredAt: occurred, Body: body, ContentType: ctJSON, JSON: embeddable}}, nil
}
