// Package sqsq is the queue.Queue adapter for Amazon SQS (AWS SDK v2).
//
// Logical queue names ("payments", "payments-dlq") map to queue URLs; in
// Lambda they come from HOOKSTACK_QUEUE_URL_<NAME> (URLsFromEnv). SQS counts
// time in whole seconds: durations are rounded up (a 1.2 s visibility is
// 2 s), a receive wait is capped at SQS's 20 s, and a zero visibility on
// Receive means the queue's default. Message attributes travel as SQS String
// attributes. Messages SQS would reject fail before the request.
package sqsq

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/queue/internal/limits"
)

// MaxWait is the longest long poll SQS allows.
const MaxWait = 20 * time.Second

// EnvPrefix starts the environment variable holding a queue's URL.
const EnvPrefix = "HOOKSTACK_QUEUE_URL_"

// Queue is the SQS adapter. It is safe for concurrent use.
type Queue struct {
	client *sqs.Client
	urls   map[string]string

	arns             sync.Map    // url → ARN, for StartMessageMoveTask
	moveTaskMissing  atomic.Bool // the endpoint lacks StartMessageMoveTask (emulators)
	moveTaskInterval time.Duration
}

var (
	_ queue.Queue    = (*Queue)(nil)
	_ queue.Redriver = (*Queue)(nil)
)

// New returns the adapter for the queues in urls (logical name → queue URL).
func New(client *sqs.Client, urls map[string]string) *Queue {
	m := make(map[string]string, len(urls))
	for k, v := range urls {
		m[k] = v
	}
	return &Queue{client: client, urls: m, moveTaskInterval: time.Second}
}

// EnvVar returns the environment variable that holds name's queue URL:
// HOOKSTACK_QUEUE_URL_ + name upper-cased with '-' as '_'
// ("payments-dlq" → HOOKSTACK_QUEUE_URL_PAYMENTS_DLQ).
func EnvVar(name string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// URLsFromEnv reads the URL of each name from EnvVar(name). Every missing
// variable is named in the error.
func URLsFromEnv(getenv func(string) string, names []string) (map[string]string, error) {
	urls := make(map[string]string, len(names))
	var missing []string
	for _, name := range names {
		v := strings.TrimSpace(getenv(EnvVar(name)))
		if v == "" {
			missing = append(missing, EnvVar(name))
			continue
		}
		urls[name] = v
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("queue URLs: set %s", strings.Join(missing, ", "))
	}
	return urls, nil
}

func (q *Queue) url(name string) (string, error) {
	u, ok := q.urls[name]
	if !ok {
		return "", fmt.Errorf("sqs queue %q: no URL configured: %w", name, queue.ErrUnknownQueue)
	}
	return u, nil
}

// seconds rounds d up to whole seconds, as SQS counts.
func seconds(d time.Duration) int32 {
	if d <= 0 {
		return 0
	}
	return int32(math.Ceil(d.Seconds()))
}

// mapErr turns SQS errors into the port's sentinels, keeping the original.
func mapErr(op, name string, err error) error {
	var (
		notExist *types.QueueDoesNotExist
		badRcpt  *types.ReceiptHandleIsInvalid
		notIn    *types.MessageNotInflight
		apiErr   smithy.APIError
	)
	switch {
	case errors.As(err, &notExist):
		return fmt.Errorf("sqs %s %q: %w: %w", op, name, queue.ErrUnknownQueue, err)
	case errors.As(err, &badRcpt), errors.As(err, &notIn):
		return fmt.Errorf("sqs %s %q: %w: %w", op, name, queue.ErrReceiptInvalid, err)
	case errors.As(err, &apiErr):
		switch apiErr.ErrorCode() {
		case "AWS.SimpleQueueService.NonExistentQueue", "NonExistentQueue":
			return fmt.Errorf("sqs %s %q: %w: %w", op, name, queue.ErrUnknownQueue, err)
		case "ReceiptHandleIsInvalid", "InvalidReceiptHandle", "MessageNotInflight",
			"AWS.SimpleQueueService.MessageNotInflight":
			return fmt.Errorf("sqs %s %q: %w: %w", op, name, queue.ErrReceiptInvalid, err)
		case "InvalidMessageContents", "AWS.SimpleQueueService.InvalidMessageContents", "InvalidParameterValue":
			if op == "send" { // the message itself: sending it again fails again
				return fmt.Errorf("sqs %s %q: %w: %w", op, name, queue.ErrRejected, err)
			}
		}
	}
	return fmt.Errorf("sqs %s %q: %w", op, name, err)
}

// Send enqueues m and returns its SQS message id.
func (q *Queue) Send(ctx context.Context, name string, m queue.Outgoing) (string, error) {
	u, err := q.url(name)
	if err != nil {
		return "", err
	}
	if err := limits.CheckOutgoing(m); err != nil {
		return "", fmt.Errorf("sqs send %q: %w: %w", name, queue.ErrRejected, err)
	}
	in := &sqs.SendMessageInput{
		QueueUrl:     aws.String(u),
		MessageBody:  aws.String(string(m.Body)),
		DelaySeconds: seconds(m.Delay),
	}
	in.MessageAttributes = messageAttributes(m.Attributes)
	out, err := q.client.SendMessage(ctx, in)
	if err != nil {
		return "", mapErr("send", name, err)
	}
	return aws.ToString(out.MessageId), nil
}

// Receive long-polls up to wait (capped at 20 s) for up to max (1..10)
// messages, hiding them for visibility (0: the queue's default).
func (q *Queue) Receive(ctx context.Context, name string, max int, visibility, wait time.Duration) ([]queue.Message, error) {
	u, err := q.url(name)
	if err != nil {
		return nil, err
	}
	if err := limits.CheckVisibility(visibility); err != nil {
		return nil, fmt.Errorf("sqs receive %q: %w", name, err)
	}
	out, err := q.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:              aws.String(u),
		MaxNumberOfMessages:   int32(limits.ClampBatch(max)),
		VisibilityTimeout:     seconds(visibility),
		WaitTimeSeconds:       seconds(min(wait, MaxWait)),
		MessageAttributeNames: []string{"All"},
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{
			types.MessageSystemAttributeNameApproximateReceiveCount,
			types.MessageSystemAttributeNameSentTimestamp,
		},
	})
	if err != nil {
		return nil, mapErr("receive", name, err)
	}
	msgs := make([]queue.Message, 0, len(out.Messages))
	for _, m := range out.Messages {
		msgs = append(msgs, fromSQS(m))
	}
	return msgs, nil
}

func fromSQS(m types.Message) queue.Message {
	msg := queue.Message{
		ID:            aws.ToString(m.MessageId),
		ReceiptHandle: aws.ToString(m.ReceiptHandle),
		Body:          []byte(aws.ToString(m.Body)),
	}
	if len(m.MessageAttributes) > 0 {
		msg.Attributes = make(map[string]string, len(m.MessageAttributes))
		for k, v := range m.MessageAttributes {
			if v.StringValue != nil { // String and Number types; Binary is not ours
				msg.Attributes[k] = *v.StringValue
			}
		}
	}
	if n, err := strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)]); err == nil {
		msg.ReceiveCount = n
	}
	if ms, err := strconv.ParseInt(m.Attributes[string(types.MessageSystemAttributeNameSentTimestamp)], 10, 64); err == nil {
		msg.SentAt = time.UnixMilli(ms)
	}
	return msg
}

// Delete acknowledges a received message.
func (q *Queue) Delete(ctx context.Context, name, receiptHandle string) error {
	u, err := q.url(name)
	if err != nil {
		return err
	}
	_, err = q.client.DeleteMessage(ctx, &sqs.DeleteMessageInput{
		QueueUrl:      aws.String(u),
		ReceiptHandle: aws.String(receiptHandle),
	})
	if err != nil {
		return mapErr("delete", name, err)
	}
	return nil
}

// ChangeVisibility hides a received message for d from now (0: visible now).
func (q *Queue) ChangeVisibility(ctx context.Context, name, receiptHandle string, d time.Duration) error {
	u, err := q.url(name)
	if err != nil {
		return err
	}
	if err := limits.CheckVisibility(d); err != nil {
		return fmt.Errorf("sqs change visibility %q: %w", name, err)
	}
	_, err = q.client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl:          aws.String(u),
		ReceiptHandle:     aws.String(receiptHandle),
		VisibilityTimeout: seconds(d),
	})
	if err != nil {
		return mapErr("change visibility", name, err)
	}
	return nil
}

// messageAttributes are string attributes in SQS's form (nil for none).
func messageAttributes(attrs map[string]string) map[string]types.MessageAttributeValue {
	if len(attrs) == 0 {
		return nil
	}
	out := make(map[string]types.MessageAttributeValue, len(attrs))
	for k, v := range attrs {
		out[k] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	return out
}
