package notify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hookstack/hookstack/shared/relay"
	"github.com/hookstack/hookstack/shared/signature"
	"github.com/hookstack/hookstack/shared/sqstext"
)

// Standard Webhooks header names.
const (
	HeaderWebhookID        = "Webhook-Id"
	HeaderWebhookTimestamp = "Webhook-Timestamp"
	HeaderWebhookSignature = "Webhook-Signature"
)

// ErrNoSigningSecret: an http endpoint without any valid secret.
var ErrNoSigningSecret = errors.New("endpoint has no valid signing secret")

// payload is the outbound body of an http endpoint.
type payload struct {
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// Payload is the JSON body sent to http endpoints: {"type","timestamp",
// "data"} with the event's type, the time it occurred (RFC 3339; the
// delivery's creation time when the event has none) and its data ({} when
// it has none). The bytes are the same on every attempt.
func Payload(d Delivery) ([]byte, error) {
	ts := d.Event.OccurredAt
	if ts.IsZero() {
		ts = d.FirstAttemptAt
	}
	data := d.Event.Data
	if len(data) == 0 {
		data = json.RawMessage("{}")
	}
	b, err := marshalJSON(payload{Type: d.Event.Type, Timestamp: ts.UTC(), Data: data})
	if err != nil {
		return nil, fmt.Errorf("payload of %s: %w", d.Event.ID, err)
	}
	return b, nil
}

var standardSigner = func() signature.Signer {
	_, s, _ := signature.For("standard", signature.Options{})
	return s
}()

// SignHeaders returns the Standard Webhooks headers for body: webhook-id,
// webhook-timestamp (unix seconds of now) and webhook-signature with one
// "v1,<base64>" per valid secret, space-separated, in the order given
// (newest first). Invalid secrets are skipped; none valid is
// ErrNoSigningSecret. The signing is shared/signature's standard scheme.
func SignHeaders(id string, now time.Time, body []byte, secrets []string) (http.Header, error) {
	var sigs []string
	var ts string
	for _, secret := range secrets {
		if !ValidSecret(secret) {
			continue
		}
		r := &signature.Request{Method: http.MethodPost, Header: http.Header{HeaderWebhookID: {id}}, Body: body}
		if err := standardSigner.Sign(r, secret, now); err != nil {
			continue
		}
		sigs = append(sigs, r.Header.Get(HeaderWebhookSignature))
		ts = r.Header.Get(HeaderWebhookTimestamp)
	}
	if len(sigs) == 0 {
		return nil, ErrNoSigningSecret
	}
	h := http.Header{}
	h.Set(HeaderWebhookID, id)
	h.Set(HeaderWebhookTimestamp, ts)
	h.Set(HeaderWebhookSignature, strings.Join(sigs, " "))
	return h, nil
}

// httpRequest builds the signed POST of d to an http endpoint.
func (dl *Deliverer) httpRequest(d Delivery, ep Endpoint) (*outbound, error) {
	body, err := Payload(d)
	if err != nil {
		return nil, err
	}
	h, err := SignHeaders(d.ID, dl.now(), body, ep.Secrets)
	if err != nil {
		return nil, fmt.Errorf("sign delivery %s for endpoint %s: %w", d.ID, ep.ID, err)
	}
	h.Set("Content-Type", "application/json")
	return &outbound{method: http.MethodPost, url: ep.URL, body: body, header: h}, nil
}

// marshalJSON is json.Marshal without HTML escaping ("<" stays "<"), so that
// event data reaches receivers byte for byte as the processors emitted it
// (modulo whitespace), and with U+FFFE and U+FFFF escaped (see
// sqstext.EscapeJSON): what it writes is always a valid SQS message body.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return sqstext.EscapeJSON(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))), nil
}

// RawData is the data of the raw forward of an inbound body from provider,
// exactly as a processor's notification carries it: the body when it is
// JSON, else the body as a JSON string, LiveChat's secret_key removed
// (relay.Forward, which builds every processor's raw forward the same way
// through domain.Raw), written as json.Marshal writes it inside the
// notification. The deliverer builds a large raw forward's data from its
// claim-check body with it, so the receiver gets the same data as for a
// forward that fitted in its message. nil when there is none.
func RawData(provider string, body []byte) (json.RawMessage, error) {
	data := relay.Forward(relay.Event{Provider: provider, Body: body}).Data
	if len(data) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("raw data of a %s body: %w", provider, err)
	}
	return b, nil
}
