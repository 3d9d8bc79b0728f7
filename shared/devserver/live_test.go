package devserver

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookstack/hookstack/shared/eventlog"
)

// sseClient reads /api/stream messages into a channel.
type sseMessage struct{ event, data string }

func openStream(t *testing.T, url string) (<-chan sseMessage, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		cancel()
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	ch := make(chan sseMessage, 100)
	go func() {
		defer close(ch)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var m sseMessage
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if m.event != "" || m.data != "" {
					ch <- m
				}
				m = sseMessage{}
			case strings.HasPrefix(line, "event: "):
				m.event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				m.data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	select {
	case m := <-ch:
		if m.event != "hello" {
			t.Fatalf("first message = %+v, want hello", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no hello on the stream")
	}
	return ch, cancel
}

// nextEvent waits for a stream summary that check accepts.
func nextEvent(t *testing.T, ch <-chan sseMessage, check func(eventlog.Summary) bool) eventlog.Summary {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case m, ok := <-ch:
			if !ok {
				t.Fatal("stream ended")
			}
			if m.event != "event" {
				continue
			}
			var s eventlog.Summary
			if err := json.Unmarshal([]byte(m.data), &s); err != nil {
				t.Fatalf("stream data %q: %v", m.data, err)
			}
			if check(s) {
				return s
			}
		case <-timeout:
			t.Fatal("the awaited event never came on the stream")
		}
	}
}

func postJSON(t *testing.T, url, body string) (int, map[string]any) {
	t.Helper()
	code, b := post(t, url, http.Header{"Content-Type": {"application/json"}}, []byte(body))
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("POST %s: %d %s", url, code, b)
	}
	return code, out
}

func TestStreamFollowsTheEventLog(t *testing.T) {
	const secret = "whsec_stream_test"
	base, stop := startDev(t, t.TempDir(), map[string]string{"HOOKSTACK_SECRET_STRIPE": secret})
	defer stop()

	all, cancelAll := openStream(t, base+"/api/stream")
	defer cancelAll()
	onlyGithub, cancelGithub := openStream(t, base+"/api/stream?provider=github")
	defer cancelGithub()

	reply := sendSample(t, base, secret, "stripe", "payment_intent.succeeded", nil)
	id := reply["id"].(string)
	queued := nextEvent(t, all, func(s eventlog.Summary) bool { return s.ID == id })
	if queued.Provider != "stripe" || queued.Type != "payment_intent.succeeded" || queued.EventID == "" {
		t.Fatalf("streamed %+v", queued)
	}
	// The status change from the pipeline comes on the stream too (or
	// already came, when the pipeline beat ingest's record).
	if queued.Status != eventlog.StatusProcessed {
		nextEvent(t, all, func(s eventlog.Summary) bool { return s.ID == id && s.Status == eventlog.StatusProcessed })
	}

	// A rejected request, with its reason.
	code, _ := post(t, base+"/webhooks/stripe", http.Header{"Stripe-Signature": {"t=1,v1=00"}, "Content-Type": {"application/json"}}, []byte(`{"id":"evt_x"}`))
	if code != 401 {
		t.Fatalf("bad signature: %d", code)
	}
	rej := nextEvent(t, all, func(s eventlog.Summary) bool { return s.Status == eventlog.StatusRejected })
	if rej.Reason == "" || rej.HTTPStatus != 401 {
		t.Fatalf("rejected %+v", rej)
	}

	// The github-only stream saw none of that.
	select {
	case m := <-onlyGithub:
		t.Fatalf("provider filter let through %+v", m)
	case <-time.After(200 * time.Millisecond):
	}
}

func TestStreamEndsWhenTheServerStops(t *testing.T) {
	base, stop := startDev(t, t.TempDir(), nil)
	ch, cancel := openStream(t, base+"/api/stream")
	defer cancel()
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(8 * time.Second):
		t.Fatal("the dev server did not stop with a stream open")
	}
	for range ch { // drained: the stream was closed
	}
}

func TestReplay(t *testing.T) {
	const secret = "whsec_replay_test"
	base, stop := startDev(t, t.TempDir(), map[string]string{"HOOKSTACK_SECRET_STRIPE": secret})
	defer stop()

	// A malformed-but-signed event goes dead; replaying it sends it again
	// and it goes dead again, with a fresh receive count.
	bad := sendSample(t, base, secret, "stripe", "payment_intent.succeeded", func([]byte) []byte {
		return []byte(`{"id":"evt_replay_bad","object":"event","type":"payment_intent.succeeded","created":1764417600,"data":{"object":{"id":12}}}`)
	})
	id := bad["id"].(string)
	waitFor(t, base+"/api/events/"+id, func(_ int, b map[string]any) bool { return b["status"] == "dead" })

	stream, cancel := openStream(t, base+"/api/stream")
	defer cancel()
	code, res := postJSON(t, base+"/api/events/evt_replay_bad/replay", "") // by the provider's id
	if code != http.StatusAccepted || res["id"] != id || res["queue"] != "payments" || res["message_id"] == "" || res["event_id"] != "evt_replay_bad" {
		t.Fatalf("replay = %d %v", code, res)
	}
	nextEvent(t, stream, func(s eventlog.Summary) bool { return s.ID == id && s.Status == eventlog.StatusQueued })
	nextEvent(t, stream, func(s eventlog.Summary) bool { return s.ID == id && s.Status == eventlog.StatusDead })

	// A good one is processed again (the processors are idempotent).
	good := sendSample(t, base, secret, "stripe", "payment_intent.succeeded", nil)
	gid := good["id"].(string)
	waitFor(t, base+"/api/events/"+gid, func(_ int, b map[string]any) bool { return b["status"] == "processed" })
	if code, res := postJSON(t, base+"/api/events/"+gid+"/replay", ""); code != http.StatusAccepted || res["id"] != gid {
		t.Fatalf("replay = %d %v", code, res)
	}
	waitFor(t, base+"/api/events/"+gid, func(_ int, b map[string]any) bool {
		return b["status"] == "processed" && b["receive_count"] == float64(1)
	})

	t.Run("unknown id", func(t *testing.T) {
		code, res := postJSON(t, base+"/api/events/nope/replay", "")
		if code != 404 || !strings.Contains(res["error"].(string), "nope") {
			t.Fatalf("= %d %v", code, res)
		}
	})
	t.Run("rejected request", func(t *testing.T) {
		post(t, base+"/webhooks/stripe", http.Header{"Stripe-Signature": {"t=1,v1=00"}}, []byte(`{}`))
		var list []eventlog.Summary
		getJSON(t, base+"/api/events?status=rejected", &list)
		if len(list) == 0 {
			t.Fatal("no rejected entry")
		}
		code, res := postJSON(t, base+"/api/events/"+list[0].ID+"/replay", "")
		if code != http.StatusConflict || !strings.Contains(res["error"].(string), "nothing to replay") {
			t.Fatalf("= %d %v", code, res)
		}
	})
}

func TestSamplesAndSend(t *testing.T) {
	base, stop := startDev(t, t.TempDir(), nil) // generated secrets
	defer stop()

	var list []map[string]string
	if code := getJSON(t, base+"/api/samples", &list); code != 200 || len(list) < 20 {
		t.Fatalf("samples = %d, %d items", code, len(list))
	}
	have := map[string]bool{}
	for _, s := range list {
		have[s["provider"]+" "+s["event"]] = true
	}
	for _, want := range []string{"stripe payment_intent.succeeded", "shopify inventory_levels/update", "twilio message.status", "trello updateCard"} {
		if !have[want] {
			t.Errorf("samples lack %s", want)
		}
	}

	tests := []struct{ provider, typ, recorded string }{
		{"stripe", "payment_intent.succeeded", "payment_intent.succeeded"},
		{"shopify", "inventory_levels/update", "inventory_levels/update"},
		{"github", "push", "push"},
		{"trello", "updateCard", "updateCard"},         // signs the URL
		{"twilio", "message.status", "message.status"}, // signs the URL
		{"salesforce", "lead", "lead"},
		{"slack", "url_verification", "handshake"},
	}
	for _, tt := range tests {
		t.Run(tt.provider+"/"+tt.typ, func(t *testing.T) {
			body, _ := json.Marshal(map[string]string{"provider": tt.provider, "type": tt.typ})
			code, res := postJSON(t, base+"/api/samples/send", string(body))
			if code != 200 || res["ok"] != true || res["status"] != float64(200) {
				t.Fatalf("send = %d %v", code, res)
			}
			var events []eventlog.Summary
			getJSON(t, base+"/api/events?provider="+tt.provider, &events)
			if len(events) == 0 || events[0].Type != tt.recorded || events[0].Status == eventlog.StatusRejected {
				t.Fatalf("recorded %+v", events)
			}
		})
	}
	t.Run("unknown sample", func(t *testing.T) {
		code, res := postJSON(t, base+"/api/samples/send", `{"provider":"stripe","type":"nope"}`)
		if code != 404 || !strings.Contains(res["error"].(string), "payment_intent.succeeded") {
			t.Fatalf("= %d %v", code, res)
		}
	})
	t.Run("bad request", func(t *testing.T) {
		if code, _ := postJSON(t, base+"/api/samples/send", `{"provider":"stripe"}`); code != 400 {
			t.Fatalf("= %d", code)
		}
	})
}

func TestAssets(t *testing.T) {
	base, stop := startDev(t, t.TempDir(), nil)
	defer stop()
	tests := []struct {
		path, ctype, contains string
		code                  int
	}{
		{"/", "text/html", `src="/assets/app.js"`, 200},
		{"/assets/app.js", "javascript", "EventSource", 200},
		{"/assets/app.css", "text/css", ".detail", 200},
		{"/assets/nope.js", "", "", 404},
		{"/assets/..%2fassets.go", "", "", 404},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, err := http.Get(base + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.code || !strings.Contains(resp.Header.Get("Content-Type"), tt.ctype) || !strings.Contains(string(b), tt.contains) {
				t.Fatalf("= %d %q %.80q", resp.StatusCode, resp.Header.Get("Content-Type"), b)
			}
		})
	}
}
