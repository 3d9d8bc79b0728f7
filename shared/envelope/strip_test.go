package envelope

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"
)

func TestStripJSONMember(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"first", `{"token": "t1", "a": 1, "b": [1, 2]}`, `{"a": 1, "b": [1, 2]}`},
		{"middle", `{"a":1,"token":"t1","b":{"token":"nested stays"}}`, `{"a":1,"b":{"token":"nested stays"}}`},
		{"last", "{\n  \"a\": 1,\n  \"token\": \"t1\"\n}", "{\n  \"a\": 1\n}"},
		{"only", `{ "token" : "t1" }`, `{  }`},
		{"duplicates", `{"token":"t1","a":1,"token":"t2","b":2,"token":"t3"}`, `{"a":1,"b":2}`},
		{"escaped key", `{"a":1,"tok\u0065n":"t1"}`, `{"a":1}`},
		{"absent", `{"a": "token", "tokens": 1}`, `{"a": "token", "tokens": 1}`},
		{"non-string value", `{"token": {"x": [1]}, "a": 1}`, `{"a": 1}`},
		{"leading white space", " \t{\"token\":1,\"a\":2} ", " \t{\"a\":2} "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(stripJSONMember([]byte(tt.in), "token")); got != tt.want {
				t.Errorf("stripJSONMember(%s) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestStripFormField(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"first", "token=abc&team_id=T1&text=a%20b", "team_id=T1&text=a%20b"},
		{"middle", "a=1&token=abc&b=2", "a=1&b=2"},
		{"last", "ssl_check=1&token=abc", "ssl_check=1"},
		{"only", "token=abc", ""},
		{"repeated", "token=a&x=1&token=b", "x=1"},
		{"escaped name", "to%6Ben=abc&x=1", "x=1"},
		{"no value", "token&x=1", "x=1"},
		{"absent", "tokens=1&x=token", "tokens=1&x=token"},
		{"value bytes kept", "x=%2f%2F+&token=1&y=a+b", "x=%2f%2F+&y=a+b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(stripFormField([]byte(tt.in), "token")); got != tt.want {
				t.Errorf("stripFormField(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestSlackSamplesStored: the Slack samples under events/slack and
// testdata/slack lose their verification token in extraction, and nothing
// else of what a subscriber sees.
func TestSlackSamplesStored(t *testing.T) {
	var files []string
	for _, dir := range []string{"../../events/slack", "testdata/slack"} {
		for _, ext := range []string{"*.json", "*.form"} {
			m, err := filepath.Glob(filepath.Join(dir, ext))
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, m...)
		}
	}
	if len(files) < 6 {
		t.Fatalf("found only %d Slack samples", len(files))
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			body, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			token := slackSampleToken(t, body)
			if token == "" {
				t.Fatal("the sample has no token: it proves nothing")
			}
			evs, err := Extract(ProviderSlack, http.Header{}, body, time.Unix(1767622800, 0))
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range evs {
				if bytes.Contains(e.Body, []byte(token)) {
					t.Errorf("stored body keeps the token: %s", e.Body)
				}
				if e.ContentType == ctJSON {
					var before, after map[string]any
					orig := body
					if !looksJSON(body) {
						orig = []byte(formValue(t, body, "payload"))
					}
					if json.Unmarshal(orig, &before) != nil || json.Unmarshal(e.Body, &after) != nil {
						t.Fatalf("not JSON: %s", e.Body)
					}
					delete(before, "token")
					if !reflect.DeepEqual(before, after) {
						t.Errorf("more than the token changed:\n%s", e.Body)
					}
				}
			}
		})
	}
}

func slackSampleToken(t *testing.T, body []byte) string {
	if looksJSON(body) {
		return gjson.GetBytes(body, "token").String()
	}
	if v := formValue(t, body, "token"); v != "" {
		return v
	}
	return gjson.Get(formValue(t, body, "payload"), "token").String()
}

func formValue(t *testing.T, body []byte, key string) string {
	t.Helper()
	for _, f := range strings.Split(string(body), "&") {
		k, v, _ := strings.Cut(f, "=")
		if k == key {
			return unescapeForm(t, v)
		}
	}
	return ""
}

func unescapeForm(t *testing.T, v string) string {
	t.Helper()
	out, err := urlUnescape(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestUnparseableSlackStripsToken: a verified Slack body Extract cannot read
// is stored without its token as far as it can be found.
func TestUnparseableSlackStripsToken(t *testing.T) {
	tests := []struct{ name, body string }{
		{"JSON without type", `{"token":"SECRETTOKEN1","event_id":"Ev1"}`},
		{"JSON array", `[{"token":"SECRETTOKEN1"}]`},
		{"form neither command nor payload", "token=SECRETTOKEN1&foo=bar"},
		{"payload without type", "token=SECRETTOKEN1&payload=%7B%22token%22%3A%22SECRETTOKEN1%22%7D"},
		{"bad form escape", "token=SECRETTOKEN1&x=%zz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Extract(ProviderSlack, http.Header{}, []byte(tt.body), time.Now()); err == nil {
				t.Fatal("Extract accepted it; the case proves nothing")
			}
			ev := Unparseable(ProviderSlack, http.Header{}, []byte(tt.body), time.Now())
			if bytes.Contains(ev.Body, []byte("SECRETTOKEN1")) {
				t.Errorf("stored %q", ev.Body)
			}
		})
	}
}

func FuzzStripJSONMember(f *testing.F) {
	f.Add([]byte(`{"token":"x","a":1}`))
	f.Add([]byte(`{"a":{"token":1},"token":[1,{"b":2}], "c" : "d" }`))
	f.Add([]byte(`{"tok\u0065n":1}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if firstByte(body) != '{' || !json.Valid(body) {
			return
		}
		out := stripJSONMember(body, "token")
		if !json.Valid(out) {
			t.Fatalf("invalid JSON %q from %q", out, body)
		}
		var before, after map[string]json.RawMessage
		if json.Unmarshal(body, &before) != nil {
			return
		}
		if err := json.Unmarshal(out, &after); err != nil {
			t.Fatalf("%q: %v", out, err)
		}
		if _, ok := after["token"]; ok {
			t.Fatalf("token kept: %q", out)
		}
		delete(before, "token")
		if len(before) != len(after) {
			t.Fatalf("members %d, want %d: %q from %q", len(after), len(before), out, body)
		}
	})
}

func FuzzStripFormField(f *testing.F) {
	f.Add([]byte("token=a&b=c"))
	f.Add([]byte("a=1&&to%6Ben=2&"))
	f.Fuzz(func(t *testing.T, body []byte) {
		out := stripFormField(body, "token")
		if len(out) > len(body) {
			t.Fatalf("grew: %q from %q", out, body)
		}
		for _, fld := range bytes.Split(out, []byte("&")) {
			name, _, _ := bytes.Cut(fld, []byte("="))
			if n, err := urlUnescape(string(name)); err == nil && n == "token" {
				t.Fatalf("token kept: %q from %q", out, body)
			}
		}
	})
}

func urlUnescape(s string) (string, error) { return url.QueryUnescape(s) }
