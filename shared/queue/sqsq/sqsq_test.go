package sqsq_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/queue/queuetest"
	"github.com/hookstack/hookstack/shared/queue/sqsq"
	"github.com/hookstack/hookstack/shared/queue/sqsq/sqstest"
)

// The contract suite against the SQS emulator (fauxqs).
func TestContract(t *testing.T) {
	sqstest.Endpoint(t)
	queuetest.Run(t, func(t *testing.T, names []string, maxReceive int) queue.Queue {
		q, _, _ := sqstest.Queues(t, names, maxReceive)
		return q
	})
}

func TestProvisionSetsRedrivePolicy(t *testing.T) {
	t.Parallel()
	_, client, urls := sqstest.Queues(t, []string{"payments", "leads"}, 4)
	for _, name := range []string{"payments", "payments-dlq", "leads", "leads-dlq"} {
		if !strings.HasSuffix(urls[name], "-"+name) {
			t.Errorf("url of %s = %q", name, urls[name])
		}
	}
	out, err := client.GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(urls["payments"]),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameRedrivePolicy},
	})
	if err != nil {
		t.Fatal(err)
	}
	policy := out.Attributes[string(types.QueueAttributeNameRedrivePolicy)]
	if !strings.Contains(policy, `"maxReceiveCount":"4"`) || !strings.Contains(policy, "payments-dlq") {
		t.Errorf("RedrivePolicy = %s", policy)
	}
}

// A URL whose queue is gone is ErrUnknownQueue, as is a name without a URL.
func TestDeletedQueueIsUnknown(t *testing.T) {
	t.Parallel()
	q, client, urls := sqstest.Queues(t, []string{"gone"}, 3)
	if _, err := client.DeleteQueue(t.Context(), &sqs.DeleteQueueInput{QueueUrl: aws.String(urls["gone"])}); err != nil {
		t.Fatal(err)
	}
	_, err := q.Send(t.Context(), "gone", queue.Outgoing{Body: []byte("x")})
	if !errors.Is(err, queue.ErrUnknownQueue) {
		t.Errorf("Send to a deleted queue: %v, want ErrUnknownQueue", err)
	}
	_, err = q.Receive(t.Context(), "gone", 1, time.Second, 0)
	if !errors.Is(err, queue.ErrUnknownQueue) {
		t.Errorf("Receive from a deleted queue: %v, want ErrUnknownQueue", err)
	}
	if _, err := q.Redrive(t.Context(), "gone-dlq", "gone"); !errors.Is(err, queue.ErrUnknownQueue) {
		t.Errorf("Redrive to a deleted queue: %v, want ErrUnknownQueue", err)
	}
}

// Attributes set by other producers (Number type) come through as strings.
func TestForeignAttributes(t *testing.T) {
	t.Parallel()
	q, client, urls := sqstest.Queues(t, []string{"in"}, 3)
	_, err := client.SendMessage(t.Context(), &sqs.SendMessageInput{
		QueueUrl:    aws.String(urls["in"]),
		MessageBody: aws.String("from elsewhere"),
		MessageAttributes: map[string]types.MessageAttributeValue{
			"count": {DataType: aws.String("Number"), StringValue: aws.String("42")},
			"blob":  {DataType: aws.String("Binary"), BinaryValue: []byte{1, 2}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := q.Receive(t.Context(), "in", 1, time.Minute, 2*time.Second)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("Receive: %d messages, %v", len(msgs), err)
	}
	if got := msgs[0].Attributes; len(got) != 1 || got["count"] != "42" {
		t.Errorf("attributes = %v, want only count=42", got)
	}
}

func TestEnvVar(t *testing.T) {
	tests := map[string]string{
		"payments":       "HOOKSTACK_QUEUE_URL_PAYMENTS",
		"payments-dlq":   "HOOKSTACK_QUEUE_URL_PAYMENTS_DLQ",
		"deliveries-dlq": "HOOKSTACK_QUEUE_URL_DELIVERIES_DLQ",
		"notifications":  "HOOKSTACK_QUEUE_URL_NOTIFICATIONS",
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			if got := sqsq.EnvVar(name); got != want {
				t.Errorf("EnvVar(%q) = %q, want %q", name, got, want)
			}
		})
	}
}

func TestURLsFromEnv(t *testing.T) {
	env := map[string]string{
		"HOOKSTACK_QUEUE_URL_PAYMENTS":     "https://sqs.eu-west-1.amazonaws.com/123/payments",
		"HOOKSTACK_QUEUE_URL_PAYMENTS_DLQ": " https://sqs.eu-west-1.amazonaws.com/123/payments-dlq\n",
		"HOOKSTACK_QUEUE_URL_RELAY":        "",
	}
	getenv := func(k string) string { return env[k] }
	tests := []struct {
		name    string
		names   []string
		want    map[string]string
		wantErr []string
	}{
		{
			name:  "all set",
			names: []string{"payments", "payments-dlq"},
			want: map[string]string{
				"payments":     "https://sqs.eu-west-1.amazonaws.com/123/payments",
				"payments-dlq": "https://sqs.eu-west-1.amazonaws.com/123/payments-dlq",
			},
		},
		{
			name:    "missing and empty are named",
			names:   []string{"payments", "relay", "leads-dlq"},
			wantErr: []string{"HOOKSTACK_QUEUE_URL_RELAY", "HOOKSTACK_QUEUE_URL_LEADS_DLQ"},
		},
		{name: "none", names: nil, want: map[string]string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := sqsq.URLsFromEnv(getenv, tc.names)
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatalf("URLsFromEnv = %v, want an error", got)
				}
				for _, v := range tc.wantErr {
					if !strings.Contains(err.Error(), v) {
						t.Errorf("error %q does not name %s", err, v)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}
