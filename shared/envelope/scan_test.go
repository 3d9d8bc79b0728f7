package envelope

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

var scanKeys = []string{"id", "type", "created", "data"}

func TestScanJSON(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		valid      bool
		embeddable bool
		want       map[string]string // captured top-level values
	}{
		{name: "object", body: `{"id":"evt_1","type":"a.b","created":17}`, valid: true, embeddable: true,
			want: map[string]string{"id": `"evt_1"`, "type": `"a.b"`, "created": `17`}},
		{name: "nested values are not top-level", body: `{"data":{"id":"inner","type":["x"]},"id":"outer"}`,
			valid: true, embeddable: true, want: map[string]string{"data": `{"id":"inner","type":["x"]}`, "id": `"outer"`}},
		{name: "first of duplicate keys", body: `{"id":"a","id":"b"}`, valid: true, embeddable: true,
			want: map[string]string{"id": `"a"`}},
		{name: "escaped key name", body: `{"\u0069d":"x"}`, valid: true, embeddable: true, want: map[string]string{"id": `"x"`}},
		{name: "spaces inside", body: "{ \"id\" :\t\"x\" ,\n\"type\": [ 1 , 2 ] }", valid: true, embeddable: true,
			want: map[string]string{"id": `"x"`, "type": `[ 1 , 2 ]`}},
		{name: "surrounding spaces", body: " {\"id\":1}\n", valid: true, embeddable: true, want: map[string]string{"id": `1`}},
		{name: "array", body: `[{"id":1},[],{}]`, valid: true, embeddable: true},
		{name: "scalars", body: `-0.5e+10`, valid: true, embeddable: true},
		{name: "literals", body: `[true,false,null]`, valid: true, embeddable: true},
		{name: "empty object", body: `{}`, valid: true, embeddable: true},
		{name: "unicode", body: `{"id":"café ☕"}`, valid: true, embeddable: true, want: map[string]string{"id": `"café ☕"`}},
		{name: "above U+FFFF: escaped in envelopes", body: `{"id":"𝄞"}`, valid: true, want: map[string]string{"id": `"𝄞"`}},
		{name: "U+FFFE is valid JSON but SQS refuses it", body: "{\"id\":\"\uFFFE\"}", valid: true,
			want: map[string]string{"id": "\"\uFFFE\""}},
		{name: "U+FFFF", body: "{\"id\":\"\uFFFF\"}", valid: true,
			want: map[string]string{"id": "\"\uFFFF\""}},
		{name: "invalid UTF-8 in a string", body: "{\"id\":\"\xff\"}", valid: true,
			want: map[string]string{"id": "\"\xff\""}},
		{name: "escapes", body: `{"id":"a\"b\\c\/\b\f\n\r\t\u00e9"}`, valid: true, embeddable: true,
			want: map[string]string{"id": `"a\"b\\c\/\b\f\n\r\t\u00e9"`}},
		{name: "empty", body: ``},
		{name: "only spaces", body: `   `},
		{name: "truncated object", body: `{"id":"x"`},
		{name: "truncated string", body: `{"id":"x`},
		{name: "trailing comma", body: `{"id":1,}`},
		{name: "trailing comma in array", body: `[1,]`},
		{name: "missing colon", body: `{"id" 1}`},
		{name: "unquoted key", body: `{id:1}`},
		{name: "two values", body: `{} {}`},
		{name: "control character in string", body: "{\"id\":\"a\nb\"}"},
		{name: "bad escape", body: `{"id":"\x"}`},
		{name: "short unicode escape", body: `{"id":"\u12"}`},
		{name: "leading zero", body: `[01]`},
		{name: "bare minus", body: `[-]`},
		{name: "bare dot", body: `[1.]`},
		{name: "bare exponent", body: `[1e]`},
		{name: "bad literal", body: `[tru]`},
		{name: "mismatched close", body: `{"a":[1}`},
		{name: "byte outside strings", body: "{\"a\":1}\xff"},
		{name: "deep nesting", body: strings.Repeat("[", 100000) + strings.Repeat("]", 100000), valid: true, embeddable: true},
		{name: "deep nesting unbalanced", body: strings.Repeat("[", 100000) + strings.Repeat("]", 99999)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := make([][]byte, len(scanKeys))
			emb, valid := scanJSON([]byte(tc.body), scanKeys, out)
			if valid != tc.valid || (valid && emb != tc.embeddable) {
				t.Fatalf("scanJSON = (embeddable %v, valid %v), want (%v, %v)", emb, valid, tc.embeddable, tc.valid)
			}
			if !valid {
				return
			}
			for k, key := range scanKeys {
				want, ok := tc.want[key]
				if got := out[k]; (got != nil) != ok || string(got) != want {
					t.Errorf("%s = %q, want %q", key, got, want)
				}
			}
		})
	}
}

// TestScanJSONSamples: every JSON sample body gives the same verdict and
// values as encoding/json and gjson.
func TestScanJSONSamples(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "events", "*", "*.json"))
	if len(files) < 10 {
		t.Fatalf("found %d sample bodies", len(files))
	}
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		checkScanAgainstReference(t, f, body)
	}
}

func checkScanAgainstReference(t *testing.T, name string, body []byte) {
	t.Helper()
	out := make([][]byte, len(scanKeys))
	emb, valid := scanJSON(body, scanKeys, out)
	if want := json.Valid(body); valid != want {
		t.Fatalf("%s: scanJSON valid = %v, encoding/json says %v", name, valid, want)
	}
	if !valid {
		return
	}
	wantEmb := utf8.Valid(body) && !bytes.ContainsFunc(body, func(r rune) bool { return r == 0xFFFE || r >= 0xFFFF })
	if emb != wantEmb {
		t.Fatalf("%s: embeddable = %v, want %v", name, emb, wantEmb)
	}
	if firstByte(body) != '{' {
		return
	}
	for k, key := range scanKeys {
		ref := gjson.GetBytes(body, key)
		if string(out[k]) != ref.Raw {
			t.Fatalf("%s: %s = %q, gjson says %q", name, key, out[k], ref.Raw)
		}
	}
}

// FuzzScanJSON checks the one-pass scanner against encoding/json (validity)
// and gjson (top-level values) on arbitrary input.
func FuzzScanJSON(f *testing.F) {
	for _, s := range []string{`{"id":"evt","type":"x","created":1,"data":{"id":2}}`, `[1,{"a":null}]`, `"\u00e9"`,
		`{"id":"\ud834\udd1e"}`, "{\"id\":\"\xff\"}", ` {"id":1} `, `{"id":-0.1e-5}`, `{"a":[[[]]]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		out := make([][]byte, len(scanKeys))
		_, valid := scanJSON(body, scanKeys, out)
		if valid != json.Valid(body) {
			t.Fatalf("scanJSON(%q) valid = %v, encoding/json says %v", body, valid, !valid)
		}
		if valid && utf8.Valid(body) {
			checkScanAgainstReference(t, "fuzz", body)
		}
	})
}

// TestSpecial8 checks the eight-byte fast path against strPlain: every
// byte value in every position among plain bytes, and random words, where
// the lowest flagged byte must be the first byte that is not plain.
func TestSpecial8(t *testing.T) {
	word := func(w [8]byte) uint64 { return binary.LittleEndian.Uint64(w[:]) }
	firstSpecial := func(w [8]byte) int {
		for i, c := range w {
			if !strPlain[c] {
				return i
			}
		}
		return 8
	}
	check := func(w [8]byte) {
		t.Helper()
		m := special8(word(w))
		got := 8
		if m != 0 {
			got = bits.TrailingZeros64(m) >> 3
		}
		if want := firstSpecial(w); got != want {
			t.Fatalf("special8(%q): first special at %d, want %d", w[:], got, want)
		}
	}
	for pos := range 8 {
		for c := range 256 {
			w := [8]byte{'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a'}
			w[pos] = byte(c)
			check(w)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte{0, 0x1f, 0x20, '"', '!', '#', '\\', '[', ']', 0x7f, 0x80, 0x9f, 0xa0, 0xff, 'a'}
	for range 200000 {
		var w [8]byte
		for i := range w {
			w[i] = alphabet[rng.IntN(len(alphabet))]
		}
		check(w)
	}
}
