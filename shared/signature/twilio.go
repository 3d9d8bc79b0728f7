package signature

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// twilioScheme: X-Twilio-Signature, base64 HMAC-SHA1 keyed with the auth
// token over the full URL followed by the POST parameters, each as
// name+value, sorted by name (repeated names: values sorted too). The
// ordering twilio-go uses (sorting the concatenated name+value strings,
// which differs only in rare cases) is accepted as well.
//
// Twilio is inconsistent about default ports, so the URL is tried as given,
// with the default port added (:443 for https, :80 otherwise) when it has
// none, and with the port removed when it has one.
//
// JSON bodies: Twilio adds a bodySHA256 query parameter (hex SHA-256 of the
// body) to the URL and signs the URL alone; the body must then match that
// hash. GET requests sign the URL alone.
type twilioScheme struct{}

const twilioHeader = "X-Twilio-Signature"

func (twilioScheme) Provider() string { return "twilio" }

// twilioParams returns the parameter string(s) to append to the URL: sorted
// by name (Twilio's documented order) and, when different, sorted by the
// concatenated name+value (twilio-go's order).
func twilioParams(form url.Values) []string {
	if len(form) == 0 {
		return []string{""}
	}
	var byName strings.Builder
	var pairs []string
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range form {
			if !yield(k) {
				return
			}
		}
	}) {
		vs := slices.Clone(form[k])
		slices.Sort(vs)
		for _, v := range vs {
			byName.WriteString(k)
			byName.WriteString(v)
			pairs = append(pairs, k+v)
		}
	}
	slices.Sort(pairs)
	byPair := strings.Join(pairs, "")
	if byPair == byName.String() {
		return []string{byPair}
	}
	return []string{byName.String(), byPair}
}

// twilioURLs returns the URL variants to try.
func twilioURLs(raw string, u *url.URL) []string {
	out := []string{raw}
	host := u.Host
	if i := strings.LastIndexByte(host, ':'); i > strings.LastIndexByte(host, ']') {
		v := *u
		v.Host = host[:i]
		out = append(out, v.String())
	} else if host != "" {
		v := *u
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		v.Host = host + ":" + port
		out = append(out, v.String())
	}
	return out
}

func (t twilioScheme) Verify(r *Request, secrets []string, now time.Time) error {
	_, err := t.Match(r, secrets, now)
	return err
}

// Match implements Matcher.
func (twilioScheme) Match(r *Request, secrets []string, _ time.Time) (int, error) {
	if !hasSecret(secrets) {
		return -1, fail("twilio", ErrNoSecret, "")
	}
	if r.URL == "" {
		return -1, fail("twilio", ErrNoURL, "")
	}
	sigv := headerValue(r.Header, twilioHeader)
	if sigv == "" {
		return -1, fail("twilio", ErrMissing, twilioHeader)
	}
	sc := getScratch()
	defer putScratch(sc)
	want, ok := decodeMAC(encBase64, sigv, "", sha1.Size, sc)
	if !ok {
		return -1, fail("twilio", ErrMalformed, twilioHeader)
	}
	u, err := url.Parse(r.URL)
	if err != nil {
		return -1, fail("twilio", ErrMalformed, "request URL")
	}
	var bodyHash [sha256.Size]byte
	jsonMode := false
	params := []string{""}
	if bh := u.Query().Get("bodySHA256"); bh != "" {
		jsonMode = true
		if !hexDecode(bodyHash[:], bh) {
			return -1, fail("twilio", ErrMalformed, "bodySHA256")
		}
	} else if len(r.Body) > 0 && method(r) != "GET" {
		form, err := url.ParseQuery(string(r.Body))
		if err != nil {
			return -1, fail("twilio", ErrMalformed, "form body")
		}
		params = twilioParams(form)
	}
	matched := twilioMatch(sc, want, secrets, twilioURLs(r.URL, u), params)
	if matched < 0 {
		return -1, fail("twilio", ErrMismatch, "")
	}
	if jsonMode {
		sum := sha256.Sum256(r.Body)
		if subtle.ConstantTimeCompare(sum[:], bodyHash[:]) != 1 {
			return -1, fail("twilio", ErrMismatch, "bodySHA256")
		}
	}
	return matched, nil
}

// twilioMatch returns the index of the secret that signed, or -1.
func twilioMatch(sc *scratch, want []byte, secrets, urls, params []string) int {
	for i, secret := range secrets {
		if secret == "" {
			continue
		}
		for _, base := range urls {
			for _, p := range params {
				m := newMAC(sha1.New, sc, secret)
				writeString(m, sc.buf[:], base)
				writeString(m, sc.buf[:], p)
				if hmac.Equal(m.Sum(sc.sum[:0]), want) {
					return i
				}
			}
		}
	}
	return -1
}

// Sign signs as Twilio does. For a JSON body (Content-Type application/json)
// it first appends bodySHA256=<hex> to r.URL (the caller must send to the
// updated URL); for other bodies of non-GET requests it signs the form
// parameters.
func (twilioScheme) Sign(r *Request, secret string, _ time.Time) error {
	if secret == "" {
		return signFail("twilio", ErrNoSecret)
	}
	if r.URL == "" {
		return signFail("twilio", ErrNoURL)
	}
	params := ""
	ct := headerValue(r.Header, "Content-Type")
	switch {
	case strings.Contains(strings.ToLower(ct), "json"):
		sum := sha256.Sum256(r.Body)
		u, err := url.Parse(r.URL)
		if err != nil {
			return fmt.Errorf("sign twilio: %w: request URL", ErrMalformed)
		}
		if u.Query().Has("bodySHA256") || u.Fragment != "" {
			return fmt.Errorf("sign twilio: %w: URL already has bodySHA256 or a fragment", ErrMalformed)
		}
		sep := "?"
		if u.RawQuery != "" {
			sep = "&"
		}
		r.URL = strings.TrimSuffix(r.URL, "?") + sep + "bodySHA256=" + hex.EncodeToString(sum[:])
	case len(r.Body) > 0 && method(r) != "GET":
		form, err := url.ParseQuery(string(r.Body))
		if err != nil {
			return fmt.Errorf("sign twilio: %w: form body", ErrMalformed)
		}
		params = twilioParams(form)[0]
	}
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(r.URL + params))
	setHeader(r, twilioHeader, base64.StdEncoding.EncodeToString(m.Sum(nil)))
	return nil
}
