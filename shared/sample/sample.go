// Package sample loads the sample webhook deliveries of events/ (embedded
// in the binary by package events, or any folder with the same layout),
// refreshes their ids and timestamps so that each send is a distinct event,
// and signs them as the provider would.
//
// Layout (events/README.md): <provider>/<name>.<json|xml|form> holds the body
// bytes exactly as the provider sends them; an optional <provider>/<name>.headers
// holds the non-signature headers, one "Name: value" per line. <name> is the
// provider's event type with "/" written as "_", optionally followed by a
// variant suffix ("charge.refunded_partial").
package sample

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/textproto"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/signature"
)

// Errors.
var (
	// ErrNotFound: no sample matches the provider and event type asked for.
	ErrNotFound = errors.New("no such sample")
	// ErrHeaders: a .headers file (or a --header value) is not "Name: value".
	ErrHeaders = errors.New("malformed header line")
	// ErrUnknownProvider: the provider is not one Hookstack knows.
	ErrUnknownProvider = errors.New("unknown provider")
)

// Body extensions and the Content-Type a sample gets when its .headers file
// names none.
var extContentType = map[string]string{
	"json": "application/json",
	"xml":  "text/xml; charset=utf-8",
	"form": "application/x-www-form-urlencoded",
}

// Sample is one sample delivery.
type Sample struct {
	// Provider is the provider path name ("stripe").
	Provider string
	// Name is the file name without extension ("charge.refunded_partial",
	// "inventory_levels_update").
	Name string
	// Type is the event type the ingest extracts from it, as the provider
	// names it ("charge.refunded", "inventory_levels/update").
	Type string
	// Path is the body file's path in the samples folder
	// ("stripe/charge.refunded_partial.json").
	Path string
	// Header holds the sidecar headers (canonical keys), with Content-Type
	// always set.
	Header http.Header
	// Body is the request body, exactly as the provider sends it.
	Body []byte
}

// Trigger is the name `hookstack trigger <provider> <name>` takes: Type
// when the file is the plain sample of its type, else the file name (a
// variant such as "charge.refunded_partial").
func (s Sample) Trigger() string {
	if fileName(s.Type) == s.Name {
		return s.Type
	}
	return s.Name
}

// Clone returns a deep copy of s.
func (s Sample) Clone() Sample {
	s.Header = s.Header.Clone()
	if s.Header == nil {
		s.Header = http.Header{}
	}
	s.Body = bytes.Clone(s.Body)
	return s
}

// fileName is the file name of an event type: "/" written as "_".
func fileName(eventType string) string { return strings.ReplaceAll(eventType, "/", "_") }

// LoadAll loads every sample in fsys, sorted by provider, then trigger name.
// Any unreadable or malformed sample is an error: the samples ship in the
// binary, so a broken one is a bug to fix, not to skip.
func LoadAll(fsys fs.FS) ([]Sample, error) {
	var out []Sample
	for _, provider := range signature.Providers {
		list, err := LoadProvider(fsys, provider)
		if err != nil {
			return nil, err
		}
		out = append(out, list...)
	}
	return out, nil
}

// LoadProvider loads the samples of one provider (none when the folder is
// absent), sorted by trigger name.
func LoadProvider(fsys fs.FS, provider string) ([]Sample, error) {
	if !known(provider) {
		return nil, fmt.Errorf("load samples: %w %q", ErrUnknownProvider, provider)
	}
	entries, err := fs.ReadDir(fsys, provider)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load %s samples: %w", provider, err)
	}
	var out []Sample
	for _, e := range entries {
		ext := strings.TrimPrefix(path.Ext(e.Name()), ".")
		if e.IsDir() || extContentType[ext] == "" {
			continue
		}
		s, err := load(fsys, provider, e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b Sample) int { return strings.Compare(a.Trigger(), b.Trigger()) })
	return out, nil
}

func load(fsys fs.FS, provider, file string) (Sample, error) {
	ext := strings.TrimPrefix(path.Ext(file), ".")
	name := strings.TrimSuffix(file, "."+ext)
	p := path.Join(provider, file)
	body, err := fs.ReadFile(fsys, p)
	if err != nil {
		return Sample{}, fmt.Errorf("load sample %s: %w", p, err)
	}
	h := http.Header{}
	raw, err := fs.ReadFile(fsys, path.Join(provider, name+".headers"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return Sample{}, fmt.Errorf("load sample %s: %w", p, err)
	default:
		if h, err = ParseHeaders(raw); err != nil {
			return Sample{}, fmt.Errorf("load sample %s.headers: %w", path.Join(provider, name), err)
		}
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", extContentType[ext])
	}
	s := Sample{Provider: provider, Name: name, Path: p, Header: h, Body: body}
	if s.Type, err = DetectType(provider, h, body); err != nil {
		return Sample{}, fmt.Errorf("load sample %s: %w", p, err)
	}
	return s, nil
}

// Find returns the sample of provider named eventType: its trigger name
// ("inventory_levels/update", "charge.refunded_partial"), its file name
// ("inventory_levels_update"), or else the first sample whose Type is
// eventType. The error wraps ErrNotFound and lists what there is.
func Find(fsys fs.FS, provider, eventType string) (Sample, error) {
	list, err := LoadProvider(fsys, provider)
	if err != nil {
		return Sample{}, err
	}
	for _, match := range []func(Sample) bool{
		func(s Sample) bool { return s.Trigger() == eventType },
		func(s Sample) bool { return s.Name == eventType || s.Name == fileName(eventType) },
		func(s Sample) bool { return s.Type == eventType },
	} {
		for _, s := range list {
			if match(s) {
				return s, nil
			}
		}
	}
	names := make([]string, len(list))
	for i, s := range list {
		names[i] = s.Trigger()
	}
	if len(names) == 0 {
		return Sample{}, fmt.Errorf("%w: there are no %s samples", ErrNotFound, provider)
	}
	return Sample{}, fmt.Errorf("%w for %s %q; %s has: %s", ErrNotFound, provider, eventType, provider, strings.Join(names, ", "))
}

// DetectType returns the event type the ingest would extract from a
// delivery (the first event's, for batches).
func DetectType(provider string, h http.Header, body []byte) (string, error) {
	if provider == "standard" && h.Get("Webhook-Id") == "" && h.Get("Svix-Id") == "" {
		// The id travels in a header that is set at send time.
		h = h.Clone()
		h.Set("Webhook-Id", "msg_sample")
	}
	evs, err := envelope.Extract(provider, h, body, time.Time{})
	if err != nil {
		return "", fmt.Errorf("detect event type: %w", err)
	}
	if len(evs) == 0 || evs[0].Type == "" {
		return "", fmt.Errorf("detect event type: %s: no event in body", provider)
	}
	return evs[0].Type, nil
}

// ParseHeaders parses "Name: value" lines (a .headers file or --header
// values). Blank lines and lines starting with '#' are skipped; CRLF line
// ends are accepted; repeated names add values.
func ParseHeaders(data []byte) (http.Header, error) {
	h := http.Header{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, err := ParseHeader(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		h.Add(name, value)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrHeaders, err)
	}
	return h, nil
}

// ParseHeader parses one "Name: value" and returns the canonical name and
// the trimmed value.
func ParseHeader(line string) (name, value string, err error) {
	name, value, ok := strings.Cut(line, ":")
	name = strings.TrimSpace(name)
	if !ok || !validName(name) {
		return "", "", fmt.Errorf("%w: want \"Name: value\"", ErrHeaders)
	}
	value = strings.TrimSpace(value)
	if strings.ContainsAny(value, "\r\n\x00") {
		return "", "", fmt.Errorf("%w: control character in the value of %s", ErrHeaders, name)
	}
	return textproto.CanonicalMIMEHeaderKey(name), value, nil
}

// validName reports whether s is an HTTP header name (an RFC 9110 token).
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// ContentTypeOf guesses the Content-Type of a body sent without one: JSON
// when it starts with '{' or '[', XML when it starts with '<', else a form.
func ContentTypeOf(body []byte) string {
	b := bytes.TrimLeft(body, " \t\r\n\ufeff")
	switch {
	case len(b) > 0 && (b[0] == '{' || b[0] == '['):
		return extContentType["json"]
	case len(b) > 0 && b[0] == '<':
		return extContentType["xml"]
	}
	return extContentType["form"]
}

func known(provider string) bool { return slices.Contains(signature.Providers, provider) }
