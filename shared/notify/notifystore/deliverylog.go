package notifystore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hookstack/hookstack/shared/notify"
	"github.com/hookstack/hookstack/shared/store"
)

// DeliveryLog is notify.DeliveryLog on a store: one record per attempt
// (kind KindAttempt) and, for a delivery that succeeded, a marker (kind
// KindDelivered, key the delivery id) that Delivered reads with one
// consistent Get. Both expire after TTL (0 means notify.LogTTL, 30 days):
// longer than SQS keeps any message (14 days at most), so no queued copy of
// a delivery outlives its marker.
type DeliveryLog struct {
	Store store.Store
	TTL   time.Duration
	Now   func() time.Time
}

var _ notify.DeliveryLog = (*DeliveryLog)(nil)

// NewDeliveryLog returns the delivery log in s.
func NewDeliveryLog(s store.Store) *DeliveryLog { return &DeliveryLog{Store: s} }

func (l *DeliveryLog) ttl() time.Duration {
	if l.TTL > 0 {
		return l.TTL
	}
	return notify.LogTTL
}

func (l *DeliveryLog) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

// deliveredMarker is the data of a KindDelivered record.
type deliveredMarker struct {
	DeliveryID string    `json:"delivery_id"`
	At         time.Time `json:"at"`
	Attempt    int       `json:"attempt"`
}

// Record stores attempt a (key a.Key()). For outcome notify.LogDelivered it
// first writes the delivered marker, so that Delivered answers true even if
// the attempt record fails.
//
// A second record under the same key is either the same attempt recorded
// again (same AttemptedAt: nothing to do) or a new attempt with a number
// used before: a delivery redriven from the DLQ starts counting at 1 again.
// The latter is stored under a.Key() + "@" + AttemptedAt, so the history
// keeps every attempt.
func (l *DeliveryLog) Record(ctx context.Context, a notify.Attempt) error {
	if a.DeliveryID == "" {
		return fmt.Errorf("record attempt: %w: empty delivery id", store.ErrInvalid)
	}
	if a.AttemptedAt.IsZero() {
		a.AttemptedAt = l.now()
	}
	a.AttemptedAt = a.AttemptedAt.UTC()
	if a.ExpiresAt.IsZero() {
		a.ExpiresAt = a.AttemptedAt.Add(l.ttl())
	}
	a.ExpiresAt = a.ExpiresAt.UTC()

	var errs []error
	if a.Outcome == notify.LogDelivered {
		if err := l.markDelivered(ctx, a); err != nil {
			errs = append(errs, err)
		}
	}
	if err := l.putAttempt(ctx, a); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (l *DeliveryLog) markDelivered(ctx context.Context, a notify.Attempt) error {
	r := store.Record{Kind: KindDelivered, Key: a.DeliveryID, UpdatedAt: a.AttemptedAt, ExpiresAt: a.ExpiresAt}
	if err := r.Encode(deliveredMarker{DeliveryID: a.DeliveryID, At: a.AttemptedAt, Attempt: a.Attempt}); err != nil {
		return err
	}
	_, err := l.Store.Put(ctx, r, 0)
	if err != nil && !errors.Is(err, store.ErrConflict) { // conflict: marked already
		return fmt.Errorf("mark %s delivered: %w", a.DeliveryID, err)
	}
	return nil
}

func (l *DeliveryLog) putAttempt(ctx context.Context, a notify.Attempt) error {
	r := store.Record{Kind: KindAttempt, Key: a.Key(), UpdatedAt: a.AttemptedAt, ExpiresAt: a.ExpiresAt}
	if err := r.Encode(a); err != nil {
		return err
	}
	_, err := l.Store.Put(ctx, r, 0)
	if !errors.Is(err, store.ErrConflict) {
		if err != nil {
			return fmt.Errorf("record attempt %s: %w", r.Key, err)
		}
		return nil
	}
	prev, err := l.Store.Get(ctx, KindAttempt, r.Key)
	if err == nil {
		var old notify.Attempt
		if prev.Decode(&old) == nil && old.AttemptedAt.Equal(a.AttemptedAt) {
			return nil // the same attempt, recorded again
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("record attempt %s: %w", r.Key, err)
	}
	r.Key = a.Key() + "@" + store.SortTime(a.AttemptedAt)
	if _, err := l.Store.Put(ctx, r, 0); err != nil && !errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("record attempt %s: %w", r.Key, err)
	}
	return nil
}

// Delivered reports whether the delivery's marker exists (notify.DeliveryLog).
func (l *DeliveryLog) Delivered(ctx context.Context, deliveryID string) (bool, error) {
	if deliveryID == "" {
		return false, nil
	}
	_, err := l.Store.Get(ctx, KindDelivered, deliveryID)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	}
	return false, fmt.Errorf("delivered %s: %w", deliveryID, err)
}

// scanLimit is how many of the newest attempts List reads.
const scanLimit = store.MaxLimit

// List returns up to limit attempts (limit <= 0: store.DefaultLimit), newest
// first, of the notification (event id) and endpoint given; "" matches any
// (`GET /api/deliveries?notification_id=&endpoint_id=`).
//
// Cost: it reads the newest scanLimit (1000) attempts of every delivery with
// one store.List and filters them in memory, so an attempt older than the
// newest 1000 is not found. That suits the dev server and small
// deployments; a busy deployment wants an index on notification and
// endpoint (a second sort key under gsi1pk "delivery-attempt#<event id>")
// instead.
func (l *DeliveryLog) List(ctx context.Context, notificationID, endpointID string, limit int) ([]notify.Attempt, error) {
	limit = store.ClampLimit(limit)
	recs, err := l.Store.List(ctx, KindAttempt, scanLimit)
	if err != nil {
		return nil, fmt.Errorf("list attempts: %w", err)
	}
	out := make([]notify.Attempt, 0, min(limit, len(recs)))
	for _, r := range recs {
		var a notify.Attempt
		if err := r.Decode(&a); err != nil {
			return nil, fmt.Errorf("list attempts: %w", err)
		}
		if notificationID != "" && a.NotificationID != notificationID {
			continue
		}
		if endpointID != "" && a.EndpointID != endpointID {
			continue
		}
		out = append(out, a)
		if len(out) == limit {
			break
		}
	}
	return out, nil
}
