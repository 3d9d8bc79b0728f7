package signature

import (
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
// a space-separated list of "<version>,<base64>"; only v1 (HMAC-SHA256) is
// checked, other versions (v1a = ed25519) are ignored. The MAC covers
// "{id}.{timestamp}.{body}" keyed with base64-decode(secret minus "whsec_").
// A secret that is not valid base64 is unusable (skipped). When no
// webhook-signature header is present the svix-* headers are used.
type standardScheme struct{ tolerance time.Duration }

func (standardScheme) Provider() string { return "standard" }

type standardHeaders struct{ id, ts, sig string }

var (
	webhookHeaders = standardHeaders{"Webhook-Id", "Webhook-Timestamp", "Webhook-Signature"}
	svixHeaders    = standardHeaders{"Svix-Id", "Svix-Timestamp", "Svix-Signature"}
)

// standardKey decodes a Standard Webhooks secret into dst (or a new slice).
func standardKey(secret string) ([]byte, bool) {
	s := strings.TrimPrefix(secret, "whsec_")
	if s == "" {
		return nil, false
	}
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(key) == 0 {
		return nil, false
	}
	return key, true
}

func (s standardScheme) Verify(r *Request, secrets []string, now time.Time) error {
	names := webhookHeaders
	if headerValue(r.Header, names.sig) == "" && headerValue(r.Header, names.id) == "" &&
		headerValue(r.Header, svixHeaders.sig) != "" {
		names = svixHeaders
	}
	keys := make([][]byte, 0, len(secrets))
	for _, secret := range secrets {
		if k, ok := standardKey(secret); ok {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return fail("standard", ErrNoSecret, "")
	}
	id := headerValue(r.Header, names.id)
	ts := headerValue(r.Header, names.ts)
	sigs := headerValue(r.Header, names.sig)
	switch {
	case sigs == "":
		return fail("standard", ErrMissing, names.sig)
	case id == "":
		return fail("standard", ErrMissing, names.id)
	case ts == "":
		return fail("standard", ErrMissing, names.ts)
	}
	n, ok := parseUint(ts)
	if !ok {
		return fail("standard", ErrMalformed, names.ts)
	}
	if !withinTolerance(time.Unix(n, 0), now, s.tolerance) {
		return fail("standard", ErrTimestamp, "")
	}
	sc := getScratch()
	defer putScratch(sc)
	// Room for what 44 base64 characters can decode to (33 bytes without
	// padding): Decode writes that much before n is checked.
	want := sc.sig[:base64.StdEncoding.DecodedLen(44)]
	for _, key := range keys {
		m := hmac.New(sha256.New, key)
		clear(key)
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
			if n, err := base64.StdEncoding.Decode(want, src); err == nil && n == sha256.Size &&
				hmac.Equal(sum, want[:n]) {
				return nil
			}
		}
	}
	return fail("standard", ErrMismatch, "")
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
