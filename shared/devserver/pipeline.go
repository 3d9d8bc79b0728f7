package devserver

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/eventlog"
	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/runner"
)

// statusTracker keeps the event log's processing status in step with the
// pipeline: the runner reports each message's outcome, and dead-letter sends
// made by the consumers (permanent failures) are seen on their way out.
type statusTracker struct {
	events     *eventlog.Log
	log        *slog.Logger
	maxReceive func(queue string) int
}

// OnResult is the runner's callback.
func (t statusTracker) OnResult(res runner.Result) {
	if !isDomainQueue(res.Queue) {
		return
	}
	base, ok := entryOf(res.Message.Body)
	if !ok {
		return
	}
	status, reason := eventlog.StatusProcessed, ""
	if !res.OK {
		status = eventlog.StatusFailed
		if res.Err != nil {
			reason = res.Err.Error()
		}
		if res.ReceiveCount >= t.maxReceive(res.Queue) {
			status, reason = eventlog.StatusDead, "failed "+strconv.Itoa(res.ReceiveCount)+" times (maxReceiveCount): "+reason
		}
	}
	t.update(base, func(e *eventlog.Entry) {
		// A dead-lettered message is reported as handled by its consumer:
		// keep the dead status that the DLQ send recorded.
		if e.Status == eventlog.StatusDead && status == eventlog.StatusProcessed {
			return
		}
		e.Status, e.ReceiveCount = status, res.ReceiveCount
		e.Reason = reason
	})
}

func (t statusTracker) deadLettered(queueName string, m queue.Outgoing) {
	source := strings.TrimSuffix(queueName, envelope.DLQSuffix)
	if !isDomainQueue(source) {
		return
	}
	if base, ok := entryOf(m.Body); ok {
		t.update(base, func(e *eventlog.Entry) {
			e.Status, e.Reason = eventlog.StatusDead, m.Attributes[queue.AttrReason]
		})
	}
}

func (t statusTracker) update(base eventlog.Entry, fn func(*eventlog.Entry)) {
	id := base.ID
	err := t.events.Upsert(base, func(e *eventlog.Entry) {
		fn(e)
		e.UpdatedAt = time.Now().UTC()
	})
	if err != nil && !errors.Is(err, eventlog.ErrNotFound) {
		t.log.Warn("event status", "id", id, "error", err.Error())
	}
}

// observedQueue tells the tracker of every dead-letter send.
type observedQueue struct {
	queue.Queue
	tracker statusTracker
}

func (q observedQueue) Send(ctx context.Context, name string, m queue.Outgoing) (string, error) {
	id, err := q.Queue.Send(ctx, name, m)
	if err == nil && strings.HasSuffix(name, envelope.DLQSuffix) {
		q.tracker.deadLettered(name, m)
	}
	return id, err
}

// SendBatch passes batches through (queue.SendAll: the wrapped queue's
// SendBatch, or its Send), telling the tracker of each dead letter sent.
func (q observedQueue) SendBatch(ctx context.Context, name string, msgs []queue.Outgoing) []queue.BatchResult {
	res := queue.SendAll(ctx, q.Queue, name, msgs)
	if strings.HasSuffix(name, envelope.DLQSuffix) {
		for i, r := range res {
			if r.Err == nil {
				q.tracker.deadLettered(name, msgs[i])
			}
		}
	}
	return res
}

func isDomainQueue(name string) bool {
	for _, q := range envelope.DomainQueues {
		if q == name {
			return true
		}
	}
	return false
}

// entryOf is the event log entry a queued envelope stands for.
func entryOf(body []byte) (eventlog.Entry, bool) {
	e, err := envelope.Decode(body)
	if err != nil {
		return eventlog.Entry{}, false
	}
	// Redacted as the Recorder's entries are: this one is stored when the
	// pipeline gets there first, and stays when no receipt follows.
	env := redactedEnvelope(e)
	return eventlog.Entry{
		Summary: eventlog.Summary{
			ID: e.ID, Provider: e.Provider, EventID: e.EventID, Type: e.Type, Queue: e.Queue,
			ReceivedAt: e.ReceivedAt, Status: eventlog.StatusQueued,
		},
		Body: string(env.Body), Envelope: &env,
	}, true
}
