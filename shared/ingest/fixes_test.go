package ingest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/secrets"
	"github.com/hookstack/hookstack/shared/signature"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// TestConfigFromEnvProviders: HOOKSTACK_PROVIDERS (comma-separated, as infra
// sets it) fills Config.Providers; unset means all; unknown names fail
// start-up naming the variable.
func TestConfigFromEnvProviders(t *testing.T) {
	tests := []struct {
		name    string
		value   string
		want    []string
		wantErr string
	}{
		{"unset: all", "", nil, ""},
		{"two", "stripe,github", []string{"stripe", "github"}, ""},
		{"spaces, blanks and repeats", " stripe , ,github,stripe ", []string{"stripe", "github"}, ""},
		{"all eleven", strings.Join(signature.Providers, ","), signature.Providers, ""},
		{"unknown", "stripe,paypal", nil, `HOOKSTACK_PROVIDERS: unknown provider "paypal"`},
		{"wrong case", "Stripe", nil, `HOOKSTACK_PROVIDERS: unknown provider "Stripe"`},
		{"only commas", ",,", nil, "HOOKSTACK_PROVIDERS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ConfigFromEnv(envOf(map[string]string{EnvProviders: tt.value}))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(c.Providers, tt.want) || (tt.want == nil) != (c.Providers == nil) {
				t.Fatalf("Providers = %q, %v; want %q", c.Providers, err, tt.want)
			}
		})
	}
}

// TestDisabledProviderIs404: a provider left out of HOOKSTACK_PROVIDERS is
// answered 404 (the contract's unknown provider), not 503 "secret not
// configured yet" (which the provider retries for ever and which counts
// toward the 5xx alarm).
func TestDisabledProviderIs404(t *testing.T) {
	cfg, err := ConfigFromEnv(envOf(map[string]string{EnvProviders: "stripe,github"}))
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, cfg)
	tests := []struct {
		name   string
		req    Request
		status int
		reason string
	}{
		{"enabled", signed(t, "stripe", stripeSecret, stripeBody("evt_1"), nil), http.StatusOK, ""},
		{"disabled, no secret", signed(t, "zoom", "zoom-secret", []byte(`{"event":"meeting.started","payload":{}}`), nil), http.StatusNotFound, "provider not enabled"},
		{"disabled, with a secret", signed(t, "slack", "slack-signing-secret", []byte(`{"type":"event_callback","event_id":"Ev1","event":{"type":"app_mention"}}`), nil), http.StatusNotFound, "provider not enabled"},
		{"trello HEAD check, disabled", Request{Method: http.MethodHead, Provider: "trello"}, http.StatusMethodNotAllowed, ""},
		{"not a provider", Request{Method: http.MethodPost, Provider: "paypal"}, http.StatusNotFound, "unknown provider"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.logs.Reset()
			resp := f.h.Handle(t.Context(), tt.req)
			if resp.Status != tt.status {
				t.Fatalf("status %d %s, want %d", resp.Status, resp.Body, tt.status)
			}
			if !strings.Contains(f.logs.String(), tt.reason) {
				t.Errorf("log %q, want reason %q", f.logs.String(), tt.reason)
			}
		})
	}
}

// TestZoomURLValidationUsesMatchingSecret: during a rotation Zoom may still
// sign with the older secret token; the URL validation must be answered with
// the token that verified the request, or Zoom rejects the endpoint.
func TestZoomURLValidationUsesMatchingSecret(t *testing.T) {
	body, err := os.ReadFile("../../events/zoom/endpoint.url_validation.json")
	if err != nil {
		t.Fatal(err)
	}
	const newer, older = "zoom-token-new", "zoom-token-old"
	for _, tt := range []struct{ name, signer string }{{"newest", newer}, {"older", older}} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Config{}, func(d *Deps) { d.Secrets = secrets.Static{"zoom": {newer, older}} })
			resp := f.h.Handle(t.Context(), signed(t, "zoom", tt.signer, body, nil))
			var got struct{ PlainToken, EncryptedToken string }
			if err := json.Unmarshal(resp.Body, &got); resp.Status != http.StatusOK || err != nil {
				t.Fatalf("status %d body %s", resp.Status, resp.Body)
			}
			if want := signature.ZoomURLValidation("qgg8vlvZRS6UYooatFL8Aw", tt.signer); got.EncryptedToken != want {
				t.Errorf("encryptedToken %s, want the HMAC under the secret that signed (%s)", got.EncryptedToken, want)
			}
		})
	}
}

func salesforceRequest(t *testing.T, org string, ip string) Request {
	t.Helper()
	body, err := os.ReadFile("../../events/salesforce/lead.xml")
	if err != nil {
		t.Fatal(err)
	}
	r := signed(t, "salesforce", org, body, http.Header{"Content-Type": {"text/xml; charset=utf-8"}})
	r.SourceIP = netip.MustParseAddr(ip)
	return r
}

// TestSalesforceNeedsAllowlist: Salesforce requests carry no secret, so
// without HOOKSTACK_ALLOW_CIDRS_SALESFORCE they are refused (403, with the
// reason in the log) unless HOOKSTACK_SALESFORCE_ANY_IP=true, or, for the
// dev server (LoopbackByDefault), they come from loopback.
func TestSalesforceNeedsAllowlist(t *testing.T) {
	const org = "00D5e000000KQ2eEAG"
	sfCIDRs := map[string][]netip.Prefix{"salesforce": {netip.MustParsePrefix("13.108.0.0/14")}}
	tests := []struct {
		name   string
		cfg    Config
		ip     string
		status int
		reason string
	}{
		{"default: refused", Config{}, "203.0.113.7", http.StatusForbidden, "salesforce needs HOOKSTACK_ALLOW_CIDRS_SALESFORCE: Salesforce's published IP ranges"},
		{"default: loopback refused too", Config{}, "127.0.0.1", http.StatusForbidden, "HOOKSTACK_ALLOW_CIDRS_SALESFORCE"},
		{"dev: loopback", Config{LoopbackByDefault: true}, "127.0.0.1", http.StatusOK, ""},
		{"dev: IPv6 loopback", Config{LoopbackByDefault: true}, "::1", http.StatusOK, ""},
		{"dev: IPv4-mapped loopback", Config{LoopbackByDefault: true}, "::ffff:127.0.0.1", http.StatusOK, ""},
		{"dev: other address", Config{LoopbackByDefault: true}, "192.168.1.20", http.StatusForbidden, "HOOKSTACK_ALLOW_CIDRS_SALESFORCE"},
		{"opt-out", Config{SalesforceAnyIP: true}, "203.0.113.7", http.StatusOK, ""},
		{"allowlist, inside", Config{AllowCIDRs: sfCIDRs}, "13.108.1.2", http.StatusOK, ""},
		{"allowlist, outside", Config{AllowCIDRs: sfCIDRs}, "203.0.113.7", http.StatusForbidden, "source address not allowed"},
		{"allowlist wins over the dev default", Config{AllowCIDRs: sfCIDRs, LoopbackByDefault: true}, "127.0.0.1", http.StatusForbidden, "source address not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.cfg, func(d *Deps) { d.Secrets = secrets.Static{"salesforce": {org}} })
			f.logs.Reset()
			resp := f.h.Handle(t.Context(), salesforceRequest(t, org, tt.ip))
			if resp.Status != tt.status {
				t.Fatalf("status %d %s, want %d", resp.Status, resp.Body, tt.status)
			}
			if !strings.Contains(f.logs.String(), tt.reason) {
				t.Errorf("log %q, want reason %q", f.logs.String(), tt.reason)
			}
			if queued := len(f.q.sent[envelope.QueueLeads]); (tt.status == http.StatusOK) != (queued > 0) {
				t.Errorf("%d messages queued for status %d", queued, resp.Status)
			}
		})
	}
	// A browser tab is on loopback too: a page the developer opens must not
	// be able to post a forged Salesforce message to the dev server.
	for _, h := range []http.Header{{"Origin": {"https://evil.example"}}, {"Sec-Fetch-Site": {"cross-site"}}, {"Origin": {"http://127.0.0.1:8080"}}} {
		t.Run("dev: browser on loopback "+fmt.Sprint(h), func(t *testing.T) {
			f := newFixture(t, Config{LoopbackByDefault: true}, func(d *Deps) { d.Secrets = secrets.Static{"salesforce": {org}} })
			r := salesforceRequest(t, org, "127.0.0.1")
			for k, v := range h {
				r.Header[k] = v
			}
			if resp := f.h.Handle(t.Context(), r); resp.Status != http.StatusForbidden || len(f.q.sent[envelope.QueueLeads]) != 0 {
				t.Fatalf("status %d, %d queued; want 403 and nothing queued", resp.Status, len(f.q.sent[envelope.QueueLeads]))
			}
			if !strings.Contains(f.logs.String(), "a browser's request from loopback is not enough") {
				t.Errorf("log %q", f.logs.String())
			}
		})
	}
	t.Run("other providers need no allowlist", func(t *testing.T) {
		f := newFixture(t, Config{})
		if resp := f.h.Handle(t.Context(), signed(t, "stripe", stripeSecret, stripeBody("evt_2"), nil)); resp.Status != http.StatusOK {
			t.Fatalf("stripe status %d", resp.Status)
		}
	})
	t.Run("start-up warning", func(t *testing.T) {
		var logs bytes.Buffer
		if _, err := New(Config{}, Deps{Queue: &memQueue{}, Secrets: secrets.Static{}, Logger: slog.New(slog.NewJSONHandler(&logs, nil))}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(logs.String(), "salesforce has no source allowlist") {
			t.Errorf("start-up log %q, want a warning", logs.String())
		}
	})
	t.Run("env", func(t *testing.T) {
		c, err := ConfigFromEnv(envOf(map[string]string{EnvSalesforceAnyIP: "true"}))
		if err != nil || !c.SalesforceAnyIP {
			t.Fatalf("config %+v, %v", c, err)
		}
		c, err = ConfigFromEnv(envOf(nil))
		if err != nil || c.SalesforceAnyIP || c.LoopbackByDefault {
			t.Fatalf("default config %+v, %v", c, err)
		}
		if _, err := ConfigFromEnv(envOf(map[string]string{EnvSalesforceAnyIP: "yes please"})); err == nil || !strings.Contains(err.Error(), EnvSalesforceAnyIP) {
			t.Fatalf("err = %v, want one naming %s", err, EnvSalesforceAnyIP)
		}
	})
}

// TestHostileBodyLogLine: a 1 MB unauthenticated body whose parser error
// would quote it, and a verified body whose extractor error would, give
// short log lines, reasons and dead-letter attributes without the body.
func TestHostileBodyLogLine(t *testing.T) {
	const org = "00D5e000000KQ2eEAG"
	filler := strings.Repeat("A", 1<<20)
	lead, err := os.ReadFile("../../events/salesforce/lead.xml")
	if err != nil {
		t.Fatal(err)
	}
	// Verifies (the OrganizationId is allowed), then the extractor refuses
	// the processing instruction, naming its 100 KB target.
	pi := bytes.Replace(lead, []byte("<soapenv:Body>"), []byte("<soapenv:Body><?"+filler[:100<<10]+" x?>"), 1)
	tests := []struct {
		name   string
		req    Request
		status int
	}{
		{"xml entity error, unsigned", Request{Method: http.MethodPost, Provider: "salesforce", Header: http.Header{},
			Body: []byte("<a>&" + filler + ";</a>"), SourceIP: netip.MustParseAddr("203.0.113.7")}, http.StatusUnauthorized},
		{"xml bad element name, unsigned", Request{Method: http.MethodPost, Provider: "salesforce", Header: http.Header{},
			Body: []byte("<a></" + filler + "\x01>"), SourceIP: netip.MustParseAddr("203.0.113.7")}, http.StatusUnauthorized},
		{"verified, extractor error quotes input", salesforceRequest(t, org, "203.0.113.7"), http.StatusOK},
	}
	tests[2].req.Body = pi
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var obs recordingObserver
			f := newFixture(t, Config{SalesforceAnyIP: true, MaxBodyBytes: 2 << 20}, func(d *Deps) {
				d.Secrets = secrets.Static{"salesforce": {org}}
				d.Observer = &obs
			})
			f.logs.Reset()
			resp := f.h.Handle(t.Context(), tt.req)
			if resp.Status != tt.status {
				t.Fatalf("status %d %s, want %d", resp.Status, resp.Body, tt.status)
			}
			line := f.logs.String()
			if len(line) > 2048 || strings.Contains(line, "AAAAAAAAAAAAAAAA") {
				t.Errorf("log line of %d bytes (want < 2 KB, without the body): %.400s", len(line), line)
			}
			if len(obs.outcomes) != 1 || len(obs.outcomes[0].Reason) > maxReasonBytes+len(truncatedSuffix) ||
				strings.Contains(obs.outcomes[0].Reason, "AAAAAAAAAAAAAAAA") {
				t.Errorf("observed reason %.300q", obs.outcomes[0].Reason)
			}
			for name, msgs := range f.q.sent {
				for _, m := range msgs {
					for k, v := range m.Attributes {
						if len(v) > maxReasonBytes+len(truncatedSuffix) || strings.Contains(v, "AAAAAAAAAAAAAAAA") {
							t.Errorf("%s attribute %s: %.300q", name, k, v)
						}
					}
					e, err := envelope.Decode(m.Body)
					if err != nil {
						t.Fatal(err)
					}
					if len(e.Invalid) > maxReasonBytes+len(truncatedSuffix) || strings.Contains(e.Invalid, "AAAAAAAAAAAAAAAA") {
						t.Errorf("envelope invalid %.300q", e.Invalid)
					}
				}
			}
			if tt.status == http.StatusOK && len(f.q.sent[queue.DLQ(envelope.QueueLeads)]) != 1 {
				t.Errorf("want the verified unparseable body dead-lettered: %v", f.q.sent)
			}
		})
	}
}

type recordingObserver struct{ outcomes []Outcome }

func (o *recordingObserver) Observe(_ context.Context, out Outcome) {
	o.outcomes = append(o.outcomes, out)
}

func TestTruncate(t *testing.T) {
	long := strings.Repeat("é", 150) // 300 bytes
	tests := []struct {
		name, in string
		want     string
	}{
		{"short", "fine", "fine"},
		{"exact", strings.Repeat("a", maxReasonBytes), strings.Repeat("a", maxReasonBytes)},
		{"cut inside a rune", long, strings.Repeat("é", 100) + truncatedSuffix},
		{"cut after an odd byte", "x" + long, "x" + strings.Repeat("é", 99) + truncatedSuffix},
		{"invalid UTF-8, short", "a\xffb", "a\uFFFDb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := truncate(tt.in, maxReasonBytes); got != tt.want {
				t.Errorf("truncate = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestAPIGatewayBase64SizeFirst: a base64 body whose decoded size is over
// the limit is refused with 413 before it is decoded (the body below is not
// even valid base64: decoding it first would answer 400).
func TestAPIGatewayBase64SizeFirst(t *testing.T) {
	const limit = 1024
	f := newFixture(t, Config{MaxBodyBytes: limit})
	at := func(n int) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("x"), n)) }
	tests := []struct {
		name   string
		body   string
		status int
	}{
		{"over the limit, not base64", strings.Repeat("!", 4*(limit/3+2)), http.StatusRequestEntityTooLarge},
		{"one byte over", at(limit + 1), http.StatusRequestEntityTooLarge},
		{"exactly the limit (padded)", at(limit), http.StatusUnauthorized},
		{"limit minus one (two pad characters)", at(limit - 1), http.StatusUnauthorized},
		{"small, not base64", "!!!!", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := events.APIGatewayV2HTTPRequest{
				RawPath: "/webhooks/stripe", Body: tt.body, IsBase64Encoded: true,
				PathParameters: map[string]string{"provider": "stripe"},
				RequestContext: events.APIGatewayV2HTTPRequestContext{
					HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", SourceIP: "203.0.113.7"},
				},
			}
			resp, err := f.h.HandleAPIGateway(t.Context(), ev)
			if err != nil || resp.StatusCode != tt.status {
				t.Fatalf("status %d %s (%v), want %d", resp.StatusCode, resp.Body, err, tt.status)
			}
		})
	}
	for _, n := range []int{0, 1, 2, 3, 4, 1023, 1024, 1025} {
		if got := base64DecodedLen(at(n)); got != int64(n) {
			t.Errorf("base64DecodedLen(%d bytes) = %d", n, got)
		}
	}
}

// TestUnparseableReasonSaysItOnce: the DLQ reason of a verified body that
// cannot be parsed names the problem once ("unparseable body: extract
// stripe: unparseable body: missing id" said it twice).
func TestUnparseableReasonSaysItOnce(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"extract stripe: unparseable body: missing id", "extract stripe: unparseable body: missing id"},
		{"event id or type too long", "unparseable body: event id or type too long"},
	} {
		if got := unparseableReason(tc.in); got != tc.want {
			t.Errorf("unparseableReason(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
