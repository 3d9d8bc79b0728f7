package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookstack/hookstack/shared/signature"
)

// execute runs the CLI in-process with getenv built from env.
func execute(t *testing.T, env map[string]string, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := newRoot(func(k string) string { return env[k] })
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = root.ExecuteContext(ctx)
	return out.String(), errb.String(), err
}

// verifyingServer answers 200 to requests that verify for the provider in
// the path with secret (at the time they arrive), 401 otherwise. signedURL,
// when set, is the URL the server believes it was called at (a proxy).
func verifyingServer(t *testing.T, secret, signedURL string) (*httptest.Server, *[]*signature.Request) {
	t.Helper()
	var got []*signature.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		provider := strings.TrimPrefix(r.URL.Path, "/webhooks/")
		body, _ := io.ReadAll(r.Body)
		u := "http://" + r.Host + r.URL.RequestURI()
		if signedURL != "" {
			u = signedURL
			if r.URL.RawQuery != "" {
				u += "?" + r.URL.RawQuery
			}
		}
		req := &signature.Request{Method: r.Method, URL: u, Header: r.Header, Body: body}
		got = append(got, req)
		verifier, _, ok := signature.For(provider, signature.Options{})
		if !ok {
			http.Error(w, `{"error":"unknown provider"}`, http.StatusNotFound)
			return
		}
		if err := verifier.Verify(req, []string{secret}, time.Now()); err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"invalid signature"}`))
			return
		}
		_, _ = w.Write([]byte(`{"id":"01TEST","event_id":"evt_test"}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &got
}

// TestSendSignsEveryProvider sends each provider's first sample file (with
// its .headers sidecar) to a server that verifies with the provider's own
// verifier and the URL it was called at.
func TestSendSignsEveryProvider(t *testing.T) {
	for _, provider := range signature.Providers {
		t.Run(provider, func(t *testing.T) {
			secret, err := signature.GenerateSecret(provider)
			if err != nil {
				t.Fatal(err)
			}
			srv, got := verifyingServer(t, secret, "")
			files, _ := filepath.Glob(filepath.Join("..", "..", "events", provider, "*.*"))
			var file string
			for _, f := range files {
				if !strings.HasSuffix(f, ".headers") {
					file = f
					break
				}
			}
			if file == "" {
				t.Fatalf("no sample file for %s", provider)
			}
			stdout, stderr, err := execute(t, nil, "", "send", provider, file, "--url", srv.URL, "--secret", secret)
			if err != nil {
				t.Fatalf("%v\nstdout: %s\nstderr: %s", err, stdout, stderr)
			}
			if want := "200 OK  POST " + srv.URL + "/webhooks/" + provider; !strings.HasPrefix(stdout, want) {
				t.Fatalf("stdout %q, want it to start with %q", stdout, want)
			}
			if !strings.Contains(stdout, `{"id":"01TEST","event_id":"evt_test"}`) || !strings.Contains(stderr, "secret from --secret") {
				t.Fatalf("stdout %q stderr %q", stdout, stderr)
			}
			if len(*got) != 1 {
				t.Fatalf("server got %d requests", len(*got))
			}
		})
	}
}

func TestSendTwilioJSONPostsTheSignedURL(t *testing.T) {
	srv, got := verifyingServer(t, "auth-token", "")
	_, stderr, err := execute(t, nil, `{"MessageSid":"SM1","MessageStatus":"sent"}`, "send", "twilio", "-", "--url", srv.URL, "--secret", "auth-token")
	if err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	if r := (*got)[0]; !strings.Contains(r.URL, "?bodySHA256=") || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("posted to %s with Content-Type %q", r.URL, r.Header.Get("Content-Type"))
	}
}

func TestSendSignedURL(t *testing.T) {
	const public = "https://hooks.example.com/webhooks/trello"
	srv, _ := verifyingServer(t, "trello-secret", public)
	file := filepath.Join("..", "..", "events", "trello", "updateCard.json")
	t.Run("without --signed-url the proxy's URL does not match", func(t *testing.T) {
		_, _, err := execute(t, nil, "", "send", "trello", file, "--url", srv.URL, "--secret", "trello-secret")
		if err == nil || !strings.Contains(err.Error(), "answered 401") || !strings.Contains(err.Error(), "--signed-url") {
			t.Fatalf("err = %v, want a 401 with the --signed-url hint", err)
		}
	})
	t.Run("with --signed-url", func(t *testing.T) {
		_, _, err := execute(t, nil, "", "send", "trello", file, "--url", srv.URL, "--secret", "trello-secret", "--signed-url", public)
		if err != nil {
			t.Fatal(err)
		}
	})
}

func TestSendJSONOutput(t *testing.T) {
	srv, _ := verifyingServer(t, "gh", "")
	stdout, _, err := execute(t, nil, `{"zen":"x"}`, "send", "github", "-", "--type", "ping", "--url", srv.URL+"/webhooks/github", "--secret", "gh", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout)
	}
	for k, want := range map[string]any{"provider": "github", "status": 200.0, "ok": true, "event_id": "evt_test", "secret_source": "--secret", "method": "POST"} {
		if res[k] != want {
			t.Errorf("%s = %v, want %v", k, res[k], want)
		}
	}
	if resp, ok := res["response"].(map[string]any); !ok || resp["id"] != "01TEST" {
		t.Errorf("response = %v, want the answer as JSON", res["response"])
	}
	if d, ok := res["duration_ms"].(float64); !ok || d <= 0 {
		t.Errorf("duration_ms = %v", res["duration_ms"])
	}
}

func TestSendHeaders(t *testing.T) {
	srv, got := verifyingServer(t, "shop", "")
	_, stderr, err := execute(t, nil, `{"id":1}`, "send", "shopify", "-", "--type", "orders/create",
		"-H", "X-Shopify-Shop-Domain: demo.myshopify.com", "--header", "X-Shopify-Event-Id: fixed-id", "--url", srv.URL, "--secret", "shop")
	if err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	h := (*got)[0].Header
	for name, want := range map[string]string{
		"X-Shopify-Topic": "orders/create", "X-Shopify-Shop-Domain": "demo.myshopify.com", "X-Shopify-Event-Id": "fixed-id",
		"Content-Type": "application/json",
	} {
		if h.Get(name) != want {
			t.Errorf("%s = %q, want %q", name, h.Get(name), want)
		}
	}
	for _, name := range []string{"X-Shopify-Webhook-Id", "X-Shopify-Triggered-At", "X-Shopify-Hmac-Sha256"} {
		if h.Get(name) == "" {
			t.Errorf("%s not set", name)
		}
	}
	if _, _, err := execute(t, nil, "{}", "send", "shopify", "-", "--type", "x", "-H", "no colon", "--secret", "s"); err == nil ||
		!strings.Contains(err.Error(), `--header "no colon"`) {
		t.Fatalf("bad --header: err = %v", err)
	}
	if _, _, err := execute(t, nil, "{}", "send", "shopify", "-", "--secret", "s"); err == nil || !strings.Contains(err.Error(), "X-Shopify-Topic") {
		t.Fatalf("missing topic: err = %v", err)
	}
}

func TestSendDoesNotFollowRedirects(t *testing.T) {
	var posts int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			posts++
			return
		}
		http.Redirect(w, r, "/moved", http.StatusPermanentRedirect)
	}))
	defer srv.Close()
	stdout, _, err := execute(t, nil, "{}", "send", "stripe", "-", "--url", srv.URL, "--secret", "whsec_x")
	if err == nil || !strings.Contains(err.Error(), "a redirect to /moved") || !strings.HasPrefix(stdout, "308 ") || posts != 0 {
		t.Fatalf("err = %v, stdout %q, followed %d times", err, stdout, posts)
	}
}

func TestTargetURL(t *testing.T) {
	tests := []struct {
		name, flag, devURL, env, want, wantErr string
	}{
		{"default", "", "", "", "http://127.0.0.1:8080/webhooks/stripe", ""},
		{"env base", "", "", "http://127.0.0.1:9000", "http://127.0.0.1:9000/webhooks/stripe", ""},
		{"env base with slash", "", "", "http://127.0.0.1:9000/", "http://127.0.0.1:9000/webhooks/stripe", ""},
		{"flag wins", "https://x.example.com", "", "http://127.0.0.1:9000", "https://x.example.com/webhooks/stripe", ""},
		{"flag full URL kept", "https://x.example.com/prod/webhooks/stripe?a=1", "", "", "https://x.example.com/prod/webhooks/stripe?a=1", ""},
		{"--dev-url wins over the env", "", "http://127.0.0.1:7000/", "http://127.0.0.1:9000", "http://127.0.0.1:7000/webhooks/stripe", ""},
		{"--dev-url with a base path", "", "https://tunnel.example.com/dev", "", "https://tunnel.example.com/dev/webhooks/stripe", ""},
		{"--url and --dev-url", "https://x.example.com", "http://127.0.0.1:7000", "", "", "--url is the full URL to POST to, --dev-url the dev server's base URL"},
		{"no scheme", "localhost:8080", "", "", "", "--url \"localhost:8080\" is not an http(s) URL"},
		{"bad --dev-url", "", "localhost:8080", "", "", "--dev-url \"localhost:8080\" is not the dev server's base URL"},
		{"bad env", "", "", "ftp://x", "", "HOOKSTACK_DEV_URL \"ftp://x\" is not the dev server's base URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := targetURL(func(string) string { return tt.env }, tt.flag, tt.devURL, "stripe")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestResolveSecret(t *testing.T) {
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "secrets.json"), []byte(`{"stripe":["whsec_file_new","whsec_file_old"],"github":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, "secrets.json"), []byte(`["not","an","object"]`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, flag, env, data, provider string
		want, source, wantErr           string
	}{
		{"flag", "whsec_flag", "whsec_env", dir, "stripe", "whsec_flag", "--secret", ""},
		{"env first of list", "", " whsec_env_new , whsec_env_old", dir, "stripe", "whsec_env_new", "HOOKSTACK_SECRET_STRIPE", ""},
		{"env empty entries skipped", "", ",,whsec_env", dir, "stripe", "whsec_env", "HOOKSTACK_SECRET_STRIPE", ""},
		{"dev server file, newest", "", "", dir, "stripe", "whsec_file_new", filepath.Join(dir, "secrets.json") + " (the dev server's)", ""},
		{"file without the provider", "", "", dir, "github", "", "", "no github secret: pass --secret, set HOOKSTACK_SECRET_GITHUB"},
		{"no file: the absolute path checked, and what to do", "", "", "no-such-dir", "stripe", "", "",
			filepath.Join(cwd, "no-such-dir", "secrets.json") + " does not exist. Run this from the folder where `hookstack dev` runs"},
		{"file without the provider says so", "", "", dir, "zoom", "", "", filepath.Join(dir, "secrets.json") + " has no zoom secret"},
		{"the flag to pass", "", "", t.TempDir(), "stripe", "", "", "or pass --data <its data folder>"},
		{"malformed file", "", "", bad, "stripe", "", "", "is not the dev server's secrets file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string {
				if k == "HOOKSTACK_SECRET_"+strings.ToUpper(tt.provider) {
					return tt.env
				}
				return ""
			}
			got, source, err := resolveSecret(getenv, tt.flag, tt.data, tt.provider)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want || source != tt.source {
				t.Fatalf("got %q from %q, %v; want %q from %q", got, source, err, tt.want, tt.source)
			}
		})
	}
}

func TestHint(t *testing.T) {
	tests := []struct {
		status   int
		provider string
		want     string
	}{
		{401, "stripe", "the server rejected the signature: is --secret the secret the server uses? (hookstack dev prints it at start-up; it is kept in .hookstack/secrets.json;"},
		{401, "stripe", "if you just ran `hookstack secrets set`, a dev server older than this version needs a restart"},
		{401, "hubspot", "--signed-url"},
		{403, "github", "HOOKSTACK_ALLOW_CIDRS_GITHUB"},
		{404, "stripe", "check --url"},
		{413, "stripe", "HOOKSTACK_MAX_BODY_BYTES"},
		{400, "zoom", "events/zoom/"},
		{503, "stripe", "retry shortly"},
		{500, "stripe", "look at its log"},
		{302, "stripe", "not a 2xx answer"},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status)+"/"+tt.provider, func(t *testing.T) {
			if got := hint(tt.status, tt.provider); !strings.Contains(got, tt.want) {
				t.Fatalf("hint = %q, want it to contain %q", got, tt.want)
			}
		})
	}
	if strings.Contains(hint(401, "stripe"), "--signed-url") {
		t.Fatal("the --signed-url advice is for URL-signing providers only")
	}
}

func TestWithQueryOf(t *testing.T) {
	got, err := withQueryOf("http://127.0.0.1:8080/webhooks/twilio?a=1", "https://public.example.com/webhooks/twilio?a=2&bodySHA256=abc")
	if err != nil || got != "http://127.0.0.1:8080/webhooks/twilio?a=1&bodySHA256=abc" {
		t.Fatalf("got %q, %v", got, err)
	}
}
