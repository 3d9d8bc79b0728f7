package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// MaxAttempts bounds Update's read-modify-write attempts.
const MaxAttempts = 10

// Update is the read-modify-write loop processors run on a record: it reads
// (kind, key), calls fn with the record (for a new one: Kind, Key, Rev 0,
// no Data), and writes the result conditional on the revision read. On
// ErrConflict it re-reads and calls fn again, so fn must be a pure function
// of the record it is given (the processors' transitions are); after
// MaxAttempts conflicts it returns the last ErrConflict, which is transient.
// fn returns false to skip the write (nothing changed, nothing to emit).
//
// Update returns the record as stored afterwards (with its new Rev; a zero
// UpdatedAt set to the time of the write) and whether it wrote.
func Update(ctx context.Context, s Store, kind, key string, fn func(r *Record) (write bool, err error)) (Record, bool, error) {
	var lastErr error
	for attempt := range MaxAttempts {
		if attempt > 0 {
			if err := pause(ctx, attempt); err != nil {
				return Record{}, false, fmt.Errorf("update %s %q: %w (after %w)", kind, key, err, lastErr)
			}
		}
		r, err := s.Get(ctx, kind, key)
		switch {
		case errors.Is(err, ErrNotFound):
			r = Record{Kind: kind, Key: key}
		case err != nil:
			return Record{}, false, fmt.Errorf("update %s %q: %w", kind, key, err)
		}
		write, err := fn(&r)
		if err != nil {
			return Record{}, false, err
		}
		if !write {
			return r, false, nil
		}
		r.Kind, r.Key = kind, key
		if r.UpdatedAt.IsZero() {
			r.UpdatedAt = time.Now()
		}
		r.UpdatedAt = r.UpdatedAt.UTC()
		if !r.ExpiresAt.IsZero() {
			r.ExpiresAt = time.Unix(r.ExpiresAt.Unix(), 0).UTC()
		}
		expect := r.Rev
		rev, err := s.Put(ctx, r, expect)
		if errors.Is(err, ErrConflict) {
			lastErr = err
			continue
		}
		if err != nil {
			return Record{}, false, fmt.Errorf("update %s %q: %w", kind, key, err)
		}
		r.Rev = rev
		return r, true, nil
	}
	return Record{}, false, fmt.Errorf("update %s %q: %d attempts: %w", kind, key, MaxAttempts, lastErr)
}

// pause waits a jittered, growing moment (up to 1, 2, 4, ... 64 ms) before a
// retry, or returns ctx's error.
func pause(ctx context.Context, attempt int) error {
	ceiling := time.Millisecond << min(attempt-1, 6)
	t := time.NewTimer(time.Duration(rand.Int64N(int64(ceiling))) + 100*time.Microsecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
