package devserver

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookstack/hookstack/shared/signature"
)

// sink is a local receiver that verifies Standard Webhooks signatures with
// the endpoint's secret and fails its first `fail` requests.
type sink struct {
	mu       sync.Mutex
	secret   string
	fail     int
	calls    int
	received []map[string]any
	ids      []string
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.calls <= s.fail {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	v, _, _ := signature.For("standard", signature.Options{})
	req := &signature.Request{Method: r.Method, Header: r.Header, Body: body}
	if err := v.Verify(req, []string{s.secret}, time.Now()); err != nil {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	s.received = append(s.received, m)
	s.ids = append(s.ids, r.Header.Get("Webhook-Id"))
}

func (s *sink) snapshot() (calls int, received []map[string]any, ids []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls, append([]map[string]any(nil), s.received...), append([]string(nil), s.ids...)
}

func postAPI(t *testing.T, url string, v any) (int, map[string]any) {
	t.Helper()
	raw, _ := json.Marshal(v)
	resp, err := http.Post(url, "application/json", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func eventually(t *testing.T, what string, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if ok() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestDevServerDeliversPaymentToEndpoint(t *testing.T) {
	dir := t.TempDir()
	const secret = "whsec_outbound_test"
	base, stop := startDev(t, dir, map[string]string{"HOOKSTACK_SECRET_STRIPE": secret, "HOOKSTACK_RETRY_SCHEDULE": "1s,1s"})
	defer stop()

	// A sink failing more times than the schedule allows: retries, then DLQ.
	sk := &sink{fail: 3}
	srv := httptest.NewServer(sk)
	defer srv.Close()
	code, ep := postAPI(t, base+"/api/endpoints", map[string]any{"type": "http", "url": srv.URL + "/hooks", "events": []string{"payment.*"}})
	if code != 201 || ep["id"] == "" {
		t.Fatalf("add endpoint = %d %v", code, ep)
	}
	secrets, _ := ep["secrets"].([]any)
	if len(secrets) != 1 || !strings.HasPrefix(secrets[0].(string), "whsec_") {
		t.Fatalf("the new endpoint's secret must be shown once: %v", ep)
	}
	sk.mu.Lock()
	sk.secret = secrets[0].(string)
	sk.mu.Unlock()
	var listed []map[string]any
	getJSON(t, base+"/api/endpoints", &listed)
	if len(listed) != 1 || strings.Contains(func() string { b, _ := json.Marshal(listed); return string(b) }(), sk.secret) {
		t.Fatalf("endpoints list must redact secrets: %v", listed)
	}

	sendSample(t, base, secret, "stripe", "payment_intent.succeeded", nil)

	// 1 + 2 attempts, all failing → the delivery is dead-lettered with its reason.
	var dead []map[string]any
	eventually(t, "the delivery in the DLQ", 20*time.Second, func() bool {
		dead = nil
		getJSON(t, base+"/api/dlq?queue=deliveries", &dead)
		return len(dead) == 1
	})
	if r, _ := dead[0]["reason"].(string); !strings.Contains(r, "retries exhausted") || dead[0]["endpoint_id"] != ep["id"] || dead[0]["event_type"] != "payment.succeeded" {
		t.Fatalf("dead delivery = %v", dead[0])
	}
	if calls, _, _ := sk.snapshot(); calls != 3 {
		t.Fatalf("attempts = %d, want 3", calls)
	}
	var attempts []map[string]any
	getJSON(t, base+"/api/deliveries?endpoint_id="+ep["id"].(string), &attempts)
	if len(attempts) != 3 || attempts[0]["status_code"] != float64(500) {
		t.Fatalf("delivery log = %v", attempts)
	}

	// The endpoint recovers; redrive: delivered exactly once, signed.
	code, moved := postAPI(t, base+"/api/dlq/redrive", map[string]string{"queue": "deliveries-dlq"})
	if code != 200 || moved["moved"] != float64(1) {
		t.Fatalf("redrive = %d %v", code, moved)
	}
	eventually(t, "the redriven delivery", 15*time.Second, func() bool {
		_, got, _ := sk.snapshot()
		return len(got) == 1
	})
	time.Sleep(1500 * time.Millisecond) // nothing more arrives
	_, got, ids := sk.snapshot()
	if len(got) != 1 || got[0]["type"] != "payment.succeeded" || ids[0] == "" {
		t.Fatalf("received = %v %v", got, ids)
	}
	dead = nil
	getJSON(t, base+"/api/dlq", &dead)
	if len(dead) != 0 {
		t.Fatalf("DLQ after redrive = %v", dead)
	}
}

func TestDevServerEndpointManagement(t *testing.T) {
	base, stop := startDev(t, t.TempDir(), nil)
	defer stop()
	for _, bad := range []map[string]any{
		{"type": "http", "url": "http://169.254.169.254/latest/meta-data"},
		{"type": "http", "url": "file:///etc/passwd"},
		{"type": "carrier-pigeon", "url": "https://example.com"},
	} {
		if code, body := postAPI(t, base+"/api/endpoints", bad); code != 400 || body["error"] == "" {
			t.Errorf("%v: %d %v", bad, code, body)
		}
	}
	code, ep := postAPI(t, base+"/api/endpoints", map[string]any{"url": "https://hooks.example.com/x", "events": []string{"lead.*"}})
	if code != 201 {
		t.Fatalf("add = %d %v", code, ep)
	}
	id := ep["id"].(string)
	code, rot := postAPI(t, base+"/api/endpoints/"+id+"/rotate-secret", nil)
	if code != 200 || rot["secret"] == ep["secrets"].([]any)[0] {
		t.Fatalf("rotate = %d %v", code, rot)
	}
	code, dis := postAPI(t, base+"/api/endpoints/"+id+"/disable", nil)
	if code != 200 || dis["enabled"] != false {
		t.Fatalf("disable = %d %v", code, dis)
	}
	req, _ := http.NewRequest(http.MethodDelete, base+"/api/endpoints/"+id, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 204 {
		t.Fatalf("delete = %v %v", resp, err)
	}
	var missing map[string]any
	if code := getJSON(t, base+"/api/endpoints/"+id, &missing); code != 404 {
		t.Fatalf("after delete = %d", code)
	}
	if code, _ := postAPI(t, base+"/api/dlq/redrive", map[string]string{"queue": "nope"}); code != 404 {
		t.Fatalf("redrive unknown queue = %d", code)
	}
}
