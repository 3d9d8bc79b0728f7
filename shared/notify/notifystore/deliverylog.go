package notifystore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hookstack/hookstack/shared/notify"
	"github.com/hookstack/hookstack/shared/store"
)

// DeliveryLog is notify.DeliveryLog on a store: one record per failed
// attempt (kind KindAttempt, key Attempt.Key) and, for the attempt that
// delivered, one record keyed by the delivery id (kind KindDelivered) that
// is both the attempt's log entry and the marker Delivered reads with one
// consistent Get — one write instead of two for the common case of a
// delivery that succeeds at once. Failed attempts are listed (ListedKinds);
// delivered ones are found by key on DynamoDB (see List). Both
// expire after TTL (0 means notify.LogTTL, 30 days): longer than SQS keeps
// any message (14 days at most), so no queued copy of a delivery outlives
// its marker.
//
// Markers written before the merge carry only the delivery id, time and
// attempt number, beside a KindAttempt record of the
// successful attempt; List skips them.
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

// Record stores attempt a. An attempt with outcome notify.LogDelivered is
// the delivery's KindDelivered record (key the delivery id); if one exists
// already (a copy of the delivery sent twice), the attempt is kept as a
// KindAttempt record instead. Every other attempt is a KindAttempt record
// (key a.Key()).
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

	if a.Outcome == notify.LogDelivered {
		done, err := l.markDelivered(ctx, a)
		if err != nil || done {
			return err
		}
	}
	return l.putAttempt(ctx, a)
}

// markDelivered writes the delivery's KindDelivered record holding a. done
// is false when the delivery was marked before by another attempt, whose
// record stays: a is then logged as an ordinary attempt.
func (l *DeliveryLog) markDelivered(ctx context.Context, a notify.Attempt) (done bool, err error) {
	r := store.Record{Kind: KindDelivered, Key: a.DeliveryID, UpdatedAt: a.AttemptedAt, ExpiresAt: a.ExpiresAt}
	if err := r.Encode(a); err != nil {
		return false, err
	}
	_, err = l.Store.Put(ctx, r, 0)
	if errors.Is(err, store.ErrConflict) {
		prev, gerr := l.Store.Get(ctx, KindDelivered, a.DeliveryID)
		if gerr == nil {
			var old notify.Attempt
			if prev.Decode(&old) == nil && old.AttemptedAt.Equal(a.AttemptedAt) && old.Attempt == a.Attempt {
				return true, nil // this attempt, recorded again
			}
		}
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("mark %s delivered: %w", a.DeliveryID, err)
	}
	return true, nil
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

// ErrNotificationIDRequired: DeliveryLog.List without a notification id on
// a store that does not list delivered attempts (DynamoDB): the list would
// silently leave out every successful delivery. The error List returns
// wraps store.ErrNotListable too; the dev API answers it with 400.
var ErrNotificationIDRequired = errors.New("notification_id required on this backend: successful deliveries are found by notification")

// scanLimit is how many of the newest attempts List reads.
const scanLimit = store.MaxLimit

// List returns up to limit attempts (limit <= 0: store.DefaultLimit), newest
// first, of the notification (event id) and endpoint given; "" matches any
// (`GET /api/deliveries?notification_id=&endpoint_id=`).
//
// Failed attempts are read with one store.List of the newest scanLimit
// (1000) and filtered in memory, so an attempt older than the newest 1000
// is not found. Delivered attempts are read the same way where the store
// lists KindDelivered (the local store lists every kind). On DynamoDB they
// are not indexed (ListedKinds: an index entry per delivery would double
// the deliverer's write units and put every delivery of the stack on one
// index key), so there a delivered attempt is found by its key instead:
// the delivery id of the notification and each endpoint (the one given,
// else every endpoint listed now and every endpoint a failed attempt of
// the notification names). Without a notification id there is no key to
// find them by, so there List fails with ErrNotificationIDRequired rather
// than answer with the failed attempts alone as if they were all.
func (l *DeliveryLog) List(ctx context.Context, notificationID, endpointID string, limit int) ([]notify.Attempt, error) {
	limit = store.ClampLimit(limit)
	match := func(a notify.Attempt) bool {
		return (notificationID == "" || a.NotificationID == notificationID) && (endpointID == "" || a.EndpointID == endpointID)
	}
	// Delivered attempts first: whether the store lists them decides
	// whether a list without a notification id can be complete.
	deliveredRecs, err := l.Store.List(ctx, KindDelivered, scanLimit)
	listable := err == nil
	switch {
	case listable:
	case errors.Is(err, store.ErrNotListable):
		if notificationID == "" {
			return nil, fmt.Errorf("list deliveries: %w (%w)", ErrNotificationIDRequired, err)
		}
	default:
		return nil, fmt.Errorf("list delivered attempts: %w", err)
	}
	failedRecs, err := l.Store.List(ctx, KindAttempt, scanLimit)
	if err != nil {
		return nil, fmt.Errorf("list attempts: %w", err)
	}
	failed, err := decodeAttempts(failedRecs, match)
	if err != nil {
		return nil, err
	}
	var delivered []notify.Attempt
	if listable {
		delivered, err = decodeAttempts(deliveredRecs, match)
	} else {
		delivered, err = l.deliveredOf(ctx, notificationID, endpointID, failed)
	}
	if err != nil {
		return nil, err
	}
	all := append(failed, delivered...)
	// Newest first, as each list is: merge by attempt time.
	slices.SortStableFunc(all, func(x, y notify.Attempt) int { return y.AttemptedAt.Compare(x.AttemptedAt) })
	if len(all) > limit {
		all = all[:limit]
	}
	return all, nil
}

// decodeAttempts decodes attempt records, keeping those match accepts.
// Markers of the layout before the delivered marker became the attempt's
// record (no endpoint, no notification) are skipped: their attempt is a
// KindAttempt record.
func decodeAttempts(recs []store.Record, match func(notify.Attempt) bool) ([]notify.Attempt, error) {
	out := make([]notify.Attempt, 0, len(recs))
	for _, r := range recs {
		var a notify.Attempt
		if err := r.Decode(&a); err != nil {
			return nil, fmt.Errorf("list attempts: %w", err)
		}
		if a.EndpointID == "" && a.NotificationID == "" {
			continue
		}
		if match(a) {
			out = append(out, a)
		}
	}
	return out, nil
}

// deliveredOf reads, by key, the delivered attempts of a notification
// where KindDelivered is not listable: one consistent Get per candidate
// endpoint. Nothing without a notification id (List refuses that case).
func (l *DeliveryLog) deliveredOf(ctx context.Context, notificationID, endpointID string, failed []notify.Attempt) ([]notify.Attempt, error) {
	if notificationID == "" {
		return nil, nil
	}
	var endpoints []string
	if endpointID != "" {
		endpoints = []string{endpointID}
	} else {
		recs, err := l.Store.List(ctx, KindEndpoint, MaxEndpoints)
		if err != nil {
			return nil, fmt.Errorf("list delivered attempts of %s: endpoints: %w", notificationID, err)
		}
		for _, r := range recs {
			endpoints = append(endpoints, r.Key)
		}
		for _, a := range failed {
			endpoints = append(endpoints, a.EndpointID)
		}
		slices.Sort(endpoints)
		endpoints = slices.Compact(endpoints)
	}
	var out []notify.Attempt
	for _, ep := range endpoints {
		r, err := l.Store.Get(ctx, KindDelivered, notify.DeliveryID(notificationID, ep))
		switch {
		case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrInvalid):
			continue
		case err != nil:
			return nil, fmt.Errorf("delivered attempt of %s to %s: %w", notificationID, ep, err)
		}
		var a notify.Attempt
		if err := r.Decode(&a); err != nil {
			return nil, fmt.Errorf("delivered attempt of %s to %s: %w", notificationID, ep, err)
		}
		if a.NotificationID == notificationID && a.EndpointID == ep {
			out = append(out, a)
		}
	}
	return out, nil
}
