// Package signature verifies (and, for tooling and tests, produces) webhook
// signatures exactly as each supported provider computes them.
//
// Every verifier works on the raw request bytes and headers as received
// (Request), accepts any of several active secrets (newest first, for
// rotation), compares in constant time and takes the clock as an argument.
// Schemes with a timestamp reject requests outside Options.Tolerance in both
// directions (too old and too far in the future).
//
// Every rejection wraps ErrInvalid; the more specific sentinels (ErrNoSecret,
// ErrNoURL, ErrMissing, ErrMalformed, ErrTimestamp, ErrMismatch) say why.
// Error texts never contain secrets or bodies.
//
// The package is pure Go: no AWS SDK, no third-party dependencies.
package signature

import (
	"crypto/hmac"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strings"
	"sync"
	"time"
)

// DefaultTolerance is the timestamp window used when Options.Tolerance is
// zero or negative.
const DefaultTolerance = 5 * time.Minute

// Errors. All wrap ErrInvalid, so errors.Is(err, ErrInvalid) holds for every
// rejection returned by a Verifier.
var (
	// ErrInvalid is the root of every verification failure.
	ErrInvalid = errors.New("invalid webhook signature")
	// ErrNoSecret: no usable secret is configured for the provider (a
	// configuration problem rather than a bad request).
	ErrNoSecret = fmt.Errorf("%w: no secret configured", ErrInvalid)
	// ErrNoURL: the scheme signs the request URL but Request.URL is empty (a
	// configuration problem: set the public base URL).
	ErrNoURL = fmt.Errorf("%w: request URL required", ErrInvalid)
	// ErrMissing: a required signature header (or body field) is absent.
	ErrMissing = fmt.Errorf("%w: signature header missing", ErrInvalid)
	// ErrMalformed: a signature header, timestamp or signed body cannot be parsed.
	ErrMalformed = fmt.Errorf("%w: malformed signature", ErrInvalid)
	// ErrTimestamp: the signed timestamp is outside the tolerance, past or future.
	ErrTimestamp = fmt.Errorf("%w: timestamp outside tolerance", ErrInvalid)
	// ErrMismatch: well-formed, but no configured secret produced the signature.
	ErrMismatch = fmt.Errorf("%w: signature mismatch", ErrInvalid)
	// ErrLegacyRefused: signed only with a scheme refused by default (HubSpot
	// v1/v2 without v3: see Options.HubSpotLegacy).
	ErrLegacyRefused = fmt.Errorf("%w: legacy signature refused", ErrInvalid)
)

// Request is what a verifier sees: the exact bytes and headers as received.
type Request struct {
	Method string // "POST", ...
	// URL is the full public URL the provider called
	// (scheme://host[:port]/path?query). Used by the providers that sign the
	// URL: trello, hubspot, twilio.
	URL string
	// Header holds the request headers with canonical keys. Lookups also fall
	// back to the lower-cased name, so API Gateway v2 header maps work as is.
	Header http.Header
	Body   []byte // raw body, exactly as signed
}

// Verifier checks a request's signature.
type Verifier interface {
	// Verify returns nil if any of secrets (newest first) signed r, at time now.
	Verify(r *Request, secrets []string, now time.Time) error
}

// Matcher is a Verifier that also tells which secret verified a request
// (the Zoom URL-validation handshake must answer with that secret, which
// during a rotation need not be the newest). Every scheme of this package
// implements it.
type Matcher interface {
	// Match is Verify that also returns the index in secrets of the secret
	// that verified r; -1 with the error when none did.
	Match(r *Request, secrets []string, now time.Time) (int, error)
}

// Match verifies r with v and returns the index of the secret that verified
// it: v's own Match when v implements Matcher (no extra cost), else Verify
// followed, when there are several secrets, by one Verify per secret.
func Match(v Verifier, r *Request, secrets []string, now time.Time) (int, error) {
	if m, ok := v.(Matcher); ok {
		return m.Match(r, secrets, now)
	}
	if err := v.Verify(r, secrets, now); err != nil {
		return -1, err
	}
	for i := range secrets {
		if len(secrets) == 1 || v.Verify(r, secrets[i:i+1], now) == nil {
			return i, nil
		}
	}
	return 0, nil
}

// Signer produces a provider's signature; used by tooling and tests.
type Signer interface {
	// Sign sets the provider's signature headers on r (as the provider would)
	// with secret at now. Some schemes also adjust the body or URL; see the
	// provider's documentation in Scheme.
	Sign(r *Request, secret string, now time.Time) error
}

// Scheme is one provider's signature scheme: both directions.
type Scheme interface {
	Verifier
	Signer
	// Provider is the provider path name ("stripe", ...).
	Provider() string
}

// Options tune the verifiers.
type Options struct {
	// Tolerance is the accepted distance between a signed timestamp and now,
	// in either direction. Zero or negative means DefaultTolerance.
	Tolerance time.Duration
	// HubSpotLegacy accepts HubSpot's v1/v2 signatures on requests that
	// carry no v3 signature. They sign no timestamp, so a captured request
	// verifies for ever (replay); HubSpot sends v3 beside them on current
	// apps, so they are refused unless this is set.
	HubSpotLegacy bool
}

func (o Options) tolerance() time.Duration {
	if o.Tolerance <= 0 {
		return DefaultTolerance
	}
	return o.Tolerance
}

// Providers lists every supported provider path name.
var Providers = []string{
	"stripe", "github", "shopify", "slack", "standard", "livechat",
	"trello", "hubspot", "twilio", "zoom", "salesforce",
}

// New returns the scheme of provider, or false if the provider is unknown.
func New(provider string, opts Options) (Scheme, bool) {
	tol := opts.tolerance()
	switch provider {
	case "stripe":
		return stripeScheme{tolerance: tol}, true
	case "github":
		return newGitHub(), true
	case "shopify":
		return newShopify(), true
	case "slack":
		return newSlack(tol), true
	case "standard":
		return standardScheme{tolerance: tol}, true
	case "livechat":
		return liveChatScheme{}, true
	case "trello":
		return newTrello(), true
	case "hubspot":
		return hubSpotScheme{tolerance: tol, legacy: opts.HubSpotLegacy}, true
	case "twilio":
		return twilioScheme{}, true
	case "zoom":
		return newZoom(tol), true
	case "salesforce":
		return salesforceScheme{}, true
	}
	return nil, false
}

// For returns the verifier and signer of provider (the same Scheme value), or
// false if the provider is unknown.
func For(provider string, opts Options) (Verifier, Signer, bool) {
	s, ok := New(provider, opts)
	if !ok {
		return nil, nil, false
	}
	return s, s, true
}

// fail wraps a sentinel with the provider and an optional detail (a header
// name or a reason; never secret material or body bytes).
func fail(provider string, err error, detail string) error {
	if detail == "" {
		return fmt.Errorf("verify %s: %w", provider, err)
	}
	return fmt.Errorf("verify %s: %w: %s", provider, err, detail)
}

// hasSecret reports whether secrets holds at least one non-empty secret. An
// empty secret never verifies anything: an HMAC under an empty key is
// computable by anyone.
func hasSecret(secrets []string) bool {
	for _, s := range secrets {
		if s != "" {
			return true
		}
	}
	return false
}

// headerValue returns the first value of the header key (given in canonical
// form), falling back to the lower-cased key for maps built from API Gateway
// events.
func headerValue(h http.Header, key string) string {
	if len(h) == 0 {
		return ""
	}
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	if v := h.Get(key); v != "" {
		return v
	}
	if v := h[strings.ToLower(key)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// setHeader sets key on r.Header, creating the map if needed.
func setHeader(r *Request, key, value string) {
	if r.Header == nil {
		r.Header = make(http.Header)
	}
	r.Header.Set(key, value)
}

// parseUint parses a canonical decimal number: ASCII digits only, no sign, no
// spaces, no leading zero (except "0" itself), at most 18 digits.
func parseUint(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 18 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// withinTolerance reports whether t is at most tol away from now.
func withinTolerance(t, now time.Time, tol time.Duration) bool {
	d := now.Sub(t)
	return d <= tol && d >= -tol
}

// scratch is per-call working memory, pooled so that the hot path does not
// allocate buffers for keys, MACs and decoded signatures.
type scratch struct {
	key [128]byte
	buf [256]byte
	sum [64]byte
	sig [64]byte
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func getScratch() *scratch { return scratchPool.Get().(*scratch) }

func putScratch(sc *scratch) {
	clear(sc.key[:]) // no secret material left in pooled memory
	scratchPool.Put(sc)
}

// newMAC returns an HMAC keyed with secret, using sc to avoid converting the
// secret to a fresh byte slice.
func newMAC(newHash func() hash.Hash, sc *scratch, secret string) hash.Hash {
	var key []byte
	if len(secret) <= len(sc.key) {
		key = sc.key[:copy(sc.key[:], secret)]
	} else {
		key = []byte(secret)
	}
	m := hmac.New(newHash, key)
	clear(key)
	return m
}

// writeString writes s to h through buf without allocating.
func writeString(h hash.Hash, buf []byte, s string) {
	for len(s) > 0 {
		n := copy(buf, s)
		h.Write(buf[:n])
		s = s[n:]
	}
}
