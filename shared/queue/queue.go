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
)

// AttrReason is the message attribute that carries why a message was
// dead-lettered.
const AttrReason = "reason"

// DLQ returns the name of a queue's dead-letter queue.
func DLQ(name string) string { return name + "-dlq" }
