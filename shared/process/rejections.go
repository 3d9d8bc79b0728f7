package process

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// ErrNotificationRejected is the reason of a message dead-lettered because
// a notification it produced was refused by the notifications queue
// (queue.ErrRejected): its records are updated, but that notification can
// never be sent, so it was dropped.
var ErrNotificationRejected = errors.New("notification rejected by the notifications queue")

// rejections collects the notifications of one message that the queue
// refused and the Writer dropped: the message then goes to the DLQ with
// the reason once it is otherwise done, instead of being retried (sending
// them again would fail again).
type rejections struct {
	mu   sync.Mutex
	errs []error
}

type rejectionsKey struct{}

func withRejections(ctx context.Context, r *rejections) context.Context {
	return context.WithValue(ctx, rejectionsKey{}, r)
}

func rejectionsFrom(ctx context.Context) *rejections {
	r, _ := ctx.Value(rejectionsKey{}).(*rejections)
	return r
}

func (r *rejections) add(err error) {
	r.mu.Lock()
	r.errs = append(r.errs, err)
	r.mu.Unlock()
}

// err is the permanent error dead-lettering the message, nil when nothing
// was rejected.
func (r *rejections) err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.errs) == 0 {
		return nil
	}
	return Permanent(fmt.Errorf("%w: %w", ErrNotificationRejected, errors.Join(r.errs...)))
}
