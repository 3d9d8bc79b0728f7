package devserver

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookstack/hookstack/events"
	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/eventlog"
	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/runner"
	"github.com/hookstack/hookstack/shared/sample"
	"github.com/hookstack/hookstack/shared/signature"
)

// startDev runs the real dev server (embedded queue, event log, secrets
// file) on a free port in dir and returns its base URL.
func startDev(t *testing.T, dir string, env map[string]string) (string, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	var out bytes.Buffer
	go func() {
		done <- Run(ctx, Options{
			Addr: "127.0.0.1:0", DataDir: dir, Getenv: func(k string) string { return env[k] },
			Out: &out, Log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
			Ready: func(addr string) { ready <- addr },
		})
	}()
	select {
	case addr := <-ready:
		stop := func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("dev server: %v", err)
			}
		}
		return "http://" + addr, stop
	case err := <-done:
		cancel()
		t.Fatalf("dev server did not start: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("dev server did not start in time")
	}
	return "", cancel
}

func post(t *testing.T, url string, h http.Header, body []byte) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header = h
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode
}

func TestDevServerRecordsAcceptedAndRejected(t *testing.T) {
	dir := t.TempDir()
	const secret = "whsec_dev_server_test"
	base, stop := startDev(t, dir, map[string]string{"HOOKSTACK_SECRET_STRIPE": secret})
	defer stop()

	body := []byte(`{"id":"evt_dev_1","object":"event","type":"payment_intent.succeeded","created":1764417600,"data":{"object":{"id":"pi_1"}}}`)
	sreq := &signature.Request{Method: "POST", URL: base + "/webhooks/stripe", Header: http.Header{"Content-Type": {"application/json"}}, Body: body}
	_, signer, _ := signature.For("stripe", signature.Options{})
	if err := signer.Sign(sreq, secret, time.Now()); err != nil {
		t.Fatal(err)
	}
	if code, b := post(t, base+"/webhooks/stripe", sreq.Header, body); code != 200 {
		t.Fatalf("signed: %d %s", code, b)
	}
	bad := sreq.Header.Clone()
	bad.Set("Stripe-Signature", "t=1,v1=00")
	if code, _ := post(t, base+"/webhooks/stripe", bad, body); code != 401 {
		t.Fatalf("bad signature: %d", code)
	}

	var list []eventlog.Summary
	if code := getJSON(t, base+"/api/events", &list); code != 200 || len(list) != 2 {
		t.Fatalf("events = %d %+v", code, list)
	}
	if list[0].Status != "rejected" || list[0].Reason == "" || list[1].Status == "rejected" || list[1].EventID != "evt_dev_1" || list[1].Queue != "payments" {
		t.Fatalf("newest first with verdicts: %+v", list)
	}
	var filtered []eventlog.Summary
	getJSON(t, base+"/api/events?provider=github", &filtered)
	if len(filtered) != 0 {
		t.Fatalf("provider filter: %+v", filtered)
	}

	var detail eventlog.Entry
	if code := getJSON(t, base+"/api/events/"+list[1].ID, &detail); code != 200 {
		t.Fatalf("detail = %d", code)
	}
	if detail.Envelope == nil || detail.Body != string(body) || detail.Headers.Get("Stripe-Signature") == sreq.Header.Get("Stripe-Signature") {
		t.Fatalf("detail = %+v (signature must be redacted)", detail)
	}
	var byProviderID eventlog.Entry
	if code := getJSON(t, base+"/api/events/evt_dev_1", &byProviderID); code != 200 || byProviderID.ID != list[1].ID {
		t.Fatalf("lookup by provider id = %d %s", code, byProviderID.ID)
	}
	var notFound map[string]string
	if code := getJSON(t, base+"/api/events/nope", &notFound); code != 404 || notFound["error"] == "" {
		t.Fatalf("unknown id = %d %v", code, notFound)
	}
	if code := getJSON(t, base+"/api/unknown", &notFound); code != 404 {
		t.Fatalf("unknown route = %d", code)
	}
}

func TestDevServerKeepsGeneratedSecretsAndQueueAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	base, stop := startDev(t, dir, nil)
	raw, err := os.ReadFile(filepath.Join(dir, "secrets.json"))
	if err != nil {
		t.Fatal(err)
	}
	var stored map[string][]string
	if err := json.Unmarshal(raw, &stored); err != nil || len(stored) != len(signature.Providers) {
		t.Fatalf("secrets.json = %s", raw)
	}
	if !strings.HasPrefix(stored["stripe"][0], "whsec_") {
		t.Fatalf("stripe secret shape: %q", stored["stripe"][0])
	}
	body := []byte(`{"zen":"restart","hook_id":7}`)
	h := http.Header{"X-Github-Event": {"ping"}, "X-Github-Delivery": {"restart-1"}, "Content-Type": {"application/json"}}
	sreq := &signature.Request{Method: "POST", Header: h, Body: body}
	_, signer, _ := signature.For("github", signature.Options{})
	_ = signer.Sign(sreq, stored["github"][0], time.Now())
	if code, b := post(t, base+"/webhooks/github", sreq.Header, body); code != 200 {
		t.Fatalf("post: %d %s", code, b)
	}
	stop()

	base, stop = startDev(t, dir, nil)
	defer stop()
	raw2, _ := os.ReadFile(filepath.Join(dir, "secrets.json"))
	if !bytes.Equal(raw, raw2) {
		t.Fatal("secrets changed across a restart")
	}
	var list []eventlog.Summary
	getJSON(t, base+"/api/events", &list)
	if len(list) != 1 || list[0].EventID != "restart-1" {
		t.Fatalf("after restart: %+v", list)
	}
}

// waitFor polls url until check accepts the decoded JSON or the deadline.
func waitFor(t *testing.T, url string, check func(status int, body map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var last map[string]any
	for time.Now().Before(deadline) {
		var body map[string]any
		status := getJSON(t, url, &body)
		last = body
		if check(status, body) {
			return body
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s never matched; last: %v", url, last)
	return nil
}

func sendSample(t *testing.T, base, secret, provider, typ string, edit func([]byte) []byte) map[string]any {
	t.Helper()
	s, err := sample.Find(events.FS, provider, typ)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		s.Body = edit(s.Body)
	}
	req, err := sample.Sign(s, base+"/webhooks/"+provider, secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	code, b := post(t, req.URL, req.Header, req.Body)
	if code != 200 {
		t.Fatalf("%s %s: %d %s", provider, typ, code, b)
	}
	var reply map[string]any
	_ = json.Unmarshal(b, &reply)
	return reply
}

func TestDevServerRunsTheProcessors(t *testing.T) {
	dir := t.TempDir()
	const secret = "whsec_pipeline_test"
	base, stop := startDev(t, dir, map[string]string{"HOOKSTACK_SECRET_STRIPE": secret})
	defer stop()

	reply := sendSample(t, base, secret, "stripe", "payment_intent.succeeded", nil)
	pay := waitFor(t, base+"/api/payments/pi_3RZx5a2eZvKYlo2C0m8kQpLd", func(code int, b map[string]any) bool {
		return code == 200 && b["status"] == "succeeded"
	})
	if pay["currency"] == "" || pay["last_event_id"] != "evt_3RZx5a2eZvKYlo2C0sU3cC03" || pay["versions"] != nil {
		t.Fatalf("payment = %v", pay)
	}
	waitFor(t, base+"/api/events/"+reply["id"].(string), func(code int, b map[string]any) bool {
		return b["status"] == "processed" && b["receive_count"] == float64(1)
	})
	var notes []map[string]any
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		notes = nil
		getJSON(t, base+"/api/notifications?type=payment.succeeded", &notes)
		if len(notes) == 1 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(notes) != 1 || notes[0]["subject"] != "payment:pi_3RZx5a2eZvKYlo2C0m8kQpLd" {
		t.Fatalf("notifications = %v", notes)
	}

	// A handled type whose payload is malformed is dead-lettered with its reason.
	bad := sendSample(t, base, secret, "stripe", "payment_intent.succeeded", func(b []byte) []byte {
		return []byte(`{"id":"evt_bad_1","object":"event","type":"payment_intent.succeeded","created":1764417600,"data":{"object":{"id":12}}}`)
	})
	dead := waitFor(t, base+"/api/events/"+bad["id"].(string), func(code int, b map[string]any) bool {
		return b["status"] == "dead"
	})
	if r, _ := dead["reason"].(string); r == "" {
		t.Fatalf("dead without a reason: %v", dead)
	}
	var missing map[string]any
	if code := getJSON(t, base+"/api/payments/pi_nope", &missing); code != 404 {
		t.Fatalf("unknown payment = %d", code)
	}
}

// A message the pipeline processes with no receipt of its own (its send
// landed while ingest answered 503) still shows in the event log as itself.
func TestStatusTrackerFillsEntriesWithoutReceipt(t *testing.T) {
	events, err := eventlog.Open(filepath.Join(t.TempDir(), "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer events.Close()
	tr := statusTracker{events: events, log: slog.New(slog.NewJSONHandler(io.Discard, nil)), maxReceive: func(string) int { return 5 }}
	env := envelope.Envelope{V: envelope.Version, ID: "01JNORECEIPT", Provider: "stripe", EventID: "evt_orphan",
		Type: "payment_intent.succeeded", Queue: "payments", ReceivedAt: time.Now().UTC(), Body: []byte(`{"id":"evt_orphan"}`)}
	body, _ := envelope.Encode(env)
	tr.OnResult(runner.Result{Queue: "payments", Message: queue.Message{ID: "m1", Body: body, ReceiveCount: 1}, OK: true, ReceiveCount: 1})
	e, err := events.Get("01JNORECEIPT")
	if err != nil {
		t.Fatal(err)
	}
	if e.Provider != "stripe" || e.EventID != "evt_orphan" || e.Type != "payment_intent.succeeded" || e.Status != eventlog.StatusProcessed || e.Envelope == nil {
		t.Fatalf("entry = %+v", e)
	}
	if byProvider, err := events.Get("evt_orphan"); err != nil || byProvider.ID != e.ID {
		t.Fatalf("lookup by provider id = %+v, %v", byProvider, err)
	}
}
