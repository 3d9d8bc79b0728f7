package signature

import (
	"bytes"
	"encoding/json"
	"net/url"
	"slices"
	"testing"
	"time"
)

func TestLiveChatSignEditsBody(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"replace", `{"webhook_id":"w","secret_key":"old","action":"a"}`, `{"webhook_id":"w","secret_key":"s3\"cr<t","action":"a"}`},
		{"replace non-string", `{"secret_key": null , "a":1}`, `{"secret_key": "s3\"cr<t" , "a":1}`},
		{"insert", ` { "action":"a"}`, ` {"secret_key":"s3\"cr<t", "action":"a"}`},
		{"insert into empty", "{\n}", "{\"secret_key\":\"s3\\\"cr<t\"\n}"},
		{"nested secret_key untouched", `{"payload":{"secret_key":"x"}}`, `{"secret_key":"s3\"cr<t","payload":{"secret_key":"x"}}`},
	}
	s := mustScheme(t, "livechat")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Request{Body: []byte(tt.body)}
			if err := s.Sign(r, `s3"cr<t`, time.Now()); err != nil {
				t.Fatal(err)
			}
			// json.Marshal escapes < as \u003c; compare decoded forms and bytes
			// outside the value.
			got := string(bytes.ReplaceAll(r.Body, []byte(`\u003c`), []byte("<")))
			if got != tt.want {
				t.Fatalf("body = %s, want %s", got, tt.want)
			}
			if !json.Valid(r.Body) {
				t.Fatalf("invalid JSON: %s", r.Body)
			}
			wantErr(t, s.Verify(r, []string{`s3"cr<t`}, time.Now()), nil)
		})
	}
	t.Run("not JSON", func(t *testing.T) {
		if err := s.Sign(&Request{Body: []byte("x")}, "s", time.Now()); err == nil {
			t.Fatal("Sign accepted a non-JSON body")
		}
	})
}

func TestSalesforceSignAndIDs(t *testing.T) {
	body := readTestdata(t, "salesforce_outbound.xml")
	s := mustScheme(t, "salesforce")
	r := &Request{Body: body}
	const id = "00DB0000000TwXYMA0"
	if err := s.Sign(r, id, time.Now()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(r.Body, []byte("<OrganizationId>"+id+"</OrganizationId>")) {
		t.Fatalf("OrganizationId not replaced:\n%s", r.Body)
	}
	if len(r.Body) != len(body) {
		t.Fatalf("body length changed beyond the id: %d -> %d", len(body), len(r.Body))
	}
	wantErr(t, s.Verify(r, []string{"00DB0000000TwXY"}, time.Now()), nil)    // 15-char allowlist entry
	wantErr(t, s.Verify(r, []string{"00DB0000000TwXYMA0"}, time.Now()), nil) // 18-char
	wantErr(t, s.Verify(r, []string{"00DB0000000TWXY"}, time.Now()), ErrMismatch)
	wantErr(t, s.Verify(r, []string{"not-an-id"}, time.Now()), ErrNoSecret)
	if err := s.Sign(&Request{Body: body}, "bogus", time.Now()); err == nil {
		t.Fatal("Sign accepted a secret that is not an id")
	}
	// Known 15→18 conversion from Salesforce's documentation.
	if got := salesforceSuffix("001A0000006Vm9r"); string(got[:]) != "IAC" {
		t.Fatalf("suffix = %s, want IAC", got[:])
	}
}

func TestZoomMillisecondTimestamp(t *testing.T) {
	s := mustScheme(t, "zoom")
	now := time.Unix(1724762412, 0)
	r := &Request{Method: "POST", Body: []byte(`{"event":"meeting.started"}`)}
	if err := s.Sign(r, "zoom-secret", now); err != nil {
		t.Fatal(err)
	}
	// Re-sign by hand with a millisecond timestamp header.
	ms := "1724762412000"
	r.Header.Set("X-Zm-Request-Timestamp", ms)
	r.Header.Set("X-Zm-Signature", "v0="+hmacHex("zoom-secret", "v0:"+ms+":"+string(r.Body)))
	wantErr(t, s.Verify(r, []string{"zoom-secret"}, now), nil)
	wantErr(t, s.Verify(r, []string{"zoom-secret"}, now.Add(time.Hour)), ErrTimestamp)
}

func TestTwilioParamOrder(t *testing.T) {
	form := url.Values{"Foo": {"z"}, "Foo1": {"a"}, "B": {"2", "1"}}
	got := twilioParams(form)
	want := []string{"B1B2FoozFoo1a", "B1B2Foo1aFooz"} // by name, then twilio-go's order
	if !slices.Equal(got, want) {
		t.Fatalf("twilioParams = %q, want %q", got, want)
	}
	if got := twilioParams(url.Values{"A": {"1"}, "B": {"2"}}); !slices.Equal(got, []string{"A1B2"}) {
		t.Fatalf("twilioParams = %q", got)
	}
	// A signature over the name order with repeated keys verifies.
	s := mustScheme(t, "twilio")
	r := &Request{Method: "POST", URL: "https://h.test/t", Body: []byte("Foo=z&B=2&Foo1=a&B=1")}
	r.Header = hdr("X-Twilio-Signature", hmacB64SHA1("tok", "https://h.test/tB1B2Foo1aFooz"))
	wantErr(t, s.Verify(r, []string{"tok"}, time.Now()), nil)
	r.Header.Set("X-Twilio-Signature", hmacB64SHA1("tok", "https://h.test/tB1B2FoozFoo1a"))
	wantErr(t, s.Verify(r, []string{"tok"}, time.Now()), nil)
	r.Header.Set("X-Twilio-Signature", hmacB64SHA1("tok", "https://h.test/tB2B1FoozFoo1a"))
	wantErr(t, s.Verify(r, []string{"tok"}, time.Now()), ErrMismatch)
}
