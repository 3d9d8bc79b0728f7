package sqsq

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/hookstack/hookstack/shared/queue"
)

func TestSeconds(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want int32
	}{
		{0, 0},
		{-time.Second, 0},
		{time.Millisecond, 1},
		{time.Second, 1},
		{1200 * time.Millisecond, 2},
		{15 * time.Minute, 900},
	}
	for _, tc := range tests {
		if got := seconds(tc.in); got != tc.want {
			t.Errorf("seconds(%v) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestFromSQS(t *testing.T) {
	m := fromSQS(types.Message{
		MessageId:     aws.String("id-1"),
		ReceiptHandle: aws.String("rh"),
		Body:          aws.String("body"),
		Attributes: map[string]string{
			"ApproximateReceiveCount": "3",
			"SentTimestamp":           "1700000000123",
		},
		MessageAttributes: map[string]types.MessageAttributeValue{
			"reason": {DataType: aws.String("String"), StringValue: aws.String("bad json")},
			"bin":    {DataType: aws.String("Binary"), BinaryValue: []byte{1}},
		},
	})
	if m.ID != "id-1" || m.ReceiptHandle != "rh" || string(m.Body) != "body" || m.ReceiveCount != 3 {
		t.Errorf("fromSQS = %+v", m)
	}
	if !m.SentAt.Equal(time.UnixMilli(1700000000123)) {
		t.Errorf("SentAt = %v", m.SentAt)
	}
	if len(m.Attributes) != 1 || m.Attributes["reason"] != "bad json" {
		t.Errorf("Attributes = %v", m.Attributes)
	}
	// No system attributes (an SQS that ignores MessageSystemAttributeNames):
	// zero values, no panic.
	if m := fromSQS(types.Message{}); m.ReceiveCount != 0 || !m.SentAt.IsZero() || m.Attributes != nil {
		t.Errorf("fromSQS(empty) = %+v", m)
	}
}

// fakeSQS answers the SQS JSON protocol for the actions in handlers.
type fakeSQS struct {
	mu       sync.Mutex
	calls    []string
	handlers map[string]func(body map[string]any) (int, any)
}

func (f *fakeSQS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	action := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.")
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	f.mu.Lock()
	f.calls = append(f.calls, action)
	h := f.handlers[action]
	f.mu.Unlock()
	status, resp := 400, any(map[string]string{"__type": "com.amazonaws.sqs#InvalidAction", "message": "Unknown action: " + action})
	if h != nil {
		status, resp = h(body)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(resp)
}

func (f *fakeSQS) count(action string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c == action {
			n++
		}
	}
	return n
}

func newFake(t *testing.T, handlers map[string]func(map[string]any) (int, any)) (*Queue, *fakeSQS) {
	t.Helper()
	f := &fakeSQS{handlers: handlers}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	cfg, err := config.LoadDefaultConfig(t.Context(),
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
		config.WithHTTPClient(awshttp.NewBuildableClient()),
		config.WithRetryMaxAttempts(1),
	)
	if err != nil {
		t.Fatal(err)
	}
	client := sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	q := New(client, map[string]string{
		"work":     srv.URL + "/000000000000/work",
		"work-dlq": srv.URL + "/000000000000/work-dlq",
	})
	q.moveTaskInterval = 10 * time.Millisecond
	return q, f
}

func arnHandler(body map[string]any) (int, any) {
	u, _ := body["QueueUrl"].(string)
	name := u[strings.LastIndex(u, "/")+1:]
	return 200, map[string]any{"Attributes": map[string]string{"QueueArn": "arn:aws:sqs:us-east-1:000000000000:" + name}}
}

// In AWS, Redrive starts a message move task from the DLQ's ARN to the
// source's and waits until it completes.
func TestRedriveUsesMoveTask(t *testing.T) {
	var gotStart map[string]any
	lists := 0
	q, f := newFake(t, map[string]func(map[string]any) (int, any){
		"GetQueueAttributes": arnHandler,
		"StartMessageMoveTask": func(b map[string]any) (int, any) {
			gotStart = b
			return 200, map[string]string{"TaskHandle": "task-1"}
		},
		"ListMessageMoveTasks": func(map[string]any) (int, any) {
			lists++
			status := "RUNNING"
			if lists >= 3 {
				status = "COMPLETED"
			}
			return 200, map[string]any{"Results": []map[string]any{
				{"TaskHandle": "older", "Status": "COMPLETED", "ApproximateNumberOfMessagesMoved": 99},
				{"TaskHandle": "task-1", "Status": status, "ApproximateNumberOfMessagesMoved": 7},
			}}
		},
	})
	moved, err := q.Redrive(t.Context(), "work-dlq", "work")
	if err != nil {
		t.Fatalf("Redrive: %v", err)
	}
	if moved != 7 {
		t.Errorf("moved = %d, want 7", moved)
	}
	if gotStart["SourceArn"] != "arn:aws:sqs:us-east-1:000000000000:work-dlq" ||
		gotStart["DestinationArn"] != "arn:aws:sqs:us-east-1:000000000000:work" {
		t.Errorf("StartMessageMoveTask input = %v", gotStart)
	}
	if lists != 3 {
		t.Errorf("polled ListMessageMoveTasks %d times, want 3", lists)
	}
	if n := f.count("ReceiveMessage"); n != 0 {
		t.Errorf("fell back to receiving (%d calls)", n)
	}
}

func TestRedriveMoveTaskFails(t *testing.T) {
	q, _ := newFake(t, map[string]func(map[string]any) (int, any){
		"GetQueueAttributes":   arnHandler,
		"StartMessageMoveTask": func(map[string]any) (int, any) { return 200, map[string]string{"TaskHandle": "t"} },
		"ListMessageMoveTasks": func(map[string]any) (int, any) {
			return 200, map[string]any{"Results": []map[string]any{
				{"TaskHandle": "t", "Status": "FAILED", "FailureReason": "AWS.SimpleQueueService.NonExistentQueue"},
			}}
		},
	})
	_, err := q.Redrive(t.Context(), "work-dlq", "work")
	if err == nil || !strings.Contains(err.Error(), "FAILED") || !strings.Contains(err.Error(), "NonExistentQueue") {
		t.Fatalf("Redrive: %v, want the task's failure", err)
	}
}

// Where StartMessageMoveTask is missing (emulators answer InvalidAction),
// Redrive moves by hand, and remembers not to try the task again.
func TestRedriveFallsBackWhenUnsupported(t *testing.T) {
	var mu sync.Mutex
	pending := []string{"a", "b"}
	var sent, deleted []string
	q, f := newFake(t, map[string]func(map[string]any) (int, any){
		"GetQueueAttributes": arnHandler,
		"ReceiveMessage": func(map[string]any) (int, any) {
			mu.Lock()
			defer mu.Unlock()
			var msgs []map[string]any
			for _, b := range pending {
				msgs = append(msgs, map[string]any{"MessageId": "m-" + b, "ReceiptHandle": "rh-" + b, "Body": b})
			}
			pending = nil
			return 200, map[string]any{"Messages": msgs}
		},
		"SendMessage": func(b map[string]any) (int, any) {
			mu.Lock()
			defer mu.Unlock()
			if !strings.HasSuffix(b["QueueUrl"].(string), "/work") {
				return 400, map[string]string{"__type": "com.amazonaws.sqs#InvalidAddress"}
			}
			sent = append(sent, b["MessageBody"].(string))
			return 200, map[string]string{"MessageId": "new"}
		},
		"DeleteMessage": func(b map[string]any) (int, any) {
			mu.Lock()
			defer mu.Unlock()
			deleted = append(deleted, b["ReceiptHandle"].(string))
			return 200, map[string]any{}
		},
	})
	moved, err := q.Redrive(t.Context(), "work-dlq", "work")
	if err != nil {
		t.Fatalf("Redrive: %v", err)
	}
	if moved != 2 || strings.Join(sent, ",") != "a,b" || strings.Join(deleted, ",") != "rh-a,rh-b" {
		t.Errorf("moved %d, sent %v, deleted %v", moved, sent, deleted)
	}
	if _, err := q.Redrive(t.Context(), "work-dlq", "work"); err != nil {
		t.Fatal(err)
	}
	if n := f.count("StartMessageMoveTask"); n != 1 {
		t.Errorf("StartMessageMoveTask called %d times, want 1", n)
	}
}

func TestMapErr(t *testing.T) {
	q, _ := newFake(t, map[string]func(map[string]any) (int, any){
		"SendMessage": func(map[string]any) (int, any) {
			return 400, map[string]string{"__type": "com.amazonaws.sqs#QueueDoesNotExist", "message": "gone"}
		},
		"DeleteMessage": func(map[string]any) (int, any) {
			return 400, map[string]string{"__type": "com.amazonaws.sqs#ReceiptHandleIsInvalid", "message": "bad"}
		},
		"ChangeMessageVisibility": func(map[string]any) (int, any) {
			return 400, map[string]string{"__type": "com.amazonaws.sqs#MessageNotInflight", "message": "no"}
		},
		"ReceiveMessage": func(map[string]any) (int, any) {
			return 500, map[string]string{"__type": "com.amazonaws.sqs#InternalError", "message": "boom"}
		},
	})
	ctx := t.Context()
	if _, err := q.Send(ctx, "work", queue.Outgoing{Body: []byte("x")}); !errors.Is(err, queue.ErrUnknownQueue) {
		t.Errorf("QueueDoesNotExist → %v", err)
	}
	if err := q.Delete(ctx, "work", "h"); !errors.Is(err, queue.ErrReceiptInvalid) {
		t.Errorf("ReceiptHandleIsInvalid → %v", err)
	}
	if err := q.ChangeVisibility(ctx, "work", "h", time.Second); !errors.Is(err, queue.ErrReceiptInvalid) {
		t.Errorf("MessageNotInflight → %v", err)
	}
	_, err := q.Receive(ctx, "work", 1, time.Second, 0)
	if err == nil || errors.Is(err, queue.ErrUnknownQueue) || errors.Is(err, queue.ErrReceiptInvalid) {
		t.Errorf("InternalError → %v, want a plain error", err)
	}
}
