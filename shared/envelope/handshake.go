package envelope

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/tidwall/gjson"
)

// Reply is a provider's required answer to a verified request, replacing the
// normal {"id","event_id"} reply.
type Reply struct {
	Status      int
	ContentType string
	Body        []byte
	// Enqueue tells whether the request is still to be enqueued (before the
	// reply is sent); false for pure handshakes.
	Enqueue bool
}

// ErrHandshake: a handshake request lacks what the reply needs (Slack
// challenge, Zoom plainToken) or no secret was given to answer it. It wraps
// ErrUnparseable; ingest should answer 400 without enqueuing.
var ErrHandshake = fmt.Errorf("handshake: %w", ErrUnparseable)

// Handshake decides, after verification, whether the provider needs a
// special reply:
//   - slack: url_verification → 200 application/json {"challenge": ...},
//     Enqueue false; the SSL check of a slash command URL (ssl_check=1)
//     → 200 with an empty body, Enqueue false.
//   - zoom: endpoint.url_validation → 200 application/json
//     {"plainToken": p, "encryptedToken": hex(HMAC-SHA256(secret, p))},
//     Enqueue false. secret is the Zoom secret token that verified the
//     request.
//   - salesforce: always 200 text/xml SalesforceAck, Enqueue true (even when
//     the body will be dead-lettered as unparseable: Salesforce would only
//     resend it).
//
// ok=false means the normal reply. A body Extract cannot parse is not a
// handshake (ok=false, nil error): Extract reports it.
func Handshake(provider string, h http.Header, body []byte, secret string) (Reply, bool, error) {
	switch provider {
	case ProviderSlack:
		return slackHandshake(body)
	case ProviderZoom:
		return zoomHandshake(body, secret)
	case ProviderSalesforce:
		return Reply{Status: http.StatusOK, ContentType: "text/xml; charset=utf-8", Body: SalesforceAck, Enqueue: true}, true, nil
	}
	if !Known(provider) {
		return Reply{}, false, fmt.Errorf("handshake %q: %w", provider, ErrUnknownProvider)
	}
	return Reply{}, false, nil
}

func slackHandshake(body []byte) (Reply, bool, error) {
	if !looksJSON(body) {
		form, err := url.ParseQuery(string(body))
		if err == nil && form.Get("ssl_check") == "1" {
			return Reply{Status: http.StatusOK, ContentType: "text/plain; charset=utf-8", Body: []byte{}}, true, nil
		}
		return Reply{}, false, nil
	}
	if !gjson.ValidBytes(body) || str(gjson.GetBytes(body, "type")) != SlackTypeURLVerification {
		return Reply{}, false, nil
	}
	challenge := str(gjson.GetBytes(body, "challenge"))
	if challenge == "" {
		return Reply{}, false, fmt.Errorf("slack url_verification without challenge: %w", ErrHandshake)
	}
	out, err := json.Marshal(map[string]string{"challenge": challenge})
	if err != nil {
		return Reply{}, false, fmt.Errorf("slack url_verification: %w", err)
	}
	return Reply{Status: http.StatusOK, ContentType: ctJSON, Body: out}, true, nil
}

// ZoomValidationEvent is the event of Zoom's endpoint URL validation.
const ZoomValidationEvent = "endpoint.url_validation"

func zoomHandshake(body []byte, secret string) (Reply, bool, error) {
	if !gjson.ValidBytes(body) || str(gjson.GetBytes(body, "event")) != ZoomValidationEvent {
		return Reply{}, false, nil
	}
	plain := str(gjson.GetBytes(body, "payload.plainToken"))
	if plain == "" {
		return Reply{}, false, fmt.Errorf("zoom url validation without payload.plainToken: %w", ErrHandshake)
	}
	if secret == "" {
		return Reply{}, false, fmt.Errorf("zoom url validation: %w", errors.Join(ErrHandshake, errors.New("no secret token")))
	}
	out, err := json.Marshal(struct {
		PlainToken     string `json:"plainToken"`
		EncryptedToken string `json:"encryptedToken"`
	}{plain, ZoomEncryptedToken(secret, plain)})
	if err != nil {
		return Reply{}, false, fmt.Errorf("zoom url validation: %w", err)
	}
	return Reply{Status: http.StatusOK, ContentType: ctJSON, Body: out}, true, nil
}

// ZoomEncryptedToken is Zoom's URL-validation answer: the lowercase hex
// HMAC-SHA256 of plainToken keyed with the webhook secret token.
func ZoomEncryptedToken(secret, plainToken string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(plainToken))
	return hex.EncodeToString(m.Sum(nil))
}
