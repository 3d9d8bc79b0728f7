package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/process"
	"github.com/hookstack/hookstack/shared/process/processtest"
	"github.com/hookstack/hookstack/shared/queue/sqsq/sqstest"
	"github.com/hookstack/hookstack/shared/stack"
	"github.com/hookstack/hookstack/shared/store/dynamostore"
	"github.com/hookstack/hookstack/shared/store/dynamostore/dynamotest"
)

// TestReplayAWS archives an event the way a deployed processor does (the
// payments handler on DynamoDB and SQS, archive on), then replays it from
// the stack's archive by the provider's id and by ours: the envelope, as it
// was queued, is back on the payments queue each time.
func TestReplayAWS(t *testing.T) {
	client, table := dynamotest.Table(t)
	q, _, urls := sqstest.Queues(t, envelope.AllQueues, 3)
	outputs := hookstackOutputs("stripe")
	outputs[stack.KeyTableName] = table
	for name, u := range urls {
		outputs[stack.KeyQueueUrl+stack.Title(name)] = u
	}
	awsTestEnv(t, outputs)
	ctx := t.Context()

	envs := processtest.Samples(t)["stripe/payment_intent.succeeded"]
	if len(envs) != 1 {
		t.Fatalf("sample: %d envelopes", len(envs))
	}
	env := envs[0]
	raw, err := envelope.Encode(env)
	if err != nil {
		t.Fatal(err)
	}
	h := process.NewPayments(process.Deps{Queue: q, Store: dynamostore.New(client, table), ArchiveTTL: time.Hour})
	resp, err := h.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1", Body: string(raw)}}})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("processing failed: %v %+v", err, resp)
	}

	receiveOne := func(t *testing.T) {
		t.Helper()
		msgs, err := q.Receive(ctx, envelope.QueuePayments, 10, 30*time.Second, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 1 || string(msgs[0].Body) != string(raw) {
			t.Fatalf("payments queue after replay = %+v, want the envelope as queued", msgs)
		}
		if err := q.Delete(ctx, envelope.QueuePayments, msgs[0].ReceiptHandle); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("by the provider's id, --stack, --json", func(t *testing.T) {
		out := mustRun(t, nil, "", "replay", env.EventID, "--stack", "Hookstack", "--json")
		var res replayResult
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("%v:\n%s", err, out)
		}
		if res.ID != env.ID || res.EventID != env.EventID || res.Provider != "stripe" || res.Queue != envelope.QueuePayments ||
			res.MessageID == "" || res.ArchivedUntil == nil || time.Until(*res.ArchivedUntil) > time.Hour || time.Until(*res.ArchivedUntil) < 50*time.Minute {
			t.Fatalf("result = %+v", res)
		}
		receiveOne(t)
	})
	t.Run("by our id, HOOKSTACK_BACKEND=aws", func(t *testing.T) {
		out := mustRun(t, map[string]string{"HOOKSTACK_BACKEND": "aws"}, "", "replay", env.ID)
		if !strings.HasPrefix(out, "replayed stripe payment_intent.succeeded "+env.EventID+" (id "+env.ID+") onto payments of stack Hookstack: message ") {
			t.Fatalf("output:\n%s", out)
		}
		receiveOne(t)
	})
	t.Run("not archived", func(t *testing.T) {
		_, _, err := execute(t, nil, "", "replay", "evt_never_seen", "--aws")
		if err == nil || !strings.Contains(err.Error(), "not archived") || !strings.Contains(err.Error(), "hookstack dlq redrive --stack Hookstack") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("local and stack together", func(t *testing.T) {
		_, _, err := execute(t, nil, "", "replay", env.ID, "--stack", "Hookstack", "--url", "http://127.0.0.1:1")
		if err == nil || !strings.Contains(err.Error(), "pass one of them") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("stack without a table output", func(t *testing.T) {
		old := hookstackOutputs("stripe")
		delete(old, stack.KeyTableName)
		startFakeAWS(t, map[string]map[string]string{"Old": old}, nil)
		_, _, err := execute(t, nil, "", "replay", env.ID, "--stack", "Old")
		if err == nil || !strings.Contains(err.Error(), "TableName") || !strings.Contains(err.Error(), "make deploy") {
			t.Fatalf("err = %v", err)
		}
	})
}
