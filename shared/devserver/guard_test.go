package devserver

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// do sends one request with the given Host and headers and returns the status.
func do(t *testing.T, method, target, host string, h http.Header, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, target, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A web page the developer opens cannot drive the API: neither by posting
// to it (CSRF) nor by reading it under a rebound name (DNS rebinding). The
// inspector's own requests, the CLI's and the providers' still pass.
func TestAPIRefusesOtherSites(t *testing.T) {
	const secret = "whsec_guard_test"
	base, stop := startDev(t, t.TempDir(), map[string]string{"HOOKSTACK_SECRET_STRIPE": secret})
	defer stop()
	u, _ := url.Parse(base)
	port := u.Port()
	self := "http://" + u.Host
	evil := "evil.example:" + port
	attack := `{"url":"https://attacker.example/x","events":["*"]}`
	reply := sendSample(t, base, secret, "stripe", "payment_intent.succeeded", nil)
	id := reply["id"].(string)

	type hdr = http.Header
	tests := []struct {
		name, method, path, host string
		header                   http.Header
		body                     string
		want                     int
	}{
		// The audit's request: a text/plain fetch from a rebound name.
		{"rebound CSRF", "POST", "/api/endpoints", evil, hdr{"Content-Type": {"text/plain"}, "Origin": {"https://evil.example"}}, attack, 421},
		{"cross-origin post", "POST", "/api/endpoints", "", hdr{"Content-Type": {"text/plain"}, "Origin": {"https://evil.example"}}, attack, 403},
		{"cross-origin JSON post", "POST", "/api/endpoints", "", hdr{"Content-Type": {"application/json"}, "Origin": {"https://evil.example"}}, attack, 403},
		{"other local port", "POST", "/api/endpoints", "", hdr{"Content-Type": {"application/json"}, "Origin": {"http://127.0.0.1:3000"}}, attack, 403},
		{"null origin", "POST", "/api/endpoints", "", hdr{"Content-Type": {"application/json"}, "Origin": {"null"}}, attack, 403},
		{"sec-fetch-site cross-site", "POST", "/api/endpoints", "", hdr{"Content-Type": {"application/json"}, "Sec-Fetch-Site": {"cross-site"}}, attack, 403},
		{"text/plain without origin", "POST", "/api/endpoints", "", hdr{"Content-Type": {"text/plain"}}, attack, 415},
		{"form post", "POST", "/api/samples/send", "", hdr{"Content-Type": {"application/x-www-form-urlencoded"}}, "provider=stripe", 415},
		{"delete cross-origin", "DELETE", "/api/endpoints/x", "", hdr{"Origin": {"https://evil.example"}}, "", 403},
		{"rebound read", "GET", "/api/events/" + id, evil, nil, "", 421},
		{"rebound stream", "GET", "/api/stream", evil, nil, "", 421},
		// A forwarded port (ssh -L 9090:127.0.0.1:8080, docker -p) addresses
		// this server under another port: the name is what matters.
		{"forwarded port", "GET", "/api/events/" + id, "localhost:9090", nil, "", 200},
		{"forwarded port, inspector post", "POST", "/api/events/" + id + "/replay", "localhost:9090", hdr{"Origin": {"http://localhost:9090"}}, "", 202},
		{"no port", "GET", "/api/events/" + id, "localhost", nil, "", 200},
		{"rebound name on a forwarded port", "GET", "/api/events/" + id, "evil.example:9090", nil, "", 421},

		{"read as 127.0.0.1", "GET", "/api/events/" + id, "", nil, "", 200},
		{"read as localhost", "GET", "/api/events/" + id, "localhost:" + port, nil, "", 200},
		{"read as [::1]", "GET", "/api/events/" + id, "[::1]:" + port, nil, "", 200},
		{"read as LOCALHOST.", "GET", "/api/events/" + id, "LOCALHOST.:" + port, nil, "", 200},
		// The inspector: same origin, JSON bodies, body-less replay.
		{"inspector post", "POST", "/api/samples/send", "", hdr{"Content-Type": {"application/json"}, "Origin": {self}, "Sec-Fetch-Site": {"same-origin"}}, `{"provider":"stripe","event":"nope"}`, 404},
		{"inspector replay", "POST", "/api/events/" + id + "/replay", "", hdr{"Origin": {self}, "Sec-Fetch-Site": {"same-origin"}}, "", 202},
		{"inspector as localhost", "POST", "/api/events/" + id + "/replay", "localhost:" + port, hdr{"Origin": {"http://localhost:" + port}}, "", 202},
		// The CLI (cmd/hookstack mgmtCall, runReplay): no Origin, JSON when there is a body.
		{"cli redrive", "POST", "/api/dlq/redrive", "", hdr{"Content-Type": {"application/json"}, "Accept": {"application/json"}}, `{"queue":"payments"}`, 200},
		{"cli replay", "POST", "/api/events/" + id + "/replay", "", nil, "", 202},
		{"cli disable", "POST", "/api/endpoints/nope/disable", "", hdr{"Accept": {"application/json"}}, "", 404},
		{"json with charset", "POST", "/api/samples/send", "", hdr{"Content-Type": {"application/json; charset=utf-8"}}, `{"provider":"stripe","type":"nope"}`, 404},
		// Providers post from anywhere with their own content types.
		{"webhook from anywhere", "POST", "/webhooks/stripe", "hooks.ngrok.example", hdr{"Content-Type": {"text/plain"}, "Origin": {"https://evil.example"}, "Stripe-Signature": {"t=1,v1=00"}}, `{}`, 401},
		{"webhook page", "GET", "/", evil, nil, "", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := do(t, tt.method, base+tt.path, tt.host, tt.header, tt.body)
			if code != tt.want {
				t.Fatalf("%s %s (Host %q) = %d %.200s; want %d", tt.method, tt.path, tt.host, code, body, tt.want)
			}
			if code >= 400 && strings.HasPrefix(tt.path, "/api/") && !strings.Contains(body, `"error"`) {
				t.Fatalf("refusal without a JSON error: %s", body)
			}
		})
	}
	var endpoints []map[string]any
	getJSON(t, base+"/api/endpoints", &endpoints)
	if len(endpoints) != 0 {
		t.Fatalf("a refused request added an endpoint: %v", endpoints)
	}
}

func TestHostAllowedWithAddr(t *testing.T) {
	tests := []struct {
		addr, host string
		want       bool
	}{
		{"127.0.0.1:8080", "127.0.0.1:8080", true},
		{"devbox.lan:8080", "devbox.lan:8080", true},
		{"devbox.lan:8080", "DEVBOX.LAN:8080", true},
		{"devbox.lan:8080", "evil.example:8080", false},
		{"0.0.0.0:8080", "0.0.0.0:8080", false}, // a wildcard is no name
		{":8080", "evil.example:8080", false},
	}
	for _, tt := range tests {
		t.Run(tt.addr+"/"+tt.host, func(t *testing.T) {
			s := (&Server{}).WithAddr(tt.addr)
			r, _ := http.NewRequest(http.MethodGet, "http://"+tt.host+"/api/events", nil)
			r.Host = tt.host
			if got := s.hostAllowed(r); got != tt.want {
				t.Fatalf("hostAllowed = %v, want %v", got, tt.want)
			}
		})
	}
}
