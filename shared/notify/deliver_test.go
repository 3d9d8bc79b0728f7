package notify

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

type paymentData struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
	Customer string `json:"customer"`
}

var samplePayment = paymentData{ID: "pi_123", Status: "succeeded", Amount: 2000, Currency: "usd", Customer: "cus_9"}

func TestAttemptHTTPSuccess(t *testing.T) {
	secrets := []string{NewSecret(), NewSecret()}
	var got *http.Request
	var body []byte
	srv := server(t, func(w http.ResponseWriter, r *http.Request) {
		got = r
		body, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusNoContent)
	})
	ep := httpEndpoint(srv.URL+"/hooks?tenant=1", secrets...)
	ev := event(t, "payment.succeeded", samplePayment)
	d := delivery(ev, ep, 1)
	dl := testDeliverer(t)
	dl.Now = func() time.Time { return fixedNow }
	res := dl.Attempt(context.Background(), d, ep)
	if res.Outcome != Delivered || res.StatusCode != 204 || res.Reason != "" || res.Duration <= 0 {
		t.Fatalf("result = %+v", res)
	}
	if got.Method != http.MethodPost || got.URL.RequestURI() != "/hooks?tenant=1" {
		t.Errorf("request %s %s", got.Method, got.URL.RequestURI())
	}
	for h, want := range map[string]string{
		"Content-Type":      "application/json",
		"User-Agent":        "Hookstack/test",
		"Webhook-Id":        d.ID,
		"Webhook-Timestamp": strconv.FormatInt(fixedNow.Unix(), 10),
	} {
		if v := got.Header.Get(h); v != want {
			t.Errorf("%s = %q, want %q", h, v, want)
		}
	}
	if sigs := strings.Fields(got.Header.Get("Webhook-Signature")); len(sigs) != 2 || !strings.HasPrefix(sigs[0], "v1,") || !strings.HasPrefix(sigs[1], "v1,") {
		t.Errorf("webhook-signature %q: want two v1 signatures", got.Header.Get("Webhook-Signature"))
	}
	want := `{"type":"payment.succeeded","timestamp":"2026-11-29T17:59:00Z","data":{"id":"pi_123","status":"succeeded","amount":2000,"currency":"usd","customer":"cus_9"}}`
	if string(body) != want {
		t.Errorf("body\n got %s\nwant %s", body, want)
	}
	if !strings.HasPrefix(d.ID, "msg_") || len(d.ID) != 30 {
		t.Errorf("delivery id %q", d.ID)
	}
}

func TestAttemptOutcomes(t *testing.T) {
	type step struct {
		status     int
		header     map[string]string
		body       string
		outcome    Outcome
		reason     string
		delay      time.Duration
		retryAfter time.Duration
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"500 then 200", []step{
			{status: 500, body: "boom", outcome: Retry, reason: "HTTP 500", delay: 5 * time.Second},
			{status: 200, body: "ok", outcome: Delivered},
		}},
		{"429 with Retry-After seconds longer than the step", []step{
			{status: 429, header: map[string]string{"Retry-After": "120"}, outcome: Retry, reason: "HTTP 429", delay: 120 * time.Second, retryAfter: 120 * time.Second},
		}},
		{"503 with Retry-After date", []step{
			{status: 503, header: map[string]string{"Retry-After": fixedNow.Add(10 * time.Minute).Format(http.TimeFormat)}, outcome: Retry, reason: "HTTP 503", delay: 10 * time.Minute, retryAfter: 10 * time.Minute},
		}},
		{"429 with a Retry-After shorter than the step", []step{
			{status: 429, header: map[string]string{"Retry-After": "1"}, outcome: Retry, reason: "HTTP 429", delay: 5 * time.Second, retryAfter: time.Second},
		}},
		{"429 with Retry-After beyond 12h is capped", []step{
			{status: 429, header: map[string]string{"Retry-After": "172800"}, outcome: Retry, reason: "HTTP 429", delay: 12 * time.Hour, retryAfter: 12 * time.Hour},
		}},
		{"408", []step{{status: 408, outcome: Retry, reason: "HTTP 408", delay: 5 * time.Second}}},
		{"410 disables", []step{{status: 410, outcome: Disable, reason: ReasonGone}}},
		{"400 is permanent", []step{{status: 400, body: `{"error":"bad"}`, outcome: Permanent, reason: "HTTP 400"}}},
		{"401 is permanent", []step{{status: 401, outcome: Permanent, reason: "HTTP 401"}}},
		{"404 is permanent", []step{{status: 404, outcome: Permanent, reason: "HTTP 404"}}},
		{"302 is permanent, not followed", []step{{status: 302, header: map[string]string{"Location": "/elsewhere"}, outcome: Permanent, reason: ReasonRedirect}}},
		{"301 is permanent", []step{{status: 301, header: map[string]string{"Location": "https://example.com/"}, outcome: Permanent, reason: ReasonRedirect}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n, elsewhere atomic.Int32
			srv := server(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/elsewhere" {
					elsewhere.Add(1)
					return
				}
				s := tt.steps[min(int(n.Add(1))-1, len(tt.steps)-1)]
				for k, v := range s.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(s.status)
				io.WriteString(w, s.body)
			})
			ep := httpEndpoint(srv.URL+"/hook", NewSecret())
			dl := testDeliverer(t)
			dl.Now = func() time.Time { return fixedNow }
			for i, s := range tt.steps {
				res := dl.Attempt(context.Background(), delivery(event(t, "payment.failed", samplePayment), ep, i+1), ep)
				if res.Outcome != s.outcome || res.Reason != s.reason || res.StatusCode != s.status || res.Delay != s.delay || res.RetryAfter != s.retryAfter {
					t.Fatalf("attempt %d = %+v\nwant outcome %v reason %q status %d delay %s retry-after %s", i+1, res, s.outcome, s.reason, s.status, s.delay, s.retryAfter)
				}
				if res.ResponseSnippet != s.body {
					t.Errorf("snippet %q, want %q", res.ResponseSnippet, s.body)
				}
				if s.outcome == Retry && !res.NextAttemptAt.Equal(fixedNow.Add(s.delay)) {
					t.Errorf("next attempt at %s, want %s", res.NextAttemptAt, fixedNow.Add(s.delay))
				}
			}
			if elsewhere.Load() != 0 {
				t.Error("redirect followed")
			}
		})
	}
}

func TestAttemptRetriesExhausted(t *testing.T) {
	srv := server(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(502) })
	ep := httpEndpoint(srv.URL, NewSecret())
	dl := testDeliverer(t)
	dl.Schedule = Schedule{time.Second, 2 * time.Second}
	ev := event(t, "payment.failed", samplePayment)
	for attempt, want := range map[int]Outcome{1: Retry, 2: Retry, 3: Permanent} {
		res := dl.Attempt(context.Background(), delivery(ev, ep, attempt), ep)
		if res.Outcome != want {
			t.Fatalf("attempt %d: %+v, want %v", attempt, res, want)
		}
		if want == Permanent && (res.Reason != ReasonExhausted || !strings.Contains(res.Error, "after 3 attempts; last: HTTP 502")) {
			t.Errorf("exhausted result %+v", res)
		}
	}
}

func TestAttemptTimeouts(t *testing.T) {
	t.Run("hang past the timeout", func(t *testing.T) {
		srv := server(t, func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body) // lets the server notice the client leaving
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		})
		dl := testDeliverer(t)
		dl.Timeout = 300 * time.Millisecond
		ep := httpEndpoint(srv.URL, NewSecret())
		start := time.Now()
		res := dl.Attempt(context.Background(), delivery(event(t, "payment.failed", samplePayment), ep, 1), ep)
		if el := time.Since(start); el > 2*time.Second {
			t.Errorf("attempt took %s with a 300ms timeout", el)
		}
		if res.Outcome != Retry || res.Reason != ReasonTimeout || res.StatusCode != 0 || res.Delay != 5*time.Second {
			t.Errorf("result %+v", res)
		}
	})
	t.Run("slow drip body", func(t *testing.T) {
		srv := server(t, func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.WriteHeader(200)
			for i := 0; i < 200; i++ {
				if _, err := io.WriteString(w, "x"); err != nil {
					return
				}
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
		})
		dl := testDeliverer(t)
		dl.Timeout, dl.BodyWait = 5*time.Second, 300*time.Millisecond
		ep := httpEndpoint(srv.URL, NewSecret())
		start := time.Now()
		res := dl.Attempt(context.Background(), delivery(event(t, "payment.failed", samplePayment), ep, 1), ep)
		if el := time.Since(start); el > 2*time.Second {
			t.Errorf("slow drip held the attempt for %s (body wait 300ms, drip 10s)", el)
		}
		if res.Outcome != Delivered || res.StatusCode != 200 || len(res.ResponseSnippet) == 0 || len(res.ResponseSnippet) >= 200 {
			t.Errorf("result %+v", res)
		}
	})
	t.Run("slow drip never passes the timeout", func(t *testing.T) {
		srv := server(t, func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.WriteHeader(500)
			for {
				if _, err := io.WriteString(w, "x"); err != nil {
					return
				}
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		})
		dl := testDeliverer(t)
		dl.Timeout, dl.BodyWait = 400*time.Millisecond, time.Hour
		ep := httpEndpoint(srv.URL, NewSecret())
		start := time.Now()
		res := dl.Attempt(context.Background(), delivery(event(t, "payment.failed", samplePayment), ep, 1), ep)
		if el := time.Since(start); el > 2*time.Second {
			t.Errorf("attempt took %s with a 400ms timeout", el)
		}
		if res.Outcome != Retry || res.StatusCode != 500 {
			t.Errorf("result %+v", res)
		}
	})
}

func TestAttemptResponseSnippetCapped(t *testing.T) {
	srv := server(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(400)
		io.WriteString(w, "x"+strings.Repeat("é", 4096)) // 8 KB, a two-byte rune across the 1 KB cut
	})
	ep := httpEndpoint(srv.URL, NewSecret())
	res := testDeliverer(t).Attempt(context.Background(), delivery(event(t, "payment.failed", samplePayment), ep, 1), ep)
	if len(res.ResponseSnippet) > SnippetBytes+3 || len(res.ResponseSnippet) < SnippetBytes-3 || !json.Valid(mustJSON(t, res.ResponseSnippet)) {
		t.Errorf("snippet of %d bytes", len(res.ResponseSnippet))
	}
	want := "x" + strings.Repeat("é", (SnippetBytes-1)/2) + "\uFFFD" // the cut half rune is replaced
	if res.ResponseSnippet != want {
		t.Errorf("snippet %q…, want %q…", res.ResponseSnippet[:16], want[:16])
	}
}

func TestAttemptConnectionErrors(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := l.Addr().String()
	l.Close()
	ev := event(t, "payment.failed", samplePayment)
	t.Run("connection refused retries", func(t *testing.T) {
		ep := httpEndpoint("http://"+closedAddr+"/", NewSecret())
		res := testDeliverer(t).Attempt(context.Background(), delivery(ev, ep, 1), ep)
		if res.Outcome != Retry || res.Reason != ReasonConnect || strings.Contains(res.Error, closedAddr+"/") {
			t.Errorf("result %+v", res)
		}
	})
	t.Run("loopback blocked without the dev guard", func(t *testing.T) {
		hit := false
		srv := server(t, func(http.ResponseWriter, *http.Request) { hit = true })
		ep := httpEndpoint(srv.URL, NewSecret())
		dl := testDeliverer(t)
		dl.Client = NewClient(&Guard{}, nil)
		res := dl.Attempt(context.Background(), delivery(ev, ep, 1), ep)
		if res.Outcome != Permanent || res.Reason != ReasonBlocked || hit {
			t.Errorf("result %+v, server hit %v", res, hit)
		}
	})
	t.Run("default client blocks loopback", func(t *testing.T) {
		srv := server(t, func(http.ResponseWriter, *http.Request) {})
		ep := httpEndpoint(srv.URL, NewSecret())
		res := (&Deliverer{}).Attempt(context.Background(), delivery(ev, ep, 1), ep)
		if res.Outcome != Permanent || res.Reason != ReasonBlocked {
			t.Errorf("result %+v", res)
		}
	})
	t.Run("no valid secret is permanent", func(t *testing.T) {
		srv := server(t, func(http.ResponseWriter, *http.Request) { t.Error("request sent without a signature") })
		ep := httpEndpoint(srv.URL, "whsec_???")
		res := testDeliverer(t).Attempt(context.Background(), delivery(ev, ep, 1), ep)
		if res.Outcome != Permanent || !strings.Contains(res.Error, ErrNoSigningSecret.Error()) {
			t.Errorf("result %+v", res)
		}
	})
	t.Run("unknown endpoint type is permanent", func(t *testing.T) {
		ep := Endpoint{ID: "x", Type: "sms", URL: "http://127.0.0.1:1/", Events: []string{"*"}, Enabled: true}
		if res := testDeliverer(t).Attempt(context.Background(), delivery(ev, ep, 1), ep); res.Outcome != Permanent {
			t.Errorf("result %+v", res)
		}
	})
}

func TestPayloadEdges(t *testing.T) {
	ev := event(t, "github.push", nil)
	ev.OccurredAt = time.Time{}
	d := Delivery{ID: "msg_x", Event: ev, FirstAttemptAt: fixedNow}
	b, err := Payload(d)
	if err != nil || string(b) != `{"type":"github.push","timestamp":"2026-11-29T18:00:00Z","data":{}}` {
		t.Errorf("Payload = %s, %v", b, err)
	}
	ev.Data = json.RawMessage(`{"html":"<b>&</b>"}`) // a raw forward's body, as received
	b, _ = Payload(Delivery{Event: ev})
	if !strings.Contains(string(b), `"html":"<b>&</b>"`) {
		t.Errorf("data re-escaped: %s", b)
	}
}
