package signature

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// standardScheme: Standard Webhooks (https://www.standardwebhooks.com), also
// sent by Svix-based senders under svix-* header names.
//
// Headers webhook-id, webhook-timestamp (unix seconds) and webhook-signature,
// a space-separated list of "<version>,<base64>". Both versions of the spec
// are checked over "{id}.{timestamp}.{body}":
//   - v1 (HMAC-SHA256), keyed with base64-decode(secret minus "whsec_"),
//     for a symmetric secret "whsec_<base64>";
//   - v1a (ed25519), for a public key secret "whpk_<base64 of the 32-byte
//     ed25519 public key>".
//
// A secret of either kind verifies only its own version. A secret that is
// neither is unusable (skipped; see CheckSecret). When no webhook-signature
// header is present the svix-* headers are used.
type standardScheme struct{ tolerance time.Duration }

func (standardScheme) Provider() string { return "standard" }

type standardHeaders struct{ id, ts, sig string }

var (
	webhookHeaders = standardHeaders{"Webhook-Id", "Webhook-Timestamp", "Webhook-Signature"}
	svixHeaders    = standardHeaders{"Svix-Id", "Svix-Timestamp", "Svix-Signature"}
)

// Standard Webhooks secret prefixes.
const (
	StandardSecretPrefix    = "whsec_" // symmetric: v1 (HMAC-SHA256)
	StandardPublicKeyPrefix = "whpk_"  // asymmetric: v1a (ed25519 public key)
)

// standardKey decodes a Standard Webhooks symmetric secret.
func standardKey(secret string) ([]byte, bool) {
	s, ok := strings.CutPrefix(secret, StandardSecretPrefix)
	if !ok && strings.HasPrefix(secret, StandardPublicKeyPrefix) {
		return nil, false
	}
	if s == "" {
		return nil, false
	}
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(key) == 0 {
		return nil, false
	}
	return key, true
}

// standardPublicKey decodes a "whpk_" ed25519 public key secret.
func standardPublicKey(secret string) (ed25519.PublicKey, bool) {
	s, ok := strings.CutPrefix(secret, StandardPublicKeyPrefix)
	if !ok {
		return nil, false
	}
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(key) != ed25519.PublicKeySize {
		return nil, false
	}
	return ed25519.PublicKey(key), true
}

// standardSecret is one usable secret: an HMAC key or an ed25519 public key.
type standardSecret struct {
	index int
	mac   []byte
	pub   ed25519.PublicKey
}

func (s standardScheme) Verify(r *Request, secrets []string, now time.Time) error {
	_, err := s.Match(r, secrets, now)
	return err
}

// Match implements Matcher.
func (s standardScheme) Match(r *Request, secrets []string, now time.Time) (int, error) {
	names := webhookHeaders
	if headerValue(r.Header, names.sig) == "" && headerValue(r.Header, names.id) == "" &&
		headerValue(r.Header, svixHeaders.sig) != "" {
		names = svixHeaders
	}
	keys := make([]standardSecret, 0, len(secrets))
	for i, secret := range secrets {
		if k, ok := standardKey(secret); ok {
			keys = append(keys, standardSecret{index: i, mac: k})
		} else if pub, ok := standardPublicKey(secret); ok {
			keys = append(keys, standardSecret{index: i, pub: pub})
		}
	}
	if len(keys) == 0 {
		return -1, fail("standard", ErrNoSecret, "")
	}
	id := headerValue(r.Header, names.id)
	ts := headerValue(r.Header, names.ts)
	sigs := headerValue(r.Header, names.sig)
	switch {
	case sigs == "":
		return -1, fail("standard", ErrMissing, names.sig)
	case id == "":
		return -1, fail("standard", ErrMissing, names.id)
	case ts == "":
		return -1, fail("standard", ErrMissing, names.ts)
	}
	n, ok := parseUint(ts)
	if !ok {
		return -1, fail("standard", ErrMalformed, names.ts)
	}
	if !withinTolerance(time.Unix(n, 0), now, s.tolerance) {
		return -1, fail("standard", ErrTimestamp, "")
	}
	sc := getScratch()
	defer putScratch(sc)
	// Room for what 44 base64 characters can decode to (33 bytes without
	// padding): Decode writes that much before n is checked.
	want := sc.sig[:base64.StdEncoding.DecodedLen(44)]
	var signed []byte // "{id}.{ts}.{body}", built once for ed25519
	for _, key := range keys {
		if key.pub != nil {
			if signed == nil {
				signed = make([]byte, 0, len(id)+len(ts)+2+len(r.Body))
				signed = append(append(append(append(append(signed, id...), '.'), ts...), '.'), r.Body...)
			}
			if standardMatchV1a(sigs, key.pub, signed) {
				return key.index, nil
			}
			continue
		}
		m := hmac.New(sha256.New, key.mac)
		clear(key.mac)
		writeString(m, sc.buf[:], id)
		b := append(sc.buf[:0], '.')
		b = append(b, ts...)
		b = append(b, '.')
		m.Write(b)
		m.Write(r.Body)
		sum := m.Sum(sc.sum[:0])
		for _, item := range strings.Fields(sigs) {
			ver, enc, found := strings.Cut(item, ",")
			if !found || ver != "v1" || len(enc) != 44 {
				continue
			}
			src := sc.buf[:copy(sc.buf[:], enc)]
			if n, err := strictBase64.Decode(want, src); err == nil && n == sha256.Size &&
				hmac.Equal(sum, want[:n]) {
				return key.index, nil
			}
		}
	}
	return -1, fail("standard", ErrMismatch, "")
}

// strictBase64 decodes a signature only from its one canonical encoding:
// the standard decoder ignores the unused low bits of the last character,
// so "...1OE=" and "...1OG=" would both verify as the same MAC. Not a
// forgery (the MAC is still needed), but a signature header means one
// string, as the Standard Webhooks libraries compare it (FuzzStandardHeader
// found the spelling).
var strictBase64 = base64.StdEncoding.Strict()

// standardMatchV1a reports whether one of the v1a entries of sigs is pub's
// ed25519 signature of signed.
func standardMatchV1a(sigs string, pub ed25519.PublicKey, signed []byte) bool {
	var sig [66]byte // base64.StdEncoding.DecodedLen(88)
	encLen := base64.StdEncoding.EncodedLen(ed25519.SignatureSize)
	for _, item := range strings.Fields(sigs) {
		ver, enc, found := strings.Cut(item, ",")
		if !found || ver != "v1a" || len(enc) != encLen {
			continue
		}
		if n, err := strictBase64.Decode(sig[:], []byte(enc)); err == nil && n == ed25519.SignatureSize &&
			ed25519.Verify(pub, signed, sig[:n]) {
			return true
		}
	}
	return false
}

// Sign sets webhook-timestamp and webhook-signature (or the svix-* names when
// the request already carries svix-id). The message id is kept when present
// and generated ("msg_" + random hex) otherwise.
func (standardScheme) Sign(r *Request, secret string, now time.Time) error {
	key, ok := standardKey(secret)
	if !ok {
		return fmt.Errorf("sign standard: secret must be whsec_ followed by base64: %w", ErrNoSecret)
	}
	names := webhookHeaders
	if headerValue(r.Header, names.id) == "" && headerValue(r.Header, svixHeaders.id) != "" {
		names = svixHeaders
	}
	id := headerValue(r.Header, names.id)
	if id == "" {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return fmt.Errorf("sign standard: message id: %w", err)
		}
		id = "msg_" + hex.EncodeToString(b[:])
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "."))
	m.Write(r.Body)
	setHeader(r, names.id, id)
	setHeader(r, names.ts, ts)
	setHeader(r, names.sig, "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
	return nil
}
