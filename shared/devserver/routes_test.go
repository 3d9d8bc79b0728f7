package devserver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/eventlog"
	"github.com/hookstack/hookstack/shared/ingest"
)

// A path under /webhooks that is no provider route answers the contract's
// JSON 404 and shows in the inspector as rejected, with why.
func TestUnknownWebhookPathsAreRecorded(t *testing.T) {
	base, stop := startDev(t, t.TempDir(), nil)
	defer stop()
	tests := []struct {
		name, method, path, provider string
	}{
		{"trailing slash", "POST", "/webhooks/stripe/", "stripe"},
		{"extra segment", "POST", "/webhooks/github/push", "github"},
		{"no provider", "POST", "/webhooks/", ""},
		{"no slash", "POST", "/webhooks", ""},
		{"unknown provider and more", "POST", "/webhooks/nope/x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{"Content-Type": {"application/json"}, "Stripe-Signature": {"t=1,v1=secretish"}}
			req, _ := http.NewRequest(tt.method, base+tt.path, strings.NewReader(`{"id":"evt_slash"}`))
			req.Header = h
			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var body map[string]string
			if resp.StatusCode != 404 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") ||
				json.Unmarshal(b, &body) != nil || body["error"] == "" {
				t.Fatalf("= %d %q %s; want a JSON 404", resp.StatusCode, resp.Header.Get("Content-Type"), b)
			}
			var list []eventlog.Summary
			getJSON(t, base+"/api/events?status=rejected&limit=1", &list)
			if len(list) != 1 || list[0].Reason != "unknown path (trailing slash?)" || list[0].HTTPStatus != 404 || list[0].Provider != tt.provider {
				t.Fatalf("recorded %+v", list)
			}
			var e eventlog.Entry
			getJSON(t, base+"/api/events/"+list[0].ID, &e)
			if got := e.Headers.Get("Stripe-Signature"); got == "" || strings.Contains(got, "secretish") || e.Body != `{"id":"evt_slash"}` {
				t.Fatalf("entry headers %v body %q (signature must be redacted)", e.Headers, e.Body)
			}
		})
	}
}

// The list's and the stream's provider and status are checked, as limit is.
func TestEventFiltersAreValidated(t *testing.T) {
	base, stop := startDev(t, t.TempDir(), nil)
	defer stop()
	tests := []struct {
		query string
		code  int
	}{
		{"status=bogus", 400},
		{"provider=nope", 400},
		{"limit=0", 400},
		{"status=rejected", 200},
		{"status=queued&provider=stripe", 200},
		{"provider=salesforce&status=dead", 200},
	}
	for _, tt := range tests {
		for _, route := range []string{"/api/events?", "/api/stream?"} {
			if route == "/api/stream?" && (tt.code == 200 || strings.HasPrefix(tt.query, "limit")) {
				continue // a stream that opens does not end
			}
			t.Run(route+tt.query, func(t *testing.T) {
				var body any
				code := getJSON(t, base+route+tt.query, &body)
				if code != tt.code {
					t.Fatalf("= %d %v; want %d", code, body, tt.code)
				}
				if m, ok := body.(map[string]any); code == 400 && (!ok || m["error"] == "") {
					t.Fatalf("400 without an error: %v", body)
				}
			})
		}
	}
}

// GET /api/samples names a sample's key "event"; send accepts it (and "type").
func TestSendAcceptsTheSampleListsKey(t *testing.T) {
	base, stop := startDev(t, t.TempDir(), nil)
	defer stop()
	tests := []struct {
		name, body string
		code       int
		typ        string
	}{
		{"event", `{"provider":"github","event":"push"}`, 200, "push"},
		{"type", `{"provider":"github","type":"push"}`, 200, "push"},
		{"type wins", `{"provider":"github","type":"push","event":"nope"}`, 200, "push"},
		{"neither", `{"provider":"github"}`, 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, res := postJSON(t, base+"/api/samples/send", tt.body)
			if code != tt.code || (code == 200 && (res["ok"] != true || res["type"] != tt.typ)) {
				t.Fatalf("= %d %v", code, res)
			}
		})
	}
}

// The stored envelope is redacted as the body is: Slack's verification
// token shows nowhere in GET /api/events/{id}.
func TestEnvelopeIsRedacted(t *testing.T) {
	const secret = "slack_signing_secret_for_tests"
	base, stop := startDev(t, t.TempDir(), map[string]string{"HOOKSTACK_SECRET_SLACK": secret})
	defer stop()
	const token = "ZZZZZZWSxiZZZ2yIvs3peJ" // events/slack/app_mention.json
	reply := sendSample(t, base, secret, "slack", "app_mention", nil)
	id := reply["id"].(string)
	resp, err := http.Get(base + "/api/events/" + id)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.Contains(string(raw), token) {
		t.Fatalf("GET /api/events/%s = %d, shows the token:\n%s", id, resp.StatusCode, raw)
	}
	// Replay sends the stored (redacted) envelope; it is processed as before.
	if code, res := postJSON(t, base+"/api/events/"+id+"/replay", ""); code != http.StatusAccepted {
		t.Fatalf("replay = %d %v", code, res)
	}
	waitFor(t, base+"/api/events/"+id, func(_ int, b map[string]any) bool { return b["status"] == "processed" })
}

// The Recorder redacts the envelope it stores however the envelope was
// built: what the inspector serves and what replay sends carry no token,
// secret_key or SessionId, and the rest of the body is kept.
func TestRecorderRedactsTheStoredEnvelope(t *testing.T) {
	events, err := eventlog.Open(filepath.Join(t.TempDir(), "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer events.Close()
	tests := []struct {
		provider, body, secret, kept string
	}{
		{"slack", `{"token":"tok_secret_1","type":"event_callback","event_id":"Ev1","event":{"type":"app_mention"}}`, "tok_secret_1", `"event_id":"Ev1"`},
		{"livechat", `{"secret_key":"lc_secret_2","action":"incoming_chat"}`, "lc_secret_2", `"action":"incoming_chat"`},
		{"salesforce", `<n><SessionId>sf_secret_3</SessionId><Id>00Q1</Id></n>`, "sf_secret_3", `<Id>00Q1</Id>`},
		{"stripe", `{"id":"evt_1","token":"not-a-secret-here"}`, "", `"token":"not-a-secret-here"`},
	}
	for i, tt := range tests {
		t.Run(tt.provider, func(t *testing.T) {
			env := envelope.Envelope{V: envelope.Version, ID: fmt.Sprintf("01JREDACT%d", i), Provider: tt.provider, EventID: "e" + tt.provider,
				Type: "t", Queue: "relay", ReceivedAt: time.Now().UTC(), Body: []byte(tt.body), BodyJSON: json.Valid([]byte(tt.body))}
			Recorder{Events: events}.Observe(context.Background(), ingest.Outcome{
				Provider: tt.provider, Status: 200, Envelopes: []envelope.Envelope{env}, Header: http.Header{},
				Body: []byte(tt.body), ReceivedAt: env.ReceivedAt,
			})
			e, err := events.Get(env.ID)
			if err != nil || e.Envelope == nil {
				t.Fatalf("entry = %+v, %v", e, err)
			}
			served, _ := json.Marshal(e)
			if tt.secret != "" && strings.Contains(string(served), tt.secret) {
				t.Fatalf("served entry shows %q:\n%s", tt.secret, served)
			}
			wire, err := envelope.Encode(*e.Envelope) // what replay sends
			if err != nil {
				t.Fatal(err)
			}
			back, err := envelope.Decode(wire)
			if err != nil || !strings.Contains(string(back.Body), tt.kept) || tt.secret != "" && strings.Contains(string(back.Body), tt.secret) {
				t.Fatalf("replayed body = %s, %v", back.Body, err)
			}
		})
	}
}
