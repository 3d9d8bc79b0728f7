package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// hubSpotScheme: HubSpot request validation.
//
// v3 (preferred; used whenever X-HubSpot-Signature-v3 is present):
// base64 HMAC-SHA256 of method + URI + body + timestamp, keyed with the app's
// client secret, where timestamp is X-HubSpot-Request-Timestamp (unix
// milliseconds, within the tolerance both ways) and URI is the full request
// URL with the percent-encodings of : / ? @ ! $ ' ( ) * , ; decoded, as
// HubSpot's validation guide prescribes. The URL exactly as given is tried
// too when the two differ.
//
// Legacy (only when no v3 header is sent, and only with
// Options.HubSpotLegacy): X-HubSpot-Signature-Version v1 = hex
// SHA-256(secret + body), v2 = hex SHA-256(secret + method + URI + body).
// These are plain hashes with no timestamp (replayable, and SHA-256 of
// secret||message is open to length extension). HubSpot sends them beside v3
// for backward compatibility, so by default a request without v3 is refused.
type hubSpotScheme struct {
	tolerance time.Duration
	legacy    bool
}

const (
	hubSpotV3Header      = "X-Hubspot-Signature-V3"
	hubSpotTSHeader      = "X-Hubspot-Request-Timestamp"
	hubSpotLegacyHeader  = "X-Hubspot-Signature"
	hubSpotVersionHeader = "X-Hubspot-Signature-Version"
)

func (hubSpotScheme) Provider() string { return "hubspot" }

// hubSpotDecodeURI decodes the percent-encodings HubSpot decodes before
// signing (case-insensitive hex) and leaves every other byte alone.
func hubSpotDecodeURI(uri string) string {
	if strings.IndexByte(uri, '%') < 0 {
		return uri
	}
	var b strings.Builder
	b.Grow(len(uri))
	for i := 0; i < len(uri); i++ {
		if uri[i] == '%' && i+2 < len(uri) {
			hi, ok1 := unhex(uri[i+1])
			lo, ok2 := unhex(uri[i+2])
			if c := hi<<4 | lo; ok1 && ok2 && strings.IndexByte(":/?@!$'()*,;", c) >= 0 {
				b.WriteByte(c)
				i += 2
				continue
			}
		}
		b.WriteByte(uri[i])
	}
	return b.String()
}

func method(r *Request) string {
	if r.Method == "" {
		return "POST"
	}
	return r.Method
}

func (s hubSpotScheme) Verify(r *Request, secrets []string, now time.Time) error {
	_, err := s.Match(r, secrets, now)
	return err
}

// Match implements Matcher.
func (s hubSpotScheme) Match(r *Request, secrets []string, now time.Time) (int, error) {
	if !hasSecret(secrets) {
		return -1, fail("hubspot", ErrNoSecret, "")
	}
	if v3 := headerValue(r.Header, hubSpotV3Header); v3 != "" {
		return s.verifyV3(r, v3, secrets, now)
	}
	sig := headerValue(r.Header, hubSpotLegacyHeader)
	if sig == "" {
		return -1, fail("hubspot", ErrMissing, hubSpotV3Header)
	}
	if !s.legacy {
		return -1, fail("hubspot", ErrLegacyRefused,
			"no "+hubSpotV3Header+", only a v1/v2 signature, which signs no timestamp (replayable); HOOKSTACK_HUBSPOT_LEGACY_SIGNATURES=true accepts it")
	}
	var want [sha256.Size]byte
	if !hexDecode(want[:], sig) {
		return -1, fail("hubspot", ErrMalformed, hubSpotLegacyHeader)
	}
	version := headerValue(r.Header, hubSpotVersionHeader)
	switch version {
	case "v1":
	case "v2":
		if r.URL == "" {
			return -1, fail("hubspot", ErrNoURL, "")
		}
	default:
		return -1, fail("hubspot", ErrMalformed, hubSpotVersionHeader)
	}
	for i, secret := range secrets {
		if secret == "" {
			continue
		}
		h := sha256.New()
		h.Write([]byte(secret))
		if version == "v2" {
			h.Write([]byte(method(r) + r.URL))
		}
		h.Write(r.Body)
		if subtle.ConstantTimeCompare(h.Sum(nil), want[:]) == 1 {
			return i, nil
		}
	}
	return -1, fail("hubspot", ErrMismatch, "")
}

func (s hubSpotScheme) verifyV3(r *Request, v3 string, secrets []string, now time.Time) (int, error) {
	if r.URL == "" {
		return -1, fail("hubspot", ErrNoURL, "")
	}
	ts := headerValue(r.Header, hubSpotTSHeader)
	if ts == "" {
		return -1, fail("hubspot", ErrMissing, hubSpotTSHeader)
	}
	ms, ok := parseUint(ts)
	if !ok {
		return -1, fail("hubspot", ErrMalformed, hubSpotTSHeader)
	}
	if !withinTolerance(time.UnixMilli(ms), now, s.tolerance) {
		return -1, fail("hubspot", ErrTimestamp, "")
	}
	sc := getScratch()
	defer putScratch(sc)
	want, ok := decodeMAC(encBase64, v3, "", sha256.Size, sc)
	if !ok {
		return -1, fail("hubspot", ErrMalformed, hubSpotV3Header)
	}
	uris := []string{hubSpotDecodeURI(r.URL)}
	if uris[0] != r.URL {
		uris = append(uris, r.URL)
	}
	for i, secret := range secrets {
		if secret == "" {
			continue
		}
		for _, uri := range uris {
			m := newMAC(sha256.New, sc, secret)
			writeString(m, sc.buf[:], method(r))
			writeString(m, sc.buf[:], uri)
			m.Write(r.Body)
			writeString(m, sc.buf[:], ts)
			if hmac.Equal(m.Sum(sc.sum[:0]), want) {
				return i, nil
			}
		}
	}
	return -1, fail("hubspot", ErrMismatch, "")
}

// Sign sets the v3 signature and timestamp, plus the v1 signature and
// version header HubSpot sends alongside for backwards compatibility.
func (hubSpotScheme) Sign(r *Request, secret string, now time.Time) error {
	if secret == "" {
		return signFail("hubspot", ErrNoSecret)
	}
	if r.URL == "" {
		return signFail("hubspot", ErrNoURL)
	}
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(method(r) + hubSpotDecodeURI(r.URL)))
	m.Write(r.Body)
	m.Write([]byte(ts))
	v1 := sha256.New()
	v1.Write([]byte(secret))
	v1.Write(r.Body)
	setHeader(r, hubSpotTSHeader, ts)
	setHeader(r, hubSpotV3Header, base64.StdEncoding.EncodeToString(m.Sum(nil)))
	setHeader(r, hubSpotVersionHeader, "v1")
	setHeader(r, hubSpotLegacyHeader, hex.EncodeToString(v1.Sum(nil)))
	return nil
}
