package sqsq

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/hookstack/hookstack/shared/emulator"
	"github.com/hookstack/hookstack/shared/queue"
)

// TestRedriveByMessageMoveTask runs the native redrive path
// (StartMessageMoveTask, then ListMessageMoveTasks until it completes)
// against local-aws-sqs, the emulator that implements it; fauxqs, used by
// the contract suite, lacks it and exercises the fallback.
func TestRedriveByMessageMoveTask(t *testing.T) {
	endpoint := emulator.Endpoint(t, emulator.EnvSQSMove)
	cfg, err := emulator.Config(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	client := sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(endpoint) })
	urls, err := Provision(t.Context(), client, []string{"work"}, 2, emulator.Name("mt", 4)+"-")
	if err != nil {
		t.Fatal(err)
	}
	q := New(client, urls)
	for _, body := range []string{"one", "two", "three"} {
		if _, err := q.Send(t.Context(), queue.DLQ("work"), queue.Outgoing{Body: []byte(body), Attributes: map[string]string{queue.AttrReason: "test"}}); err != nil {
			t.Fatal(err)
		}
	}
	moved, err := q.Redrive(t.Context(), queue.DLQ("work"), "work")
	if err != nil {
		t.Fatal(err)
	}
	if q.moveTaskMissing.Load() {
		t.Fatal("the redrive fell back to receive-send-delete: StartMessageMoveTask was not used")
	}
	if moved != 3 {
		t.Fatalf("moved = %d, want 3", moved)
	}
	got := map[string]bool{}
	deadline := time.Now().Add(10 * time.Second)
	for len(got) < 3 && time.Now().Before(deadline) {
		msgs, err := q.Receive(t.Context(), "work", 10, 30*time.Second, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			got[string(m.Body)] = true
		}
	}
	if !got["one"] || !got["two"] || !got["three"] {
		t.Fatalf("source queue after redrive = %v", got)
	}
	if left, _ := q.Receive(t.Context(), queue.DLQ("work"), 10, time.Second, 0); len(left) != 0 {
		t.Fatalf("DLQ after redrive = %d messages", len(left))
	}
}
