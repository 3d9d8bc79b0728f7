package signature

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82/webhook"
)

// Fuzz targets for every parser of outside input. Each asserts no panic,
// that every failure wraps ErrInvalid, and that an input is only accepted
// when an independent check agrees it carries the genuine signature.

var fuzzNow = time.Unix(1724762412, 0)

func mustReject(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("random input verified")
	}
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("error %v does not wrap ErrInvalid", err)
	}
}

func FuzzStripeHeader(f *testing.F) {
	const secret = "whsec_fuzz"
	body := []byte(`{"id":"evt_1","object":"event"}`)
	good := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: fuzzNow}).Header
	for _, seed := range []string{
		good, "t=1724762412,v1=00", "t=1724762412,v0=abc", "t=1724762412", "v1=abc", "t=,v1=",
		"t=1724762412,v1=" + strings.Repeat("a", 64) + ",v1=" + good[len(good)-64:], ",,,", "t=1=2", "=",
		good + ",", "t=01724762412" + good[12:], "t=-5,v1=00",
	} {
		f.Add(seed, body)
	}
	s := mustScheme(f, "stripe")
	f.Fuzz(func(t *testing.T, header string, payload []byte) {
		err := s.Verify(&Request{Body: payload, Header: hdr("Stripe-Signature", header)}, []string{secret}, fuzzNow)
		if err == nil {
			// stripe-go, the reference, must agree.
			if verr := webhook.ValidatePayloadIgnoringTolerance(payload, header, secret); verr != nil {
				t.Fatalf("accepted a header stripe-go rejects (%v): %q", verr, header)
			}
			return
		}
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("error %v does not wrap ErrInvalid", err)
		}
	})
}

func FuzzStandardHeader(f *testing.F) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	key := "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	f.Add("msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", []byte(`{"test": 2432232314}`))
	f.Add("msg_1", "1614265330", "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v1a,xyz", []byte(`{}`))
	f.Add("", "", "", []byte(nil))
	f.Add("id", "abc", "v1,,,, v1", []byte("x"))
	f.Add("id", "1614265330", strings.Repeat("v1,AAAA ", 50), []byte("x"))
	s := mustScheme(f, "standard")
	now := time.Unix(1614265330, 0)
	f.Fuzz(func(t *testing.T, id, ts, sigs string, body []byte) {
		r := &Request{Body: body, Header: hdr("Webhook-Id", id, "Webhook-Timestamp", ts, "Webhook-Signature", sigs)}
		err := s.Verify(r, []string{secret}, now)
		if err == nil {
			kb, _ := base64Std(key)
			want := "v1," + hmacB64(string(kb), id+"."+ts+"."+string(body))
			if !strings.Contains(" "+sigs+" ", " "+want+" ") && !containsField(sigs, want) {
				t.Fatalf("accepted without the genuine signature: %q", sigs)
			}
			return
		}
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("error %v does not wrap ErrInvalid", err)
		}
	})
}

func containsField(list, want string) bool {
	for _, f := range strings.Fields(list) {
		if f == want {
			return true
		}
	}
	return false
}

// FuzzHMACHeaders covers the one-header schemes (hex with prefix, base64,
// timestamped): slack, github, shopify, zoom, trello.
func FuzzHMACHeaders(f *testing.F) {
	f.Add(uint8(0), "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503", "1724762412", []byte(slackBody))
	f.Add(uint8(1), "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", "", []byte("Hello, World!"))
	f.Add(uint8(2), "dXNlbGVzcw==", "", []byte("{}"))
	f.Add(uint8(3), "v0=", "17247624120000", []byte("{}"))
	f.Add(uint8(4), "AAAAAAAAAAAAAAAAAAAAAAAAAAA=", "", []byte("{}"))
	f.Add(uint8(0), "v0="+strings.Repeat("G", 64), "9999999999999999999999", []byte(""))
	providers := []string{"slack", "github", "shopify", "zoom", "trello"}
	f.Fuzz(func(t *testing.T, which uint8, sig, ts string, body []byte) {
		p := providers[int(which)%len(providers)]
		s := mustScheme(t, p)
		r := &Request{Method: "POST", URL: "https://h.test/trello", Body: body, Header: hdr(
			"X-Slack-Signature", sig, "X-Slack-Request-Timestamp", ts,
			"X-Hub-Signature-256", sig, "X-Shopify-Hmac-Sha256", sig, "X-Trello-Webhook", sig,
			"X-Zm-Signature", sig, "X-Zm-Request-Timestamp", ts)}
		mustReject(t, s.Verify(r, []string{"fuzz-secret"}, fuzzNow))
	})
}

func FuzzHubSpotHeader(f *testing.F) {
	f.Add("umaGk03ZgOJBIS4R3hlBm8XfMCuC3JH0+vSneVE1yYg=", "1724762412000", "", "", "https://h.test/x?a=%3A", []byte("{}"))
	f.Add("", "", "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de", "v1", "", []byte("[]"))
	f.Add("", "", "zz", "v2", "%", []byte(""))
	f.Add("====", "x", "", "v3", "https://h.test/%%%3", []byte("x"))
	s := mustScheme(f, "hubspot")
	withLegacy, _ := New("hubspot", Options{HubSpotLegacy: true})
	f.Fuzz(func(t *testing.T, v3, ts, legacy, version, uri string, body []byte) {
		r := &Request{Method: "POST", URL: uri, Body: body, Header: hdr(
			"X-HubSpot-Signature-v3", v3, "X-HubSpot-Request-Timestamp", ts,
			"X-HubSpot-Signature", legacy, "X-HubSpot-Signature-Version", version)}
		mustReject(t, s.Verify(r, []string{"hs-fuzz-secret"}, fuzzNow))
		mustReject(t, withLegacy.Verify(r, []string{"hs-fuzz-secret"}, fuzzNow))
		if d := hubSpotDecodeURI(uri); len(d) > len(uri) {
			t.Fatalf("decoded URI grew: %q -> %q", uri, d)
		}
	})
}

func FuzzTwilioParams(f *testing.F) {
	f.Add("https://mycompany.com/myapp.php?foo=1&bar=2", "CallSid=CA1234567890ABCDE&Caller=%2B14158675309", "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
	f.Add("https://mycompany.com:1234/myapp.php?bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620", `{"property": "value", "boolean": true}`, "a9nBmqA0ju/hNViExpshrM61xv4=")
	f.Add("http://[::1]:80/x", "a=1&a=2&b=%zz", "AAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	f.Add("::::", "a=1;b=2", "x")
	f.Add("https://h.test/x?bodySHA256=zz", "", "AAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	s := mustScheme(f, "twilio")
	f.Fuzz(func(t *testing.T, rawURL, body, sig string) {
		r := &Request{Method: "POST", URL: rawURL, Body: []byte(body), Header: hdr("X-Twilio-Signature", sig)}
		mustReject(t, s.Verify(r, []string{"fuzz-token"}, fuzzNow))
		if form, err := url.ParseQuery(body); err == nil {
			got := twilioParams(form)
			if len(got) == 0 || len(got) > 2 {
				t.Fatalf("twilioParams returned %d orderings", len(got))
			}
			for _, p := range got[1:] {
				if len(p) != len(got[0]) {
					t.Fatalf("orderings differ in content length: %q vs %q", got[0], p)
				}
			}
		}
	})
}

func FuzzSalesforceOrg(f *testing.F) {
	f.Add(readTestdata(f, "salesforce_outbound.xml"))
	f.Add([]byte(`<notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>00D5g00000AbcDe</OrganizationId></notifications>`))
	f.Add([]byte(`<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>`))
	f.Add([]byte(`<a><b><c>`))
	f.Add([]byte(`<?xml version="1.0" encoding="ISO-8859-1"?><a/>`))
	f.Add([]byte(""))
	s := mustScheme(f, "salesforce")
	allowed := "00D5g00000AbcDeEAJ"
	f.Fuzz(func(t *testing.T, body []byte) {
		err := s.Verify(&Request{Body: body}, []string{allowed}, fuzzNow)
		if err == nil {
			org, _, _, perr := salesforceOrg(body)
			if perr != nil || len(org) < 15 || org[:15] != allowed[:15] {
				t.Fatalf("accepted body whose OrganizationId is %q (%v)", org, perr)
			}
			return
		}
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("error %v does not wrap ErrInvalid", err)
		}
	})
}

func FuzzLiveChatSecret(f *testing.F) {
	f.Add(readTestdata(f, "livechat_incoming_chat.json"))
	f.Add([]byte(`{"secret_key":"lc-fuzz-secret"}`))
	f.Add([]byte(`{"secret_key":"lc-fuzz-secret","secret_key":"x"}`))
	f.Add([]byte(`{"secret\u005fkey":"lc-fuzz-secret"}`))
	f.Add([]byte(`{"a":[1,2,{"secret_key":"lc-fuzz-secret"}]}`))
	f.Add([]byte(`[`))
	s := mustScheme(f, "livechat")
	const secret = "lc-fuzz-secret"
	f.Fuzz(func(t *testing.T, body []byte) {
		err := s.Verify(&Request{Body: body}, []string{secret}, fuzzNow)
		if err == nil {
			// encoding/json, independently: a valid object whose exact
			// top-level secret_key is the secret.
			var m map[string]json.RawMessage
			if jerr := json.Unmarshal(body, &m); jerr != nil {
				t.Fatalf("accepted invalid JSON %q: %v", body, jerr)
			}
			var got string
			if jerr := json.Unmarshal(m["secret_key"], &got); jerr != nil || got != secret {
				t.Fatalf("accepted body without the secret: %q", body)
			}
			return
		}
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("error %v does not wrap ErrInvalid", err)
		}
		// Sign must either fail cleanly or produce a verifiable body.
		r := &Request{Body: body}
		if serr := s.Sign(r, secret, fuzzNow); serr == nil {
			if verr := s.Verify(r, []string{secret}, fuzzNow); verr != nil {
				t.Fatalf("Sign produced a body that does not verify: %q -> %q: %v", body, r.Body, verr)
			}
		}
	})
}
