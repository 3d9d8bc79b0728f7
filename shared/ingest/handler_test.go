package ingest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/secrets"
	"github.com/hookstack/hookstack/shared/signature"
)

// memQueue is a hand-written fake of the queue port for unit tests; the
// integration tests run the SQS adapter against the emulator.
type memQueue struct {
	mu   sync.Mutex
	sent map[string][]queue.Outgoing
	fail error
}

func (q *memQueue) Send(_ context.Context, name string, m queue.Outgoing) (string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.fail != nil {
		return "", q.fail
	}
	if q.sent == nil {
		q.sent = map[string][]queue.Outgoing{}
	}
	m.Body = bytes.Clone(m.Body) // Send must not keep the caller's buffer
	q.sent[name] = append(q.sent[name], m)
	return fmt.Sprintf("m%d", len(q.sent[name])), nil
}

func (q *memQueue) only(t *testing.T, name string) []envelope.Envelope {
	t.Helper()
	q.mu.Lock()
	defer q.mu.Unlock()
	for k, v := range q.sent {
		if k != name && len(v) > 0 {
			t.Fatalf("unexpected messages in %s: %d", k, len(v))
		}
	}
	var out []envelope.Envelope
	for _, m := range q.sent[name] {
		e, err := envelope.Decode(m.Body)
		if err != nil {
			t.Fatalf("message in %s is not an envelope: %v", name, err)
		}
		out = append(out, e)
	}
	return out
}

type memBlobs struct {
	mu   sync.Mutex
	objs map[string][]byte
	fail error
}

func (b *memBlobs) Put(_ context.Context, key string, body []byte) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fail != nil {
		return "", b.fail
	}
	if b.objs == nil {
		b.objs = map[string][]byte{}
	}
	b.objs[key] = append([]byte(nil), body...)
	return "mem:" + key, nil
}

type failingSecrets struct{}

func (failingSecrets) Secrets(context.Context, string) ([]string, error) {
	return nil, errors.New("secrets manager unavailable")
}

var testNow = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

const (
	stripeSecret = "whsec_test_secret_for_hookstack"
	githubSecret = "It's a Secret to Everybody"
)

type fixture struct {
	h     *Handler
	q     *memQueue
	blobs *memBlobs
	logs  *bytes.Buffer
}

func newFixture(t *testing.T, cfg Config, mutate ...func(*Deps)) fixture {
	t.Helper()
	f := fixture{q: &memQueue{}, blobs: &memBlobs{}, logs: &bytes.Buffer{}}
	d := Deps{
		Queue: f.q, Blobs: f.blobs,
		Secrets: secrets.Static{
			"stripe":   {"whsec_newest_secret", stripeSecret},
			"github":   {githubSecret},
			"slack":    {"slack-signing-secret"},
			"hubspot":  {"hubspot-client-secret"},
			"trello":   {"trello-secret"},
			"standard": {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
		},
		Logger: slog.New(slog.NewJSONHandler(f.logs, nil)),
		Now:    func() time.Time { return testNow },
	}
	for _, m := range mutate {
		m(&d)
	}
	h, err := New(cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	f.h = h
	return f
}

func stripeBody(id string) []byte {
	return []byte(`{"id":"` + id + `","object":"event","type":"payment_intent.succeeded","created":1764417600,` +
		`"data":{"object":{"id":"pi_1","object":"payment_intent","amount":2000,"currency":"usd","status":"succeeded"}}}`)
}

// signed builds a request signed as provider does, with secret.
func signed(t *testing.T, provider, secret string, body []byte, header http.Header) Request {
	t.Helper()
	if header == nil {
		header = http.Header{}
	}
	if header.Get("Content-Type") == "" {
		header.Set("Content-Type", "application/json")
	}
	r := &signature.Request{Method: http.MethodPost, URL: "https://hooks.example.com/webhooks/" + provider, Header: header, Body: body}
	_, signer, ok := signature.For(provider, signature.Options{})
	if !ok {
		t.Fatalf("no signer for %s", provider)
	}
	if err := signer.Sign(r, secret, testNow); err != nil {
		t.Fatalf("sign %s: %v", provider, err)
	}
	return Request{Method: http.MethodPost, Provider: provider, URL: r.URL, Header: r.Header, Body: r.Body,
		SourceIP: netip.MustParseAddr("203.0.113.7")}
}

func TestHandleAcceptsAndRoutes(t *testing.T) {
	f := newFixture(t, Config{})
	resp := f.h.Handle(t.Context(), signed(t, "stripe", stripeSecret, stripeBody("evt_1"), nil))
	if resp.Status != http.StatusOK {
		t.Fatalf("status = %d, body %s", resp.Status, resp.Body)
	}
	var got struct {
		ID      string `json:"id"`
		EventID string `json:"event_id"`
	}
	if err := json.Unmarshal(resp.Body, &got); err != nil || got.ID == "" || got.EventID != "evt_1" {
		t.Fatalf("reply = %s (%v)", resp.Body, err)
	}
	envs := f.q.only(t, envelope.QueuePayments)
	if len(envs) != 1 {
		t.Fatalf("payments messages = %d", len(envs))
	}
	e := envs[0]
	if e.ID != got.ID || e.Provider != "stripe" || e.EventID != "evt_1" || e.Type != "payment_intent.succeeded" ||
		e.Queue != envelope.QueuePayments || !bytes.Equal(e.Body, stripeBody("evt_1")) || e.V != envelope.Version {
		t.Fatalf("envelope = %+v", e)
	}
	if !e.ReceivedAt.Equal(testNow) || !e.OccurredAt.Equal(time.Unix(1764417600, 0)) {
		t.Fatalf("times = %v / %v", e.ReceivedAt, e.OccurredAt)
	}
	if _, ok := e.Headers["Stripe-Signature"]; ok {
		t.Fatal("the envelope keeps the signature header")
	}
}

func TestHandleRejections(t *testing.T) {
	good := func(t *testing.T) Request { return signed(t, "stripe", stripeSecret, stripeBody("evt_2"), nil) }
	tests := []struct {
		name   string
		cfg    Config
		req    func(t *testing.T) Request
		deps   func(*Deps)
		status int
		body   string
	}{
		{name: "wrong secret", req: func(t *testing.T) Request {
			return signed(t, "stripe", "whsec_wrong", stripeBody("evt_2"), nil)
		}, status: 401, body: `{"error":"invalid signature"}`},
		{name: "tampered body", req: func(t *testing.T) Request {
			r := good(t)
			r.Body = bytes.Replace(r.Body, []byte("2000"), []byte("1"), 1)
			return r
		}, status: 401, body: `{"error":"invalid signature"}`},
		{name: "unsigned", req: func(t *testing.T) Request {
			r := good(t)
			r.Header.Del("Stripe-Signature")
			return r
		}, status: 401},
		{name: "provider without a secret is refused with 503 so it retries", req: func(t *testing.T) Request {
			return signed(t, "shopify", "anything", []byte(`{}`), http.Header{"X-Shopify-Topic": {"orders/create"}})
		}, status: 503},
		{name: "GET not allowed", req: func(t *testing.T) Request { r := good(t); r.Method = http.MethodGet; return r }, status: 405},
		{name: "HEAD only for trello", req: func(t *testing.T) Request { r := good(t); r.Method = http.MethodHead; return r }, status: 405},
		{name: "unknown provider", req: func(t *testing.T) Request { r := good(t); r.Provider = "paypal"; return r }, status: 404},
		{name: "too large", cfg: Config{MaxBodyBytes: 64}, req: good, status: 413},
		{name: "adapter saw too large", req: func(t *testing.T) Request { r := good(t); r.TooLarge = true; return r }, status: 413},
		{name: "source not allowed", cfg: Config{AllowCIDRs: map[string][]netip.Prefix{
			"stripe": {netip.MustParsePrefix("3.18.12.0/24")}}}, req: good, status: 403},
		{name: "queue down answers 503 so the provider retries", req: good,
			deps: func(d *Deps) { d.Queue = &memQueue{fail: errors.New("sqs: throttled")} }, status: 503},
		{name: "secrets down answers 503", req: good, deps: func(d *Deps) { d.Secrets = failingSecrets{} }, status: 503},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mut []func(*Deps)
			if tc.deps != nil {
				mut = append(mut, tc.deps)
			}
			f := newFixture(t, tc.cfg, mut...)
			resp := f.h.Handle(t.Context(), tc.req(t))
			if resp.Status != tc.status {
				t.Fatalf("status = %d, want %d (%s)", resp.Status, tc.status, resp.Body)
			}
			if tc.body != "" && strings.TrimSpace(string(resp.Body)) != tc.body {
				t.Fatalf("body = %s, want %s", resp.Body, tc.body)
			}
			if !json.Valid(resp.Body) {
				t.Fatalf("error body is not JSON: %q", resp.Body)
			}
			if n := len(f.q.sent); n != 0 && tc.status != 503 {
				t.Fatalf("a rejected request was queued: %v", f.q.sent)
			}
			for _, secret := range []string{stripeSecret, "whsec_newest_secret"} {
				if strings.Contains(f.logs.String(), secret) {
					t.Fatal("a secret reached the logs")
				}
			}
			if strings.Contains(f.logs.String(), `"amount\":2000`) || strings.Contains(f.logs.String(), "payment_intent\",\"amount") {
				t.Fatal("the body reached the logs")
			}
			if !strings.Contains(f.logs.String(), `"status":`+fmt.Sprint(tc.status)) {
				t.Fatalf("no log line with the status: %s", f.logs.String())
			}
		})
	}
}

func TestHandleRotationAcceptsOlderSecret(t *testing.T) {
	f := newFixture(t, Config{})
	if resp := f.h.Handle(t.Context(), signed(t, "stripe", "whsec_newest_secret", stripeBody("evt_new"), nil)); resp.Status != 200 {
		t.Fatalf("newest secret: %d", resp.Status)
	}
	if resp := f.h.Handle(t.Context(), signed(t, "stripe", stripeSecret, stripeBody("evt_old"), nil)); resp.Status != 200 {
		t.Fatalf("older active secret: %d", resp.Status)
	}
}

func TestHandleTrelloHead(t *testing.T) {
	f := newFixture(t, Config{})
	resp := f.h.Handle(t.Context(), Request{Method: http.MethodHead, Provider: "trello"})
	if resp.Status != 200 || len(f.q.sent) != 0 {
		t.Fatalf("HEAD trello = %d, queued %v", resp.Status, f.q.sent)
	}
}

func TestHandleVerifiedButUnparseableIsDeadLettered(t *testing.T) {
	f := newFixture(t, Config{})
	body := []byte(`{"zen": "not closed`)
	resp := f.h.Handle(t.Context(), signed(t, "github", githubSecret, body,
		http.Header{"X-Github-Event": {"push"}, "X-Github-Delivery": {"d-1"}}))
	if resp.Status != 200 {
		t.Fatalf("status = %d (%s): a verified body must be accepted", resp.Status, resp.Body)
	}
	f.q.mu.Lock()
	msgs := f.q.sent[queue.DLQ(envelope.QueueRelay)]
	f.q.mu.Unlock()
	if len(msgs) != 1 || !strings.Contains(msgs[0].Attributes[queue.AttrReason], "unparseable") {
		t.Fatalf("dead letters = %+v", msgs)
	}
	e, err := envelope.Decode(msgs[0].Body)
	if err != nil || e.Invalid == "" || !bytes.Equal(e.Body, body) || e.EventID != envelope.BodyHash(body) {
		t.Fatalf("dead envelope = %+v, %v", e, err)
	}
}

func TestHandleSlackChallengeNotQueued(t *testing.T) {
	f := newFixture(t, Config{})
	body := []byte(`{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`)
	resp := f.h.Handle(t.Context(), signed(t, "slack", "slack-signing-secret", body, nil))
	if resp.Status != 200 || !strings.Contains(string(resp.Body), "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P") {
		t.Fatalf("challenge reply = %d %s", resp.Status, resp.Body)
	}
	if len(f.q.sent) != 0 {
		t.Fatalf("url_verification was queued: %v", f.q.sent)
	}
}

func TestHandleHubSpotBatchSplits(t *testing.T) {
	f := newFixture(t, Config{})
	body := []byte(`[{"eventId":101,"subscriptionId":1,"portalId":62515,"appId":54321,"occurredAt":1764417600000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":1,"changeSource":"CRM"},` +
		`{"eventId":102,"subscriptionId":2,"portalId":62515,"appId":54321,"occurredAt":1764417601000,"subscriptionType":"contact.propertyChange","attemptNumber":0,"objectId":1,"propertyName":"email","propertyValue":"a@example.com","changeSource":"CRM"},` +
		`{"eventId":103,"subscriptionId":3,"portalId":62515,"appId":54321,"occurredAt":1764417602000,"subscriptionType":"deal.creation","attemptNumber":0,"objectId":9,"changeSource":"CRM"}]`)
	resp := f.h.Handle(t.Context(), signed(t, "hubspot", "hubspot-client-secret", body, nil))
	if resp.Status != 200 {
		t.Fatalf("status = %d (%s)", resp.Status, resp.Body)
	}
	var reply struct {
		Events []struct {
			ID      string `json:"id"`
			EventID string `json:"event_id"`
		} `json:"events"`
	}
	if err := json.Unmarshal(resp.Body, &reply); err != nil || len(reply.Events) != 3 {
		t.Fatalf("reply = %s", resp.Body)
	}
	envs := f.q.only(t, envelope.QueueLeads)
	if len(envs) != 3 {
		t.Fatalf("leads messages = %d", len(envs))
	}
	seen := map[string]bool{}
	for _, e := range envs {
		seen[e.EventID] = true
		if e.Parts != 3 || e.Part < 1 || e.Part > 3 || !json.Valid(e.Body) || bytes.HasPrefix(bytes.TrimSpace(e.Body), []byte("[")) {
			t.Fatalf("part = %+v", e)
		}
	}
	if !seen["101"] || !seen["102"] || !seen["103"] {
		t.Fatalf("event ids = %v", seen)
	}
}

func TestHandleClaimCheck(t *testing.T) {
	pad := strings.Repeat("x", 4096)
	body := []byte(`{"id":"evt_big","object":"event","type":"customer.updated","created":1764417600,"data":{"object":{"id":"cus_1","metadata":{"note":"` + pad + `"}}}}`)
	t.Run("large body goes by reference", func(t *testing.T) {
		f := newFixture(t, Config{ClaimThreshold: 1024})
		resp := f.h.Handle(t.Context(), signed(t, "stripe", stripeSecret, body, nil))
		if resp.Status != 200 {
			t.Fatalf("status = %d", resp.Status)
		}
		envs := f.q.only(t, envelope.QueuePayments)
		if len(envs) != 1 || envs[0].BodyRef == "" || len(envs[0].Body) != 0 {
			t.Fatalf("envelope = %+v", envs)
		}
		key := strings.TrimPrefix(envs[0].BodyRef, "mem:")
		if !bytes.Equal(f.blobs.objs[key], body) {
			t.Fatal("the stored body differs from the received bytes")
		}
	})
	t.Run("store down answers 503", func(t *testing.T) {
		f := newFixture(t, Config{ClaimThreshold: 1024}, func(d *Deps) { d.Blobs = &memBlobs{fail: errors.New("s3 down")} })
		if resp := f.h.Handle(t.Context(), signed(t, "stripe", stripeSecret, body, nil)); resp.Status != 503 {
			t.Fatalf("status = %d", resp.Status)
		}
	})
}

func TestServeHTTP(t *testing.T) {
	f := newFixture(t, Config{MaxBodyBytes: 4096})
	mux := http.NewServeMux()
	mux.Handle("/webhooks/{provider}", f.h)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	r := signed(t, "github", githubSecret, []byte(`{"zen":"Keep it logically awesome.","hook_id":1}`),
		http.Header{"X-Github-Event": {"ping"}, "X-Github-Delivery": {"72d3162e-cc78-11e3-81ab-4c9367dc0958"}})
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhooks/github", bytes.NewReader(r.Body))
	req.Header = r.Header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if envs := f.q.only(t, envelope.QueueRelay); len(envs) != 1 || envs[0].EventID != "72d3162e-cc78-11e3-81ab-4c9367dc0958" || envs[0].Type != "ping" {
		t.Fatalf("relay = %+v", envs)
	}

	big, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhooks/github", strings.NewReader(strings.Repeat("a", 5000)))
	resp, err = http.DefaultClient.Do(big)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("large body = %d", resp.StatusCode)
	}
}

func TestHandleAPIGateway(t *testing.T) {
	f := newFixture(t, Config{})
	r := signed(t, "stripe", stripeSecret, stripeBody("evt_apigw"), nil)
	headers := map[string]string{}
	for k, v := range r.Header {
		headers[strings.ToLower(k)] = v[0] // API Gateway v2 lower-cases header names
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "ANY /webhooks/{provider}", RawPath: "/webhooks/stripe",
		Headers: headers, PathParameters: map[string]string{"provider": "stripe"},
		Body: base64.StdEncoding.EncodeToString(r.Body), IsBase64Encoded: true,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			DomainName: "abc123.execute-api.us-east-1.amazonaws.com",
			HTTP:       events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: "/webhooks/stripe", SourceIP: "3.18.12.63"},
		},
	}
	resp, err := f.h.HandleAPIGateway(t.Context(), ev)
	if err != nil || resp.StatusCode != 200 || resp.Headers["Content-Type"] != "application/json" {
		t.Fatalf("resp = %+v, %v", resp, err)
	}
	if envs := f.q.only(t, envelope.QueuePayments); len(envs) != 1 || envs[0].EventID != "evt_apigw" {
		t.Fatalf("payments = %+v", envs)
	}

	ev.Body = "%%%"
	if resp, _ := f.h.HandleAPIGateway(t.Context(), ev); resp.StatusCode != 400 {
		t.Fatalf("bad base64 = %d", resp.StatusCode)
	}
}

// A HubSpot request signed only with the legacy (timestamp-less) v1
// signature is refused unless HOOKSTACK_HUBSPOT_LEGACY_SIGNATURES allows it;
// with v3 beside it, as HubSpot sends, it is accepted either way.
func TestHandleHubSpotLegacySignatures(t *testing.T) {
	body := []byte(`[{"eventId":201,"subscriptionId":1,"portalId":62515,"appId":54321,"occurredAt":1764417600000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":1,"changeSource":"CRM"}]`)
	for _, tc := range []struct {
		name    string
		legacy  bool
		dropV3  bool
		status  int
		queued  int
		logWant string
	}{
		{"v3 and v1, default", false, false, 200, 1, ""},
		{"v1 only, default: refused", false, true, 401, 0, "legacy signature refused"},
		{"v1 only, legacy allowed", true, true, 200, 1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, Config{HubSpotLegacy: tc.legacy})
			req := signed(t, "hubspot", "hubspot-client-secret", body, nil)
			if tc.dropV3 {
				req.Header.Del("X-HubSpot-Signature-v3")
				req.Header.Del("X-HubSpot-Request-Timestamp")
			}
			resp := f.h.Handle(t.Context(), req)
			if resp.Status != tc.status {
				t.Fatalf("status = %d (%s), want %d", resp.Status, resp.Body, tc.status)
			}
			if got := len(f.q.sent[envelope.QueueLeads]); got != tc.queued {
				t.Fatalf("queued %d, want %d", got, tc.queued)
			}
			if tc.logWant != "" && !strings.Contains(f.logs.String(), tc.logWant) {
				t.Fatalf("log lacks %q:\n%s", tc.logWant, f.logs.String())
			}
		})
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{
		"HOOKSTACK_MAX_BODY_BYTES":      "2048",
		"HOOKSTACK_TOLERANCE":           "90s",
		"HOOKSTACK_PUBLIC_URL":          "https://hooks.example.com/",
		"HOOKSTACK_ALLOW_CIDRS_STRIPE":  "3.18.12.63, 3.130.192.0/25",
		"HOOKSTACK_ALLOW_CIDRS_UNKNOWN": "garbage ignored: not a provider",
		EnvHubSpotLegacy:                "true",
	}
	c, err := ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxBodyBytes != 2048 || c.Tolerance != 90*time.Second || c.PublicURL != "https://hooks.example.com" ||
		len(c.AllowCIDRs["stripe"]) != 2 || !c.HubSpotLegacy {
		t.Fatalf("config = %+v", c)
	}
	for k, v := range map[string]string{
		"HOOKSTACK_MAX_BODY_BYTES": "-1", "HOOKSTACK_TOLERANCE": "soon",
		"HOOKSTACK_PUBLIC_URL": "hooks.example.com", "HOOKSTACK_ALLOW_CIDRS_GITHUB": "10.0.0.0/99",
		EnvHubSpotLegacy: "sometimes",
	} {
		if _, err := ConfigFromEnv(func(key string) string {
			if key == k {
				return v
			}
			return ""
		}); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: err = %v, want one naming the variable", k, v, err)
		}
	}
}

// FuzzHandle: any method, provider, headers and body get a clear answer —
// never a panic, never a 5xx while the queue works, and a 2xx only for a
// request whose signature verified (here: none, since the fuzzer cannot sign,
// except Trello's HEAD check).
func FuzzHandle(f *testing.F) {
	f.Add("POST", "stripe", "Stripe-Signature", "t=1,v1=00", []byte(`{"id":"evt_1"}`))
	f.Add("POST", "salesforce", "Content-Type", "text/xml", []byte(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>`))
	f.Add("POST", "livechat", "Content-Type", "application/json", []byte(`{"secret_key":"x","action":"incoming_chat"}`))
	f.Add("GET", "github", "", "", []byte(nil))
	f.Add("HEAD", "trello", "", "", []byte(nil))
	f.Add("POST", "../../etc", "X-Hub-Signature-256", "sha256=zz", []byte("\xff\xfe"))
	f.Fuzz(func(t *testing.T, method, provider, hk, hv string, body []byte) {
		q := &memQueue{}
		h, err := New(Config{MaxBodyBytes: 4096, SalesforceAnyIP: true}, Deps{
			Queue: q, Secrets: secrets.Static{"stripe": {stripeSecret}, "salesforce": {"00D000000000001AAA"}, "livechat": {"lc-secret"}},
			Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Now: func() time.Time { return testNow },
		})
		if err != nil {
			t.Fatal(err)
		}
		header := http.Header{}
		if hk != "" && !strings.ContainsAny(hk, "\r\n: ") {
			header.Set(hk, hv)
		}
		resp := h.Handle(t.Context(), Request{Method: method, Provider: provider, Header: header, Body: body})
		switch {
		case resp.Status >= 500 && resp.Status != http.StatusServiceUnavailable:
			t.Fatalf("status %d", resp.Status)
		case resp.Status == http.StatusServiceUnavailable:
			// Only for providers without a configured secret.
			if provider == "stripe" || provider == "salesforce" || provider == "livechat" {
				t.Fatalf("503 for a configured provider: %s", resp.Body)
			}
		case resp.Status < 300 && !(method == http.MethodHead && provider == "trello") &&
			!bytes.Contains(body, []byte("00D000000000001")) && !bytes.Contains(body, []byte("lc-secret")):
			// (Salesforce and LiveChat "sign" with a value in the body itself.)
			t.Fatalf("accepted an unsigned request: %d %s", resp.Status, resp.Body)
		}
	})
}
