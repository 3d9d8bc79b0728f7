package main

// These tests run the built bootstrap (make build-amd64) under the AWS Lambda
// Runtime Interface Emulator, against the SQS and S3 emulators, with API
// Gateway HTTP API v2 events made from the real samples in events/.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hookstack/hookstack/shared/apigw"
	"github.com/hookstack/hookstack/shared/blob/s3blob/s3test"
	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/queue/sqsq"
	"github.com/hookstack/hookstack/shared/queue/sqsq/sqstest"
	"github.com/hookstack/hookstack/shared/rie"
	"github.com/hookstack/hookstack/shared/secrets"
	"github.com/hookstack/hookstack/shared/signature"
)

const domain = "abc123.execute-api.us-east-1.amazonaws.com"

// startIngest runs the built bootstrap under the emulator with env.
func startIngest(t *testing.T, env []string) *rie.Function {
	t.Helper()
	bin, emu := os.Getenv("HOOKSTACK_LAMBDA_BIN"), os.Getenv("HOOKSTACK_RIE")
	if bin == "" || emu == "" {
		if os.Getenv("HOOKSTACK_REQUIRE_EMULATORS") == "1" {
			t.Fatal("HOOKSTACK_LAMBDA_BIN and HOOKSTACK_RIE must be set (make test sets them)")
		}
		t.Skip("HOOKSTACK_LAMBDA_BIN/HOOKSTACK_RIE not set: run `make test`")
	}
	f, err := rie.Start(t.Context(), rie.Options{Emulator: emu, Bootstrap: filepath.Join(bin, "ingest", "bootstrap"), Env: env})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.Stop()
		if t.Failed() {
			t.Logf("emulator and function logs:\n%s", f.Logs())
		}
	})
	return f
}

// sample is one file of events/ with its sidecar headers.
type sample struct {
	provider, name string
	body           []byte
	header         http.Header
}

func loadSamples(t *testing.T) []sample {
	t.Helper()
	root := filepath.Join("..", "..", "events")
	files, err := filepath.Glob(filepath.Join(root, "*", "*"))
	if err != nil {
		t.Fatal(err)
	}
	var out []sample
	for _, f := range files {
		ext := filepath.Ext(f)
		if ext != ".json" && ext != ".xml" && ext != ".form" {
			continue
		}
		provider := filepath.Base(filepath.Dir(f))
		if !envelope.Known(provider) {
			continue
		}
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		h := http.Header{}
		if raw, err := os.ReadFile(strings.TrimSuffix(f, ext) + ".headers"); err == nil {
			sc := bufio.NewScanner(bytes.NewReader(raw))
			for sc.Scan() {
				if k, v, ok := strings.Cut(sc.Text(), ":"); ok && !strings.HasPrefix(k, "#") {
					h.Add(strings.TrimSpace(k), strings.TrimSpace(v))
				}
			}
		}
		out = append(out, sample{provider: provider, name: strings.TrimSuffix(filepath.Base(f), ext), body: body, header: h})
	}
	if len(out) < 20 {
		t.Fatalf("found only %d samples under %s", len(out), root)
	}
	return out
}

// gateway builds the events as API Gateway HTTP API (payload v2) does for
// the stack's route.
var gateway = func() *apigw.Gateway {
	g, err := apigw.New(nil, "ANY /webhooks/{provider}")
	if err != nil {
		panic(err)
	}
	return g
}()

// apiGatewayEvent signs s as its provider would, now, and wraps it the way
// API Gateway HTTP API (payload v2) delivers it (shared/apigw).
func apiGatewayEvent(t *testing.T, s sample, secret string) []byte {
	t.Helper()
	return apiGatewayEventFrom(t, s, secret, "198.51.100.7:49152")
}

// apiGatewayEventFrom is apiGatewayEvent from the source address remote.
func apiGatewayEventFrom(t *testing.T, s sample, secret, remote string) []byte {
	t.Helper()
	h := s.header.Clone()
	url := "https://" + domain + "/webhooks/" + s.provider
	r := &signature.Request{Method: http.MethodPost, URL: url, Header: h, Body: s.body}
	_, signer, _ := signature.For(s.provider, signature.Options{})
	if err := signer.Sign(r, secret, time.Now()); err != nil {
		t.Fatalf("sign %s/%s: %v", s.provider, s.name, err)
	}
	req := httptest.NewRequest(http.MethodPost, r.URL, bytes.NewReader(r.Body))
	req.Header = r.Header
	req.RemoteAddr = remote
	ev, err := gateway.Event(req)
	if err != nil {
		t.Fatalf("%s/%s: %v", s.provider, s.name, err)
	}
	raw, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func baseEnv(t *testing.T, urls map[string]string, endpoint string, provSecrets map[string]string) []string {
	env := []string{
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"AWS_ENDPOINT_URL=" + endpoint,
	}
	if v := os.Getenv("AWS_CA_BUNDLE"); v != "" {
		env = append(env, "AWS_CA_BUNDLE="+v)
	}
	for name, url := range urls {
		env = append(env, sqsq.EnvVar(name)+"="+url)
	}
	for p, s := range provSecrets {
		env = append(env, secrets.EnvName(p)+"="+s)
	}
	return env
}

func TestIngestBootstrapUnderRIE(t *testing.T) {
	endpoint := sqstest.Endpoint(t)
	q, _, urls := sqstest.Queues(t, envelope.DomainQueues, 5)
	_, bucket := s3test.Bucket(t, s3test.Endpoint(t))

	provSecrets := map[string]string{}
	for _, p := range signature.Providers {
		s, err := signature.GenerateSecret(p)
		if err != nil {
			t.Fatal(err)
		}
		provSecrets[p] = s
	}
	// Salesforce signs nothing: its requests need a source allowlist (the
	// stack passes Salesforce's published ranges); here the test's address.
	env := append(baseEnv(t, urls, endpoint, provSecrets),
		"HOOKSTACK_CLAIM_BUCKET="+bucket, "HOOKSTACK_MAX_BODY_BYTES=4194304",
		"HOOKSTACK_ALLOW_CIDRS_SALESFORCE=198.51.100.0/24")
	f := startIngest(t, env)

	seenProviders := map[string]bool{}
	for _, s := range loadSamples(t) {
		t.Run(s.provider+"/"+s.name, func(t *testing.T) {
			payload := apiGatewayEvent(t, s, provSecrets[s.provider])
			out, err := f.Invoke(t.Context(), payload)
			if err != nil {
				t.Fatal(err)
			}
			var resp events.APIGatewayV2HTTPResponse
			if err := json.Unmarshal(out, &resp); err != nil {
				t.Fatalf("response %s: %v", out, err)
			}
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
			}
			handshake := s.name == "url_verification" || s.name == "endpoint.url_validation"
			if handshake {
				if strings.Contains(resp.Body, `"id"`) {
					t.Fatalf("a handshake was answered as an event: %s", resp.Body)
				}
				return
			}
			evs, err := envelope.Extract(s.provider, s.header, s.body, time.Now())
			if err != nil {
				t.Fatalf("extract: %v", err)
			}
			want := map[string]bool{}
			for _, ev := range evs {
				want[ev.ID] = true
			}
			qname := envelope.Route(s.provider, evs[0].Type)
			got := receiveAll(t, q, qname, len(evs))
			for _, e := range got {
				if !want[e.EventID] || e.Provider != s.provider || e.Queue != qname {
					t.Fatalf("envelope %+v not one of %v", e, want)
				}
			}
			seenProviders[s.provider] = true
		})
	}
	for _, p := range signature.Providers {
		if !seenProviders[p] {
			t.Errorf("no sample of %s went through the bootstrap", p)
		}
	}

	t.Run("salesforce from outside its allowlist is 403", func(t *testing.T) {
		var s sample
		for _, c := range loadSamples(t) {
			if c.provider == "salesforce" {
				s = c
			}
		}
		out, err := f.Invoke(t.Context(), apiGatewayEventFrom(t, s, provSecrets["salesforce"], "203.0.113.9:40000"))
		if err != nil {
			t.Fatal(err)
		}
		var resp events.APIGatewayV2HTTPResponse
		_ = json.Unmarshal(out, &resp)
		if resp.StatusCode != 403 {
			t.Fatalf("resp = %d %s", resp.StatusCode, resp.Body)
		}
	})

	t.Run("bad signature is 401", func(t *testing.T) {
		s := loadSamples(t)[0]
		payload := apiGatewayEvent(t, s, "not-the-secret-"+provSecrets[s.provider])
		out, err := f.Invoke(t.Context(), payload)
		if err != nil {
			t.Fatal(err)
		}
		var resp events.APIGatewayV2HTTPResponse
		_ = json.Unmarshal(out, &resp)
		if resp.StatusCode != 401 || strings.TrimSpace(resp.Body) != `{"error":"invalid signature"}` {
			t.Fatalf("resp = %d %s", resp.StatusCode, resp.Body)
		}
	})
}

// TestIngestBootstrapQueueDown: a queue that cannot take the message makes
// the function answer 503, so the provider retries.
func TestIngestBootstrapQueueDown(t *testing.T) {
	endpoint := sqstest.Endpoint(t)
	_, _, urls := sqstest.Queues(t, envelope.DomainQueues, 5)
	urls[envelope.QueuePayments] = strings.TrimSuffix(urls[envelope.QueuePayments], "/") + "-deleted"
	secret := "whsec_queue_down_test"
	f := startIngest(t, baseEnv(t, urls, endpoint, map[string]string{"stripe": secret}))

	var s sample
	for _, c := range loadSamples(t) {
		if c.provider == "stripe" && c.name == "payment_intent.succeeded" {
			s = c
		}
	}
	out, err := f.Invoke(t.Context(), apiGatewayEvent(t, s, secret))
	if err != nil {
		t.Fatal(err)
	}
	var resp events.APIGatewayV2HTTPResponse
	_ = json.Unmarshal(out, &resp)
	if resp.StatusCode != 503 {
		t.Fatalf("status = %d (%s), want 503", resp.StatusCode, resp.Body)
	}
}

func receiveAll(t *testing.T, q queue.Queue, name string, n int) []envelope.Envelope {
	t.Helper()
	var out []envelope.Envelope
	seen := map[string]bool{}
	deadline := time.Now().Add(10 * time.Second)
	for len(out) < n && time.Now().Before(deadline) {
		// A short visibility: a receive whose answer is lost on a loaded
		// machine must not hide the message past this loop (it did once
		// with 30 s); a message seen again is counted once.
		msgs, err := q.Receive(t.Context(), name, 10, 2*time.Second, time.Second)
		if err != nil {
			t.Fatalf("receive %s: %v", name, err)
		}
		for _, m := range msgs {
			if seen[m.ID] {
				continue
			}
			seen[m.ID] = true
			e, err := envelope.Decode(m.Body)
			if err != nil {
				t.Fatalf("message in %s: %v", name, err)
			}
			out = append(out, e)
			if err := q.Delete(t.Context(), name, m.ReceiptHandle); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(out) != n {
		t.Fatalf("received %d envelopes from %s, want %d", len(out), name, n)
	}
	return out
}
