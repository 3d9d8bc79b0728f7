package notify

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/hookstack/hookstack/shared/ulidgen"
)

// Endpoint types.
const (
	TypeHTTP      = "http"
	TypeSlack     = "slack"
	TypeMailchimp = "mailchimp"
)

// SecretPrefix starts every endpoint signing secret.
const SecretPrefix = "whsec_"

// secretBytes is the size of a generated secret's key: 32 bytes, inside the
// Standard Webhooks recommendation of 24..64.
const secretBytes = 32

// Errors of endpoint validation; all wrap ErrInvalidEndpoint.
var (
	ErrInvalidEndpoint = errors.New("invalid endpoint")
	// ErrInvalidURL: the URL is not an absolute http(s) URL we may call.
	ErrInvalidURL = fmt.Errorf("%w: url", ErrInvalidEndpoint)
	// ErrEndpointNotFound: no endpoint has the id.
	ErrEndpointNotFound = errors.New("endpoint not found")
)

// Endpoint is one subscriber of outbound events.
type Endpoint struct {
	ID   string `json:"id"`
	Type string `json:"type"` // TypeHTTP, TypeSlack, TypeMailchimp
	// URL is the target: the receiver's URL (http), the incoming-webhook URL
	// (slack) or the API base URL with the data centre, e.g.
	// https://us21.api.mailchimp.com (mailchimp).
	URL string `json:"url"`
	// Events are the filter patterns (MatchPattern): "payment.*", "*", ...
	Events      []string `json:"events"`
	Enabled     bool     `json:"enabled"`
	Description string   `json:"description,omitempty"`
	// Secrets are the active signing secrets of an http endpoint, newest
	// first; every one signs each request (rotation).
	Secrets        []string          `json:"secrets,omitempty"`
	Mailchimp      MailchimpSettings `json:"mailchimp,omitzero"`
	CreatedAt      time.Time         `json:"created_at"`
	DisabledReason string            `json:"disabled_reason,omitempty"`
}

// MailchimpSettings are a mailchimp endpoint's audience and credentials.
type MailchimpSettings struct {
	ListID string `json:"list_id,omitempty"`
	APIKey string `json:"api_key,omitempty"`
}

// Matches reports whether the endpoint subscribes to eventType: any of its
// patterns matches (see MatchPattern). It does not look at Enabled.
func (e Endpoint) Matches(eventType string) bool {
	for _, p := range e.Events {
		if MatchPattern(p, eventType) {
			return true
		}
	}
	return false
}

// Redacted returns a copy safe to print or serve: secrets and the API key
// shortened to their first characters.
func (e Endpoint) Redacted() Endpoint {
	if len(e.Secrets) > 0 {
		s := make([]string, len(e.Secrets))
		for i, v := range e.Secrets {
			s[i] = redact(v)
		}
		e.Secrets = s
	}
	if e.Mailchimp.APIKey != "" {
		e.Mailchimp.APIKey = redact(e.Mailchimp.APIKey)
	}
	return e
}

func redact(s string) string {
	const keep = 10
	if len(s) <= keep {
		return "…"
	}
	return s[:keep] + "…"
}

// NewSecret returns a fresh signing secret: "whsec_" + base64 of 32 random
// bytes.
func NewSecret() string {
	var b [secretBytes]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (it aborts the program instead)
	return SecretPrefix + base64.StdEncoding.EncodeToString(b[:])
}

// ValidSecret reports whether s is "whsec_" followed by standard base64 of
// at least 16 bytes.
func ValidSecret(s string) bool {
	rest, ok := strings.CutPrefix(s, SecretPrefix)
	if !ok {
		return false
	}
	k, err := base64.StdEncoding.DecodeString(rest)
	return err == nil && len(k) >= 16
}

// NewEndpointID returns a new time-ordered endpoint id, "ep_" + ULID.
func NewEndpointID(now time.Time) string {
	return "ep_" + strings.ToLower(ulidgen.Make(now))
}

// Validate checks an endpoint before it is stored: known type, a URL that
// ValidateURL accepts with guard, at least one valid event pattern, for http
// at least one valid secret, for mailchimp a list id and API key.
func (e Endpoint) Validate(guard *Guard) error {
	if e.ID == "" {
		return fmt.Errorf("%w: empty id", ErrInvalidEndpoint)
	}
	switch e.Type {
	case TypeHTTP, TypeSlack, TypeMailchimp:
	default:
		return fmt.Errorf("%w: type %q: want http, slack or mailchimp", ErrInvalidEndpoint, e.Type)
	}
	if err := ValidateURL(e.URL, guard); err != nil {
		return err
	}
	if err := CheckTransport(e.Type, e.URL); err != nil {
		return err
	}
	if len(e.Events) == 0 {
		return fmt.Errorf("%w: no event patterns (use \"*\" for every event)", ErrInvalidEndpoint)
	}
	for _, p := range e.Events {
		if err := ValidatePattern(p); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidEndpoint, err)
		}
	}
	switch e.Type {
	case TypeHTTP:
		if len(e.Secrets) == 0 {
			return fmt.Errorf("%w: an http endpoint needs a signing secret", ErrInvalidEndpoint)
		}
		for i, s := range e.Secrets {
			if !ValidSecret(s) {
				return fmt.Errorf("%w: secret %d is not whsec_ followed by base64 of 16+ bytes", ErrInvalidEndpoint, i+1)
			}
		}
	case TypeMailchimp:
		if e.Mailchimp.ListID == "" || e.Mailchimp.APIKey == "" {
			return fmt.Errorf("%w: a mailchimp endpoint needs --list-id and --api-key", ErrInvalidEndpoint)
		}
		if strings.ContainsAny(e.Mailchimp.ListID, "/?#% ") {
			return fmt.Errorf("%w: mailchimp list id %q", ErrInvalidEndpoint, e.Mailchimp.ListID)
		}
	}
	return nil
}

// ValidateURL checks a target URL when an endpoint is added: an absolute
// http or https URL with a host, no user:password part (credentials would be
// listed and logged with the URL), and, when the host is a literal address
// (or "localhost"), an address that guard allows, with the guard's reason
// otherwise. Host names are resolved only at connect time, where the guard
// checks every resolved address again (a name that resolves to a blocked
// address fails then, with "blocked address"). Numeric hosts that are not a
// canonical IPv4 or IPv6 literal ("2130706433", "0x7f.1", "127.1") are
// refused: resolvers disagree on what they mean. A nil guard is the default
// guard (nothing private allowed).
func ValidateURL(raw string, guard *Guard) error {
	if raw == "" {
		return fmt.Errorf("%w: empty", ErrInvalidURL)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%w: scheme %q: only http and https", ErrInvalidURL, u.Scheme)
	}
	if u.Opaque != "" || u.Host == "" {
		return fmt.Errorf("%w: %q has no host", ErrInvalidURL, raw)
	}
	if u.User != nil {
		return fmt.Errorf("%w: credentials in the URL are not allowed", ErrInvalidURL)
	}
	host := u.Hostname()
	if host == "" {
		return fmt.Errorf("%w: %q has no host", ErrInvalidURL, raw)
	}
	if p := u.Port(); p != "" {
		if n, ok := parsePort(p); !ok || n == 0 {
			return fmt.Errorf("%w: port %q", ErrInvalidURL, p)
		}
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		if err := guard.Check(addr); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidURL, err)
		}
		return nil
	}
	if looksNumeric(host) {
		return fmt.Errorf("%w: host %q is a non-canonical numeric address", ErrInvalidURL, host)
	}
	lh := strings.ToLower(strings.TrimSuffix(host, "."))
	if lh == "localhost" || strings.HasSuffix(lh, ".localhost") {
		if err := guard.Check(netip.AddrFrom4([4]byte{127, 0, 0, 1})); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidURL, err)
		}
	}
	return nil
}

// ErrPlaintext: a slack or mailchimp endpoint URL that is not https. Their
// requests carry a credential (the Slack webhook URL's token, the Mailchimp
// API key as Basic auth) that must not travel in clear text.
var ErrPlaintext = fmt.Errorf("%w: plain http would send the endpoint's credential in clear text: use https", ErrInvalidURL)

// CheckTransport checks that an endpoint of type typ may be called at raw
// without exposing a credential: slack and mailchimp endpoints need https
// (ErrPlaintext), except to a loopback host (127.0.0.0/8, ::1, localhost),
// whose traffic never leaves the machine (`hookstack dev` sinks, tests).
// http endpoints may use either scheme: they carry no credential, only
// signatures.
func CheckTransport(typ, raw string) error {
	if typ != TypeSlack && typ != TypeMailchimp {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidURL, err)
	}
	if strings.EqualFold(u.Scheme, "https") {
		return nil
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if a, err := netip.ParseAddr(host); err == nil && a.Unmap().IsLoopback() {
		return nil
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return nil
	}
	return fmt.Errorf("%s endpoint: %w", typ, ErrPlaintext)
}

func parsePort(p string) (int, bool) {
	if len(p) > 5 {
		return 0, false
	}
	n := 0
	for _, c := range p {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, n <= 65535
}

// looksNumeric reports whether host could be read as an IPv4 address in the
// inet_aton forms (decimal, octal, hex parts; fewer than four parts): only
// digits, dots and hex markers, and its last label starts with a digit.
func looksNumeric(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "" {
		return false
	}
	labels := strings.Split(h, ".")
	last := labels[len(labels)-1]
	if last == "" || last[0] < '0' || last[0] > '9' {
		return false
	}
	for _, l := range labels {
		if l == "" {
			return false
		}
		hex := strings.HasPrefix(l, "0x")
		if hex {
			l = l[2:]
		}
		for _, c := range l {
			isDigit := c >= '0' && c <= '9'
			if !isDigit && !(hex && c >= 'a' && c <= 'f') {
				return false
			}
		}
	}
	return true
}
