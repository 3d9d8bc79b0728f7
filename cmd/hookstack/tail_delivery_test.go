package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookstack/hookstack/shared/process"
	"github.com/hookstack/hookstack/shared/stack"
)

// Delivery attempts as the dev server's stream sends them ("event:
// delivery", data an item of GET /api/deliveries, i.e. a notify.Attempt).
var (
	attemptAt   = time.Date(2026, 11, 30, 12, 0, 1, 0, time.UTC)
	retryJSON   = `{"delivery_id":"dl_1","notification_id":"evt_1","event_type":"payment.succeeded","endpoint_id":"ep_01jx","attempt":1,"outcome":"retry","status_code":503,"duration_ms":12,"reason":"server error","response":"busy","attempted_at":"2026-11-30T12:00:01Z","next_attempt_at":"2026-11-30T12:00:31Z","expires_at":"2026-12-30T12:00:01Z"}`
	deliverJSON = `{"delivery_id":"dl_1","notification_id":"evt_1","event_type":"payment.succeeded","endpoint_id":"ep_01jx","attempt":2,"outcome":"delivered","status_code":200,"duration_ms":8,"attempted_at":"2026-11-30T12:00:31Z","expires_at":"2026-12-30T12:00:31Z"}`
	otherJSON   = `{"delivery_id":"dl_2","notification_id":"evt_2","event_type":"lead.created","endpoint_id":"ep_02ab","attempt":5,"outcome":"failed","status_code":400,"reason":"client error","error":"bad request","attempted_at":"2026-11-30T12:00:02Z"}`
	eventJSON   = `{"id":"01JX","provider":"stripe","event_id":"evt_1","type":"payment_intent.succeeded","queue":"payments","received_at":"2026-11-30T12:00:00Z","status":"processed","http_status":200}`
)

// fakeStream is a dev server whose /api/stream sends messages and ends,
// and whose /api/events and /api/deliveries list history.
type fakeStream struct {
	messages        string
	events, history string
	mu              sync.Mutex
	queries         []string
}

func (f *fakeStream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.queries = append(f.queries, r.URL.Path+"?"+r.URL.RawQuery)
	f.mu.Unlock()
	switch r.URL.Path {
	case "/api/stream":
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = fmt.Fprint(w, "event: hello\ndata: {}\n\n"+f.messages)
	case "/api/events":
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprint(w, f.events)
	case "/api/deliveries":
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprint(w, f.history)
	default:
		http.NotFound(w, r)
	}
}

func sse(event, data string) string { return "event: " + event + "\ndata: " + data + "\n\n" }

// runTailOn runs tail in this process against a fake stream until the
// stream ends, and returns what it printed.
func runTailOn(t *testing.T, f *fakeStream, args ...string) (stdout string) {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	out, errOut, err := execute(t, map[string]string{"HOOKSTACK_DEV_URL": srv.URL}, "", append([]string{"tail"}, args...)...)
	if err == nil || !strings.Contains(err.Error(), "closed the stream") {
		t.Fatalf("tail: %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
	return out
}

func TestTailDeliveries(t *testing.T) {
	stream := sse("event", eventJSON) + sse("delivery", retryJSON) + sse("delivery", otherJSON) +
		sse("delivery", `{"not":"an attempt"}`) + sse("delivery", deliverJSON) + sse("other", "{}")
	local := func(s string) string {
		at, _ := time.Parse(time.RFC3339, s)
		return at.Local().Format("15:04:05")
	}
	tests := []struct {
		name string
		args []string
		want []string // the lines, as fields joined by one space
	}{
		{"text: event and delivery lines in the same columns", nil, []string{
			local("2026-11-30T12:00:00Z") + ".000 stripe payment_intent.succeeded evt_1 processed",
			local("2026-11-30T12:00:01Z") + ".000 delivery payment.succeeded ep_01jx retry (503) attempt 1 next " + local("2026-11-30T12:00:31Z") + " server error",
			local("2026-11-30T12:00:02Z") + ".000 delivery lead.created ep_02ab failed (400) attempt 5 client error: bad request",
			local("2026-11-30T12:00:31Z") + ".000 delivery payment.succeeded ep_01jx delivered (200) attempt 2",
		}},
		{"--type applies to a delivery's event type", []string{"--type", "lead.created"}, []string{
			local("2026-11-30T12:00:02Z") + ".000 delivery lead.created ep_02ab failed (400) attempt 5 client error: bad request",
		}},
		{"--provider shows no deliveries", []string{"--provider", "stripe"}, []string{
			local("2026-11-30T12:00:00Z") + ".000 stripe payment_intent.succeeded evt_1 processed",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := runTailOn(t, &fakeStream{messages: stream}, tt.args...)
			var got []string
			for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
				if l != "" {
					got = append(got, strings.Join(strings.Fields(l), " "))
				}
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("printed:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}

	t.Run("the columns line up", func(t *testing.T) {
		lines := strings.Split(runTailOn(t, &fakeStream{messages: stream}), "\n")
		col := func(l, field string) int { return strings.Index(l, field) }
		if col(lines[0], "payment_intent.succeeded") != col(lines[1], "payment.succeeded") || col(lines[0], "evt_1") != col(lines[1], "ep_01jx") ||
			col(lines[0], "processed") != col(lines[1], "retry") {
			t.Fatalf("columns differ:\n%s\n%s", lines[0], lines[1])
		}
	})

	t.Run("json: the server's object with a kind", func(t *testing.T) {
		out := runTailOn(t, &fakeStream{messages: stream}, "--json")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 4 {
			t.Fatalf("lines:\n%s", out)
		}
		var ev map[string]any
		if json.Unmarshal([]byte(lines[0]), &ev) != nil || ev["kind"] != "event" || ev["event_id"] != "evt_1" || !strings.HasPrefix(lines[0], `{"kind":"event",`) {
			t.Fatalf("event line %s", lines[0])
		}
		var d map[string]any
		if err := json.Unmarshal([]byte(lines[1]), &d); err != nil || !strings.HasPrefix(lines[1], `{"kind":"delivery",`) {
			t.Fatalf("delivery line %s: %v", lines[1], err)
		}
		var want map[string]any
		_ = json.Unmarshal([]byte(retryJSON), &want)
		want["kind"] = "delivery"
		if fmt.Sprint(d) != fmt.Sprint(want) {
			t.Fatalf("delivery line %v\nwant the attempt as sent, with kind: %v", d, want)
		}
	})

	t.Run("--since merges the delivery history by time", func(t *testing.T) {
		now := time.Now().UTC()
		at := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339Nano) }
		f := &fakeStream{
			events: `[{"id":"2","provider":"stripe","event_id":"evt_new","type":"invoice.paid","received_at":"` + at(-time.Minute) + `","status":"processed"},` +
				`{"id":"1","provider":"stripe","event_id":"evt_old","type":"invoice.paid","received_at":"` + at(-3*time.Minute) + `","status":"processed"},` +
				`{"id":"0","provider":"stripe","event_id":"evt_too_old","type":"invoice.paid","received_at":"` + at(-2*time.Hour) + `","status":"processed"}]`,
			history: `[{"delivery_id":"dl_9","event_type":"invoice.paid","endpoint_id":"ep_9","attempt":1,"outcome":"delivered","status_code":204,"attempted_at":"` + at(-2*time.Minute) + `"},` +
				`{"delivery_id":"dl_8","event_type":"invoice.paid","endpoint_id":"ep_9","attempt":1,"outcome":"delivered","status_code":204,"attempted_at":"` + at(-3*time.Hour) + `"}]`,
		}
		out := runTailOn(t, f, "--since", "1h", "--json")
		var order []string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("not JSON: %s", l)
			}
			order = append(order, fmt.Sprint(m["kind"], ":", m["event_id"], m["delivery_id"]))
		}
		if want := "event:evt_old<nil> delivery:<nil>dl_9 event:evt_new<nil>"; strings.Join(order, " ") != want {
			t.Fatalf("printed %v, want %s", order, want)
		}
	})

	t.Run("the stream is not narrowed by --type", func(t *testing.T) {
		f := &fakeStream{messages: stream}
		runTailOn(t, f, "--type", "payment.succeeded", "--provider", "stripe")
		for _, q := range f.queries {
			if strings.HasPrefix(q, "/api/stream?") && (strings.Contains(q, "type=") || !strings.Contains(q, "provider=stripe")) {
				t.Fatalf("stream query %s", q)
			}
		}
	})
}

func TestDeliveryText(t *testing.T) {
	at := time.Date(2026, 11, 30, 12, 0, 1, 0, time.UTC)
	tests := []struct {
		name string
		d    tailDelivery
		want string
	}{
		{"dropped, no status", tailDelivery{EndpointID: "ep_1", EventType: "lead.created", Outcome: "dropped", Reason: "endpoint removed", AttemptedAt: at},
			"delivery lead.created ep_1 dropped endpoint removed"},
		{"multi-line error on one line", tailDelivery{EndpointID: "ep_1", Outcome: "retry", Attempt: 3, Error: "dial tcp:\n refused", AttemptedAt: at},
			"delivery - ep_1 retry attempt 3 dial tcp: refused"},
		{"same reason and error once", tailDelivery{EndpointID: "ep_1", Outcome: "failed", Reason: "x", Error: "x", AttemptedAt: at}, "delivery - ep_1 failed x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := strings.Fields(deliveryText(tt.d))
			if got := strings.Join(f[1:], " "); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWithKind(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"object", `{"a": 1}`, `{"kind":"delivery","a":1}`},
		{"empty object", `{}`, `{"kind":"delivery"}`},
		{"multi-line", "{\n\"a\":\n[1, 2]\n}", `{"kind":"delivery","a":[1,2]}`},
		{"has a kind already", `{"kind":"x","a":1}`, `{"kind":"x","a":1}`},
		{"not an object", `[1]`, `{"kind":"delivery","data":[1]}`},
		{"not JSON", `{`, `{"kind":"delivery"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(withKind(kindDelivery, []byte(tt.in)))
			if got != tt.want || !json.Valid([]byte(got)) {
				t.Fatalf("withKind(%s) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzWithKind(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{}`, `[]`, `{"kind":1}`, `"x"`, `{`, ``, ` { } `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out := withKind(kindEvent, in)
		var m map[string]json.RawMessage
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("withKind(%q) = %q: not a JSON object: %v", in, out, err)
		}
		if _, ok := m["kind"]; !ok {
			t.Fatalf("withKind(%q) = %q: no kind", in, out)
		}
	})
}

// The deliverer's line per attempt (shared/notify DeliverHandler, through
// lambdacontext's JSON logger) becomes a delivery line.
func TestTailDeliveryFromLog(t *testing.T) {
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		line string
		want *tailDelivery
	}{
		{"delivered", `{"timestamp":"x","level":"INFO","message":"delivered","requestId":"r","delivery_id":"dl_1","endpoint_id":"ep_1","event_type":"payment.succeeded","attempt":1,"status":200,"duration_ms":31,"_aws":{"Timestamp":1}}`,
			&tailDelivery{DeliveryID: "dl_1", EndpointID: "ep_1", EventType: "payment.succeeded", Attempt: 1, Outcome: "delivered", StatusCode: 200, DurationMS: 31, AttemptedAt: at}},
		{"retry with its next attempt", `{"message":"retry scheduled","delivery_id":"dl_1","endpoint_id":"ep_1","event_type":"payment.succeeded","attempt":2,"reason":"HTTP 503","delay":"1m30s"}`,
			&tailDelivery{DeliveryID: "dl_1", EndpointID: "ep_1", EventType: "payment.succeeded", Attempt: 2, Outcome: "retry", Reason: "HTTP 503", AttemptedAt: at, NextAttemptAt: at.Add(90 * time.Second)}},
		{"disabled", `{"message":"endpoint disabled","delivery_id":"dl_1","endpoint_id":"ep_1","attempt":1,"reason":"410 Gone from ep_1"}`,
			&tailDelivery{DeliveryID: "dl_1", EndpointID: "ep_1", Attempt: 1, Outcome: "disabled", Reason: "410 Gone from ep_1", AttemptedAt: at}},
		{"failed", `{"level":"WARN","message":"delivery failed","delivery_id":"dl_1","endpoint_id":"ep_1","event_type":"lead.created","attempt":8,"reason":"retries exhausted"}`,
			&tailDelivery{DeliveryID: "dl_1", EndpointID: "ep_1", EventType: "lead.created", Attempt: 8, Outcome: "failed", Reason: "retries exhausted", AttemptedAt: at}},
		{"dropped", `{"message":"delivery dropped","delivery_id":"dl_1","endpoint_id":"ep_1","reason":"endpoint removed"}`,
			&tailDelivery{DeliveryID: "dl_1", EndpointID: "ep_1", Outcome: "dropped", Reason: "endpoint removed", AttemptedAt: at}},
		{"a bad delay is left out", `{"message":"retry scheduled","delivery_id":"dl_1","endpoint_id":"ep_1","delay":"soon"}`,
			&tailDelivery{DeliveryID: "dl_1", EndpointID: "ep_1", Outcome: "retry", AttemptedAt: at}},
		{"not an attempt", `{"message":"attempt not recorded","delivery_id":"dl_1","error":"x"}`, nil},
		{"fan-out line", `{"message":"fan-out failed","message_id":"m"}`, nil},
		{"no delivery id", `{"message":"delivered"}`, nil},
		{"platform line", `REPORT RequestId: 1 Duration: 2 ms`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tailDeliveryFromLog(at, tt.line)
			if ok != (tt.want != nil) {
				t.Fatalf("ok = %v for %s", ok, tt.line)
			}
			if tt.want != nil && got != *tt.want {
				t.Fatalf("got %+v\nwant %+v", got, *tt.want)
			}
		})
	}
}

// tail --stack reads the deliverer's log group too and prints its attempts
// as delivery lines; --type names a delivery's event type.
func TestCLITailStackDeliveries(t *testing.T) {
	outputs := hookstackOutputs("stripe")
	for _, fn := range append([]string{"ingest", "deliverer"}, process.Names...) {
		outputs["LogGroup"+stack.Title(fn)] = "Hookstack-" + stack.Title(fn) + "Logs-1"
	}
	f := startFakeAWS(t, map[string]map[string]string{"Hookstack": outputs}, nil)
	now := time.Now()
	for _, fn := range append([]string{"ingest"}, process.Names...) {
		f.addLog("Hookstack-"+stack.Title(fn)+"Logs-1", now.Add(-time.Hour), `{"message":"other"}`)
	}
	f.addLog("Hookstack-IngestLogs-1", now.Add(-9*time.Second), `{"message":"webhook","provider":"stripe","status":200,"event_id":"evt_1","type":"payment_intent.succeeded"}`)
	f.addLog("Hookstack-DelivererLogs-1", now.Add(-8*time.Second), `{"message":"retry scheduled","delivery_id":"dl_1","endpoint_id":"ep_1","event_type":"payment.succeeded","attempt":1,"reason":"HTTP 503","delay":"30s"}`)
	f.addLog("Hookstack-DelivererLogs-1", now.Add(-7*time.Second), `{"message":"delivered","delivery_id":"dl_2","endpoint_id":"ep_2","event_type":"lead.created","attempt":1,"status":204}`)
	f.addLog("Hookstack-DelivererLogs-1", now.Add(-6*time.Second), `{"message":"attempt not recorded","delivery_id":"dl_1","error":"x"}`)

	t.Run("every line, json", func(t *testing.T) {
		tail := startTail(t, os.Environ(), "--stack", "Hookstack", "--since", "1m", "--poll", "200ms", "--json")
		var got []string
		for len(got) < 3 {
			line, _ := tail.waitLine(t, func(string) bool { return true })
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("not JSON: %s", line)
			}
			got = append(got, fmt.Sprint(m["kind"], ":", m["outcome"], m["status"]))
		}
		if want := "event:<nil>queued delivery:retry<nil> delivery:delivered<nil>"; strings.Join(got, " ") != want {
			t.Fatalf("printed %v, want %s", got, want)
		}
		f.addLog("Hookstack-DelivererLogs-1", time.Now(), `{"message":"delivery failed","delivery_id":"dl_1","endpoint_id":"ep_1","event_type":"payment.succeeded","attempt":5,"reason":"retries exhausted"}`)
		line, _ := tail.waitLine(t, func(l string) bool { return strings.Contains(l, `"failed"`) })
		if !strings.HasPrefix(line, `{"kind":"delivery",`) || !strings.Contains(line, "retries exhausted") {
			t.Fatalf("followed %s", line)
		}
		tail.interrupt(t)
	})
	t.Run("text, --type of a delivery", func(t *testing.T) {
		tail := startTail(t, os.Environ(), "--stack", "Hookstack", "--since", "1m", "--poll", "200ms", "--type", "lead.created")
		line, seen := tail.waitLine(t, func(string) bool { return true })
		if f := strings.Fields(line); len(seen) != 0 || len(f) != 8 || f[1] != "delivery" || f[2] != "lead.created" || f[3] != "ep_2" || f[4] != "delivered" || f[5] != "(204)" {
			t.Fatalf("line %q", line)
		}
		tail.interrupt(t)
	})
}
