package faults

import (
	"context"
	"fmt"
	"time"

	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/store"
)

// WrapQueue returns q with spec's faults injected (q itself for a nil spec).
// Prefer Injector.Queue to share one random stream and counts with the store.
func WrapQueue(q queue.Queue, spec *Spec) queue.Queue { return New(spec).Queue(q) }

// WrapStore returns s with spec's faults injected (s itself for a nil spec).
func WrapStore(s store.Store, spec *Spec) store.Store { return New(spec).Store(s) }

// Queue returns q with the injector's queue faults (q itself for a nil
// injector).
func (in *Injector) Queue(q queue.Queue) queue.Queue {
	if in == nil {
		return q
	}
	return &faultQueue{q: q, in: in}
}

// Store returns s with the injector's store faults (s itself for a nil
// injector).
func (in *Injector) Store(s store.Store) store.Store {
	if in == nil {
		return s
	}
	return &faultStore{s: s, in: in}
}

type faultQueue struct {
	q  queue.Queue
	in *Injector
}

func (f *faultQueue) Send(ctx context.Context, name string, m queue.Outgoing) (string, error) {
	r := f.in.decide(QueueSend, name)
	if r == nil {
		return f.q.Send(ctx, name, m)
	}
	what := "send to " + name
	switch r.Mode {
	case ModeDelay:
		if err := f.in.sleep(ctx, r.Duration); err != nil {
			return "", err
		}
		return f.q.Send(ctx, name, m)
	case ModeTimeout:
		_ = f.in.sleep(ctx, r.Duration)
		return "", fault(r, what, timeoutErr{})
	case ModeAckLost:
		id, err := f.q.Send(ctx, name, m)
		if err != nil {
			return "", err
		}
		return "", fault(r, what+" (the message "+id+" was sent)")
	}
	return "", fault(r, what)
}

// SendBatch decides a fault per message, as Send does for one: a message
// whose rule says error or timeout fails without being sent, ack-lost is
// sent and reported failed, delay is sent after the wait (the longest wait
// of the batch, once). The others go to the wrapped queue's SendBatch (or
// its Send, one by one, when it has none).
func (f *faultQueue) SendBatch(ctx context.Context, name string, msgs []queue.Outgoing) []queue.BatchResult {
	res := make([]queue.BatchResult, len(msgs))
	if len(msgs) == 0 {
		return res
	}
	what := "send to " + name
	rules := make([]*Rule, len(msgs))
	var (
		wait  time.Duration
		send  []queue.Outgoing
		index []int // of msgs, per entry of send
	)
	for i, m := range msgs {
		r := f.in.decide(QueueSend, name)
		rules[i] = r
		if r != nil && (r.Mode == ModeDelay || r.Mode == ModeTimeout) {
			wait = max(wait, r.Duration)
		}
		if r == nil || r.Mode == ModeDelay || r.Mode == ModeAckLost {
			send = append(send, m)
			index = append(index, i)
		}
	}
	if wait > 0 {
		if err := f.in.sleep(ctx, wait); err != nil {
			for i := range res {
				res[i].Err = err
			}
			return res
		}
	}
	for i, r := range rules {
		switch {
		case r == nil, r.Mode == ModeDelay, r.Mode == ModeAckLost:
		case r.Mode == ModeTimeout:
			res[i].Err = fault(r, what, timeoutErr{})
		default:
			res[i].Err = fault(r, what)
		}
	}
	if len(send) == 0 {
		return res
	}
	for j, sr := range queue.SendAll(ctx, f.q, name, send) {
		i := index[j]
		r := rules[i]
		switch {
		case sr.Err != nil:
			res[i].Err = sr.Err
		case r != nil && r.Mode == ModeAckLost:
			res[i].Err = fault(r, what+" (the message "+sr.ID+" was sent)")
		default:
			res[i].ID = sr.ID
		}
	}
	return res
}

func (f *faultQueue) Receive(ctx context.Context, name string, max int, visibility, wait time.Duration) ([]queue.Message, error) {
	if c := f.in.spec.Visibility; c > 0 && (visibility == 0 || visibility > c) {
		visibility = c
	}
	r := f.in.decide(QueueReceive, name)
	if r == nil {
		return f.q.Receive(ctx, name, max, visibility, wait)
	}
	what := "receive from " + name
	switch r.Mode {
	case ModeDelay:
		if err := f.in.sleep(ctx, r.Duration); err != nil {
			return nil, err
		}
		return f.q.Receive(ctx, name, max, visibility, wait)
	case ModeTimeout:
		_ = f.in.sleep(ctx, r.Duration)
		return nil, fault(r, what, timeoutErr{})
	case ModeAckLost:
		msgs, err := f.q.Receive(ctx, name, max, visibility, wait)
		if err != nil {
			return nil, err
		}
		return nil, fault(r, fmt.Sprintf("%s (%d messages hidden, not returned)", what, len(msgs)))
	}
	return nil, fault(r, what)
}

func (f *faultQueue) Delete(ctx context.Context, name, receiptHandle string) error {
	r := f.in.decide(QueueDelete, name)
	if r == nil {
		return f.q.Delete(ctx, name, receiptHandle)
	}
	what := "delete from " + name
	switch r.Mode {
	case ModeDelay:
		if err := f.in.sleep(ctx, r.Duration); err != nil {
			return err
		}
		return f.q.Delete(ctx, name, receiptHandle)
	case ModeTimeout:
		_ = f.in.sleep(ctx, r.Duration)
		return fault(r, what, timeoutErr{})
	case ModeAckLost:
		if err := f.q.Delete(ctx, name, receiptHandle); err != nil {
			return err
		}
		return fault(r, what+" (deleted)")
	case ModeCrash:
		if r.Duration > 0 {
			// The consumer died: the message reappears when its (here
			// shortened) visibility timeout runs out.
			if err := f.q.ChangeVisibility(ctx, name, receiptHandle, r.Duration); err != nil {
				return fault(r, what+" (visibility not shortened: "+err.Error()+")")
			}
		}
		return fault(r, what+" (consumer crashed before deleting)")
	}
	return fault(r, what)
}

func (f *faultQueue) ChangeVisibility(ctx context.Context, name, receiptHandle string, d time.Duration) error {
	r := f.in.decide(QueueChangeVisibility, name)
	if r == nil {
		return f.q.ChangeVisibility(ctx, name, receiptHandle, d)
	}
	what := "change visibility in " + name
	switch r.Mode {
	case ModeDelay:
		if err := f.in.sleep(ctx, r.Duration); err != nil {
			return err
		}
		return f.q.ChangeVisibility(ctx, name, receiptHandle, d)
	case ModeTimeout:
		_ = f.in.sleep(ctx, r.Duration)
		return fault(r, what, timeoutErr{})
	case ModeAckLost:
		if err := f.q.ChangeVisibility(ctx, name, receiptHandle, d); err != nil {
			return err
		}
		return fault(r, what+" (changed)")
	}
	return fault(r, what)
}

type faultStore struct {
	s  store.Store
	in *Injector
}

// before runs a fired rule's pre-operation part: nil to go on with the
// operation (afterwards failing when ackLost), else the error to return.
func (f *faultStore) before(ctx context.Context, op, kind, what string) (ackLost *Rule, err error) {
	r := f.in.decide(op, kind)
	if r == nil {
		return nil, nil
	}
	switch r.Mode {
	case ModeDelay:
		return nil, f.in.sleep(ctx, r.Duration)
	case ModeTimeout:
		_ = f.in.sleep(ctx, r.Duration)
		return nil, fault(r, what, store.ErrUnavailable, timeoutErr{})
	case ModeAckLost:
		return r, nil
	}
	return nil, fault(r, what, store.ErrUnavailable)
}

func lost(r *Rule, what string, err error) error {
	if r == nil || err != nil {
		return err
	}
	return fault(r, what+" (done)", store.ErrUnavailable, timeoutErr{})
}

func (f *faultStore) Get(ctx context.Context, kind, key string) (store.Record, error) {
	what := fmt.Sprintf("get %s %q", kind, key)
	r, err := f.before(ctx, StoreGet, kind, what)
	if err != nil {
		return store.Record{}, err
	}
	rec, err := f.s.Get(ctx, kind, key)
	if err = lost(r, what, err); err != nil {
		return store.Record{}, err
	}
	return rec, nil
}

func (f *faultStore) Put(ctx context.Context, rec store.Record, expectRev int64) (int64, error) {
	what := fmt.Sprintf("put %s %q", rec.Kind, rec.Key)
	r, err := f.before(ctx, StorePut, rec.Kind, what)
	if err != nil {
		return 0, err
	}
	rev, err := f.s.Put(ctx, rec, expectRev)
	if err = lost(r, what, err); err != nil {
		return 0, err
	}
	return rev, nil
}

func (f *faultStore) ClearOutbox(ctx context.Context, kind, key string, rev int64) (int64, error) {
	what := fmt.Sprintf("clear outbox %s %q", kind, key)
	r, err := f.before(ctx, StoreClearOutbox, kind, what)
	if err != nil {
		return 0, err
	}
	n, err := f.s.ClearOutbox(ctx, kind, key, rev)
	if err = lost(r, what, err); err != nil {
		return 0, err
	}
	return n, nil
}

func (f *faultStore) List(ctx context.Context, kind string, limit int) ([]store.Record, error) {
	what := "list " + kind
	r, err := f.before(ctx, StoreList, kind, what)
	if err != nil {
		return nil, err
	}
	list, err := f.s.List(ctx, kind, limit)
	if err = lost(r, what, err); err != nil {
		return nil, err
	}
	return list, nil
}

func (f *faultStore) AppendNotification(ctx context.Context, n store.Notification) error {
	what := "append notification " + n.ID
	r, err := f.before(ctx, StoreAppendNotif, store.NotificationKind, what)
	if err != nil {
		return err
	}
	return lost(r, what, f.s.AppendNotification(ctx, n))
}

func (f *faultStore) ListNotifications(ctx context.Context, typ string, limit int) ([]store.Notification, error) {
	what := "list notifications"
	r, err := f.before(ctx, StoreListNotif, store.NotificationKind, what)
	if err != nil {
		return nil, err
	}
	list, err := f.s.ListNotifications(ctx, typ, limit)
	if err = lost(r, what, err); err != nil {
		return nil, err
	}
	return list, nil
}
