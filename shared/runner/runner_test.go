package runner

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/queue/localq"
)

func openQueue(t *testing.T, maxReceive int) *localq.Queue {
	t.Helper()
	q, err := localq.Open(filepath.Join(t.TempDir(), "q.db"), localq.Config{Queues: []string{"work"}, MaxReceive: maxReceive})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

func send(t *testing.T, q queue.Queue, bodies ...string) {
	t.Helper()
	for _, b := range bodies {
		if _, err := q.Send(t.Context(), "work", queue.Outgoing{Body: []byte(b), Attributes: map[string]string{"k": "v"}}); err != nil {
			t.Fatal(err)
		}
	}
}

// failing fails the messages whose body starts with "bad" and records what it saw.
type failing struct {
	mu   sync.Mutex
	seen []events.SQSMessage
}

func (f *failing) Invoke(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var resp events.SQSEventResponse
	for _, r := range ev.Records {
		f.seen = append(f.seen, r)
		if strings.HasPrefix(r.Body, "bad") {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
		}
	}
	return resp, nil
}

func TestPollDeletesSuccessesAndRetriesFailuresUntilDLQ(t *testing.T) {
	q := openQueue(t, 2)
	send(t, q, "good-1", "bad-1", "good-2")
	inv := &failing{}
	var results []Result
	r := &Runner{Queue: q, OnResult: func(res Result) { results = append(results, res) }}
	src := Source{Queue: "work", Invoker: inv, Visibility: time.Second, Wait: 100 * time.Millisecond}

	if n, err := r.Poll(t.Context(), src); err != nil || n != 3 {
		t.Fatalf("poll = %d, %v", n, err)
	}
	rec := inv.seen[0]
	if rec.EventSource != "aws:sqs" || rec.Attributes["ApproximateReceiveCount"] != "1" ||
		rec.MessageAttributes["k"].StringValue == nil || *rec.MessageAttributes["k"].StringValue != "v" {
		t.Fatalf("record = %+v", rec)
	}
	ok := 0
	for _, res := range results {
		if res.OK {
			ok++
		} else if !errors.Is(res.Err, ErrBatchItemFailure) || string(res.Message.Body) != "bad-1" {
			t.Fatalf("result = %+v", res)
		}
	}
	if ok != 2 {
		t.Fatalf("ok = %d", ok)
	}
	// The failure comes back after its visibility timeout, with a higher count.
	time.Sleep(1100 * time.Millisecond)
	if n, _ := r.Poll(t.Context(), src); n != 1 {
		t.Fatalf("second poll = %d", n)
	}
	if got := inv.seen[len(inv.seen)-1]; got.Body != "bad-1" || got.Attributes["ApproximateReceiveCount"] != "2" {
		t.Fatalf("retry = %+v", got)
	}
	// After maxReceiveCount (2) it moves to the DLQ instead of coming back.
	time.Sleep(1100 * time.Millisecond)
	if n, _ := r.Poll(t.Context(), src); n != 0 {
		t.Fatalf("third poll = %d, want the message in the DLQ", n)
	}
	dead, err := q.Receive(t.Context(), queue.DLQ("work"), 10, time.Second, 0)
	if err != nil || len(dead) != 1 || string(dead[0].Body) != "bad-1" {
		t.Fatalf("dlq = %+v, %v", dead, err)
	}
}

func TestPollFunctionErrorLeavesTheBatch(t *testing.T) {
	q := openQueue(t, 5)
	send(t, q, "a", "b")
	var results []Result
	r := &Runner{Queue: q, OnResult: func(res Result) { results = append(results, res) }}
	boom := InvokerFunc(func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
		return events.SQSEventResponse{}, errors.New("boom")
	})
	if _, err := r.Poll(t.Context(), Source{Queue: "work", Invoker: boom, Visibility: time.Second}); err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 || results[0].OK || !errors.Is(results[0].Err, ErrFunction) {
		t.Fatalf("results = %+v", results)
	}
	unknown := InvokerFunc(func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
		return events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{ItemIdentifier: "nope"}}}, nil
	})
	time.Sleep(1100 * time.Millisecond)
	results = nil
	if n, _ := r.Poll(t.Context(), Source{Queue: "work", Invoker: unknown, Visibility: time.Second}); n != 2 {
		t.Fatalf("n = %d", n)
	}
	for _, res := range results {
		if res.OK {
			t.Fatal("an unknown batch item identifier must fail the whole batch")
		}
	}
}

func TestJSONInvokerRoundTrip(t *testing.T) {
	inv := JSONInvoker(func(_ context.Context, payload []byte) ([]byte, error) {
		if !strings.Contains(string(payload), `"eventSource":"aws:sqs"`) {
			t.Errorf("payload = %s", payload)
		}
		return []byte(`{"batchItemFailures":[{"itemIdentifier":"m1"}]}`), nil
	})
	resp, err := inv.Invoke(t.Context(), Event("work", []queue.Message{{ID: "m1", Body: []byte("x"), ReceiveCount: 1}}))
	if err != nil || len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "m1" {
		t.Fatalf("resp = %+v, %v", resp, err)
	}
}

func TestRunStopsWithContext(t *testing.T) {
	q := openQueue(t, 5)
	send(t, q, "x")
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	inv := InvokerFunc(func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
		close(done)
		return events.SQSEventResponse{}, nil
	})
	r := &Runner{Queue: q}
	errc := make(chan error, 1)
	go func() { errc <- r.Run(ctx, Source{Queue: "work", Invoker: inv, Wait: 100 * time.Millisecond}) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the message was not consumed")
	}
	cancel()
	select {
	case <-errc:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
}
