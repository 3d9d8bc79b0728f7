package signature

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
)

// liveChatScheme: LiveChat / Text Platform webhooks carry no signature
// header; the JSON body has a top-level "secret_key" set when the webhook was
// registered. Verify requires the body to be one well-formed JSON object with
// exactly one top-level "secret_key" string equal (constant time, length
// hidden) to a configured secret.
//
// Sign writes the secret into the body: it replaces the value of a top-level
// secret_key, or inserts "secret_key" as the object's first member, keeping
// every other byte. That is what `hookstack send livechat <file>` needs to
// turn a sample payload into one the local verifier accepts.
type liveChatScheme struct{}

const liveChatField = "secret_key"

func (liveChatScheme) Provider() string { return "livechat" }

var errLiveChatJSON = errors.New("body is not a JSON object")

// findTopLevel locates the value of the top-level member key in the JSON
// object body: the byte range [start,end) of the value, and the offset just
// after the object's opening brace. Duplicate keys are an error.
func findTopLevel(body []byte, key string) (start, end, open int, found bool, err error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return 0, 0, 0, false, errLiveChatJSON
	}
	open = int(dec.InputOffset())
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return 0, 0, 0, false, errLiveChatJSON
		}
		k, _ := kt.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return 0, 0, 0, false, errLiveChatJSON
		}
		if k == key {
			if found {
				return 0, 0, 0, false, fmt.Errorf("duplicate %q", key)
			}
			found = true
			end = int(dec.InputOffset())
			start = end - len(raw)
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return 0, 0, 0, false, errLiveChatJSON
	}
	if _, err := dec.Token(); err != io.EOF {
		return 0, 0, 0, false, errLiveChatJSON // trailing data
	}
	return start, end, open, found, nil
}

func (l liveChatScheme) Verify(r *Request, secrets []string, now time.Time) error {
	_, err := l.Match(r, secrets, now)
	return err
}

// Match implements Matcher.
func (liveChatScheme) Match(r *Request, secrets []string, _ time.Time) (int, error) {
	if !hasSecret(secrets) {
		return -1, fail("livechat", ErrNoSecret, "")
	}
	start, end, _, found, err := findTopLevel(r.Body, liveChatField)
	if err != nil {
		return -1, fail("livechat", ErrMalformed, err.Error())
	}
	if !found {
		return -1, fail("livechat", ErrMissing, liveChatField)
	}
	var got string
	if err := json.Unmarshal(r.Body[start:end], &got); err != nil {
		return -1, fail("livechat", ErrMalformed, liveChatField+" is not a string")
	}
	gotSum := sha256.Sum256([]byte(got))
	for i, secret := range secrets {
		if secret == "" {
			continue
		}
		wantSum := sha256.Sum256([]byte(secret))
		if subtle.ConstantTimeCompare(gotSum[:], wantSum[:]) == 1 {
			return i, nil
		}
	}
	return -1, fail("livechat", ErrMismatch, "")
}

func (liveChatScheme) Sign(r *Request, secret string, _ time.Time) error {
	if secret == "" {
		return signFail("livechat", ErrNoSecret)
	}
	start, end, open, found, err := findTopLevel(r.Body, liveChatField)
	if err != nil {
		return fmt.Errorf("sign livechat: %w: %v", ErrMalformed, err)
	}
	val, err := json.Marshal(secret)
	if err != nil {
		return fmt.Errorf("sign livechat: %w", err)
	}
	var out []byte
	if found {
		out = slices.Concat(r.Body[:start], val, r.Body[end:])
	} else {
		member := append([]byte(`"`+liveChatField+`":`), val...)
		if rest := bytes.TrimLeft(r.Body[open:], " \t\r\n"); len(rest) == 0 || rest[0] != '}' {
			member = append(member, ',')
		}
		out = slices.Concat(r.Body[:open], member, r.Body[open:])
	}
	r.Body = out
	return nil
}
