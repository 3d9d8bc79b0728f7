package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookstack/hookstack/shared/devserver"
	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/notify"
	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/queue/sqsq/sqstest"
	"github.com/hookstack/hookstack/shared/stack"
)

// badStripeEvent is signed correctly but cannot be processed: the payment
// intent's id is a number. It dead-letters in payments-dlq with a reason.
const badStripeEvent = `{"id":"evt_bad","object":"event","type":"payment_intent.succeeded","created":1764417600,"data":{"object":{"id":12}}}`

func deadJSON(t *testing.T, env map[string]string, args ...string) []devserver.DeadMessage {
	t.Helper()
	out := mustRun(t, env, "", append([]string{"dlq", "list", "--json"}, args...)...)
	var list []devserver.DeadMessage
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("dlq list --json: %v\n%s", err, out)
	}
	return list
}

func waitDead(t *testing.T, env map[string]string, what string, ok func([]devserver.DeadMessage) bool, args ...string) []devserver.DeadMessage {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		list := deadJSON(t, env, args...)
		if ok(list) {
			return list
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; the DLQ has %+v", what, list)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestDLQLocal(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	base := runDevInProcess(t, map[string]string{"HOOKSTACK_SECRET_STRIPE": secret})
	env := map[string]string{"HOOKSTACK_DEV_URL": base}

	if out := mustRun(t, env, "", "dlq", "list"); !strings.Contains(out, "No dead messages in the DLQs (dev server "+base+")") {
		t.Fatalf("empty list:\n%s", out)
	}

	file := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(file, []byte(badStripeEvent), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, env, "", "send", "stripe", file, "--url", base, "--secret", secret)

	first := waitDead(t, env, "the bad event in payments-dlq", func(l []devserver.DeadMessage) bool { return len(l) == 1 }, "--queue", "payments")
	d := first[0]
	if d.Queue != "payments-dlq" || d.Source != "payments" || d.EventID != "evt_bad" || d.EventType != "stripe.payment_intent.succeeded" || d.Reason == "" || d.MessageID == "" {
		t.Fatalf("dead message = %+v", d)
	}
	if all := deadJSON(t, env); len(all) != 1 || all[0].MessageID != d.MessageID {
		t.Fatalf("every DLQ = %+v", all)
	}
	if other := deadJSON(t, env, "--queue", "deliveries-dlq"); len(other) != 0 {
		t.Fatalf("deliveries-dlq = %+v", other)
	}

	table := mustRun(t, env, "", "dlq", "list", "--queue", "payments-dlq")
	for _, want := range []string{"QUEUE", "AGE", "EVENT", "ENDPOINT", "REASON", "payments-dlq", "stripe.payment_intent.succeeded", "evt_bad",
		oneLine(d.Reason)[:min(40, len(oneLine(d.Reason)))], "1 dead message(s)", "hookstack dlq redrive --queue payments"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}

	// Redrive: it moves back to payments, fails again (still malformed) and
	// returns to the DLQ as a new message.
	out := mustRun(t, env, "", "dlq", "redrive", "--queue", "payments")
	if !strings.Contains(out, "payments-dlq → payments: 1 moved") || !strings.Contains(out, "Moved 1 message(s)") {
		t.Fatalf("redrive output:\n%s", out)
	}
	again := waitDead(t, env, "the redriven event to dead-letter again", func(l []devserver.DeadMessage) bool {
		return len(l) == 1 && l[0].MessageID != d.MessageID
	}, "--queue", "payments")
	if again[0].EventID != "evt_bad" {
		t.Fatalf("again = %+v", again[0])
	}

	// Every DLQ, as JSON: per-queue counts and the total.
	out = mustRun(t, env, "", "dlq", "redrive", "--json")
	var res redriveResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if res.Moved != 1 || res.Queues["payments-dlq"] != 1 || len(res.Queues) != len(envelope.AllQueues) {
		t.Fatalf("redrive --json = %+v", res)
	}
}

// With the dev server down, redrive prints only the error: no progress
// line ("payments-dlq → payments: failed after 0") before it.
func TestDLQRedriveServerDown(t *testing.T) {
	for _, args := range [][]string{{"dlq", "redrive"}, {"dlq", "redrive", "--queue", "payments"}, {"dlq", "redrive", "--json"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			stdout, stderr, err := execute(t, map[string]string{"HOOKSTACK_DEV_URL": closedURL(t)}, "", args...)
			if err == nil || !strings.Contains(err.Error(), "no dev server answers at") || strings.Contains(err.Error(), "moved 0") {
				t.Fatalf("err = %v", err)
			}
			if stdout != "" || stderr != "" {
				t.Fatalf("printed before the error:\nstdout %q\nstderr %q", stdout, stderr)
			}
		})
	}
}

func TestDLQErrors(t *testing.T) {
	base := runDevInProcess(t, nil)
	env := map[string]string{"HOOKSTACK_DEV_URL": base}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"unknown queue", []string{"dlq", "list", "--queue", "nope"}, []string{`--queue "nope"`, "payments, inventory", "deliveries"}},
		{"unknown queue redrive", []string{"dlq", "redrive", "--queue", "nope-dlq"}, []string{`--queue "nope-dlq"`}},
		{"limit", []string{"dlq", "list", "--limit", "0"}, []string{"--limit 0", "1..1000"}},
		{"no subcommand", []string{"dlq"}, []string{"list or redrive"}},
		{"misspelt subcommand", []string{"dlq", "lst"}, []string{`unknown command "lst" for "hookstack dlq".`, "Did you mean list?"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := execute(t, env, "", tc.args...)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestHumanAge(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "0s"}, {0, "0s"}, {59 * time.Second, "59s"}, {3*time.Minute + 59*time.Second, "3m"},
		{2*time.Hour + 30*time.Minute, "2h"}, {47 * time.Hour, "47h"}, {72 * time.Hour, "3d"},
	}
	for _, tc := range tests {
		t.Run(tc.d.String(), func(t *testing.T) {
			if got := humanAge(tc.d); got != tc.want {
				t.Fatalf("humanAge(%s) = %q, want %q", tc.d, got, tc.want)
			}
		})
	}
}

func TestDeadMessageOf(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	env, err := envelope.Encode(envelope.Envelope{V: 1, ID: "01JENV", Provider: "stripe", EventID: "evt_1", Type: "charge.refunded", Queue: "payments"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		dlq  string
		m    queue.Message
		want devserver.DeadMessage
	}{
		{"envelope with reason", "payments-dlq",
			queue.Message{ID: "m1", Body: env, Attributes: map[string]string{"reason": "bad amount"}, SentAt: now.Add(-3 * time.Minute)},
			devserver.DeadMessage{Queue: "payments-dlq", Source: "payments", MessageID: "m1", Reason: "bad amount", EventType: "stripe.charge.refunded", EventID: "evt_1", AgeSeconds: 180}},
		{"delivery by attributes", "deliveries-dlq",
			queue.Message{ID: "m2", Body: []byte(`{}`), SentAt: now, Attributes: map[string]string{"reason": "410", notify.AttrEventType: "payment.failed", notify.AttrEventID: "n1", notify.AttrEndpointID: "ep_1"}},
			devserver.DeadMessage{Queue: "deliveries-dlq", Source: "deliveries", MessageID: "m2", Reason: "410", EventType: "payment.failed", EventID: "n1", EndpointID: "ep_1"}},
		{"delivery by body, no reason", "deliveries-dlq",
			queue.Message{ID: "m3", Body: []byte(`{"id":"msg_x","event_id":"n2","endpoint_id":"ep_2","event":{"id":"n2","type":"lead.created"}}`), SentAt: now},
			devserver.DeadMessage{Queue: "deliveries-dlq", Source: "deliveries", MessageID: "m3", Reason: "exceeded maxReceiveCount (failed on every receive)", EventType: "lead.created", EventID: "n2", EndpointID: "ep_2"}},
		{"notification", "notifications-dlq",
			queue.Message{ID: "m4", Body: []byte(`{"id":"n3","type":"task.completed"}`), SentAt: now},
			devserver.DeadMessage{Queue: "notifications-dlq", Source: "notifications", MessageID: "m4", Reason: "exceeded maxReceiveCount (failed on every receive)", EventType: "task.completed", EventID: "n3"}},
		{"not JSON", "relay-dlq",
			queue.Message{ID: "m5", Body: []byte(`<xml/>`), SentAt: now},
			devserver.DeadMessage{Queue: "relay-dlq", Source: "relay", MessageID: "m5", Reason: "exceeded maxReceiveCount (failed on every receive)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := devserver.DescribeDead(tc.dlq, tc.m, now)
			tc.want.SentAt, tc.want.Body = tc.m.SentAt, string(tc.m.Body)
			if got != tc.want {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestDLQAWS runs list and redrive against the SQS emulator, with the stack
// outputs from the fake CloudFormation. fauxqs lacks StartMessageMoveTask,
// so redrive takes the receive-send-delete path.
func TestDLQAWS(t *testing.T) {
	q, _, urls := sqstest.Queues(t, envelope.AllQueues, 3)
	outputs := hookstackOutputs("stripe")
	for name, u := range urls {
		outputs[stack.KeyQueueUrl+stack.Title(name)] = u
	}
	awsTestEnv(t, outputs)
	ctx := t.Context()

	env, err := envelope.Encode(envelope.Envelope{V: 1, ID: "01JENV", Provider: "stripe", EventID: "evt_dead", Type: "payment_intent.succeeded", Queue: "payments"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Send(ctx, "payments-dlq", queue.Outgoing{Body: env, Attributes: map[string]string{queue.AttrReason: "payment intent id is not a string"}}); err != nil {
		t.Fatal(err)
	}
	delivery := []byte(`{"id":"msg_abc","event_id":"ntf_1","endpoint_id":"ep_9","event":{"id":"ntf_1","type":"payment.succeeded"}}`)
	if _, err := q.Send(ctx, "deliveries-dlq", queue.Outgoing{Body: delivery, Attributes: map[string]string{
		queue.AttrReason: "retries exhausted: 500", notify.AttrEndpointID: "ep_9", notify.AttrEventID: "ntf_1", notify.AttrEventType: "payment.succeeded",
	}}); err != nil {
		t.Fatal(err)
	}

	check := func(list []devserver.DeadMessage) {
		t.Helper()
		if len(list) != 2 {
			t.Fatalf("dead = %+v", list)
		}
		slices.SortFunc(list, func(a, b devserver.DeadMessage) int { return strings.Compare(a.Queue, b.Queue) })
		dv, pm := list[0], list[1]
		if dv.Queue != "deliveries-dlq" || dv.EndpointID != "ep_9" || dv.EventType != "payment.succeeded" || dv.EventID != "ntf_1" || dv.Reason != "retries exhausted: 500" || dv.Body != string(delivery) {
			t.Errorf("delivery = %+v", dv)
		}
		if pm.Queue != "payments-dlq" || pm.Source != "payments" || pm.EventType != "stripe.payment_intent.succeeded" || pm.EventID != "evt_dead" || pm.Reason != "payment intent id is not a string" || pm.SentAt.IsZero() || pm.AgeSeconds > 60 {
			t.Errorf("payment = %+v", pm)
		}
	}
	// Listing twice in a row sees both messages both times: the first
	// listing made them visible again at once (not after 30 s).
	check(deadJSON(t, nil, "--stack", "Hookstack"))
	check(deadJSON(t, map[string]string{"HOOKSTACK_BACKEND": "aws"}))
	if one := deadJSON(t, nil, "--stack", "Hookstack", "--queue", "deliveries"); len(one) != 1 || one[0].Queue != "deliveries-dlq" {
		t.Fatalf("--queue deliveries = %+v", one)
	}
	table := mustRun(t, nil, "", "dlq", "list", "--stack", "Hookstack")
	for _, want := range []string{"payments-dlq", "deliveries-dlq", "ep_9", "evt_dead", "retries exhausted: 500", "2 dead message(s)", "hookstack dlq redrive --stack Hookstack"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}

	out := mustRun(t, nil, "", "dlq", "redrive", "--stack", "Hookstack")
	for _, want := range []string{"payments-dlq → payments: 1 moved", "deliveries-dlq → deliveries: 1 moved", "inventory-dlq → inventory: 0 moved", "Moved 2 message(s)"} {
		if !strings.Contains(out, want) {
			t.Errorf("redrive output lacks %q:\n%s", want, out)
		}
	}
	for name, body := range map[string][]byte{"payments": env, "deliveries": delivery} {
		msgs, err := q.Receive(ctx, name, 10, 30*time.Second, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 1 || string(msgs[0].Body) != string(body) || msgs[0].Attributes[queue.AttrReason] == "" {
			t.Fatalf("%s after redrive = %+v", name, msgs)
		}
	}
	if out := mustRun(t, nil, "", "dlq", "list", "--stack", "Hookstack"); !strings.Contains(out, "No dead messages in the DLQs (stack Hookstack)") {
		t.Fatalf("after redrive:\n%s", out)
	}

	// A stack without the queue outputs says what to do.
	partial := hookstackOutputs("stripe") // payments and payments-dlq only
	startFakeAWS(t, map[string]map[string]string{"Old": partial}, nil)
	_, _, err = execute(t, nil, "", "dlq", "list", "--stack", "Old", "--queue", "deliveries")
	if err == nil || !strings.Contains(err.Error(), "QueueUrlDeliveriesDlq") || !strings.Contains(err.Error(), "make deploy") {
		t.Fatalf("missing outputs: %v", err)
	}
}

func TestDLQHelp(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"dlq", "--help"}, []string{"list", "redrive", "payments", "--stack"}},
		{[]string{"dlq", "list", "--help"}, []string{"--queue", "--json", "--limit", "receive count", "--stack", "--dev-url"}},
		{[]string{"dlq", "redrive", "--help"}, []string{"--queue", "StartMessageMoveTask", "fresh", "--json"}},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out := mustRun(t, nil, "", tc.args...)
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("help lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
