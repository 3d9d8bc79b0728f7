package envelope

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
)

// Redacted replaces secret header values and body fields in Redact's output.
const Redacted = "[redacted]"

// secretHeaders are signature and credential headers, lower-cased.
var secretHeaders = map[string]bool{
	"stripe-signature":      true,
	"x-shopify-hmac-sha256": true,
	"x-slack-signature":     true,
	"webhook-signature":     true,
	"svix-signature":        true,
	"x-trello-webhook":      true,
	"x-twilio-signature":    true,
	"x-zm-signature":        true,
	"authorization":         true,
	"proxy-authorization":   true,
	"cookie":                true,
	"set-cookie":            true,
	"x-api-key":             true,
	"x-amz-security-token":  true,
}

// secretHeaderPrefixes cover families (X-Hub-Signature, X-Hub-Signature-256;
// X-HubSpot-Signature, -v3).
var secretHeaderPrefixes = []string{"x-hub-signature", "x-hubspot-signature"}

// secretHeaderWords catch signature and credential headers not named above.
var secretHeaderWords = []string{"signature", "secret", "password", "api-key", "apikey", "credential"}

// IsSecretHeader reports whether a header carries a signature or credential
// and must never be stored in clear or shown.
func IsSecretHeader(name string) bool {
	n := strings.ToLower(name)
	if secretHeaders[n] {
		return true
	}
	for _, p := range secretHeaderPrefixes {
		if strings.HasPrefix(n, p) {
			return true
		}
	}
	for _, w := range secretHeaderWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// The redaction patterns are compiled on first use: they serve the rare
// paths (the dev server's views, unparseable bodies, LiveChat and Salesforce),
// and compiling them at package initialisation cost every Lambda function's
// cold start about 0.1 ms.
var (
	// a JSON member "secret_key": "..." anywhere in the text
	jsonSecretKey = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`("secret_key"\s*:\s*)"(?:[^"\\]|\\.)*"`)
	})
	// Slack's (deprecated) verification token: "token": "..."
	jsonToken = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`("token"\s*:\s*)"(?:[^"\\]|\\.)*"`)
	})
	// form field token=...
	formToken = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(^|&)(token=)[^&]*`) })
	// Salesforce <SessionId>...</SessionId>, any prefix
	// (whatever is between the tags: text, CDATA sections, comments)
	xmlSessionID = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?s)(<(?:[A-Za-z_][\w.-]*:)?SessionId\b[^>]*>).*?(</(?:[A-Za-z_][\w.-]*:)?SessionId\s*>)`)
	})
)

// Redact returns copies of a request's headers and body fit to store or
// show (the dev server's /api/events/{id}): every secret header
// (IsSecretHeader) has the value "[redacted]", and secret body fields are
// replaced: LiveChat secret_key, Slack's verification token (JSON, form, and
// the token inside an interactivity payload), Salesforce SessionId. The
// inputs are not modified. An unknown provider gets header redaction only.
func Redact(provider string, h http.Header, body []byte) (http.Header, []byte) {
	out := make(http.Header, len(h))
	for k, vs := range h {
		if IsSecretHeader(k) {
			out[k] = []string{Redacted}
			continue
		}
		out[k] = append([]string(nil), vs...)
	}
	b := append([]byte(nil), body...)
	switch provider {
	case ProviderLiveChat:
		b = jsonSecretKey().ReplaceAll(b, []byte(`${1}"`+Redacted+`"`))
	case ProviderSlack:
		b = redactSlack(b)
	case ProviderSalesforce:
		b = xmlSessionID().ReplaceAll(b, []byte(`${1}`+Redacted+`${2}`))
	}
	return out, b
}

func redactSlack(b []byte) []byte {
	if looksJSON(b) {
		return jsonToken().ReplaceAll(b, []byte(`${1}"`+Redacted+`"`))
	}
	form, err := url.ParseQuery(string(b))
	if err != nil || !form.Has("payload") {
		return formToken().ReplaceAll(b, []byte(`${1}${2}`+url.QueryEscape(Redacted)))
	}
	if form.Has("token") {
		form.Set("token", Redacted)
	}
	form.Set("payload", string(jsonToken().ReplaceAll([]byte(form.Get("payload")), []byte(`${1}"`+Redacted+`"`))))
	return []byte(form.Encode())
}
