package main

// The built fanout bootstrap (make build-amd64) under the Lambda Runtime
// Interface Emulator, against the SQS (fauxqs) and DynamoDB (dynalite)
// emulators, driven by the SQS event-source loop (shared/runner).

import (
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookstack/hookstack/shared/domain"
	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/notify"
	"github.com/hookstack/hookstack/shared/notify/notifystore"
	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/queue/sqsq"
	"github.com/hookstack/hookstack/shared/queue/sqsq/sqstest"
	"github.com/hookstack/hookstack/shared/rie"
	"github.com/hookstack/hookstack/shared/runner"
	"github.com/hookstack/hookstack/shared/store/dynamostore"
	"github.com/hookstack/hookstack/shared/store/dynamostore/dynamotest"
)

// The stack gives the fan-out exactly these queues (no deliveries DLQ).
var fanoutQueues = []string{envelope.QueueNotifications, queue.DLQ(envelope.QueueNotifications), envelope.QueueDeliveries}

func TestFanOutUnderRIE(t *testing.T) {
	sqsEndpoint, dynamoEndpoint := sqstest.Endpoint(t), dynamotest.Endpoint(t)
	q, _, urls := sqstest.Queues(t, []string{envelope.QueueNotifications, envelope.QueueDeliveries}, 5)
	client, table := dynamotest.Table(t)
	endpoints := notifystore.NewEndpoints(dynamostore.New(client, table, dynamostore.ListKinds(notifystore.ListedKinds...)), nil)
	ctx := t.Context()

	add := func(ep notify.Endpoint) notify.Endpoint {
		t.Helper()
		got, err := endpoints.Add(ctx, ep)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	payments := add(notify.Endpoint{Type: notify.TypeHTTP, URL: "https://billing.example.com/hooks", Events: []string{"payment.*"}})
	slack := add(notify.Endpoint{Type: notify.TypeSlack, URL: "https://hooks.slack.com/services/T0/B0/x", Events: []string{"*"}})
	add(notify.Endpoint{Type: notify.TypeHTTP, URL: "https://stock.example.com/hooks", Events: []string{"inventory.*"}})
	disabled := add(notify.Endpoint{Type: notify.TypeHTTP, URL: "https://old.example.com/hooks", Events: []string{"payment.succeeded"}})
	if err := endpoints.Disable(ctx, disabled.ID, "test"); err != nil {
		t.Fatal(err)
	}
	removed := add(notify.Endpoint{Type: notify.TypeHTTP, URL: "https://gone.example.com/hooks", Events: []string{"*"}})
	if err := endpoints.Remove(ctx, removed.ID); err != nil {
		t.Fatal(err)
	}

	env := []string{
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"AWS_ENDPOINT_URL_SQS=" + sqsEndpoint, "AWS_ENDPOINT_URL_DYNAMODB=" + dynamoEndpoint,
		"HOOKSTACK_TABLE=" + table,
	}
	if v := os.Getenv("AWS_CA_BUNDLE"); v != "" {
		env = append(env, "AWS_CA_BUNDLE="+v)
	}
	for _, name := range fanoutQueues {
		env = append(env, sqsq.EnvVar(name)+"="+urls[name])
	}
	f := rie.StartBuilt(t, "fanout", env)
	r := &runner.Runner{Queue: q, OnResult: func(res runner.Result) {
		if res.Err != nil {
			t.Errorf("message %s left on %s: %v", res.Message.ID, res.Queue, res.Err)
		}
	}}
	src := runner.Source{Queue: envelope.QueueNotifications, Invoker: runner.JSONInvoker(f.Invoke), Wait: time.Second}

	ev := domain.New("payment.succeeded", "payment:pi_1", "stripe", "evt_fan_1", time.Now(), map[string]any{"id": "pi_1"})
	body, _ := json.Marshal(ev)
	// The same event twice: the fan-out is idempotent by delivery id.
	for range 2 {
		if _, err := q.Send(ctx, envelope.QueueNotifications, queue.Outgoing{Body: body}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := q.Send(ctx, envelope.QueueNotifications, queue.Outgoing{Body: []byte("not json")}); err != nil {
		t.Fatal(err)
	}
	handled := 0
	for deadline := time.Now().Add(15 * time.Second); handled < 3 && time.Now().Before(deadline); {
		n, err := r.Poll(ctx, src)
		if err != nil {
			t.Fatal(err)
		}
		handled += n
	}
	if handled != 3 {
		t.Fatalf("fan-out handled %d messages, want 3", handled)
	}

	t.Run("one delivery per matching enabled endpoint, stable ids", func(t *testing.T) {
		var got []string
		seen := map[string]bool{} // SQS message ids: a message seen again counts once
		for deadline := time.Now().Add(10 * time.Second); len(got) < 4 && time.Now().Before(deadline); {
			// A short visibility, so a receive whose answer is lost does
			// not hide messages past the loop.
			msgs, err := q.Receive(ctx, envelope.QueueDeliveries, 10, 2*time.Second, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range msgs {
				if seen[m.ID] {
					continue
				}
				seen[m.ID] = true
				var d notify.Delivery
				if err := json.Unmarshal(m.Body, &d); err != nil {
					t.Fatalf("delivery %s: %v", m.Body, err)
				}
				if d.EventID != ev.ID || d.Event.Type != ev.Type || d.ID != notify.DeliveryID(ev.ID, d.EndpointID) || d.FirstAttemptAt.IsZero() {
					t.Fatalf("delivery = %+v", d)
				}
				got = append(got, d.EndpointID)
			}
		}
		slices.Sort(got)
		want := []string{payments.ID, payments.ID, slack.ID, slack.ID}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("deliveries for endpoints %v, want each of %s (payment.*) and %s (*) once per fan-out run", got, payments.ID, slack.ID)
		}
	})

	t.Run("malformed notification is dead-lettered with the reason", func(t *testing.T) {
		dead, err := q.Receive(ctx, queue.DLQ(envelope.QueueNotifications), 10, 30*time.Second, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(dead) != 1 || string(dead[0].Body) != "not json" || !strings.HasPrefix(dead[0].Attributes[queue.AttrReason], "malformed notification") {
			t.Fatalf("notifications DLQ = %+v", dead)
		}
	})
}

// Without its configuration the bootstrap fails at start-up, saying what
// is missing; the invocation is a function error.
func TestFanOutStartupFailure(t *testing.T) {
	f := rie.StartBuilt(t, "fanout", []string{"AWS_REGION=us-east-1"})
	_, err := f.Invoke(t.Context(), []byte(`{"Records":[]}`))
	var fe *rie.FunctionError
	if err == nil {
		t.Fatal("invocation succeeded without HOOKSTACK_TABLE and queue URLs")
	}
	if !errors.As(err, &fe) {
		t.Fatalf("invoke: %v, want a function error", err)
	}
	t.Logf("invoke: %v", err)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(f.Logs(), "HOOKSTACK_TABLE") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	logs := f.Logs()
	for _, want := range []string{"fanout start-up failed", "HOOKSTACK_TABLE", "HOOKSTACK_QUEUE_URL_NOTIFICATIONS"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs do not mention %q:\n%s", want, logs)
		}
	}
}
