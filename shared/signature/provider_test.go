package signature

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// mutation is one way of damaging a signed request, with the error Verify
// must then return.
type mutation struct {
	name   string
	mutate func(*Request)
	want   error
}

// fixture describes one provider for the shared table: a request to sign,
// two valid secrets, and the provider's missing/malformed cases.
type fixture struct {
	provider  string
	secret    string // signs
	other     string // a different valid secret
	request   func() *Request
	timestamp bool // the scheme has a timestamp (stale/future cases apply)
	// tamper changes the signed content; nil for providers whose body is not
	// authenticated (livechat, salesforce).
	tamper func(*Request)
	cases  []mutation // missing and malformed inputs
}

func del(names ...string) func(*Request) {
	return func(r *Request) {
		for _, n := range names {
			r.Header.Del(n)
		}
	}
}

func set(name, value string) func(*Request) {
	return func(r *Request) { r.Header.Set(name, value) }
}

func setBody(body string) func(*Request) {
	return func(r *Request) { r.Body = []byte(body) }
}

func flipLastBodyByte(r *Request) {
	b := bytes.Clone(r.Body)
	b[len(b)-2] ^= 1 // before a trailing newline or brace
	r.Body = b
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const jsonBody = `{"id":"123","type":"thing.created","data":{"name":"widget","qty":3}}`

func fixtures(t testing.TB) []fixture {
	jsonReq := func(url string) func() *Request {
		return func() *Request {
			return &Request{Method: "POST", URL: url, Body: []byte(jsonBody), Header: hdr("Content-Type", "application/json")}
		}
	}
	stripeBody := stripeEvent(t)
	liveChatBody := readTestdata(t, "livechat_incoming_chat.json")
	sfBody := readTestdata(t, "salesforce_outbound.xml")
	return []fixture{
		{
			provider: "stripe", secret: "whsec_new_7c1b2d", other: "whsec_old_9a8f7e", timestamp: true,
			request: func() *Request {
				return &Request{Method: "POST", Body: stripeBody, Header: hdr("Content-Type", "application/json")}
			},
			tamper: flipLastBodyByte,
			cases: []mutation{
				{"missing header", del("Stripe-Signature"), ErrMissing},
				{"malformed no equals", set("Stripe-Signature", "garbage"), ErrMalformed},
				{"malformed empty t", set("Stripe-Signature", "t=,v1=00"), ErrMalformed},
				{"malformed signed t", set("Stripe-Signature", "t=+1724762412,v1=00"), ErrMalformed},
				{"malformed no t", set("Stripe-Signature", "v1=00"), ErrMalformed},
				{"malformed two t", set("Stripe-Signature", "t=1,t=2,v1=00"), ErrMalformed},
				{"malformed double equals", set("Stripe-Signature", "t=1,v1=a=b"), ErrMalformed},
				{"v1 not hex", func(r *Request) {
					h := r.Header.Get("Stripe-Signature")
					r.Header.Set("Stripe-Signature", h[:strings.Index(h, "v1=")]+"v1=zz")
				}, ErrMismatch},
			},
		},
		{
			provider: "github", secret: "gh-secret-new", other: "gh-secret-old",
			request: jsonReq(""), tamper: flipLastBodyByte,
			cases: []mutation{
				{"missing header", del("X-Hub-Signature-256"), ErrMissing},
				{"malformed prefix", set("X-Hub-Signature-256", "sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"), ErrMalformed},
				{"malformed hex", set("X-Hub-Signature-256", "sha256=zz7107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"), ErrMalformed},
				{"malformed short", set("X-Hub-Signature-256", "sha256=7571"), ErrMalformed},
			},
		},
		{
			provider: "shopify", secret: "shpss_new", other: "shpss_old",
			request: jsonReq(""), tamper: flipLastBodyByte,
			cases: []mutation{
				{"missing header", del("X-Shopify-Hmac-Sha256"), ErrMissing},
				{"malformed base64", set("X-Shopify-Hmac-Sha256", "not base64!"), ErrMalformed},
				{"malformed length", set("X-Shopify-Hmac-Sha256", "AAAA"), ErrMalformed},
			},
		},
		{
			provider: "slack", secret: "slack-signing-new", other: "slack-signing-old", timestamp: true,
			request: func() *Request {
				return &Request{Method: "POST", Body: []byte(slackBody), Header: hdr("Content-Type", "application/x-www-form-urlencoded")}
			},
			tamper: flipLastBodyByte,
			cases: []mutation{
				{"missing signature", del("X-Slack-Signature"), ErrMissing},
				{"missing timestamp", del("X-Slack-Request-Timestamp"), ErrMissing},
				{"malformed version", func(r *Request) {
					r.Header.Set("X-Slack-Signature", "v1="+r.Header.Get("X-Slack-Signature")[3:])
				}, ErrMalformed},
				{"malformed timestamp", set("X-Slack-Request-Timestamp", "12ab"), ErrMalformed},
				{"negative timestamp", set("X-Slack-Request-Timestamp", "-1"), ErrMalformed},
				{"other timestamp, same signature", func(r *Request) {
					n, _ := parseUint(r.Header.Get("X-Slack-Request-Timestamp"))
					r.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(n+1, 10))
				}, ErrMismatch},
			},
		},
		{
			provider: "standard", timestamp: true,
			secret: "whsec_" + "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
			other:  "whsec_" + "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=",
			request: func() *Request {
				r := jsonReq("")()
				r.Header.Set("Webhook-Id", "msg_2Kxyz")
				return r
			},
			tamper: flipLastBodyByte,
			cases: []mutation{
				{"missing signature", del("Webhook-Signature"), ErrMissing},
				{"missing id", del("Webhook-Id"), ErrMissing},
				{"missing timestamp", del("Webhook-Timestamp"), ErrMissing},
				{"malformed timestamp", set("Webhook-Timestamp", "soon"), ErrMalformed},
				{"signature entry not base64", set("Webhook-Signature", "v1,!!!"), ErrMismatch},
				{"other id, same signature", set("Webhook-Id", "msg_other"), ErrMismatch},
			},
		},
		{
			provider: "livechat", secret: "lc-secret-new", other: "lc-secret-old",
			request: func() *Request {
				return &Request{Method: "POST", Body: liveChatBody, Header: hdr("Content-Type", "application/json")}
			},
			cases: []mutation{
				{"missing secret_key", setBody(`{"webhook_id":"w1","action":"incoming_chat","payload":{"secret_key":"lc-secret-new"}}`), ErrMissing},
				{"malformed JSON", setBody(`{"secret_key":"lc-secret-new"`), ErrMalformed},
				{"not an object", setBody(`["secret_key","lc-secret-new"]`), ErrMalformed},
				{"trailing data", setBody(`{"secret_key":"lc-secret-new"} {}`), ErrMalformed},
				{"secret_key not a string", setBody(`{"secret_key":42}`), ErrMalformed},
				{"duplicate secret_key", setBody(`{"secret_key":"x","secret_key":"lc-secret-new"}`), ErrMalformed},
				{"key case differs", setBody(`{"Secret_Key":"lc-secret-new"}`), ErrMissing},
				{"prefix of secret", setBody(`{"secret_key":"lc-secret"}`), ErrMismatch},
			},
		},
		{
			provider: "trello", secret: "trello-app-secret-new", other: "trello-app-secret-old",
			request: jsonReq("https://hooks.example.com/webhooks/trello"), tamper: flipLastBodyByte,
			cases: []mutation{
				{"missing header", del("X-Trello-Webhook"), ErrMissing},
				{"malformed base64", set("X-Trello-Webhook", "***"), ErrMalformed},
				{"other callback URL", func(r *Request) { r.URL = "https://hooks.example.com/webhooks/other" }, ErrMismatch},
				{"no URL", func(r *Request) { r.URL = "" }, ErrNoURL},
			},
		},
		{
			provider: "hubspot", secret: "hs-client-secret-new", other: "hs-client-secret-old", timestamp: true,
			request: jsonReq("https://hooks.example.com/webhooks/hubspot?portal=62515"), tamper: flipLastBodyByte,
			cases: []mutation{
				{"missing all signatures", del("X-HubSpot-Signature-v3", "X-HubSpot-Signature"), ErrMissing},
				{"missing timestamp", del("X-HubSpot-Request-Timestamp"), ErrMissing},
				{"malformed v3", set("X-HubSpot-Signature-v3", "%%%"), ErrMalformed},
				{"malformed timestamp", set("X-HubSpot-Request-Timestamp", "1e12"), ErrMalformed},
				{"other method", func(r *Request) { r.Method = "PUT" }, ErrMismatch},
				{"other query", func(r *Request) { r.URL += "&x=1" }, ErrMismatch},
				{"legacy v1 only: refused by default (no timestamp)", del("X-HubSpot-Signature-v3"), ErrLegacyRefused},
			},
		},
		{
			provider: "twilio", secret: "twilio-auth-token-new", other: "twilio-auth-token-old",
			request: func() *Request {
				return &Request{Method: "POST", URL: "https://hooks.example.com/webhooks/twilio",
					Body:   []byte("MessageSid=SM0123456789abcdef&From=%2B15551234567&To=%2B15557654321&Body=Is+it+in+stock%3F"),
					Header: hdr("Content-Type", "application/x-www-form-urlencoded")}
			},
			tamper: func(r *Request) { r.Body = bytes.Replace(r.Body, []byte("stock"), []byte("stack"), 1) },
			cases: []mutation{
				{"missing header", del("X-Twilio-Signature"), ErrMissing},
				{"malformed base64", set("X-Twilio-Signature", "@@@@"), ErrMalformed},
				{"malformed form", setBody("a=1;b=2"), ErrMalformed},
				{"extra param", func(r *Request) { r.Body = append(bytes.Clone(r.Body), "&X=1"...) }, ErrMismatch},
				{"param order does not matter", func(r *Request) {
					r.Body = []byte("Body=Is+it+in+stock%3F&To=%2B15557654321&From=%2B15551234567&MessageSid=SM0123456789abcdef")
				}, nil},
				{"default port added", func(r *Request) { r.URL = "https://hooks.example.com:443/webhooks/twilio" }, nil},
				{"other path", func(r *Request) { r.URL = "https://hooks.example.com/webhooks/other" }, ErrMismatch},
			},
		},
		{
			provider: "zoom", secret: "zoom-secret-token-new", other: "zoom-secret-token-old", timestamp: true,
			request: jsonReq(""), tamper: flipLastBodyByte,
			cases: []mutation{
				{"missing signature", del("X-Zm-Signature"), ErrMissing},
				{"missing timestamp", del("X-Zm-Request-Timestamp"), ErrMissing},
				{"malformed signature", set("X-Zm-Signature", "v0=xyz"), ErrMalformed},
				{"malformed timestamp", set("X-Zm-Request-Timestamp", " 1"), ErrMalformed},
			},
		},
		{
			provider: "salesforce", secret: "00D5g00000AbcDeEAJ", other: "00D5g00000AbcdEEAR",
			request: func() *Request {
				return &Request{Method: "POST", Body: sfBody, Header: hdr("Content-Type", "text/xml; charset=utf-8")}
			},
			cases: []mutation{
				{"missing OrganizationId", func(r *Request) {
					r.Body = bytes.Replace(r.Body, []byte("OrganizationId>"), []byte("OrgId>"), 2)
				}, ErrMissing},
				{"OrganizationId outside notifications", setBody(`<notifications xmlns="http://soap.sforce.com/2005/09/outbound"><Notification><OrganizationId>00D5g00000AbcDeEAJ</OrganizationId></Notification></notifications>`), ErrMissing},
				{"OrganizationId in another namespace", setBody(`<notifications xmlns="urn:other"><OrganizationId>00D5g00000AbcDeEAJ</OrganizationId></notifications>`), ErrMissing},
				{"DOCTYPE", func(r *Request) {
					r.Body = append([]byte(`<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>`), r.Body[bytes.Index(r.Body, []byte("<soapenv:Envelope")):]...)
				}, ErrMalformed},
				{"entity reference", func(r *Request) {
					r.Body = bytes.Replace(r.Body, []byte("00D5g00000AbcDeEAJ</"), []byte("&e;</"), 1)
				}, ErrMalformed},
				{"not XML", setBody(`{"OrganizationId":"00D5g00000AbcDeEAJ"}`), ErrMalformed},
				{"truncated", func(r *Request) { r.Body = r.Body[:len(r.Body)/2] }, ErrMalformed},
				{"two OrganizationIds", func(r *Request) {
					r.Body = bytes.Replace(r.Body, []byte("<ActionId>"), []byte("<OrganizationId>00D5g00000AbcDeEAJ</OrganizationId><ActionId>"), 1)
				}, ErrMalformed},
				{"bad 18-char suffix", func(r *Request) {
					r.Body = bytes.Replace(r.Body, []byte("00D5g00000AbcDeEAJ"), []byte("00D5g00000AbcDeAAA"), 1)
				}, ErrMalformed},
				{"not an id", func(r *Request) {
					r.Body = bytes.Replace(r.Body, []byte("00D5g00000AbcDeEAJ"), []byte("00D5g00000-bcDeEAJ"), 1)
				}, ErrMalformed},
				{"15-char form in body", func(r *Request) {
					r.Body = bytes.Replace(r.Body, []byte("00D5g00000AbcDeEAJ"), []byte("00D5g00000AbcDe"), 1)
				}, nil},
				{"18-char form with lower-case suffix", func(r *Request) {
					r.Body = bytes.Replace(r.Body, []byte("00D5g00000AbcDeEAJ"), []byte("00D5g00000AbcDeeaj"), 1)
				}, nil},
				{"same id other case", func(r *Request) {
					r.Body = bytes.Replace(r.Body, []byte("00D5g00000AbcDeEAJ"), []byte("00D5g00000ABCDEEAJ"), 1)
				}, ErrMalformed}, // case changed, suffix no longer fits
				{"deep nesting", func(r *Request) {
					r.Body = []byte(strings.Repeat("<a>", 40) + strings.Repeat("</a>", 40))
				}, ErrMalformed},
			},
		},
	}
}

func TestFixturesCoverEveryProvider(t *testing.T) {
	var got []string
	for _, f := range fixtures(t) {
		got = append(got, f.provider)
	}
	if !slices.Equal(got, Providers) {
		t.Fatalf("fixtures %v, providers %v", got, Providers)
	}
}

// TestProviders runs the shared table for every provider: sign→verify round
// trip, rotation, wrong secret, tampering, clock skew, missing and malformed
// input, and empty secret lists.
func TestProviders(t *testing.T) {
	now := time.Unix(1724762412, 0)
	for _, f := range fixtures(t) {
		t.Run(f.provider, func(t *testing.T) {
			s := mustScheme(t, f.provider)
			if s.Provider() != f.provider {
				t.Fatalf("Provider() = %q", s.Provider())
			}
			signedAt := func(at time.Time) *Request {
				r := f.request()
				if err := s.Sign(r, f.secret, at); err != nil {
					t.Fatalf("Sign: %v", err)
				}
				return r
			}
			check := func(t *testing.T, r *Request, secrets []string, want error) {
				t.Helper()
				err := s.Verify(r, secrets, now)
				wantErr(t, err, want)
				if err != nil {
					msg := err.Error()
					for _, sec := range append(secrets, f.secret, f.other) {
						if sec != "" && strings.Contains(msg, sec) {
							t.Fatalf("error text leaks a secret: %q", msg)
						}
					}
					if len(r.Body) > 8 && strings.Contains(msg, string(r.Body)) {
						t.Fatalf("error text contains the body: %q", msg)
					}
				}
			}

			t.Run("good", func(t *testing.T) { check(t, signedAt(now), []string{f.secret}, nil) })
			t.Run("rotation: second of two", func(t *testing.T) {
				check(t, signedAt(now), []string{f.other, f.secret}, nil)
			})
			t.Run("rotation: empty entries skipped", func(t *testing.T) {
				check(t, signedAt(now), []string{"", f.secret}, nil)
			})
			t.Run("wrong secret", func(t *testing.T) { check(t, signedAt(now), []string{f.other}, ErrMismatch) })
			t.Run("no secrets", func(t *testing.T) { check(t, signedAt(now), nil, ErrNoSecret) })
			t.Run("only empty secret", func(t *testing.T) { check(t, signedAt(now), []string{""}, ErrNoSecret) })
			if f.tamper != nil {
				t.Run("tampered", func(t *testing.T) {
					r := signedAt(now)
					f.tamper(r)
					check(t, r, []string{f.other, f.secret}, ErrMismatch)
				})
			}
			if f.timestamp {
				t.Run("stale", func(t *testing.T) {
					check(t, signedAt(now.Add(-DefaultTolerance-time.Second)), []string{f.secret}, ErrTimestamp)
				})
				t.Run("future", func(t *testing.T) {
					check(t, signedAt(now.Add(DefaultTolerance+time.Second)), []string{f.secret}, ErrTimestamp)
				})
				t.Run("old but within tolerance", func(t *testing.T) {
					check(t, signedAt(now.Add(-DefaultTolerance+time.Second)), []string{f.secret}, nil)
				})
				t.Run("custom tolerance", func(t *testing.T) {
					strict, _ := New(f.provider, Options{Tolerance: 30 * time.Second})
					r := signedAt(now.Add(-time.Minute))
					wantErr(t, strict.Verify(r, []string{f.secret}, now), ErrTimestamp)
					wantErr(t, strict.Verify(r, []string{f.secret}, now.Add(-40*time.Second)), nil)
				})
			}
			t.Run("lower-case header names", func(t *testing.T) {
				r := signedAt(now)
				lower := make(http.Header)
				for k, v := range r.Header {
					lower[strings.ToLower(k)] = v
				}
				r.Header = lower
				check(t, r, []string{f.secret}, nil)
			})
			t.Run("no headers", func(t *testing.T) {
				r := signedAt(now)
				r.Header = nil
				err := s.Verify(r, []string{f.secret}, now)
				if f.provider == "livechat" || f.provider == "salesforce" {
					wantErr(t, err, nil) // body-carried: headers play no part
				} else {
					wantErr(t, err, ErrMissing)
				}
			})
			for _, c := range f.cases {
				t.Run(c.name, func(t *testing.T) {
					r := signedAt(now)
					c.mutate(r)
					check(t, r, []string{f.secret}, c.want)
				})
			}
		})
	}
}

func TestForAndNew(t *testing.T) {
	for _, p := range Providers {
		v, s, ok := For(p, Options{})
		if !ok || v == nil || s == nil {
			t.Errorf("For(%q) = %v, %v, %v", p, v, s, ok)
		}
		sec, err := GenerateSecret(p)
		if err != nil || sec == "" {
			t.Errorf("GenerateSecret(%q) = %q, %v", p, sec, err)
		}
	}
	if _, _, ok := For("mailchimp", Options{}); ok {
		t.Error("For(mailchimp) ok, want unknown")
	}
	if _, err := GenerateSecret("nope"); err == nil {
		t.Error("GenerateSecret(nope) succeeded")
	}
}

// TestGeneratedSecretsWork: a generated secret signs and verifies for every
// provider (the dev server relies on this).
func TestGeneratedSecretsWork(t *testing.T) {
	now := time.Now()
	for _, f := range fixtures(t) {
		t.Run(f.provider, func(t *testing.T) {
			sec, err := GenerateSecret(f.provider)
			if err != nil {
				t.Fatal(err)
			}
			s := mustScheme(t, f.provider)
			r := f.request()
			if err := s.Sign(r, sec, now); err != nil {
				t.Fatal(err)
			}
			wantErr(t, s.Verify(r, []string{sec}, now), nil)
		})
	}
}

func TestSentinelsWrapErrInvalid(t *testing.T) {
	for _, err := range []error{ErrNoSecret, ErrNoURL, ErrMissing, ErrMalformed, ErrTimestamp, ErrMismatch} {
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%v does not wrap ErrInvalid", err)
		}
	}
}
