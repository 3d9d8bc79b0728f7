package envelope

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"testing"
	"time"
)

func TestEnvelopeRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		body []byte
		key  string // the JSON field the body travels in
	}{
		{"utf-8 JSON body as text", []byte(`{"id":"evt_1","amount":2000}`), `"body"`},
		{"XML body as text", []byte(`<soapenv:Envelope><x a="1"/></soapenv:Envelope>`), `"body"`},
		{"emoji escaped, same bytes back", []byte(`{"text":"shipped 🚀 ✓"}`), `"body"`},
		{"binary body as base64", []byte{0xff, 0xfe, 0x00, 0x80}, `"body_base64"`},
		{"empty body", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := Envelope{V: Version, ID: "01J", Provider: "stripe", EventID: "evt_1", Type: "t", OccurredAt: at,
				ReceivedAt: at, Queue: QueuePayments, Headers: map[string]string{"X-A": "b"}, Body: tc.body}
			raw, err := Encode(in)
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(raw) {
				t.Fatalf("invalid JSON: %s", raw)
			}
			for _, c := range raw {
				if c >= 0xF0 {
					t.Fatalf("4-byte UTF-8 left in %s", raw)
				}
			}
			if tc.key != "" && !bytes.Contains(raw, []byte(tc.key+":")) {
				t.Fatalf("body not under %s: %s", tc.key, raw)
			}
			out, err := Decode(raw)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Body, tc.body) || out.EventID != in.EventID || !out.OccurredAt.Equal(at) || out.Headers["X-A"] != "b" {
				t.Fatalf("round trip = %+v", out)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	for name, raw := range map[string]string{
		"not json":    `{"id":`,
		"no id":       `{"provider":"stripe"}`,
		"no provider": `{"id":"x"}`,
		"bad base64":  `{"id":"x","provider":"p","body_base64":"%%%"}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Decode([]byte(raw)); err == nil || (name != "bad base64" && !errors.Is(err, ErrMalformed)) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

// FuzzEnvelopeRoundTrip: whatever the body and header bytes, the hand-written
// encoder produces valid JSON with no 4-byte UTF-8, that encoding/json
// decodes back to the same envelope.
func FuzzEnvelopeRoundTrip(f *testing.F) {
	f.Add([]byte(`{"id":"evt_1","note":"a\"b\\c\n\t\u0001"}`), "X-Topic", "orders/create", "evt_1")
	f.Add([]byte("emoji 🚀 and 日本語"), "k", "v\x00", "id")
	f.Add([]byte{0xff, 0x00, 0xc3}, "", "", "")
	f.Fuzz(func(t *testing.T, body []byte, hk, hv, id string) {
		at := time.Unix(1764417600, 123).UTC()
		in := Envelope{V: Version, ID: "01J" + id, Provider: "p", EventID: id, Type: hv, OccurredAt: at, ReceivedAt: at,
			Queue: QueueRelay, Body: body, Headers: map[string]string{hk: hv}, Invalid: hk, Part: 1, Parts: 2}
		raw, err := Encode(in)
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid(raw) {
			t.Fatalf("invalid JSON: %q", raw)
		}
		for _, c := range raw {
			if c >= 0xF0 {
				t.Fatalf("4-byte UTF-8 in %q", raw)
			}
		}
		out, err := Decode(raw)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Body, body) && !(len(out.Body) == 0 && len(body) == 0) {
			t.Fatalf("body %q → %q", body, out.Body)
		}
		// Strings that are valid UTF-8 round-trip exactly; others as encoding/json would.
		want, _ := json.Marshal(map[string]string{"x": id})
		var back map[string]string
		_ = json.Unmarshal(want, &back)
		if out.EventID != back["x"] || out.Part != 1 || out.Parts != 2 || !out.OccurredAt.Equal(at) {
			t.Fatalf("fields: %+v", out)
		}
	})
}

func BenchmarkEncode2KB(b *testing.B) {
	body, err := os.ReadFile("../signature/testdata/stripe_payment_intent_succeeded.json")
	if err != nil {
		b.Fatal(err)
	}
	at := time.Now()
	e := Envelope{V: Version, ID: "01JBENCH", Provider: "stripe", EventID: "evt_1", Type: "payment_intent.succeeded",
		OccurredAt: at, ReceivedAt: at, Queue: QueuePayments, Body: body, Headers: map[string]string{"Content-Type": "application/json"}}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(e); err != nil {
			b.Fatal(err)
		}
	}
}
