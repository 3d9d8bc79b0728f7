// Package queue is the port for the pipeline's queues: SQS in AWS, an
// embedded file-backed queue for `hookstack dev`. Both adapters pass the same
// contract suite (queuetest), so local and AWS behave alike.
//
// Queues are addressed by logical name ("payments", "payments-dlq", ...);
// each adapter maps names to its own resources.
package queue

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Message is a received message.
type Message struct {
	ID            string
	ReceiptHandle string
	Body          []byte
	Attributes    map[string]string // message attributes (string values)
	ReceiveCount  int               // 1 on first receive
	SentAt        time.Time
}

// Outgoing is a message to send.
type Outgoing struct {
	Body       []byte
	Attributes map[string]string // string message attributes, e.g. "reason"
	Delay      time.Duration     // 0..15m
}

// Queue is everything the pipeline does with queues.
type Queue interface {
	// Send enqueues one message and returns its id. An error means the
	// message was not accepted (the caller must not acknowledge upstream).
	// It must not keep m.Body once it returns: callers reuse the buffer.
	Send(ctx context.Context, queue string, m Outgoing) (string, error)
	// Receive returns up to max messages, hiding them for visibility. It
	// waits up to wait for at least one message. Messages received more
	// than the queue's maxReceiveCount times move to its DLQ instead.
	Receive(ctx context.Context, queue string, max int, visibility, wait time.Duration) ([]Message, error)
	// Delete acknowledges a received message.
	Delete(ctx context.Context, queue, receiptHandle string) error
	// ChangeVisibility hides a received message for d from now (0 = visible now).
	ChangeVisibility(ctx context.Context, queue, receiptHandle string, d time.Duration) error
}

// BatchSender is an optional capability of a Queue: many messages to one
// queue in as few requests as the backend allows (SQS SendMessageBatch: up
// to 10 entries and 256 KiB a request; the adapter makes the chunks, so msgs
// may be of any length). Callers that hold a Queue test for it and fall
// back to Send (see SendAll); a wrapper of a Queue that does not implement
// it simply hides it, which stays correct.
type BatchSender interface {
	// SendBatch enqueues msgs and returns exactly one result per message, in
	// the order of msgs (an empty slice for empty msgs). A result's Err
	// means that message was not accepted — the caller must not acknowledge
	// what it stands for upstream — while other messages of the same call
	// may well have been; a nil Err carries the message's id. Failures of a
	// whole request (network, unknown queue) fail every message it carried.
	// Like Send, an error may be reported for a message that was in fact
	// enqueued (a lost answer): consumers dedupe.
	SendBatch(ctx context.Context, queue string, msgs []Outgoing) []BatchResult
}

// BatchResult is the outcome of one message of a SendBatch.
type BatchResult struct {
	ID  string // the message id when Err is nil
	Err error
}

// Sender is the sending half of a Queue.
type Sender interface {
	Send(ctx context.Context, queue string, m Outgoing) (string, error)
}

// SendAll sends msgs to queue with s's SendBatch when s is a BatchSender,
// else with one Send per message, in order, each attempted whatever the
// others' fate. Either way it returns one result per message, in order.
func SendAll(ctx context.Context, s Sender, queue string, msgs []Outgoing) []BatchResult {
	if bs, ok := s.(BatchSender); ok {
		res := bs.SendBatch(ctx, queue, msgs)
		if len(res) != len(msgs) { // a broken adapter must not make a message look sent
			out := make([]BatchResult, len(msgs))
			for i := range out {
				if i < len(res) {
					out[i] = res[i]
				} else {
					out[i].Err = fmt.Errorf("send batch %q: %w", queue, ErrNoResult)
				}
			}
			return out
		}
		return res
	}
	out := make([]BatchResult, len(msgs))
	for i, m := range msgs {
		out[i].ID, out[i].Err = s.Send(ctx, queue, m)
	}
	return out
}

// Redriver moves every message from a DLQ back to its source queue.
type Redriver interface {
	Redrive(ctx context.Context, dlq, source string) (moved int, err error)
}

// Errors shared by the adapters.
var (
	// ErrUnknownQueue: the logical name maps to no queue.
	ErrUnknownQueue = errors.New("unknown queue")
	// ErrReceiptInvalid: the receipt handle is stale (the message was
	// received again or deleted).
	ErrReceiptInvalid = errors.New("receipt handle invalid")
	// ErrRejected: the queue refused the message itself (SQS: a batch entry
	// failed with SenderFault, or the message breaks SQS's rules); sending
	// it again unchanged will fail again.
	ErrRejected = errors.New("message rejected by the queue")
	// ErrNoResult: a batch send gave no result for a message (it is treated
	// as not sent).
	ErrNoResult = errors.New("no result for the message")
)

// AttrReason is the message attribute that carries why a message was
// dead-lettered.
const AttrReason = "reason"

// DLQ returns the name of a queue's dead-letter queue.
func DLQ(name string) string { return name + "-dlq" }
