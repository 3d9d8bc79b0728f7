package domain

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestSQSSafeJSON(t *testing.T) {
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SQSSafeJSON([]byte(tt.in))
			if string(got) != tt.want {
				t.Fatalf("SQSSafeJSON(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if !IsSQSSafe(string(got)) || !utf8.Valid(got) {
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

func TestEncodeEventIsSQSSafe(t *testing.T) {
	e := New("lead.created", "lead:ada@example.com", "standard", "msg_1", time.Unix(1, 0), map[string]string{"first_name": "Ada\uffff\ufffe"})
	e.Data = append(e.Data[:len(e.Data)-1], []byte(",\"raw\":\"x\uffff\"}")...)
	b, err := Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	if !IsSQSSafe(string(b)) {
		t.Fatalf("encoded event not SQS-safe: %q", b)
	}
	var back struct {
		Data struct {
			FirstName string `json:"first_name"`
			Raw       string `json:"raw"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &back); err != nil || back.Data.FirstName != "Ada\uffff\ufffe" || back.Data.Raw != "x\uffff" {
		t.Fatalf("decoded %+v (%v)", back, err)
	}
}

func TestSQSSafeText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"evt_1:lead.created", "evt_1:lead.created"},
		{"a\uffffb", "a\ufffdb"},
		{"a\x00b\xffc", "a\ufffdb\ufffdc"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := SQSSafeText(tt.in); got != tt.want || !IsSQSSafe(got) {
				t.Fatalf("SQSSafeText(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzSQSSafeJSON(f *testing.F) {
	for _, s := range []string{`{"a":"\uffff"}`, "{\"a\":\"\uffff\"}", "\xff", `[1,"x"]`, "{\"\ufffe\":\"\x01\"}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got := SQSSafeJSON(b)
		if !IsSQSSafe(string(got)) {
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

func TestSubjectEventID(t *testing.T) {
	a := New("inventory.low_stock", "inventory:1", "shopify", "X", time.Unix(1, 0), nil)
	b := New("inventory.low_stock", "inventory:2", "shopify", "X", time.Unix(1, 0), nil)
	if a.ID == b.ID {
		t.Fatalf("one source event, one type, two records: same id %q", a.ID)
	}
	if again := New("inventory.low_stock", "inventory:1", "shopify", "X", time.Unix(2, 0), 1); again.ID != a.ID {
		t.Fatalf("id not stable: %q vs %q", again.ID, a.ID)
	}
	if a.ID != "X:inventory.low_stock:inventory:1" || SubjectEventID("X", "t", "") != EventID("X", "t") {
		t.Fatalf("format: %q", a.ID)
	}
	if !strings.HasPrefix(a.ID, EventID("X", "inventory.low_stock")) {
		t.Fatal("prefix")
	}
}
