// Package processtest holds test helpers for the processors: the events/
// samples as queue envelopes, and the harness that runs a built processor
// bootstrap under the Lambda Runtime Interface Emulator against the SQS and
// DynamoDB emulators (functions/<name>/rie_test.go).
package processtest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	hookevents "github.com/hookstack/hookstack/events"
	"github.com/hookstack/hookstack/shared/domain"
	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/queue/sqsq"
	"github.com/hookstack/hookstack/shared/queue/sqsq/sqstest"
	"github.com/hookstack/hookstack/shared/rie"
	"github.com/hookstack/hookstack/shared/sample"
	"github.com/hookstack/hookstack/shared/store"
	"github.com/hookstack/hookstack/shared/store/dynamostore"
	"github.com/hookstack/hookstack/shared/store/dynamostore/dynamotest"
)

// SampleTime is the receive time the sample envelopes carry.
var SampleTime = time.Date(2026, 1, 6, 12, 0, 0, 0, time.UTC)

// Samples loads the events/ samples as the envelopes ingest would queue,
// keyed "provider/name" (several for batch deliveries: HubSpot arrays,
// Salesforce notifications). Handshakes (never queued) are left out.
func Samples(t testing.TB) map[string][]envelope.Envelope {
	t.Helper()
	all, err := sample.LoadAll(hookevents.FS)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]envelope.Envelope{}
	for _, s := range all {
		if s.Name == "url_verification" || s.Name == "endpoint.url_validation" {
			continue
		}
		evs, err := envelope.Extract(s.Provider, s.Header, s.Body, SampleTime)
		if err != nil {
			t.Fatalf("extract %s: %v", s.Path, err)
		}
		for i, ev := range evs {
			e := envelope.Envelope{
				V: envelope.Version, ID: fmt.Sprintf("env-%s-%s-%d", s.Provider, s.Name, i), Provider: s.Provider,
				EventID: ev.ID, Type: ev.Type, OccurredAt: ev.OccurredAt, ReceivedAt: SampleTime,
				ContentType: ev.ContentType, Headers: ev.Headers, Queue: envelope.Route(s.Provider, ev.Type), Body: ev.Body,
			}
			if len(evs) > 1 {
				e.Part, e.Parts = i+1, len(evs)
			}
			out[s.Provider+"/"+s.Name] = append(out[s.Provider+"/"+s.Name], e)
		}
	}
	return out
}

// One returns the first envelope of a sample.
func One(t testing.TB, all map[string][]envelope.Envelope, name string) envelope.Envelope {
	t.Helper()
	envs := all[name]
	if len(envs) == 0 {
		t.Fatalf("no sample %s", name)
	}
	return envs[0]
}

// Encode is the queue message body of env.
func Encode(t testing.TB, env envelope.Envelope) string {
	t.Helper()
	b, err := envelope.Encode(env)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Case is one RIE run: a batch of a good message, one whose record write
// fails once (HOOKSTACK_FAULTS=store.put:fail-once-key=FaultKind/FaultKey)
// and a permanently bad one.
type Case struct {
	Good      envelope.Envelope
	Transient envelope.Envelope
	FaultKind string
	FaultKey  string
	// Bad is the bad message's body; BadReason a substring of its DLQ reason.
	Bad       string
	BadReason string
	// Good and retried check the records in DynamoDB after the first
	// invocation (the good message applied) and after the transient
	// message's redelivery.
	CheckGood    func(t *testing.T, s store.Store)
	CheckRetried func(t *testing.T, s store.Store)
	// Env adds function environment (e.g. HOOKSTACK_LOW_STOCK).
	Env []string
}

// RunBootstrap runs functions/<name>'s built bootstrap
// ($HOOKSTACK_LAMBDA_BIN/<name>/bootstrap) under $HOOKSTACK_RIE with the
// SQS and DynamoDB emulators and checks the batch semantics: the response
// lists only the transient message, the bad one is in the DLQ with its
// reason, the good one is applied; redelivered, the transient one succeeds.
func RunBootstrap(t *testing.T, name string, c Case) {
	t.Helper()
	sqsEndpoint := sqstest.Endpoint(t)
	ddbEndpoint := dynamotest.Endpoint(t)
	q, _, urls := sqstest.Queues(t, []string{name, envelope.QueueNotifications}, 5)
	client, table := dynamotest.Table(t)
	st := dynamostore.New(client, table)

	env := []string{
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"AWS_ENDPOINT_URL_SQS=" + sqsEndpoint, "AWS_ENDPOINT_URL_DYNAMODB=" + ddbEndpoint,
		"HOOKSTACK_TABLE=" + table,
		"HOOKSTACK_FAULTS=store.put:fail-once-key=" + c.FaultKind + "/" + c.FaultKey,
	}
	if v := os.Getenv("AWS_CA_BUNDLE"); v != "" {
		env = append(env, "AWS_CA_BUNDLE="+v)
	}
	for _, n := range []string{name, queue.DLQ(name), envelope.QueueNotifications} {
		env = append(env, sqsq.EnvVar(n)+"="+urls[n])
	}
	env = append(env, c.Env...)
	f := rie.StartBuilt(t, name, env)

	good, transient, bad := record(name, "m-good", Encode(t, c.Good)), record(name, "m-transient", Encode(t, c.Transient)), record(name, "m-bad", c.Bad)
	failed := invoke(t, f, good, transient, bad)
	if !slices.Equal(failed, []string{"m-transient"}) {
		t.Fatalf("batch item failures = %v, want only m-transient", failed)
	}
	dlq := receive(t, q, queue.DLQ(name), 1)
	if string(dlq[0].Body) != c.Bad || !strings.Contains(dlq[0].Attributes[queue.AttrReason], c.BadReason) {
		t.Fatalf("DLQ message %q reason %q, want the bad body with a reason containing %q",
			dlq[0].Body, dlq[0].Attributes[queue.AttrReason], c.BadReason)
	}
	if _, err := st.Get(t.Context(), c.FaultKind, c.FaultKey); err == nil {
		t.Fatalf("%s/%s written although its write failed", c.FaultKind, c.FaultKey)
	}
	c.CheckGood(t, st)

	// Redelivered (as SQS would after the visibility timeout): it succeeds.
	transient.Attributes["ApproximateReceiveCount"] = "2"
	if failed := invoke(t, f, transient); len(failed) != 0 {
		t.Fatalf("redelivery failed: %v", failed)
	}
	if _, err := st.Get(t.Context(), c.FaultKind, c.FaultKey); err != nil {
		t.Fatalf("%s/%s after redelivery: %v", c.FaultKind, c.FaultKey, err)
	}
	if c.CheckRetried != nil {
		c.CheckRetried(t, st)
	}
	// Both raw forwards reached the notifications queue (ids as domain.Raw
	// makes them: the body's hash for github and shopify).
	want := map[string]bool{
		domain.Raw(c.Good.Provider, c.Good.EventID, c.Good.Type, time.Time{}, c.Good.Body).ID:                     true,
		domain.Raw(c.Transient.Provider, c.Transient.EventID, c.Transient.Type, time.Time{}, c.Transient.Body).ID: true,
	}
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	for len(want) > 0 {
		// A short visibility: should a receive's answer be lost (the SDK
		// retries a call whose response broke off, under a loaded CI
		// machine), its messages come back in 2 s rather than staying
		// hidden past this loop's 15 s.
		msgs, err := q.Receive(ctx, envelope.QueueNotifications, 10, receiveVisibility, time.Second)
		if err != nil {
			t.Fatalf("notifications: %v; raw forwards never seen: %v", err, want)
		}
		for _, m := range msgs {
			delete(want, m.Attributes["event_id"])
		}
	}
	if logs := f.Logs(); !strings.Contains(logs, `"EventsDeadLettered":1`) || !strings.Contains(logs, `"EventsProcessed":1`) {
		t.Fatalf("no EMF metrics in the function's log")
	}
}

func record(name, id, body string) events.SQSMessage {
	return events.SQSMessage{
		MessageId: id, ReceiptHandle: "rh-" + id, Body: body, EventSource: "aws:sqs", AWSRegion: "us-east-1",
		EventSourceARN: "arn:aws:sqs:us-east-1:000000000000:" + name,
		Attributes:     map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": fmt.Sprint(SampleTime.UnixMilli())},
	}
}

func invoke(t *testing.T, f *rie.Function, msgs ...events.SQSMessage) []string {
	t.Helper()
	payload, err := json.Marshal(events.SQSEvent{Records: msgs})
	if err != nil {
		t.Fatal(err)
	}
	out, err := f.Invoke(t.Context(), payload)
	if err != nil {
		t.Fatal(err)
	}
	var resp events.SQSEventResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("response %s: %v", out, err)
	}
	var ids []string
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	return ids
}

// receiveVisibility hides what the checks receive only briefly, so a
// receive whose answer was lost does not hide messages from the next one.
const receiveVisibility = 2 * time.Second

// receive reads at least n messages from a queue (deleting them).
func receive(t *testing.T, q queue.Queue, name string, n int) []queue.Message {
	t.Helper()
	var out []queue.Message
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	for len(out) < n {
		msgs, err := q.Receive(ctx, name, 10, receiveVisibility, time.Second)
		if err != nil {
			t.Fatalf("receive %s: %v (have %d of %d)", name, err, len(out), n)
		}
		for _, m := range msgs {
			out = append(out, m)
			_ = q.Delete(ctx, name, m.ReceiptHandle)
		}
	}
	return out
}

// Get reads the record (kind, key) and decodes it into a T.
func Get[T any](t *testing.T, s store.Store, kind, key string) T {
	t.Helper()
	r, err := s.Get(t.Context(), kind, key)
	if err != nil {
		t.Fatalf("get %s %s: %v", kind, key, err)
	}
	var v T
	if err := r.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}
