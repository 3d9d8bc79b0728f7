package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

const stripeHeader = "Stripe-Signature"

// stripeScheme: Stripe-Signature "t=<unix>,v1=<hex>[,v1=<hex>...][,v0=...]",
// HMAC-SHA256 of "{t}.{body}" keyed with the whole "whsec_..." string. Any v1
// may match (Stripe sends several while a secret is being rolled); v0 is
// ignored, so a header with only v0 fails. Parsing follows stripe-go: every
// comma-separated item must be exactly key=value, unknown keys and v1 values
// that are not hex are ignored.
type stripeScheme struct{ tolerance time.Duration }

func (stripeScheme) Provider() string { return "stripe" }

// parseStripeHeader validates the header's structure and returns the raw
// timestamp and the number of v1 items.
func parseStripeHeader(h string) (ts string, nv1 int, ok bool) {
	seenT := false
	for rest, more := h, true; more; {
		var item string
		item, rest, more = strings.Cut(rest, ",")
		k, v, found := strings.Cut(item, "=")
		if !found || strings.IndexByte(v, '=') >= 0 {
			return "", 0, false
		}
		switch k {
		case "t":
			if seenT {
				return "", 0, false
			}
			seenT, ts = true, v
		case "v1":
			nv1++
		}
	}
	return ts, nv1, seenT
}

func (s stripeScheme) Verify(r *Request, secrets []string, now time.Time) error {
	_, err := s.Match(r, secrets, now)
	return err
}

// Match implements Matcher.
func (s stripeScheme) Match(r *Request, secrets []string, now time.Time) (int, error) {
	if !hasSecret(secrets) {
		return -1, fail("stripe", ErrNoSecret, "")
	}
	h := headerValue(r.Header, stripeHeader)
	if h == "" {
		return -1, fail("stripe", ErrMissing, stripeHeader)
	}
	ts, nv1, ok := parseStripeHeader(h)
	if !ok {
		return -1, fail("stripe", ErrMalformed, stripeHeader)
	}
	n, ok := parseUint(ts)
	if !ok {
		return -1, fail("stripe", ErrMalformed, "timestamp")
	}
	if !withinTolerance(time.Unix(n, 0), now, s.tolerance) {
		return -1, fail("stripe", ErrTimestamp, "")
	}
	if nv1 == 0 {
		return -1, fail("stripe", ErrMismatch, "no v1 signature")
	}
	sc := getScratch()
	defer putScratch(sc)
	want := sc.sig[:sha256.Size]
	for i, secret := range secrets {
		if secret == "" {
			continue
		}
		m := newMAC(sha256.New, sc, secret)
		b := append(sc.buf[:0], ts...)
		b = append(b, '.')
		m.Write(b)
		m.Write(r.Body)
		sum := m.Sum(sc.sum[:0])
		for rest := h; rest != ""; {
			var item string
			item, rest, _ = strings.Cut(rest, ",")
			if len(item) == 3+2*sha256.Size && item[:3] == "v1=" &&
				hexDecode(want, item[3:]) && hmac.Equal(sum, want) {
				return i, nil
			}
		}
	}
	return -1, fail("stripe", ErrMismatch, "")
}

func (s stripeScheme) Sign(r *Request, secret string, now time.Time) error {
	if secret == "" {
		return signFail("stripe", ErrNoSecret)
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(r.Body)
	setHeader(r, stripeHeader, "t="+ts+",v1="+hex.EncodeToString(m.Sum(nil)))
	return nil
}
