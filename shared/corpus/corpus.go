// Package corpus reads the bad-input corpus of events/bad/: one file per
// case, each saying what request to make and what the ingest must answer.
// The runner lives in corpus_test.go; this file only parses cases and builds
// their bodies, so that other tools (the load test, the fuzz seeds) can reuse
// them.
//
// # Format
//
// A case file (<name>.case) is a header block of "key: value" lines, a blank
// line, then the raw body bytes up to the end of the file (one final "\n" is
// dropped unless keep-final-newline is true). Lines starting with '#' in the
// header block are comments. A value starting with '"' is a Go string literal
// (so it can hold CR, LF, NUL or invalid UTF-8: "a\r\nb").
//
//	provider: stripe          the {provider} path segment (required)
//	method: POST              default POST
//	path: /webhooks/x/y       HTTP path override (default /webhooks/<provider>)
//	query: a=b                query string, signed where the scheme signs the URL
//	content-type: text/plain  default per provider; "none" sends no Content-Type
//	header: Name: value       extra request header (repeatable; repeats add values;
//	                          a Name starting with '"' is a Go string literal)
//	header-gen: Name: EXPR    a header whose value is generated (see EXPR)
//	sign: true                true, false, wrong-secret, stale, future (default false)
//	after-sign: OP            applied after signing, in order (repeatable):
//	                          set-header N: v | add-header N: v | prepend-header N: v |
//	                          prefix-header N: v (text before the first value) |
//	                          prefix-header-gen N: EXPR |
//	                          del-header N | append "s" | prepend "s" | replace "old" "new"
//	generate: EXPR            the body, instead of the bytes after the blank line
//	body-escapes: true        \xHH in the body stands for byte HH
//	keep-final-newline: true
//	chunked: true             HTTP: send the body without a Content-Length
//	transport: both           both (default), direct, http or raw
//	expect: 401               the status (required)
//	outcome: dead             for 2xx: queued, dead, handshake or none
//	events: 2                 queued: how many envelopes (default 1)
//	expect-body: text         the answer's body contains text (repeatable)
//	never-stored: text        no queued or dead-lettered message contains text (repeatable)
//	error-body: json          for 4xx: json (default: {"error": "..."}), plain or any
//	known-bug: text           the runner skips the case and says why
//	note: text                why the case exists
//
// Header values may use {now}, {now_ms}, {stale}, {stale_ms}, {future} and
// {future_ms}: epoch seconds/milliseconds now, one hour ago, one hour ahead.
//
// EXPR concatenates, with '+', Go string literals, repeat("s", n) and
// gzip("s") (the gzip of the literal).
package corpus

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Ext is the case file extension.
const Ext = ".case"

// MaxGenerated bounds a generated body or header (EXPR), so a typo cannot
// exhaust memory.
const MaxGenerated = 16 << 20

// ErrCase marks a malformed case file.
var ErrCase = errors.New("malformed case")

// Sign modes.
const (
	SignNone        = "false"
	SignValid       = "true"
	SignWrongSecret = "wrong-secret"
	SignStale       = "stale"
	SignFuture      = "future"
)

// Transports.
const (
	TransportBoth   = "both"   // the ingest handler directly, and the dev server over HTTP
	TransportDirect = "direct" // ingest.Handler.Handle only (requests Go's HTTP client will not send)
	TransportHTTP   = "http"   // the dev server over HTTP only
	TransportRaw    = "raw"    // raw bytes over TCP to the dev server (malformed HTTP)
)

// Outcomes of a 2xx.
const (
	OutcomeQueued    = "queued"    // envelopes in the route queue, none dead-lettered
	OutcomeDead      = "dead"      // exactly one envelope in the route queue's DLQ, with a reason
	OutcomeHandshake = "handshake" // a provider handshake answered, nothing enqueued
	OutcomeNone      = "none"      // nothing enqueued (rejections, Trello's HEAD)
)

// Error body kinds for 4xx answers.
const (
	ErrorBodyJSON  = "json"
	ErrorBodyPlain = "plain" // produced by net/http or the mux before the ingest runs
	ErrorBodyAny   = "any"
)

// HeaderLine is one header in file order.
type HeaderLine struct {
	Name, Value string
	Gen         string // header-gen: the EXPR (Value empty)
}

// Case is one parsed case file.
type Case struct {
	Name        string // file name without extension
	Provider    string
	Method      string
	Path        string
	Query       string
	ContentType string // "" means the provider default; "none" means absent
	Headers     []HeaderLine
	Sign        string
	AfterSign   []string
	Generate    string
	RawBody     []byte
	Chunked     bool
	Transport   string
	Expect      int
	Outcome     string
	Events      int
	ExpectBody  []string
	NeverStored []string
	ErrorBody   string
	KnownBug    string
	Note        string
}

// DefaultContentType is the Content-Type a provider sends.
func DefaultContentType(provider string) string {
	switch provider {
	case "salesforce":
		return "text/xml; charset=utf-8"
	case "twilio":
		return "application/x-www-form-urlencoded"
	}
	return "application/json"
}

// Load parses every *.case file in fsys's root, sorted by name.
func Load(fsys fs.FS) ([]Case, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	var out []Case
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != Ext {
			continue
		}
		data, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("corpus: %w", err)
		}
		c, err := Parse(strings.TrimSuffix(e.Name(), Ext), data)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Case) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func caseErr(name string, line int, format string, args ...any) error {
	return fmt.Errorf("corpus: %s%s line %d: %w: %s", name, Ext, line, ErrCase, fmt.Sprintf(format, args...))
}

// value unquotes a Go string literal value; other values are taken as they are.
func value(v string) (string, error) {
	if strings.HasPrefix(v, `"`) {
		return strconv.Unquote(v)
	}
	return v, nil
}

// Parse reads one case file.
func Parse(name string, data []byte) (Case, error) {
	c := Case{Name: name, Method: http.MethodPost, Sign: SignNone, Transport: TransportBoth, ErrorBody: ErrorBodyJSON}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	offset, lineNo := 0, 0
	ended := false
	escapes, keepNL := false, false
	seen := map[string]bool{}
	for sc.Scan() {
		lineNo++
		raw := sc.Text()
		offset += len(raw) + 1
		line := strings.TrimSuffix(raw, "\r")
		if line == "" {
			ended = true
			break
		}
		if strings.HasPrefix(line, "#") {
			continue
		}
		key, v, ok := strings.Cut(line, ":")
		if !ok {
			return c, caseErr(name, lineNo, "want key: value, got %q", line)
		}
		key, v = strings.TrimSpace(key), strings.TrimSpace(v)
		repeatable := key == "header" || key == "header-gen" || key == "after-sign" || key == "expect-body" || key == "never-stored"
		if seen[key] && !repeatable {
			return c, caseErr(name, lineNo, "%s given twice", key)
		}
		seen[key] = true
		var err error
		switch key {
		case "header", "header-gen":
			hn, hv, ok := cutHeader(v)
			if !ok {
				return c, caseErr(name, lineNo, "want %s: Name: value", key)
			}
			hl := HeaderLine{Name: hn}
			if key == "header" {
				hl.Value, err = value(strings.TrimSpace(hv))
			} else {
				hl.Gen = strings.TrimSpace(hv)
				_, err = Eval(hl.Gen)
			}
			c.Headers = append(c.Headers, hl)
		case "provider":
			c.Provider, err = value(v)
		case "method":
			c.Method = v
		case "path":
			c.Path, err = value(v)
		case "query":
			c.Query = v
		case "content-type":
			c.ContentType, err = value(v)
		case "sign":
			switch v {
			case SignNone, SignValid, SignWrongSecret, SignStale, SignFuture:
				c.Sign = v
			default:
				err = fmt.Errorf("sign %q: want true, false, wrong-secret, stale or future", v)
			}
		case "after-sign":
			if _, err = parseOp(v); err == nil {
				c.AfterSign = append(c.AfterSign, v)
			}
		case "generate":
			c.Generate = v
			_, err = Eval(v)
		case "body-escapes":
			escapes, err = strconv.ParseBool(v)
		case "keep-final-newline":
			keepNL, err = strconv.ParseBool(v)
		case "chunked":
			c.Chunked, err = strconv.ParseBool(v)
		case "transport":
			switch v {
			case TransportBoth, TransportDirect, TransportHTTP, TransportRaw:
				c.Transport = v
			default:
				err = fmt.Errorf("transport %q: want both, direct, http or raw", v)
			}
		case "expect":
			c.Expect, err = strconv.Atoi(v)
			if err == nil && (c.Expect < 100 || c.Expect > 599) {
				err = fmt.Errorf("expect %d is not an HTTP status", c.Expect)
			}
		case "outcome":
			switch v {
			case OutcomeQueued, OutcomeDead, OutcomeHandshake, OutcomeNone:
				c.Outcome = v
			default:
				err = fmt.Errorf("outcome %q: want queued, dead, handshake or none", v)
			}
		case "events":
			c.Events, err = strconv.Atoi(v)
			if err == nil && c.Events < 1 {
				err = errors.New("events must be at least 1")
			}
		case "expect-body":
			var s string
			s, err = value(v)
			c.ExpectBody = append(c.ExpectBody, s)
		case "never-stored":
			var s string
			if s, err = value(v); err == nil && s == "" {
				err = errors.New("empty text")
			}
			c.NeverStored = append(c.NeverStored, s)
		case "error-body":
			switch v {
			case ErrorBodyJSON, ErrorBodyPlain, ErrorBodyAny:
				c.ErrorBody = v
			default:
				err = fmt.Errorf("error-body %q: want json, plain or any", v)
			}
		case "known-bug":
			c.KnownBug = v
		case "note":
			c.Note = v
		default:
			return c, caseErr(name, lineNo, "unknown key %q", key)
		}
		if err != nil {
			return c, caseErr(name, lineNo, "%s: %v", key, err)
		}
	}
	if err := sc.Err(); err != nil {
		return c, caseErr(name, lineNo, "%v", err)
	}
	if ended && offset < len(data) {
		c.RawBody = slices.Clone(data[offset:])
	}
	if !keepNL {
		c.RawBody = bytes.TrimSuffix(c.RawBody, []byte("\n"))
	}
	if escapes {
		c.RawBody = unescapeHex(c.RawBody)
	}
	switch {
	case c.Provider == "" && !seen["provider"]:
		return c, caseErr(name, lineNo, "provider is required")
	case c.Expect == 0:
		return c, caseErr(name, lineNo, "expect is required")
	case c.Generate != "" && len(c.RawBody) > 0:
		return c, caseErr(name, lineNo, "both generate and a body")
	case c.Expect/100 == 2 && c.Outcome == "":
		return c, caseErr(name, lineNo, "a 2xx case needs an outcome")
	case c.Expect/100 != 2 && c.Outcome != "" && c.Outcome != OutcomeNone:
		return c, caseErr(name, lineNo, "outcome %s with status %d", c.Outcome, c.Expect)
	case c.Events != 0 && c.Outcome != OutcomeQueued:
		return c, caseErr(name, lineNo, "events is for queued outcomes")
	}
	if c.Outcome == "" {
		c.Outcome = OutcomeNone
	}
	if c.Outcome == OutcomeQueued && c.Events == 0 {
		c.Events = 1
	}
	return c, nil
}

// cutHeader splits "Name: value"; a Name starting with '"' is a Go string
// literal (for names holding CR, LF or spaces).
func cutHeader(v string) (name, rest string, ok bool) {
	if strings.HasPrefix(v, `"`) {
		lit, err := strconv.QuotedPrefix(v)
		if err != nil {
			return "", "", false
		}
		name, _ = strconv.Unquote(lit)
		rest, ok = strings.CutPrefix(strings.TrimSpace(v[len(lit):]), ":")
		return name, rest, ok && name != ""
	}
	name, rest, ok = strings.Cut(v, ":")
	name = strings.TrimSpace(name)
	return name, rest, ok && name != ""
}

// unescapeHex replaces \xHH with byte HH.
func unescapeHex(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == '\\' && i+3 < len(b) && b[i+1] == 'x' {
			if v, err := strconv.ParseUint(string(b[i+2:i+4]), 16, 8); err == nil {
				out = append(out, byte(v))
				i += 3
				continue
			}
		}
		out = append(out, b[i])
	}
	return out
}

// Body returns the case's request body before signing.
func (c Case) Body() ([]byte, error) {
	if c.Generate != "" {
		return Eval(c.Generate)
	}
	return slices.Clone(c.RawBody), nil
}

// Times used by the sign modes and the header templates.
type Times struct{ Now, Stale, Future time.Time }

// NewTimes returns now, an hour ago and an hour ahead.
func NewTimes(now time.Time) Times {
	return Times{Now: now, Stale: now.Add(-time.Hour), Future: now.Add(time.Hour)}
}

// Expand replaces the {now}... templates in a header value.
func (t Times) Expand(v string) string {
	if !strings.Contains(v, "{") {
		return v
	}
	return strings.NewReplacer(
		"{now}", strconv.FormatInt(t.Now.Unix(), 10), "{now_ms}", strconv.FormatInt(t.Now.UnixMilli(), 10),
		"{stale}", strconv.FormatInt(t.Stale.Unix(), 10), "{stale_ms}", strconv.FormatInt(t.Stale.UnixMilli(), 10),
		"{future}", strconv.FormatInt(t.Future.Unix(), 10), "{future_ms}", strconv.FormatInt(t.Future.UnixMilli(), 10),
	).Replace(v)
}

// Header builds the request header before signing: the content type, then
// the header lines in order.
func (c Case) Header(t Times) (http.Header, error) {
	h := http.Header{}
	ct := c.ContentType
	if ct == "" {
		ct = DefaultContentType(c.Provider)
	}
	if ct != "none" {
		h.Set("Content-Type", ct)
	}
	for _, l := range c.Headers {
		v := t.Expand(l.Value)
		if l.Gen != "" {
			b, err := Eval(l.Gen)
			if err != nil {
				return nil, fmt.Errorf("header-gen %s: %w", l.Name, err)
			}
			v = string(b)
		}
		// Not Header.Add: values go in as written, so that non-canonical or
		// invalid names reach the handler too.
		k := http.CanonicalHeaderKey(l.Name)
		h[k] = append(h[k], v)
	}
	return h, nil
}

// Op is one after-sign operation.
type Op struct {
	Kind        string // set-header, add-header, prepend-header, prefix-header, del-header, append, prepend, replace
	Name, Value string
	Old, New    []byte
}

func parseOp(s string) (Op, error) {
	kind, rest, _ := strings.Cut(s, " ")
	rest = strings.TrimSpace(rest)
	op := Op{Kind: kind}
	switch kind {
	case "set-header", "add-header", "prepend-header", "prefix-header", "prefix-header-gen":
		n, v, ok := strings.Cut(rest, ":")
		if !ok || strings.TrimSpace(n) == "" {
			return op, fmt.Errorf("%s: want Name: value", kind)
		}
		if kind == "prefix-header-gen" {
			b, err := Eval(v)
			if err != nil {
				return op, fmt.Errorf("%s: %w", kind, err)
			}
			op.Kind, op.Name, op.Value = "prefix-header", strings.TrimSpace(n), string(b)
			return op, nil
		}
		val, err := value(strings.TrimSpace(v))
		if err != nil {
			return op, fmt.Errorf("%s: %w", kind, err)
		}
		op.Name, op.Value = strings.TrimSpace(n), val
	case "del-header":
		if rest == "" {
			return op, errors.New("del-header: want a name")
		}
		op.Name = rest
	case "append", "prepend":
		v, err := strconv.Unquote(rest)
		if err != nil {
			return op, fmt.Errorf("%s: want a Go string literal: %w", kind, err)
		}
		op.New = []byte(v)
	case "replace":
		old, err := strconv.QuotedPrefix(rest)
		if err != nil {
			return op, fmt.Errorf("replace: want two Go string literals: %w", err)
		}
		nw, err := strconv.Unquote(strings.TrimSpace(rest[len(old):]))
		if err != nil {
			return op, fmt.Errorf("replace: want two Go string literals: %w", err)
		}
		o, _ := strconv.Unquote(old)
		if o == "" {
			return op, errors.New("replace: empty old text")
		}
		op.Old, op.New = []byte(o), []byte(nw)
	default:
		return op, fmt.Errorf("unknown after-sign operation %q", kind)
	}
	return op, nil
}

// ApplyAfterSign applies the after-sign operations to a signed request's
// header and body. A replace whose old text is absent is an error (the case
// would not test what it says).
func (c Case) ApplyAfterSign(h http.Header, body []byte, t Times) ([]byte, error) {
	for _, s := range c.AfterSign {
		op, err := parseOp(s)
		if err != nil {
			return nil, err
		}
		k := http.CanonicalHeaderKey(op.Name)
		v := t.Expand(op.Value)
		switch op.Kind {
		case "set-header":
			h[k] = []string{v}
		case "add-header":
			h[k] = append(h[k], v)
		case "prepend-header":
			h[k] = append([]string{v}, h[k]...)
		case "prefix-header":
			if len(h[k]) == 0 {
				return nil, fmt.Errorf("after-sign prefix-header: no %s header", k)
			}
			h[k][0] = v + h[k][0]
		case "del-header":
			if len(h[k]) == 0 {
				return nil, fmt.Errorf("after-sign del-header: no %s header", k)
			}
			delete(h, k)
		case "append":
			body = append(body, op.New...)
		case "prepend":
			body = append(slices.Clone(op.New), body...)
		case "replace":
			if !bytes.Contains(body, op.Old) {
				return nil, fmt.Errorf("after-sign replace: %q not in the body", op.Old)
			}
			body = bytes.Replace(body, op.Old, op.New, 1)
		}
	}
	return body, nil
}

// Eval evaluates an EXPR: Go string literals, repeat("s", n) and gzip("s")
// joined by '+'.
func Eval(expr string) ([]byte, error) {
	var out []byte
	rest := strings.TrimSpace(expr)
	if rest == "" {
		return nil, errors.New("empty expression")
	}
	for {
		var part []byte
		switch {
		case strings.HasPrefix(rest, `"`) || strings.HasPrefix(rest, "`"):
			lit, err := strconv.QuotedPrefix(rest)
			if err != nil {
				return nil, fmt.Errorf("string literal: %w", err)
			}
			s, _ := strconv.Unquote(lit)
			part, rest = []byte(s), rest[len(lit):]
		case strings.HasPrefix(rest, "repeat("), strings.HasPrefix(rest, "gzip("):
			fn, args, _ := strings.Cut(rest, "(")
			lit, err := strconv.QuotedPrefix(strings.TrimSpace(args))
			if err != nil {
				return nil, fmt.Errorf("%s: first argument: %w", fn, err)
			}
			s, _ := strconv.Unquote(lit)
			args = strings.TrimSpace(strings.TrimSpace(args)[len(lit):])
			n := 1
			if fn == "repeat" {
				if !strings.HasPrefix(args, ",") {
					return nil, errors.New(`repeat: want repeat("s", n)`)
				}
				num, after, ok := strings.Cut(strings.TrimSpace(args[1:]), ")")
				if !ok {
					return nil, errors.New("repeat: missing )")
				}
				if n, err = strconv.Atoi(strings.TrimSpace(num)); err != nil || n < 0 {
					return nil, fmt.Errorf("repeat: count %q", num)
				}
				if int64(n)*int64(len(s)) > MaxGenerated {
					return nil, fmt.Errorf("repeat: more than %d bytes", MaxGenerated)
				}
				part, rest = bytes.Repeat([]byte(s), n), after
			} else {
				if !strings.HasPrefix(args, ")") {
					return nil, errors.New("gzip: missing )")
				}
				var buf bytes.Buffer
				zw := gzip.NewWriter(&buf)
				_, _ = zw.Write([]byte(s))
				if err := zw.Close(); err != nil {
					return nil, fmt.Errorf("gzip: %w", err)
				}
				part, rest = buf.Bytes(), args[1:]
			}
		default:
			return nil, fmt.Errorf("unexpected %.20q", rest)
		}
		out = append(out, part...)
		if len(out) > MaxGenerated {
			return nil, fmt.Errorf("more than %d bytes", MaxGenerated)
		}
		rest = strings.TrimSpace(rest)
		if rest == "" {
			return out, nil
		}
		if rest[0] != '+' {
			return nil, fmt.Errorf("want + between parts, got %.20q", rest)
		}
		rest = strings.TrimSpace(rest[1:])
	}
}
