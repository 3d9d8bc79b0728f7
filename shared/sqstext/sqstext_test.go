package sqstext

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

func TestEscapeJSON(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"clean kept", `{"a":"Ada é 😀"}`, `{"a":"Ada é 😀"}`},
		{"U+FFFF escaped", "{\"a\":\"Ada\uffff\"}", `{"a":"Ada\uffff"}`},
		{"U+FFFE escaped", "{\"a\":\"\ufffeX\"}", `{"a":"\ufffeX"}`},
		{"escapes already there kept", `{"a":"\uffff"}`, `{"a":"\uffff"}`},
		{"invalid UTF-8 becomes U+FFFD", "{\"a\":\"x\xffy\"}", `{"a":"x\ufffdy"}`},
		{"encoded surrogate becomes U+FFFD", "{\"a\":\"\xed\xa0\x80\"}", `{"a":"\ufffd\ufffd\ufffd"}`},
		{"control character escaped", "{\"a\":\"\x01\"}", `{"a":"\u0001"}`},
		{"whitespace kept", "{\n\t\"a\" :\r\n1}", "{\n\t\"a\" :\r\n1}"},
		{"U+FFFD and astral kept", "[\"\ufffd\",\"\U0010FFFF\"]", "[\"\ufffd\",\"\U0010FFFF\"]"},
		{"several in one string", "{\"a\":\"x\uFFFEy\uFFFFz\"}", `{"a":"x\ufffey\uffffz"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := EscapeJSON([]byte(tt.in))
			if string(got) != tt.want {
				t.Fatalf("EscapeJSON(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if !Valid(string(got)) || !utf8.Valid(got) {
				t.Fatalf("result %q not SQS-safe", got)
			}
			if utf8.ValidString(tt.in) && json.Valid([]byte(tt.in)) {
				var a, b any
				if json.Unmarshal([]byte(tt.in), &a) != nil || json.Unmarshal(got, &b) != nil {
					t.Fatal("not JSON")
				}
				ja, _ := json.Marshal(a)
				jb, _ := json.Marshal(b)
				if string(ja) != string(jb) {
					t.Fatalf("meaning changed: %s vs %s", ja, jb)
				}
			}
		})
	}
}

func TestText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"evt_1:lead.created", "evt_1:lead.created"},
		{"a\uffffb", "a\ufffdb"},
		{"a\x00b\xffc", "a\ufffdb\ufffdc"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := Text(tt.in); got != tt.want || !Valid(got) {
				t.Fatalf("Text(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzEscapeJSON(f *testing.F) {
	for _, s := range []string{`{"a":"\uffff"}`, "{\"a\":\"\uffff\"}", "\xff", `[1,"x"]`, "{\"\ufffe\":\"\x01\"}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got := EscapeJSON(b)
		if !Valid(string(got)) {
			t.Fatalf("not SQS-safe: %q", got)
		}
		if !json.Valid(b) || !utf8.Valid(b) {
			return
		}
		var x, y any
		if json.Unmarshal(b, &x) != nil {
			return
		}
		if err := json.Unmarshal(got, &y); err != nil {
			t.Fatalf("escaped JSON invalid: %v", err)
		}
		jx, _ := json.Marshal(x)
		jy, _ := json.Marshal(y)
		if string(jx) != string(jy) {
			t.Fatalf("meaning changed")
		}
	})
}

func TestAllowed(t *testing.T) {
	for _, tc := range []struct {
		r    rune
		want bool
	}{
		{'\t', true}, {'\n', true}, {'\r', true}, {0x00, false}, {0x1f, false}, {' ', true},
		{0xD7FF, true}, {0xD800, false}, {0xDFFF, false}, {0xE000, true}, {0xFFFD, true},
		{0xFFFE, false}, {0xFFFF, false}, {0x10000, true}, {0x10FFFF, true}, {0x110000, false},
	} {
		if got := Allowed(tc.r); got != tc.want {
			t.Errorf("Allowed(%U) = %v, want %v", tc.r, got, tc.want)
		}
	}
}
