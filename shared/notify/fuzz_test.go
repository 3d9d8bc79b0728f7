package notify

import (
	"encoding/json"
	"net/netip"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hookstack/hookstack/shared/domain"
)

func FuzzParseSchedule(f *testing.F) {
	for _, s := range []string{DefaultScheduleSpec, "1s,2s,4s", "", "0s", "13h", " 1m , 2m ", "1s,,", "9223372036854775807ns", "1e3s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		s, err := ParseSchedule(spec)
		if err != nil {
			return
		}
		if len(s) == 0 || len(s) > MaxScheduleSteps {
			t.Fatalf("%q: %d steps", spec, len(s))
		}
		for _, d := range s {
			if d <= 0 || d > MaxDelay {
				t.Fatalf("%q: step %s", spec, d)
			}
		}
		// The canonical form parses to the same schedule.
		again, err := ParseSchedule(s.String())
		if err != nil || again.String() != s.String() {
			t.Fatalf("%q: round trip %q: %v", spec, s.String(), err)
		}
		for i := 1; i <= len(s)+1; i++ {
			d, ok := s.Next(i, 0, 0.5)
			if ok != (i <= len(s)) || (ok && (d < time.Second || d > MaxDelay)) {
				t.Fatalf("%q: Next(%d) = %s, %v", spec, i, d, ok)
			}
		}
	})
}

func FuzzMatches(f *testing.F) {
	for _, s := range [][2]string{{"*", "payment.succeeded"}, {"payment.*", "payment.a.b"}, {"*.created", "lead.created"}, {"a..b", "a..b"}, {"", ""}, {"*.*", "a"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, typ string) {
		got := MatchPattern(pattern, typ)
		if got && (pattern == "" || typ == "") {
			t.Fatalf("empty matched: %q %q", pattern, typ)
		}
		// A type always matches itself when it is a valid wildcard-free pattern.
		if ValidatePattern(typ) == nil && !strings.Contains(typ, "*") && !MatchPattern(typ, typ) {
			t.Fatalf("%q does not match itself", typ)
		}
		// "*" matches every well-formed type.
		if ValidatePattern(typ) == nil && !MatchPattern("*", typ) {
			t.Fatalf("* does not match %q", typ)
		}
		// A match under "p.*" implies the type starts with "p.".
		if prefix, ok := strings.CutSuffix(pattern, ".*"); ok && got && !strings.Contains(prefix, "*") && !strings.HasPrefix(typ, prefix+".") {
			t.Fatalf("%q matched %q", pattern, typ)
		}
		// No wildcard: a match is equality.
		if !strings.Contains(pattern, "*") {
			if got && pattern != typ {
				t.Fatalf("%q matched %q", pattern, typ)
			}
			if pattern == typ && ValidatePattern(pattern) == nil && !got {
				t.Fatalf("%q does not match itself", pattern)
			}
		}
	})
}

func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"120", "0", "", "-1", "Sun, 29 Nov 2026 18:10:00 GMT", "Sunday, 29-Nov-26 18:01:00 GMT", "Sun Nov 29 18:10:00 2026", "999999999999999999999", "1.5", " 3 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := ParseRetryAfter(v, fixedNow)
		if !ok && d != 0 {
			t.Fatalf("%q: not ok but %s", v, d)
		}
		if d < 0 || d > MaxDelay {
			t.Fatalf("%q: %s outside [0, 12h]", v, d)
		}
		got, ok2 := DefaultSchedule().Next(1, d, 0.5)
		if !ok2 || got < time.Second || got > MaxDelay {
			t.Fatalf("%q: next %s", v, got)
		}
	})
}

func FuzzGuardCheck(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe", "2002:a9fe:a9fe::", "fe80::1%eth0", "93.184.215.14"} {
		f.Add(s)
	}
	dev := &Guard{AllowLoopback: true, Allow: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return
		}
		// Whatever the configuration, link-local and metadata stay blocked,
		// in any IPv6 disguise.
		if (&Guard{}).Check(a) == nil && dev.Check(a) != nil {
			t.Fatalf("%s: the permissive guard blocks what the default allows", a)
		}
		u := a.WithZone("").Unmap()
		if u.Is4() && netip.MustParsePrefix("169.254.0.0/16").Contains(u) && dev.Check(a) == nil {
			t.Fatalf("%s: link-local allowed", a)
		}
	})
}

func FuzzValidateURL(f *testing.F) {
	for _, s := range []string{"https://example.com/x", "http://127.0.0.1/", "http://[::ffff:a9fe:a9fe]/", "http://0x7f.1/", "file:///etc/passwd", "http://user@x/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if ValidateURL(raw, nil) != nil {
			return
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil {
			t.Fatalf("%q accepted", raw)
		}
		if a, err := netip.ParseAddr(u.Hostname()); err == nil && (&Guard{}).Check(a) != nil {
			t.Fatalf("%q accepted with a blocked literal address", raw)
		}
	})
}

// FuzzRawData: a claim-check body (any bytes a provider sent) becomes data
// that is one valid JSON value, and the payload built from it is a valid,
// SQS-safe JSON text (no U+FFFE, U+FFFF) carrying the same value.
func FuzzRawData(f *testing.F) {
	for _, s := range []struct{ provider, body string }{
		{"github", `{"ref":"refs/heads/main"}`},
		{"livechat", `{"action":"incoming_chat","secret_key":"s"}`},
		{"livechat", `[1,2]`},
		{"slack", "payload=%7B%7D&x=<1>"},
		{"github", "{\"a\":\"\uFFFE\uFFFF\u2028\"}"},
		{"github", "\xff\xfe not utf-8"},
		{"github", ""},
	} {
		f.Add(s.provider, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, provider string, body []byte) {
		data, err := RawData(provider, body)
		if err != nil {
			t.Fatalf("RawData: %v", err)
		}
		if data == nil {
			return
		}
		if !json.Valid(data) {
			t.Fatalf("data %q is not JSON", data)
		}
		p, err := Payload(Delivery{Event: domain.Event{Type: "x.y", Data: data}})
		if err != nil {
			t.Fatalf("payload: %v", err)
		}
		if !json.Valid(p) || !utf8.Valid(p) || strings.ContainsAny(string(p), "\uFFFE\uFFFF") {
			t.Fatalf("payload %q is not SQS-safe JSON", p)
		}
		var a, b any
		if !utf8.Valid(data) {
			return // decoding replaces the invalid bytes: compare no further
		}
		if json.Unmarshal(data, &a) != nil {
			t.Fatal("data does not decode")
		}
		var got struct {
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(p, &got); err != nil || json.Unmarshal(got.Data, &b) != nil || !reflect.DeepEqual(a, b) {
			t.Fatalf("payload data %q decodes unlike data %q", got.Data, data)
		}
	})
}
