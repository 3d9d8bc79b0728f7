package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/hookstack/hookstack/shared/process"
	"github.com/hookstack/hookstack/shared/stack"
)

// fakeLogEvent is one CloudWatch Logs event of the fake.
type fakeLogEvent struct {
	ID  string
	At  time.Time
	Msg string
}

// addLog appends an event to a log group of the fake.
func (f *fakeAWS) addLog(group string, at time.Time, line string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.logs == nil {
		f.logs = map[string][]fakeLogEvent{}
	}
	id := fmt.Sprintf("ev%04d", len(f.logs[group])+1) + group
	f.logs[group] = append(f.logs[group], fakeLogEvent{ID: id, At: at, Msg: line})
}

// patternTerm is one `$.key = "value"` of a JSON filter pattern.
var patternTerm = regexp.MustCompile(`\$\.([a-z_]+) = ("(?:[^"\\]|\\.)*")`)

// patternAny is the one parenthesized group of alternatives tail writes.
var patternAny = regexp.MustCompile(`\(([^()]*)\)`)

// matchPattern applies the subset of CloudWatch Logs' JSON filter patterns
// tail writes: { $.a = "x" && $.b = "y" }, optionally with one group of
// alternatives: { ($.m = "a" || $.m = "b") && $.c = "z" }.
func matchPattern(pattern, line string) bool {
	var fields map[string]any
	if json.Unmarshal([]byte(line), &fields) != nil {
		return false
	}
	term := func(m []string) bool {
		want, err := strconv.Unquote(m[2])
		v, ok := fields[m[1]]
		return err == nil && ok && fmt.Sprint(v) == want
	}
	if g := patternAny.FindStringSubmatch(pattern); g != nil {
		anyOf := false
		for _, m := range patternTerm.FindAllStringSubmatch(g[1], -1) {
			anyOf = anyOf || term(m)
		}
		if !anyOf {
			return false
		}
		pattern = strings.Replace(pattern, g[0], "", 1)
	}
	for _, m := range patternTerm.FindAllStringSubmatch(pattern, -1) {
		if !term(m) {
			return false
		}
	}
	return true
}

// cloudWatchLogs serves FilterLogEvents (JSON 1.1, X-Amz-Target
// Logs_20140328.FilterLogEvents): events at or after StartTime matching the
// pattern, two per page to exercise NextToken.
func (f *fakeAWS) cloudWatchLogs(w http.ResponseWriter, target string, body []byte) {
	var in struct {
		LogGroupName, FilterPattern, NextToken string
		StartTime                              int64
	}
	_ = json.Unmarshal(body, &in)
	f.calls = append(f.calls, strings.TrimPrefix(target, "Logs_20140328.")+" "+in.LogGroupName)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if target != "Logs_20140328.FilterLogEvents" {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = fmt.Fprintf(w, `{"__type":"InvalidOperationException","message":"unexpected %s"}`, target)
		return
	}
	events, ok := f.logs[in.LogGroupName]
	if !ok {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"__type":"ResourceNotFoundException","message":"The specified log group does not exist."}`))
		return
	}
	var out []map[string]any
	for _, e := range events {
		if e.At.UnixMilli() >= in.StartTime && matchPattern(in.FilterPattern, e.Msg) {
			out = append(out, map[string]any{"eventId": e.ID, "timestamp": e.At.UnixMilli(), "message": e.Msg, "logStreamName": "s"})
		}
	}
	start, _ := strconv.Atoi(in.NextToken)
	end := min(start+2, len(out))
	resp := map[string]any{"events": out[start:end]}
	if end < len(out) {
		resp["nextToken"] = strconv.Itoa(end)
	}
	_ = json.NewEncoder(w).Encode(resp)
}

func TestTailEventFromLog(t *testing.T) {
	at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		fn   string
		line string
		want *tailEvent
	}{
		{"accepted", "ingest", `{"timestamp":"x","level":"INFO","message":"webhook","provider":"stripe","status":200,"event_id":"evt_1","id":"01J","type":"invoice.paid","queue":"payments","requestId":"r"}`,
			&tailEvent{ID: "01J", Provider: "stripe", EventID: "evt_1", Type: "invoice.paid", Queue: "payments", ReceivedAt: at, Status: "queued", HTTPStatus: 200}},
		{"rejected", "ingest", `{"message":"webhook","provider":"github","status":401,"reason":"signature: verify github: invalid webhook signature: signature mismatch"}`,
			&tailEvent{Provider: "github", ReceivedAt: at, Status: "rejected", HTTPStatus: 401, Reason: "signature: verify github: invalid webhook signature: signature mismatch"}},
		{"queue down", "ingest", `{"message":"webhook","provider":"stripe","status":503,"reason":"queue"}`,
			&tailEvent{Provider: "stripe", ReceivedAt: at, Status: "failed", HTTPStatus: 503, Reason: "queue"}},
		{"processed", "payments", `{"message":"event","processor":"payments","status":"processed","event_id":"evt_1","id":"01J","provider":"stripe","type":"invoice.paid"}`,
			&tailEvent{ID: "01J", Provider: "stripe", EventID: "evt_1", Type: "invoice.paid", Queue: "payments", ReceivedAt: at, Status: "processed"}},
		{"dead with its error", "leads", `{"message":"event","status":"dead","event_id":"e","error":"permanent: bad lead"}`,
			&tailEvent{EventID: "e", Queue: "leads", ReceivedAt: at, Status: "dead", Reason: "permanent: bad lead"}},
		{"another line of ingest", "ingest", `{"message":"secrets refreshed"}`, nil},
		{"a processor line in ingest's group", "ingest", `{"message":"event","status":"processed"}`, nil},
		{"an ingest line in a processor's group", "relay", `{"message":"webhook","status":200}`, nil},
		{"not JSON (a platform line)", "ingest", `START RequestId: 1 Version: $LATEST`, nil},
		{"status of the wrong type", "payments", `{"message":"event","status":200}`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tailEventFromLog(tc.fn, at, tc.line)
			if ok != (tc.want != nil) {
				t.Fatalf("ok = %v for %s", ok, tc.line)
			}
			if tc.want != nil && got != *tc.want {
				t.Fatalf("got %+v\nwant %+v", got, *tc.want)
			}
		})
	}
}

func TestLogSources(t *testing.T) {
	out := &stack.Outputs{StackName: "Hookstack", LogGroups: map[string]string{"ingest": "g-ingest"}}
	for _, p := range process.Names {
		out.LogGroups[p] = "g-" + p
	}
	out.LogGroups["deliverer"] = "g-deliverer"
	srcs, note, err := logSources(out, "stripe", `invoice."paid"`)
	if err != nil || note != "" {
		t.Fatal(err, note)
	}
	// --provider: no deliverer (deliveries belong to no provider).
	if len(srcs) != 1+len(process.Names) || srcs[0].group != "g-ingest" {
		t.Fatalf("sources %+v", srcs)
	}
	if want := `{ $.message = "webhook" && $.provider = "stripe" && $.type = "invoice.\"paid\"" }`; srcs[0].pattern != want {
		t.Errorf("ingest pattern %s, want %s", srcs[0].pattern, want)
	}
	if !strings.HasPrefix(srcs[1].pattern, `{ $.message = "event"`) {
		t.Errorf("processor pattern %s", srcs[1].pattern)
	}
	srcs, _, err = logSources(out, "", "payment.succeeded")
	last := srcs[len(srcs)-1]
	if err != nil || len(srcs) != 2+len(process.Names) || last.function != "deliverer" || last.group != "g-deliverer" {
		t.Fatalf("sources %+v, %v", srcs, err)
	}
	for _, m := range []string{`$.message = "delivered"`, `$.message = "retry scheduled"`, `$.message = "delivery failed"`, `&& $.event_type = "payment.succeeded" }`} {
		if !strings.Contains(last.pattern, m) {
			t.Errorf("deliverer pattern %s lacks %s", last.pattern, m)
		}
	}
	delete(out.LogGroups, "deliverer")
	srcs, note, err = logSources(out, "", "")
	if err != nil || len(srcs) != 1+len(process.Names) || !strings.Contains(note, "LogGroupDeliverer") {
		t.Fatalf("a stack without the deliverer's output: %+v, %q, %v", srcs, note, err)
	}
	delete(out.LogGroups, "relay")
	if _, _, err := logSources(out, "", ""); err == nil || !strings.Contains(err.Error(), "LogGroupRelay") || !strings.Contains(err.Error(), "make deploy") {
		t.Fatalf("err = %v, want one naming the missing output and what to do", err)
	}
}

// memLogs is an in-process FilterLogEvents over a fakeAWS's events.
type memLogs struct{ f *fakeAWS }

func (m memLogs) FilterLogEvents(_ context.Context, in *cloudwatchlogs.FilterLogEventsInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error) {
	m.f.mu.Lock()
	defer m.f.mu.Unlock()
	var out cloudwatchlogs.FilterLogEventsOutput
	for _, e := range m.f.logs[aws.ToString(in.LogGroupName)] {
		if e.At.UnixMilli() >= aws.ToInt64(in.StartTime) && matchPattern(aws.ToString(in.FilterPattern), e.Msg) {
			out.Events = append(out.Events, types.FilteredLogEvent{EventId: aws.String(e.ID), Timestamp: aws.Int64(e.At.UnixMilli()), Message: aws.String(e.Msg)})
		}
	}
	return &out, nil
}

// Polls overlap (CloudWatch Logs can index an event late), so each poll
// sees events again: tail prints each once, oldest first across groups.
func TestAWSTailPollDedupesAndOrders(t *testing.T) {
	f := &fakeAWS{}
	now := time.Now()
	f.addLog("g-ingest", now.Add(-3*time.Second), `{"message":"webhook","provider":"stripe","status":200,"event_id":"evt_1","type":"invoice.paid"}`)
	f.addLog("g-payments", now.Add(-2*time.Second), `{"message":"event","status":"processed","event_id":"evt_1","provider":"stripe"}`)
	f.addLog("g-ingest", now.Add(-1*time.Second), `{"message":"webhook","provider":"stripe","status":401,"reason":"bad"}`)
	a := &awsTail{logs: memLogs{f}, seen: map[string]time.Time{}, sources: []logSource{
		{function: "ingest", group: "g-ingest", pattern: `{ $.message = "webhook" }`},
		{function: "payments", group: "g-payments", pattern: `{ $.message = "event" }`},
	}}
	evs, newest, err := a.pollOnce(t.Context(), now.Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range evs {
		got = append(got, l.event.Queue+":"+l.event.Status)
	}
	if strings.Join(got, " ") != ":queued payments:processed :rejected" {
		t.Fatalf("first poll printed %v", got)
	}
	if !newest.Equal(time.UnixMilli(now.Add(-time.Second).UnixMilli())) {
		t.Fatalf("newest %v", newest)
	}
	// The same window again, plus a new event: only the new one.
	f.addLog("g-payments", now, `{"message":"event","status":"dead","event_id":"evt_2","error":"permanent"}`)
	evs, _, err = a.pollOnce(t.Context(), now.Add(-time.Minute))
	if err != nil || len(evs) != 1 || evs[0].event.Status != "dead" || evs[0].event.Reason != "permanent" {
		t.Fatalf("second poll: %+v, %v", evs, err)
	}
}

// The built CLI follows a stack through the real SDK against the fake
// CloudFormation and CloudWatch Logs (the JSON protocol, paged).
func TestCLITailStack(t *testing.T) {
	outputs := hookstackOutputs("stripe", "github")
	outputs["LogGroupIngest"] = "Hookstack-IngestLogs-1"
	for _, p := range process.Names {
		outputs["LogGroup"+stack.Title(p)] = "Hookstack-" + stack.Title(p) + "Logs-1"
	}
	f := startFakeAWS(t, map[string]map[string]string{"Hookstack": outputs}, nil)
	now := time.Now()
	f.addLog("Hookstack-IngestLogs-1", now.Add(-20*time.Minute), `{"message":"webhook","provider":"stripe","status":200,"event_id":"evt_old","type":"invoice.paid"}`)
	for i := range 3 { // more than one page
		f.addLog("Hookstack-IngestLogs-1", now.Add(time.Duration(i-10)*time.Second), fmt.Sprintf(`{"message":"webhook","provider":"stripe","status":200,"event_id":"evt_%d","type":"invoice.paid","queue":"payments"}`, i))
	}
	f.addLog("Hookstack-IngestLogs-1", now.Add(-5*time.Second), `{"message":"webhook","provider":"github","status":200,"event_id":"gh_1","type":"push"}`)
	f.addLog("Hookstack-PaymentsLogs-1", now.Add(-4*time.Second), `{"message":"event","status":"processed","event_id":"evt_0","provider":"stripe","type":"invoice.paid"}`)
	for _, p := range process.Names[1:] {
		f.addLog("Hookstack-"+stack.Title(p)+"Logs-1", now.Add(-time.Hour), `{"message":"event","status":"processed"}`)
	}

	tail := startTail(t, os.Environ(), "--stack", "Hookstack", "--since", "1m", "--provider", "stripe", "--poll", "200ms", "--json")
	var got []string
	for len(got) < 4 {
		line, _ := tail.waitLine(t, func(string) bool { return true })
		var e tailEvent
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("not JSON: %s", line)
		}
		got = append(got, e.EventID+":"+e.Status)
	}
	if want := "evt_0:queued evt_1:queued evt_2:queued evt_0:processed"; strings.Join(got, " ") != want {
		t.Fatalf("printed %v, want %s (oldest first, --since and --provider applied)", got, want)
	}
	// A line logged while tail follows appears, once.
	f.addLog("Hookstack-PaymentsLogs-1", time.Now(), `{"message":"event","status":"dead","event_id":"evt_1","provider":"stripe","error":"permanent: bad"}`)
	line, seen := tail.waitLine(t, func(l string) bool { return strings.Contains(l, `"dead"`) })
	if len(seen) != 0 || !strings.Contains(line, "permanent: bad") {
		t.Fatalf("followed %s after %q", line, seen)
	}
	if code := tail.interrupt(t); code != 0 {
		t.Fatalf("exit %d on Ctrl-C", code)
	}
}

func TestCLITailStackErrors(t *testing.T) {
	startFakeAWS(t, map[string]map[string]string{"Old": hookstackOutputs("stripe")}, nil)
	r := hookstack(t, os.Environ(), "", "tail", "--stack", "Old")
	if r.code == 0 || !strings.Contains(r.stderr, "LogGroupIngest") || !strings.Contains(r.stderr, "make deploy") {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	r = hookstack(t, os.Environ(), "", "tail", "--stack", "Old", "--dev-url", "http://127.0.0.1:1")
	if r.code == 0 || !strings.Contains(r.stderr, "pass one of them") {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
}
