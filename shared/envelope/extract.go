package envelope

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// Provider path names, as in POST /webhooks/{provider}.
const (
	ProviderStripe     = "stripe"
	ProviderGitHub     = "github"
	ProviderShopify    = "shopify"
	ProviderSlack      = "slack"
	ProviderStandard   = "standard"
	ProviderLiveChat   = "livechat"
	ProviderTrello     = "trello"
	ProviderHubSpot    = "hubspot"
	ProviderTwilio     = "twilio"
	ProviderZoom       = "zoom"
	ProviderSalesforce = "salesforce"
)

// Providers lists every provider Extract understands.
var Providers = []string{
	ProviderStripe, ProviderGitHub, ProviderShopify, ProviderSlack, ProviderStandard, ProviderLiveChat,
	ProviderTrello, ProviderHubSpot, ProviderTwilio, ProviderZoom, ProviderSalesforce,
}

// Event is one provider event found in a verified request body.
type Event struct {
	// ID is the provider's per-delivery/event id, or BodyHash(body) where the
	// provider has none (LiveChat, Zoom, some Slack requests).
	ID string
	// Type is the provider's event type (see Extract for each provider).
	Type string
	// OccurredAt is the provider's event time, or receivedAt when absent.
	OccurredAt time.Time
	// Body is this event's bytes. For single-event JSON deliveries it is the
	// request body itself (the same slice, not a copy). It differs from the
	// request body where Extract says so: batch elements (HubSpot),
	// Salesforce notifications (JSON), form-wrapped JSON (GitHub, Slack
	// interactivity) and LiveChat (secret_key removed).
	Body []byte
	// JSON reports that Body is one valid JSON value that can travel as is
	// inside an envelope (Envelope.BodyJSON): checked by the extractor's
	// validating pass, so the envelope encoder need not escape it.
	JSON bool
	// ContentType is the media type of Body ("application/json",
	// "application/x-www-form-urlencoded"); it can differ from the request's
	// Content-Type header, which stays in Headers.
	ContentType string
	// Headers are the useful, non-secret provider headers, keyed by the
	// provider's documented spelling (e.g. "X-GitHub-Delivery"). Never
	// signature headers.
	Headers map[string]string
}

// ErrUnparseable: the (verified) body cannot be parsed, or lacks a field the
// provider always sends (id, type). Ingest accepts it and dead-letters it with
// the reason (one event, id BodyHash(body), type "unparseable").
var ErrUnparseable = errors.New("unparseable body")

// ErrUnknownProvider: the provider path is not one of Providers.
var ErrUnknownProvider = errors.New("unknown provider")

// TypeUnparseable is the event type ingest gives a verified body that
// Extract rejected with ErrUnparseable.
const TypeUnparseable = "unparseable"

const (
	ctJSON = "application/json"
	ctForm = "application/x-www-form-urlencoded"
)

type extractor func(h http.Header, body []byte, receivedAt time.Time) ([]Event, error)

var extractors = map[string]extractor{
	ProviderStripe:     extractStripe,
	ProviderGitHub:     extractGitHub,
	ProviderShopify:    extractShopify,
	ProviderSlack:      extractSlack,
	ProviderStandard:   extractStandard,
	ProviderLiveChat:   extractLiveChat,
	ProviderTrello:     extractTrello,
	ProviderHubSpot:    extractHubSpot,
	ProviderTwilio:     extractTwilio,
	ProviderZoom:       extractZoom,
	ProviderSalesforce: extractSalesforce,
}

// Known reports whether provider is one of Providers.
func Known(provider string) bool {
	_, ok := extractors[provider]
	return ok
}

// Extract finds the provider events in a verified request body. It runs after
// signature verification and never verifies anything itself.
//
// Per provider (id / type / time):
//   - stripe: body id / body type / body created (unix seconds; RFC 3339 for v2 events).
//   - github: X-GitHub-Delivery / X-GitHub-Event (the body's action is left to
//     processors) / receivedAt. A form-encoded delivery's payload= JSON becomes Body.
//   - shopify: X-Shopify-Event-Id, else X-Shopify-Webhook-Id / X-Shopify-Topic /
//     X-Shopify-Triggered-At, else body updated_at.
//   - slack: Events API: event_id / inner event.type for event_callback, else
//     the top-level type (url_verification, app_rate_limited; id BodyHash) /
//     event_time. Slash commands (form): trigger_id / "slash_command".
//     Interactivity (form payload=JSON, which becomes Body): trigger_id, else
//     BodyHash / "interactive." + payload type (e.g. "interactive.block_actions").
//     Slack's SSL check (ssl_check=1): BodyHash / "ssl_check".
//   - standard: webhook-id (or svix-id) header / body type / body timestamp
//     (RFC 3339), else the webhook-timestamp (svix-timestamp) header.
//   - livechat: BodyHash of the stored body (webhook_id names the
//     registration, not the event) / action / the chat thread's or event's
//     created_at when present. secret_key is removed from the stored Body
//     (verification is already done; envelopes are stored and shown).
//   - trello: action.id / action.type / action.date.
//   - hubspot: a JSON array, one Event per element: eventId / subscriptionType /
//     occurredAt (ms); Body = the element, compacted.
//   - twilio (form): see extractTwilio: "<Sid>:<status>" / "message.status",
//     "message.received" or "call.status" / Timestamp when present.
//   - zoom: BodyHash / event / event_ts (ms).
//   - salesforce (SOAP Outbound Messaging): one Event per Notification:
//     notification Id / the sObject type lower-cased ("lead") /
//     sf:LastModifiedDate; Body = JSON, see salesforceEvent.
//
// A body that is not what the provider sends, or lacks its id or type, gives
// an error wrapping ErrUnparseable; an unknown provider gives
// ErrUnknownProvider. A malformed optional timestamp falls back to receivedAt.
func Extract(provider string, h http.Header, body []byte, receivedAt time.Time) ([]Event, error) {
	f, ok := extractors[provider]
	if !ok {
		return nil, fmt.Errorf("extract %q: %w", provider, ErrUnknownProvider)
	}
	evs, err := f(h, body, receivedAt)
	if err != nil {
		return nil, err
	}
	for i := range evs {
		evs[i].Headers = keptHeaders(provider, h)
	}
	return evs, nil
}

// BodyHash is "sha256:" + the lowercase hex SHA-256 of body: the event id of
// providers without one.
func BodyHash(body []byte) string {
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// unparseable wraps ErrUnparseable with the provider and a reason. The reason
// never contains body bytes.
func unparseable(provider, format string, args ...any) error {
	return fmt.Errorf("extract %s: %w: %s", provider, ErrUnparseable, fmt.Sprintf(format, args...))
}

// commonHeaders are kept for every provider.
var commonHeaders = []string{"Content-Type", "User-Agent"}

// providerHeaders are the useful, non-secret headers kept per provider, in
// the provider's documented spelling.
var providerHeaders = map[string][]string{
	ProviderGitHub: {"X-GitHub-Event", "X-GitHub-Delivery", "X-GitHub-Hook-ID",
		"X-GitHub-Hook-Installation-Target-ID", "X-GitHub-Hook-Installation-Target-Type"},
	ProviderShopify: {"X-Shopify-Topic", "X-Shopify-Shop-Domain", "X-Shopify-Event-Id", "X-Shopify-Webhook-Id",
		"X-Shopify-Triggered-At", "X-Shopify-API-Version", "X-Shopify-Sub-Topic"},
	ProviderSlack:      {"X-Slack-Request-Timestamp", "X-Slack-Retry-Num", "X-Slack-Retry-Reason"},
	ProviderStandard:   {"webhook-id", "webhook-timestamp", "svix-id", "svix-timestamp"},
	ProviderHubSpot:    {"X-HubSpot-Request-Timestamp"},
	ProviderTwilio:     {"I-Twilio-Idempotency-Token"},
	ProviderZoom:       {"x-zm-request-timestamp", "x-zm-trackingid"},
	ProviderSalesforce: {"SOAPAction"},
}

func keptHeaders(provider string, h http.Header) map[string]string {
	names := providerHeaders[provider]
	m := make(map[string]string, len(commonHeaders)+len(names))
	for _, list := range [2][]string{commonHeaders, names} {
		for _, name := range list {
			if v := header(h, name); v != "" {
				m[name] = v
			}
		}
	}
	return m
}

// header is h.Get that also finds keys stored without canonicalisation (API
// Gateway lower-cases header names; an adapter may copy them as they are).
func header(h http.Header, name string) string {
	if v := h.Get(name); v != "" {
		return v
	}
	for k, vs := range h {
		if len(vs) > 0 && strings.EqualFold(k, name) {
			return vs[0]
		}
	}
	return ""
}

// firstByte is the first non-whitespace byte of b, or 0.
func firstByte(b []byte) byte {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c
	}
	return 0
}

// looksJSON reports whether body starts like a JSON object or array; form
// bodies never do ('{' and '[' are escaped in form encoding).
func looksJSON(body []byte) bool {
	c := firstByte(body)
	return c == '{' || c == '['
}

// maxTopKeys bounds the top-level members one jsonObject call captures.
const maxTopKeys = 4

// jsonObject checks that body is one valid JSON object and returns the
// values of its top-level members named keys (a zero Result for an absent
// one), in one pass over the body (scanJSON). embeddable reports whether
// the body can travel raw inside an envelope (Event.JSON).
func jsonObject(provider string, body []byte, keys ...string) (vals [maxTopKeys]gjson.Result, embeddable bool, err error) {
	if firstByte(body) != '{' {
		return vals, false, unparseable(provider, "expected a JSON object")
	}
	var raw [maxTopKeys][]byte
	embeddable, ok := scanJSON(body, keys, raw[:len(keys)])
	if !ok {
		return vals, false, unparseable(provider, "invalid JSON")
	}
	for k := range keys {
		if raw[k] != nil {
			vals[k] = gjson.ParseBytes(raw[k])
		}
	}
	return vals, embeddable, nil
}

// idString is a JSON string, or the literal digits of a JSON number (ids
// such as HubSpot's eventId exceed float64 precision), else "".
func idString(r gjson.Result) string {
	switch r.Type {
	case gjson.String:
		return r.Str
	case gjson.Number:
		return r.Raw
	}
	return ""
}

// str is a JSON string value, else "".
func str(r gjson.Result) string {
	if r.Type == gjson.String {
		return r.Str
	}
	return ""
}

// maxUnix bounds accepted epoch times (year 9999) so that conversions never
// overflow.
const maxUnix = 253402300799

// unixSeconds reads a positive JSON number (or numeric string, as Slack's
// event_ts) of epoch seconds.
func unixSeconds(r gjson.Result) (time.Time, bool) {
	var f float64
	switch r.Type {
	case gjson.Number:
		f = r.Num
	case gjson.String:
		if r.Str == "" || strings.Trim(r.Str, "0123456789.") != "" {
			return time.Time{}, false
		}
		f = r.Float()
	default:
		return time.Time{}, false
	}
	if !(f > 0 && f <= maxUnix) {
		return time.Time{}, false
	}
	sec := int64(f)
	nsec := int64((f - float64(sec)) * 1e9)
	return time.Unix(sec, nsec).UTC(), true
}

// unixMillis reads a positive JSON number of epoch milliseconds.
func unixMillis(r gjson.Result) (time.Time, bool) {
	if r.Type != gjson.Number {
		return time.Time{}, false
	}
	ms := r.Int()
	if ms <= 0 || ms > maxUnix*1000 {
		return time.Time{}, false
	}
	return time.UnixMilli(ms).UTC(), true
}

// rfc3339 parses an RFC 3339 time (fractional seconds allowed).
func rfc3339(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// unixHeader parses a header of epoch seconds.
func unixHeader(v string) (time.Time, bool) {
	if v == "" || strings.Trim(v, "0123456789") != "" || len(v) > 12 {
		return time.Time{}, false
	}
	return unixSeconds(gjson.Result{Type: gjson.Number, Num: parseDigits(v)})
}

func parseDigits(v string) float64 {
	var n float64
	for i := 0; i < len(v); i++ {
		n = n*10 + float64(v[i]-'0')
	}
	return n
}

// compactJSON re-encodes one JSON value without insignificant whitespace.
func compactJSON(raw string) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(raw))
	if err := json.Compact(&buf, []byte(raw)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Unparseable is the one event ingest makes of a verified body that Extract
// rejected with ErrUnparseable: id BodyHash of the stored body, type
// TypeUnparseable, time receivedAt. The stored body is the request body with
// secrets taken out as far as it can be read (LiveChat secret_key,
// Salesforce SessionId, Slack's verification token), since envelopes are
// stored and shown.
func Unparseable(provider string, h http.Header, body []byte, receivedAt time.Time) Event {
	stored := body
	switch provider {
	case ProviderLiveChat:
		if firstByte(body) == '{' && gjson.ValidBytes(body) {
			stored = removeTopLevelKey(body, liveChatSecretField)
		} else {
			stored = jsonSecretKey().ReplaceAll(body, []byte(`${1}"`+Redacted+`"`))
		}
	case ProviderSalesforce:
		stored = xmlSessionID().ReplaceAll(body, []byte(`${1}`+Redacted+`${2}`))
	case ProviderSlack:
		stored = unparseableSlack(body)
	}
	return Event{
		ID:          BodyHash(stored),
		Type:        TypeUnparseable,
		OccurredAt:  receivedAt,
		Body:        stored,
		ContentType: header(h, "Content-Type"),
		Headers:     keptHeaders(provider, h),
	}
}
