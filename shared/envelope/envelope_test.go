package envelope

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"testing"
	"time"
	"unicode/utf8"
)

func TestEnvelopeRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		body []byte
		json bool   // Envelope.BodyJSON
		key  string // the JSON field the body travels in
	}{
		{"utf-8 JSON body as text", []byte(`{"id":"evt_1","amount":2000}`), false, `"body"`},
		{"JSON body raw, spacing around kept", []byte(" \r\n{\"id\":1}\n\t"), true, `"body_json"`},
		{"JSON body raw, inner spacing kept", []byte("{\"id\": \"evt_1\",\n  \"amount\":2000, \"s\":\"caf\u00e9 é\"}"), true, `"body_json"`},
		{"XML body as text", []byte(`<soapenv:Envelope><x a="1"/></soapenv:Envelope>`), false, `"body"`},
		{"emoji escaped, same bytes back", []byte(`{"text":"shipped 🚀 ✓"}`), false, `"body"`},
		{"U+FFFE and U+FFFF escaped, same bytes back", []byte("{\"a\":\"\uFFFE\uFFFF\"}"), false, `"body"`},
		{"binary body as base64", []byte{0xff, 0xfe, 0x00, 0x80}, false, `"body_base64"`},
		{"empty body", nil, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := Envelope{V: Version, ID: "01J", Provider: "stripe", EventID: "evt_1", Type: "t", OccurredAt: at,
				ReceivedAt: at, Queue: QueuePayments, Headers: map[string]string{"X-A": "b"}, Body: tc.body, BodyJSON: tc.json}
			raw, err := Encode(in)
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(raw) {
				t.Fatalf("invalid JSON: %s", raw)
			}
			checkSQSText(t, raw)
			if tc.key != "" && !bytes.Contains(raw, []byte(tc.key+":")) {
				t.Fatalf("body not under %s: %s", tc.key, raw)
			}
			out, err := Decode(raw)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Body, tc.body) || out.BodyJSON != tc.json || out.EventID != in.EventID ||
				!out.OccurredAt.Equal(at) || out.Headers["X-A"] != "b" {
				t.Fatalf("round trip = %+v", out)
			}
			again, err := Encode(out)
			if err != nil || !bytes.Equal(again, raw) {
				t.Fatalf("re-encoding the decoded envelope differs:\n%s\n%s", raw, again)
			}
		})
	}
}

// checkSQSText fails unless raw is text every SQS implementation takes:
// valid UTF-8 of the characters SQS allows (#x9 | #xA | #xD | #x20 to
// #xD7FF | #xE000 to #xFFFD), nothing above U+FFFF (escaped instead).
func checkSQSText(t *testing.T, raw []byte) {
	t.Helper()
	if !utf8.Valid(raw) {
		t.Fatalf("invalid UTF-8 in %q", raw)
	}
	for _, r := range string(raw) {
		if !(r == 0x9 || r == 0xA || r == 0xD || (r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD)) {
			t.Fatalf("character %U that SQS refuses in %q", r, raw)
		}
	}
}

// TestExtractedBodiesEmbedRaw: the JSON bodies the extractors validated go
// raw into the envelope and come back byte for byte.
func TestExtractedBodiesEmbedRaw(t *testing.T) {
	at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	h, body := stripeSample(t)
	evs, err := Extract(ProviderStripe, h, body, at)
	if err != nil {
		t.Fatal(err)
	}
	if !evs[0].JSON {
		t.Fatal("the Stripe sample was not marked embeddable")
	}
	raw, err := Encode(Envelope{V: Version, ID: "01J", Provider: ProviderStripe, EventID: evs[0].ID, Type: evs[0].Type,
		OccurredAt: at, ReceivedAt: at, Queue: QueuePayments, Body: evs[0].Body, BodyJSON: evs[0].JSON})
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) > len(body)+300 {
		t.Errorf("envelope of a %d-byte body is %d bytes", len(body), len(raw))
	}
	out, err := Decode(raw)
	if err != nil || !bytes.Equal(out.Body, body) {
		t.Fatalf("decode: %v, body equal %v", err, bytes.Equal(out.Body, body))
	}
	for _, tc := range []struct {
		name string
		body string
	}{
		{"emoji", `{"id":"evt_1","type":"a","d":"🚀"}`},
		{"U+FFFE", "{\"id\":\"evt_1\",\"type\":\"a\",\"d\":\"\uFFFE\"}"},
		{"invalid UTF-8", "{\"id\":\"evt_1\",\"type\":\"a\",\"d\":\"\xff\"}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := Extract(ProviderStripe, http.Header{}, []byte(tc.body), at)
			if err != nil {
				t.Fatal(err)
			}
			if evs[0].JSON {
				t.Fatalf("%q marked embeddable", tc.body)
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
	f.Add([]byte(" {\"a\":[1,\"\u00e9\"]}\n"), "", "", "")
	f.Fuzz(func(t *testing.T, body []byte, hk, hv, id string) {
		at := time.Unix(1764417600, 123).UTC()
		in := Envelope{V: Version, ID: "01J" + id, Provider: "p", EventID: id, Type: hv, OccurredAt: at, ReceivedAt: at,
			Queue: QueueRelay, Body: body, Headers: map[string]string{hk: hv}, Invalid: hk, Part: 1, Parts: 2}
		// A body the scanner accepts as embeddable travels raw.
		emb, valid := scanJSON(body, nil, nil)
		in.BodyJSON = emb && valid
		raw, err := Encode(in)
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid(raw) {
			t.Fatalf("invalid JSON: %q", raw)
		}
		checkSQSText(t, raw)
		out, err := Decode(raw)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Body, body) && !(len(out.Body) == 0 && len(body) == 0) {
			t.Fatalf("body %q → %q", body, out.Body)
		}
		if len(body) > 0 && out.BodyJSON != in.BodyJSON {
			t.Fatalf("BodyJSON %v → %v", in.BodyJSON, out.BodyJSON)
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
