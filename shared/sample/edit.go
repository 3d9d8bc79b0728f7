package sample

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/tidwall/gjson"
)

// ErrEdit: a sample body could not be edited (not the JSON or XML it should
// be).
var ErrEdit = errors.New("cannot edit sample body")

// setJSON replaces the value at path (a gjson path without modifiers) with
// raw, an encoded JSON value, keeping every other byte. found is false, and
// body is returned as is, when the body has no value there.
func setJSON(body []byte, path, raw string) (out []byte, found bool, err error) {
	if !gjson.ValidBytes(body) {
		return nil, false, fmt.Errorf("%w: not valid JSON", ErrEdit)
	}
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) == 0 || (t[0] != '{' && t[0] != '[') {
		return nil, false, fmt.Errorf("%w: not a JSON object or array", ErrEdit)
	}
	res := gjson.GetBytes(body, path)
	if !res.Exists() {
		return body, false, nil
	}
	start, end := res.Index, res.Index+len(res.Raw)
	if res.Index <= 0 || end > len(body) || string(body[start:end]) != res.Raw {
		return nil, false, fmt.Errorf("%w: cannot locate %s", ErrEdit, path)
	}
	out = make([]byte, 0, len(body)-len(res.Raw)+len(raw))
	out = append(out, body[:start]...)
	out = append(out, raw...)
	out = append(out, body[end:]...)
	return out, true, nil
}

// replaceNotificationIDs replaces the text of every Id element that is a
// direct child of a Notification element (Salesforce Outbound Messaging),
// keeping every other byte.
func replaceNotificationIDs(body []byte, gen func() (string, error)) ([]byte, error) {
	type span struct{ start, end int64 }
	var (
		spans []span
		stack []string
	)
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.Strict = true
	for {
		before := dec.InputOffset()
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrEdit, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			stack = append(stack, t.Name.Local)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if n := len(stack); n >= 2 && stack[n-1] == "Id" && stack[n-2] == "Notification" {
				spans = append(spans, span{before, dec.InputOffset()})
			}
		}
	}
	out := bytes.Clone(body)
	for i := len(spans) - 1; i >= 0; i-- {
		id, err := gen()
		if err != nil {
			return nil, err
		}
		sp := spans[i]
		out = append(out[:sp.start:sp.start], append([]byte(id), out[sp.end:]...)...)
	}
	return out, nil
}

// formValue returns the first value of key in a form-encoded body.
func formValue(body []byte, key string) (string, bool) {
	for _, pair := range strings.Split(string(body), "&") {
		k, v, _ := strings.Cut(pair, "=")
		if uk, err := url.QueryUnescape(k); err != nil || uk != key {
			continue
		}
		uv, err := url.QueryUnescape(v)
		if err != nil {
			return "", false
		}
		return uv, true
	}
	return "", false
}

// setFormValues replaces the value of every pair of a form-encoded body
// whose key is in values, keeping the order and every other byte. Keys the
// body lacks are not added.
func setFormValues(body []byte, values map[string]string) ([]byte, error) {
	if len(values) == 0 {
		return body, nil
	}
	if _, err := url.ParseQuery(string(body)); err != nil {
		return nil, fmt.Errorf("%w: not a form: %v", ErrEdit, err)
	}
	pairs := strings.Split(string(body), "&")
	for i, pair := range pairs {
		if pair == "" {
			continue
		}
		k, _, _ := strings.Cut(pair, "=")
		uk, _ := url.QueryUnescape(k)
		if v, ok := values[uk]; ok {
			pairs[i] = k + "=" + url.QueryEscape(v)
		}
	}
	return []byte(strings.Join(pairs, "&")), nil
}
