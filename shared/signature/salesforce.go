package signature

import (
	"bytes"
	"crypto/subtle"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// salesforceScheme: Salesforce Outbound Messaging carries no signature. The
// "secrets" are the allowed OrganizationIds; the SOAP body's
// notifications/OrganizationId must be one of them.
//
// Salesforce ids are 15 case-sensitive characters; the 18-character form adds
// a 3-character suffix that encodes the case of the first 15 so that the id
// survives case-insensitive systems. Ids are therefore compared on their
// first 15 characters, case-sensitively; an 18-character id (in the body) must
// carry the correct suffix. A configured id that is not 15 or 18 letters and
// digits is unusable.
//
// The body is parsed with encoding/xml, which never fetches or expands
// external entities; any DOCTYPE or other directive is rejected anyway,
// nesting is capped at salesforceMaxDepth, and exactly one OrganizationId
// must appear as a child of notifications in the outbound namespace.
//
// Sign (for tooling) replaces the text of that OrganizationId with the
// given id, so a sample payload passes the local allowlist.
type salesforceScheme struct{}

const (
	salesforceNS       = "http://soap.sforce.com/2005/09/outbound"
	salesforceMaxDepth = 32
)

func (salesforceScheme) Provider() string { return "salesforce" }

var (
	errSFNoOrg     = errors.New("no OrganizationId")
	errSFDirective = errors.New("DOCTYPE or directive not allowed")
	errSFDepth     = errors.New("XML nested too deep")
)

// salesforceOrg returns the OrganizationId text and the byte range of that
// text in body.
func salesforceOrg(body []byte) (org string, start, end int, err error) {
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.Strict = true
	var (
		stack   []xml.Name
		inOrg   bool
		found   bool
		text    []byte
		seenAny bool
	)
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", 0, 0, xmlError(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if inOrg {
				return "", 0, 0, errors.New("element inside OrganizationId")
			}
			if len(stack) >= salesforceMaxDepth {
				return "", 0, 0, errSFDepth
			}
			seenAny = true
			if t.Name.Local == "OrganizationId" && t.Name.Space == salesforceNS && len(stack) > 0 &&
				stack[len(stack)-1] == (xml.Name{Space: salesforceNS, Local: "notifications"}) {
				if found {
					return "", 0, 0, errors.New("more than one OrganizationId")
				}
				inOrg = true
				start = int(dec.InputOffset())
				end = start
			}
			stack = append(stack, t.Name)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
			if inOrg {
				inOrg, found = false, true
			}
		case xml.CharData:
			if inOrg {
				text = append(text, t...)
				end = int(dec.InputOffset())
			}
		case xml.Directive:
			return "", 0, 0, errSFDirective
		}
	}
	if !seenAny {
		return "", 0, 0, errors.New("no XML element")
	}
	if !found {
		return "", 0, 0, errSFNoOrg
	}
	return strings.TrimSpace(string(text)), start, end, nil
}

// salesforceSuffix computes the 3-character case-checksum suffix of a
// 15-character id.
func salesforceSuffix(id15 string) [3]byte {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
	var out [3]byte
	for i := range 3 {
		flags := 0
		for j := range 5 {
			if c := id15[i*5+j]; c >= 'A' && c <= 'Z' {
				flags |= 1 << j
			}
		}
		out[i] = alphabet[flags]
	}
	return out
}

// salesforceID15 validates a 15- or 18-character id and returns its
// 15-character case-sensitive form. With checkSuffix an 18-character id must
// carry the right suffix (compared case-insensitively).
func salesforceID15(id string, checkSuffix bool) (string, bool) {
	if len(id) != 15 && len(id) != 18 {
		return "", false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return "", false
		}
	}
	if len(id) == 18 && checkSuffix {
		want := salesforceSuffix(id[:15])
		if !strings.EqualFold(id[15:], string(want[:])) {
			return "", false
		}
	}
	return id[:15], true
}

func (s salesforceScheme) Verify(r *Request, secrets []string, now time.Time) error {
	_, err := s.Match(r, secrets, now)
	return err
}

// Match implements Matcher.
func (salesforceScheme) Match(r *Request, secrets []string, _ time.Time) (int, error) {
	usable := false
	for _, s := range secrets {
		if _, ok := salesforceID15(strings.TrimSpace(s), false); ok {
			usable = true
			break
		}
	}
	if !usable {
		return -1, fail("salesforce", ErrNoSecret, "no valid OrganizationId configured")
	}
	org, _, _, err := salesforceOrg(r.Body)
	if errors.Is(err, errSFNoOrg) {
		return -1, fail("salesforce", ErrMissing, "OrganizationId")
	}
	if err != nil {
		return -1, fail("salesforce", ErrMalformed, err.Error())
	}
	got, ok := salesforceID15(org, true)
	if !ok {
		return -1, fail("salesforce", ErrMalformed, "OrganizationId is not a Salesforce id")
	}
	for i, s := range secrets {
		id, ok := salesforceID15(strings.TrimSpace(s), false)
		if ok && subtle.ConstantTimeCompare([]byte(got), []byte(id)) == 1 {
			return i, nil
		}
	}
	return -1, fail("salesforce", ErrMismatch, "OrganizationId not allowed")
}

func (salesforceScheme) Sign(r *Request, secret string, _ time.Time) error {
	if _, ok := salesforceID15(secret, true); !ok {
		return fmt.Errorf("sign salesforce: secret must be a 15 or 18 character OrganizationId: %w", ErrNoSecret)
	}
	_, start, end, err := salesforceOrg(r.Body)
	if err != nil {
		return fmt.Errorf("sign salesforce: %w: %v", ErrMalformed, err)
	}
	if start == end && bytes.HasSuffix(r.Body[:start], []byte("/>")) {
		return fmt.Errorf("sign salesforce: %w: empty OrganizationId element", ErrMalformed)
	}
	r.Body = slices.Concat(r.Body[:start], []byte(secret), r.Body[end:])
	return nil
}

// xmlError is a fixed description of an encoding/xml error: the parser's own
// texts quote the input (an element name, an entity, a character), which
// must not reach logs.
func xmlError(err error) error {
	var syn *xml.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Errorf("XML syntax error on line %d", syn.Line)
	}
	return errors.New("invalid XML")
}
