package sqsq

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
)

// Redrive moves every message of dlq back to source. It uses SQS's message
// move task (StartMessageMoveTask, waiting for it to finish) and falls back,
// where the endpoint lacks it (emulators), to receiving from the DLQ,
// sending to the source and deleting from the DLQ. Either way the messages
// arrive as new messages: new ids, receive count reset.
func (q *Queue) Redrive(ctx context.Context, dlq, source string) (int, error) {
	dlqURL, err := q.url(dlq)
	if err != nil {
		return 0, err
	}
	srcURL, err := q.url(source)
	if err != nil {
		return 0, err
	}
	if dlq == source {
		return 0, fmt.Errorf("sqs redrive %q onto itself", dlq)
	}
	if !q.moveTaskMissing.Load() {
		n, err := q.moveTask(ctx, dlq, source, dlqURL, srcURL)
		if err == nil || !isUnsupported(err) {
			return n, err
		}
		q.moveTaskMissing.Store(true)
	}
	return q.moveByHand(ctx, dlq, source, dlqURL, srcURL)
}

// isUnsupported tells whether the endpoint does not implement an action.
func isUnsupported(err error) bool {
	var unsupported *types.UnsupportedOperation
	if errors.As(err, &unsupported) {
		return true
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "InvalidAction", "UnknownOperationException", "UnknownOperation", "NotImplemented",
			"AWS.SimpleQueueService.UnsupportedOperation":
			return true
		}
	}
	return false
}

func (q *Queue) arn(ctx context.Context, name, url string) (string, error) {
	if v, ok := q.arns.Load(url); ok {
		return v.(string), nil
	}
	out, err := q.client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return "", mapErr("get queue arn", name, err)
	}
	arn := out.Attributes[string(types.QueueAttributeNameQueueArn)]
	if arn == "" {
		return "", fmt.Errorf("sqs get queue arn %q: no QueueArn in the answer", name)
	}
	q.arns.Store(url, arn)
	return arn, nil
}

func (q *Queue) moveTask(ctx context.Context, dlq, source, dlqURL, srcURL string) (int, error) {
	srcARN, err := q.arn(ctx, dlq, dlqURL)
	if err != nil {
		return 0, err
	}
	dstARN, err := q.arn(ctx, source, srcURL)
	if err != nil {
		return 0, err
	}
	start, err := q.client.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{
		SourceArn:      aws.String(srcARN),
		DestinationArn: aws.String(dstARN),
	})
	if err != nil {
		return 0, mapErr("start message move task", dlq, err)
	}
	handle := aws.ToString(start.TaskHandle)
	for {
		out, err := q.client.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{
			SourceArn:  aws.String(srcARN),
			MaxResults: aws.Int32(10),
		})
		if err != nil {
			return 0, mapErr("list message move tasks", dlq, err)
		}
		for i, task := range out.Results {
			// SQS lists the most recent task first and gives a TaskHandle only
			// while a task is RUNNING: a finished one is recognised as the
			// newest task of this source queue.
			if h := aws.ToString(task.TaskHandle); h != handle && (h != "" || i != 0) {
				continue
			}
			switch aws.ToString(task.Status) {
			case "COMPLETED":
				return int(task.ApproximateNumberOfMessagesMoved), nil
			case "FAILED", "CANCELLED":
				return int(task.ApproximateNumberOfMessagesMoved), fmt.Errorf("sqs redrive %q to %q: move task %s: %s",
					dlq, source, aws.ToString(task.Status), aws.ToString(task.FailureReason))
			}
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("sqs redrive %q to %q: waiting for move task: %w", dlq, source, ctx.Err())
		case <-time.After(q.moveTaskInterval):
		}
	}
}

// moveByHand drains dlq into source until a 1 s long poll finds it empty.
// A message is deleted from the DLQ only after the send succeeded, so a
// failure can duplicate a message, never lose one. Only messages that were
// in the DLQ when the redrive started move: one that fails again at once and
// comes back (with a newer sent time) is left for the next redrive instead
// of cycling for ever while consumers run.
func (q *Queue) moveByHand(ctx context.Context, dlq, source, dlqURL, srcURL string) (int, error) {
	started := time.Now()
	moved := 0
	for {
		out, err := q.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(dlqURL),
			MaxNumberOfMessages:         10,
			VisibilityTimeout:           60,
			WaitTimeSeconds:             1,
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameSentTimestamp},
		})
		if err != nil {
			return moved, mapErr("redrive receive", dlq, err)
		}
		if len(out.Messages) == 0 {
			return moved, nil
		}
		newer := 0
		for _, m := range out.Messages {
			if sentAfter(m, started) {
				newer++
				_, _ = q.client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
					QueueUrl: aws.String(dlqURL), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0,
				})
				continue
			}
			_, err := q.client.SendMessage(ctx, &sqs.SendMessageInput{
				QueueUrl:          aws.String(srcURL),
				MessageBody:       m.Body,
				MessageAttributes: m.MessageAttributes,
			})
			if err != nil {
				return moved, mapErr("redrive send", source, err)
			}
			_, err = q.client.DeleteMessage(ctx, &sqs.DeleteMessageInput{
				QueueUrl:      aws.String(dlqURL),
				ReceiptHandle: m.ReceiptHandle,
			})
			if err != nil {
				return moved, mapErr("redrive delete", dlq, err)
			}
			moved++
		}
		if newer == len(out.Messages) {
			return moved, nil // only messages dead-lettered since the start are left
		}
	}
}

// sentAfter reports whether m was sent to its queue after t (SentTimestamp,
// epoch milliseconds; a message without it counts as older).
func sentAfter(m types.Message, t time.Time) bool {
	v, ok := m.Attributes[string(types.MessageSystemAttributeNameSentTimestamp)]
	if !ok {
		return false
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	return err == nil && time.UnixMilli(ms).After(t)
}
