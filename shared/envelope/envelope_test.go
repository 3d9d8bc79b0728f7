package envelope

import (
	"bytes"
	"encoding/json"
	"errors"
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
