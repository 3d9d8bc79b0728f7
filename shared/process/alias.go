package process

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hookstack/hookstack/shared/domain"
	"github.com/hookstack/hookstack/shared/store"
)

// Alias key prefixes in KindAlias.
const (
	AliasSKU    = "sku:"    // + sku → inventory item id
	AliasSource = "source:" // + "<provider>:<object id>" → lead email
)

// maxRedirects bounds the tombstone hops a write follows (a chain of merges
// is one hop deep in practice).
const maxRedirects = 4

// maxMergeAttempts bounds the merge-then-tombstone loop when writers keep
// landing on the alias record in between.
const maxMergeAttempts = 8

// aliasRecord is one entry of the alias index: last writer wins by the
// version of the event that stated the mapping, so the newest mapping holds
// whatever the arrival order.
type aliasRecord struct {
	Into    string         `json:"into"`
	Version domain.Version `json:"version"`
}

// Alias returns what the alias index maps key to ("sku:HS-TEE-M" → an
// inventory item id): ok false when it maps nothing.
func (w *Writer) Alias(ctx context.Context, key string) (into string, ok bool, err error) {
	r, err := w.deps.Store.Get(ctx, KindAlias, key)
	if errors.Is(err, store.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("alias %s: %w", key, err)
	}
	var a aliasRecord
	if err := r.Decode(&a); err != nil {
		return "", false, err
	}
	return a.Into, a.Into != "", nil
}

// SetAlias maps key to into at version v unless a newer mapping is stored,
// and returns the mapping that holds afterwards.
func (w *Writer) SetAlias(ctx context.Context, key, into string, v domain.Version) (string, error) {
	cur, err := UpdateAs(ctx, w, KindAlias, key, func(old *aliasRecord) (aliasRecord, bool, []domain.Event, error) {
		if old != nil && !v.After(old.Version) {
			return *old, false, nil, nil
		}
		return aliasRecord{Into: into, Version: v}, true, nil, nil
	}, func(a aliasRecord) time.Time { return a.Version.At })
	if err != nil {
		return "", err
	}
	if cur == nil {
		return into, nil
	}
	return cur.Into, nil
}

// errAliasMoved: the alias record was written between the merge and the
// tombstone; merge again.
var errAliasMoved = errors.New("alias record written during merge")

// mergeAlias folds the live record (kind, aliasKey) into (kind, into) and
// then tombstones it, conditional on the alias record being unchanged since
// it was read (a write that lands in between is merged on the next round).
// merge and tombstone are the pure packages' Merge and Tombstone; merged
// reports a tombstone.
func mergeAlias[T any](ctx context.Context, w *Writer, kind, aliasKey, into string,
	merge func(into *T, alias T) (T, bool, []domain.Event),
	tombstone func(T) T, merged func(T) bool, updatedAt func(T) time.Time,
) error {
	if aliasKey == into {
		return nil
	}
	for range maxMergeAttempts {
		r, err := w.deps.Store.Get(ctx, kind, aliasKey)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("merge %s %q: %w", kind, aliasKey, err)
		}
		var alias T
		if err := r.Decode(&alias); err != nil {
			return err
		}
		if merged(alias) {
			if len(r.Outbox) > 0 { // send what the alias still owes
				_, err := w.Update(ctx, kind, aliasKey, func(*store.Record) (Change, error) { return Change{}, nil })
				return err
			}
			return nil
		}
		if _, err := UpdateAs(ctx, w, kind, into, func(old *T) (T, bool, []domain.Event, error) {
			next, changed, out := merge(old, alias)
			return next, changed, out, nil
		}, updatedAt); err != nil {
			return fmt.Errorf("merge %s %q into %q: %w", kind, aliasKey, into, err)
		}
		_, err = w.Update(ctx, kind, aliasKey, func(old *store.Record) (Change, error) {
			if old == nil {
				return Change{}, nil
			}
			if old.Rev != r.Rev {
				return Change{}, errAliasMoved
			}
			return Change{Changed: true, Data: tombstone(alias), UpdatedAt: old.UpdatedAt}, nil
		})
		if errors.Is(err, errAliasMoved) {
			continue
		}
		if err != nil {
			return fmt.Errorf("tombstone %s %q: %w", kind, aliasKey, err)
		}
		return nil
	}
	return fmt.Errorf("merge %s %q into %q: %d attempts: %w", kind, aliasKey, into, maxMergeAttempts, store.ErrConflict)
}

// redirect runs apply on key and follows tombstones: isMerged extracts the
// target from the pure package's MergedError.
func redirect(key string, apply func(key string) error, isMerged func(error) (string, bool)) error {
	for range maxRedirects {
		err := apply(key)
		into, ok := isMerged(err)
		if !ok {
			return err
		}
		key = into
	}
	return fmt.Errorf("record %q: more than %d merge redirects", key, maxRedirects)
}
