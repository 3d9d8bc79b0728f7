package signature

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"strconv"
	"time"
)

// b64 is standard base64 that rejects non-canonical trailing bits.
var b64 = base64.StdEncoding.Strict()

type sigEncoding uint8

const (
	encHex sigEncoding = iota
	encBase64
)

// hmacScheme covers the providers that sign with one HMAC carried in one
// header, optionally with a timestamp header: github, shopify, slack, zoom,
// trello.
type hmacScheme struct {
	provider  string
	newHash   func() hash.Hash
	size      int // MAC size in bytes
	sigHeader string
	prefix    string // in front of the encoded MAC ("sha256=", "v0=")
	enc       sigEncoding
	tsHeader  string // "" when the scheme has no timestamp
	// tsMillis accepts a timestamp in milliseconds when it is too large to be
	// seconds (>= 1e12); the signed text is the header as sent either way.
	tsMillis  bool
	tolerance time.Duration
	needURL   bool
	// message writes the signed content to h (buf is scratch space).
	message func(h hash.Hash, buf []byte, r *Request, ts string)
}

func newGitHub() *hmacScheme {
	return &hmacScheme{
		provider: "github", newHash: sha256.New, size: sha256.Size,
		sigHeader: "X-Hub-Signature-256", prefix: "sha256=", enc: encHex,
		message: bodyOnly,
	}
}

func newShopify() *hmacScheme {
	return &hmacScheme{
		provider: "shopify", newHash: sha256.New, size: sha256.Size,
		sigHeader: "X-Shopify-Hmac-Sha256", enc: encBase64,
		message: bodyOnly,
	}
}

func newSlack(tol time.Duration) *hmacScheme {
	return &hmacScheme{
		provider: "slack", newHash: sha256.New, size: sha256.Size,
		sigHeader: "X-Slack-Signature", prefix: "v0=", enc: encHex,
		tsHeader: "X-Slack-Request-Timestamp", tolerance: tol,
		message: v0Message,
	}
}

func newZoom(tol time.Duration) *hmacScheme {
	return &hmacScheme{
		provider: "zoom", newHash: sha256.New, size: sha256.Size,
		sigHeader: "X-Zm-Signature", prefix: "v0=", enc: encHex,
		tsHeader: "X-Zm-Request-Timestamp", tsMillis: true, tolerance: tol,
		message: v0Message,
	}
}

func newTrello() *hmacScheme {
	return &hmacScheme{
		provider: "trello", newHash: sha1.New, size: sha1.Size,
		sigHeader: "X-Trello-Webhook", enc: encBase64, needURL: true,
		message: func(h hash.Hash, buf []byte, r *Request, _ string) {
			h.Write(r.Body)
			writeString(h, buf, r.URL)
		},
	}
}

func bodyOnly(h hash.Hash, _ []byte, r *Request, _ string) { h.Write(r.Body) }

// v0Message is Slack's and Zoom's "v0:{ts}:{body}".
func v0Message(h hash.Hash, buf []byte, r *Request, ts string) {
	b := append(buf[:0], "v0:"...)
	b = append(b, ts...)
	b = append(b, ':')
	h.Write(b)
	h.Write(r.Body)
}

func (s *hmacScheme) Provider() string { return s.provider }

func (s *hmacScheme) Verify(r *Request, secrets []string, now time.Time) error {
	_, err := s.Match(r, secrets, now)
	return err
}

// Match implements Matcher.
func (s *hmacScheme) Match(r *Request, secrets []string, now time.Time) (int, error) {
	if !hasSecret(secrets) {
		return -1, fail(s.provider, ErrNoSecret, "")
	}
	if s.needURL && r.URL == "" {
		return -1, fail(s.provider, ErrNoURL, "")
	}
	v := headerValue(r.Header, s.sigHeader)
	if v == "" {
		return -1, fail(s.provider, ErrMissing, s.sigHeader)
	}
	var ts string
	if s.tsHeader != "" {
		ts = headerValue(r.Header, s.tsHeader)
		if ts == "" {
			return -1, fail(s.provider, ErrMissing, s.tsHeader)
		}
		n, ok := parseUint(ts) // at most 18 digits: v0Message fits the scratch buffer
		if !ok {
			return -1, fail(s.provider, ErrMalformed, s.tsHeader)
		}
		t := time.Unix(n, 0)
		if s.tsMillis && n >= 1e12 {
			t = time.UnixMilli(n)
		}
		if !withinTolerance(t, now, s.tolerance) {
			return -1, fail(s.provider, ErrTimestamp, "")
		}
	}
	sc := getScratch()
	defer putScratch(sc)
	got, ok := decodeMAC(s.enc, v, s.prefix, s.size, sc)
	if !ok {
		return -1, fail(s.provider, ErrMalformed, s.sigHeader)
	}
	for i, secret := range secrets {
		if secret == "" {
			continue
		}
		m := newMAC(s.newHash, sc, secret)
		s.message(m, sc.buf[:], r, ts)
		if hmac.Equal(m.Sum(sc.sum[:0]), got) {
			return i, nil
		}
	}
	return -1, fail(s.provider, ErrMismatch, "")
}

func (s *hmacScheme) Sign(r *Request, secret string, now time.Time) error {
	if secret == "" {
		return signFail(s.provider, ErrNoSecret)
	}
	if s.needURL && r.URL == "" {
		return signFail(s.provider, ErrNoURL)
	}
	var ts string
	if s.tsHeader != "" {
		ts = strconv.FormatInt(now.Unix(), 10)
		setHeader(r, s.tsHeader, ts)
	}
	sc := getScratch()
	defer putScratch(sc)
	m := newMAC(s.newHash, sc, secret)
	s.message(m, sc.buf[:], r, ts)
	setHeader(r, s.sigHeader, s.prefix+encodeMAC(s.enc, m.Sum(nil)))
	return nil
}

func signFail(provider string, err error) error {
	return fmt.Errorf("sign %s: %w", provider, err)
}

func encodeMAC(enc sigEncoding, mac []byte) string {
	if enc == encHex {
		return hex.EncodeToString(mac)
	}
	return base64.StdEncoding.EncodeToString(mac)
}

// decodeMAC strips prefix from v and decodes a MAC of exactly size bytes into
// sc.sig, without allocating.
func decodeMAC(enc sigEncoding, v, prefix string, size int, sc *scratch) ([]byte, bool) {
	if len(v) < len(prefix) || v[:len(prefix)] != prefix {
		return nil, false
	}
	v = v[len(prefix):]
	dst := sc.sig[:size]
	switch enc {
	case encHex:
		return dst, hexDecode(dst, v)
	default:
		if len(v) != base64.StdEncoding.EncodedLen(size) || len(v) > len(sc.buf) {
			return nil, false
		}
		src := sc.buf[:copy(sc.buf[:], v)]
		n, err := b64.Decode(sc.sig[:], src)
		if err != nil || n != size {
			return nil, false
		}
		return dst, true
	}
}

// hexDecode decodes s (upper or lower case) into exactly len(dst) bytes.
func hexDecode(dst []byte, s string) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	for i := range dst {
		hi, ok1 := unhex(s[2*i])
		lo, ok2 := unhex(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
