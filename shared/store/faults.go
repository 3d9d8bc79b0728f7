package store

import "context"

// Operation names passed to a WithFaults hook.
const (
	OpGet                = "Get"
	OpPut                = "Put"
	OpClearOutbox        = "ClearOutbox"
	OpList               = "List"
	OpAppendNotification = "AppendNotification"
	OpListNotifications  = "ListNotifications"
)

// WithFaults wraps s for fault-injection tests: before each operation it
// calls f with the operation's name (OpGet, OpPut, ...); a non-nil error is
// returned as the operation's result without calling s. Return, for
// example, ErrUnavailable (or a smithy API error with code
// ThrottlingException) to simulate throttling, or ErrConflict to force a
// retry. f may be called from several goroutines.
func WithFaults(s Store, f func(op string) error) Store {
	return &faulty{s: s, f: f}
}

type faulty struct {
	s Store
	f func(op string) error
}

func (x *faulty) Get(ctx context.Context, kind, key string) (Record, error) {
	if err := x.f(OpGet); err != nil {
		return Record{}, err
	}
	return x.s.Get(ctx, kind, key)
}

func (x *faulty) Put(ctx context.Context, r Record, expectRev int64) (int64, error) {
	if err := x.f(OpPut); err != nil {
		return 0, err
	}
	return x.s.Put(ctx, r, expectRev)
}

func (x *faulty) ClearOutbox(ctx context.Context, kind, key string, rev int64) (int64, error) {
	if err := x.f(OpClearOutbox); err != nil {
		return 0, err
	}
	return x.s.ClearOutbox(ctx, kind, key, rev)
}

func (x *faulty) List(ctx context.Context, kind string, limit int) ([]Record, error) {
	if err := x.f(OpList); err != nil {
		return nil, err
	}
	return x.s.List(ctx, kind, limit)
}

func (x *faulty) AppendNotification(ctx context.Context, n Notification) error {
	if err := x.f(OpAppendNotification); err != nil {
		return err
	}
	return x.s.AppendNotification(ctx, n)
}

func (x *faulty) ListNotifications(ctx context.Context, typ string, limit int) ([]Notification, error) {
	if err := x.f(OpListNotifications); err != nil {
		return nil, err
	}
	return x.s.ListNotifications(ctx, typ, limit)
}
