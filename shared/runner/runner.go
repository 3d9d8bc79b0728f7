// Package runner plays the SQS event source mapping: it receives batches
// from a queue, invokes a consumer with an events.SQSEvent exactly as Lambda
// would, deletes what succeeded and leaves the batch item failures to come
// back after their visibility timeout (and to the DLQ after maxReceiveCount).
// The dev server uses it with in-process handlers; the end-to-end harness
// uses it with the built bootstraps under the Runtime Interface Emulator.
package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hookstack/hookstack/shared/queue"
)

// Invoker runs one batch, as a Lambda consumer with partial batch responses.
type Invoker interface {
	Invoke(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error)
}

// InvokerFunc adapts a handler function (e.g. a processor's Handle).
type InvokerFunc func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error)

// Invoke calls f.
func (f InvokerFunc) Invoke(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	return f(ctx, ev)
}

// Source is one event source mapping.
type Source struct {
	Queue      string
	Invoker    Invoker
	BatchSize  int           // default 10
	Visibility time.Duration // default 30s
	Wait       time.Duration // long poll, default 1s
}

func (s Source) withDefaults() Source {
	if s.BatchSize <= 0 {
		s.BatchSize = 10
	}
	if s.Visibility <= 0 {
		s.Visibility = 30 * time.Second
	}
	if s.Wait <= 0 {
		s.Wait = time.Second
	}
	return s
}

// Result is what happened to one message of a batch.
type Result struct {
	Queue        string
	Message      queue.Message
	OK           bool  // the consumer succeeded and the message was deleted
	Err          error // why it was left (function error or batch item failure)
	ReceiveCount int
}

// Runner drives sources against a queue.
type Runner struct {
	Queue queue.Queue
	Log   *slog.Logger
	// OnResult, when set, is told of every message's outcome.
	OnResult func(Result)
}

// Run polls every source until ctx is done.
func (r *Runner) Run(ctx context.Context, sources ...Source) error {
	var wg sync.WaitGroup
	for _, s := range sources {
		wg.Add(1)
		go func(s Source) {
			defer wg.Done()
			backoff := 100 * time.Millisecond
			for ctx.Err() == nil {
				if _, err := r.Poll(ctx, s); err != nil && ctx.Err() == nil {
					r.log().WarnContext(ctx, "poll", "queue", s.Queue, "error", err.Error())
					select {
					case <-ctx.Done():
					case <-time.After(backoff):
					}
					backoff = min(2*backoff, 5*time.Second)
					continue
				}
				backoff = 100 * time.Millisecond
			}
		}(s)
	}
	wg.Wait()
	return nil
}

func (r *Runner) log() *slog.Logger {
	if r.Log == nil {
		return slog.Default()
	}
	return r.Log
}

// ErrFunction marks a whole batch failed by the consumer (an invocation error).
var ErrFunction = errors.New("function error")

// ErrBatchItemFailure marks a message the consumer listed as failed.
var ErrBatchItemFailure = errors.New("batch item failure")

// Poll receives one batch (waiting up to the source's Wait), invokes the
// consumer and settles the messages. It returns how many it received.
func (r *Runner) Poll(ctx context.Context, s Source) (int, error) {
	s = s.withDefaults()
	msgs, err := r.Queue.Receive(ctx, s.Queue, s.BatchSize, s.Visibility, s.Wait)
	if err != nil {
		return 0, fmt.Errorf("receive %s: %w", s.Queue, err)
	}
	if len(msgs) == 0 {
		return 0, nil
	}
	ev := Event(s.Queue, msgs)
	resp, err := s.Invoker.Invoke(ctx, ev)
	failed := map[string]bool{}
	if err != nil {
		// Lambda: a failed invocation leaves the whole batch to be retried.
		err = fmt.Errorf("%w: %v", ErrFunction, err)
		for _, m := range msgs {
			failed[m.ID] = true
		}
	} else {
		known := map[string]bool{}
		for _, m := range msgs {
			known[m.ID] = true
		}
		for _, f := range resp.BatchItemFailures {
			if !known[f.ItemIdentifier] {
				// Lambda treats an unknown identifier as a failure of the
				// whole batch.
				err = fmt.Errorf("%w: unknown batch item identifier %q", ErrFunction, f.ItemIdentifier)
				for _, m := range msgs {
					failed[m.ID] = true
				}
				break
			}
			failed[f.ItemIdentifier] = true
		}
	}
	var errs []error
	for _, m := range msgs {
		res := Result{Queue: s.Queue, Message: m, ReceiveCount: m.ReceiveCount}
		if failed[m.ID] {
			res.Err = err
			if res.Err == nil {
				res.Err = ErrBatchItemFailure
			}
		} else if derr := r.Queue.Delete(ctx, s.Queue, m.ReceiptHandle); derr != nil && !errors.Is(derr, queue.ErrReceiptInvalid) {
			errs = append(errs, fmt.Errorf("delete %s from %s: %w", m.ID, s.Queue, derr))
			res.Err = derr
		} else {
			res.OK = true
		}
		if r.OnResult != nil {
			r.OnResult(res)
		}
	}
	return len(msgs), errors.Join(errs...)
}

// Event builds the SQS event Lambda would deliver for msgs.
func Event(queueName string, msgs []queue.Message) events.SQSEvent {
	ev := events.SQSEvent{Records: make([]events.SQSMessage, 0, len(msgs))}
	arn := "arn:aws:sqs:us-east-1:000000000000:" + queueName
	for _, m := range msgs {
		rec := events.SQSMessage{
			MessageId:     m.ID,
			ReceiptHandle: m.ReceiptHandle,
			Body:          string(m.Body),
			Attributes: map[string]string{
				"ApproximateReceiveCount": strconv.Itoa(m.ReceiveCount),
				"SentTimestamp":           strconv.FormatInt(m.SentAt.UnixMilli(), 10),
			},
			EventSource:    "aws:sqs",
			EventSourceARN: arn,
			AWSRegion:      "us-east-1",
		}
		if len(m.Attributes) > 0 {
			rec.MessageAttributes = make(map[string]events.SQSMessageAttribute, len(m.Attributes))
			for k, v := range m.Attributes {
				val := v
				rec.MessageAttributes[k] = events.SQSMessageAttribute{DataType: "String", StringValue: &val}
			}
		}
		ev.Records = append(ev.Records, rec)
	}
	return ev
}

// JSONInvoker invokes through a raw JSON call (e.g. a bootstrap under the
// Runtime Interface Emulator).
type JSONInvoker func(ctx context.Context, payload []byte) ([]byte, error)

// Invoke marshals the event, calls the function and decodes its response.
func (f JSONInvoker) Invoke(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	payload, err := json.Marshal(ev)
	if err != nil {
		return events.SQSEventResponse{}, err
	}
	out, err := f(ctx, payload)
	if err != nil {
		return events.SQSEventResponse{}, err
	}
	var resp events.SQSEventResponse
	if len(out) > 0 && string(out) != "null" {
		if err := json.Unmarshal(out, &resp); err != nil {
			return events.SQSEventResponse{}, fmt.Errorf("decode response %q: %w", out, err)
		}
	}
	return resp, nil
}
