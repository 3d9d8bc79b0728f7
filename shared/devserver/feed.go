package devserver

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hookstack/hookstack/shared/eventlog"
	"github.com/hookstack/hookstack/shared/notify"
	"github.com/hookstack/hookstack/shared/runner"
)

// deliveryFeed is the delivery-log port the dev server's deliverer writes
// to: the store's delivery log, and, after each attempt it recorded, a
// "delivery" message on /api/stream (the attempt as GET /api/deliveries
// serves it) and the attempt counted on its event's row of the inspector's
// list (eventlog.Summary.Deliveries).
//
// An attempt names its notification but not the event the notification
// came from; the delivery message does (its event's source and
// source_event_id, as the processor recorded them). Invoker reads them
// from each message of a batch into the batch's context, where Record
// finds them by delivery id.
type deliveryFeed struct {
	notify.DeliveryLog
	events *eventlog.Log
	log    *slog.Logger
}

// sourceKey is the context key of a batch's delivery sources.
type sourceKey struct{}

// source is the received event a notification came from.
type source struct{ provider, eventID string }

// Record records a in the delivery log and, once it is recorded, publishes it.
func (f deliveryFeed) Record(ctx context.Context, a notify.Attempt) error {
	if err := f.DeliveryLog.Record(ctx, a); err != nil {
		return err
	}
	// As the log stores it (and GET /api/deliveries serves it): times in UTC.
	a.AttemptedAt, a.ExpiresAt = a.AttemptedAt.UTC(), a.ExpiresAt.UTC()
	if !a.NextAttemptAt.IsZero() {
		a.NextAttemptAt = a.NextAttemptAt.UTC()
	}
	data, err := json.Marshal(a)
	if err != nil {
		return nil // recorded; only the live view misses it
	}
	src, _ := ctx.Value(sourceKey{}).(map[string]source)[a.DeliveryID]
	note := eventlog.DeliveryNote{
		DeliveryID: a.DeliveryID, NotificationID: a.NotificationID, EndpointID: a.EndpointID,
		Attempt: a.Attempt, Outcome: a.Outcome, At: a.AttemptedAt,
	}
	err = f.events.RecordDelivery(src.provider, src.eventID, note, a.EventType, data)
	if err != nil && !errors.Is(err, eventlog.ErrNotFound) && f.log != nil {
		f.log.WarnContext(ctx, "note delivery", "delivery_id", a.DeliveryID, "error", err.Error())
	}
	return nil
}

// Invoker wraps the deliverer's handler: it notes, for the batch, the
// source event of each delivery message.
func (f deliveryFeed) Invoker(next runner.Invoker) runner.Invoker {
	return runner.InvokerFunc(func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		sources := make(map[string]source, len(ev.Records))
		for _, m := range ev.Records {
			var d struct {
				ID    string `json:"id"`
				Event struct {
					Source        string `json:"source"`
					SourceEventID string `json:"source_event_id"`
				} `json:"event"`
			}
			if json.Unmarshal([]byte(m.Body), &d) == nil && d.ID != "" {
				sources[d.ID] = source{provider: d.Event.Source, eventID: d.Event.SourceEventID}
			}
		}
		return next.Invoke(context.WithValue(ctx, sourceKey{}, sources), ev)
	})
}

var _ notify.DeliveryLog = deliveryFeed{}
