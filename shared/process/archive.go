package process

// The replay archive: every envelope a processor handles successfully is
// kept for a while so `hookstack replay <id>` can put it back on its queue
// in AWS (the dev server replays from its own event log).
//
// Why here, and why in the table. The archive is written by the processors
// after a message succeeded, never by ingest, so the webhook's answer does
// not wait for it (off the ingest hot path), and a failure to archive only
// costs the ability to replay that one event: it is logged, the message is
// still acknowledged. It goes to the stack's single DynamoDB table, which
// the processors can already write (no infrastructure change):
//
//   - DynamoDB on-demand: ~$0.625 per million write units; a small envelope
//     (≤ 1 KB) is 1 WRU, a 2–3 KB one 2–3 WRU, so ~$0.6–1.9 per million
//     archived events plus the alias item's 1 WRU, no read on the hot path,
//     and the TTL (expires_at) deletes items for free.
//   - S3 would cost $5 per million PUTs (plus a lifecycle rule and a
//     separate lookup by provider event id): 3–8× more for items this small.
//   - CloudWatch Logs is no archive: bodies must never be logged, and
//     finding one event again means a Logs Insights scan ($0.005/GB).
//
// Bodies that were claim-checked are not copied: the archive keeps the
// envelope as queued, with its body_ref, which stays valid until the claim
// bucket's lifecycle expiry (30 days, longer than the default TTL).
//
// Records: kind "archive", key our envelope id, Data the envelope as it
// was queued; kind "archive-event", key provider + ":" + the provider's
// event id, Data {"id": envelope id}, so replay finds an event by either
// id. Both are written with Put(…, 0): the first archive of an id wins and a
// redelivered or replayed message (same id) costs one refused conditional
// write and changes nothing (the TTL is not extended).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/store"
)

// Archive record kinds.
const (
	// KindArchive holds an archived envelope by our envelope id.
	KindArchive = "archive"
	// KindArchiveEvent maps provider + ":" + provider event id to the
	// envelope id of its archive.
	KindArchiveEvent = "archive-event"
)

// EnvArchiveTTL is how long processed envelopes are kept for replay (a Go
// duration; "0" disables the archive). DefaultArchiveTTL when unset.
const EnvArchiveTTL = "HOOKSTACK_ARCHIVE_TTL"

// DefaultArchiveTTL keeps processed envelopes for 7 days.
const DefaultArchiveTTL = 7 * 24 * time.Hour

// Errors of FindArchived.
var (
	// ErrNotArchived: no archived envelope has that id (never processed,
	// archived more than the TTL ago, or the archive is off).
	ErrNotArchived = errors.New("event not archived")
	// ErrAmbiguous: the provider event id is archived for several
	// providers; give it as provider:event-id.
	ErrAmbiguous = errors.New("event id archived for several providers")
)

// ArchiveTTLFromEnv reads EnvArchiveTTL: DefaultArchiveTTL when unset, 0
// (archive off) for "0".
func ArchiveTTLFromEnv(getenv func(string) string) (time.Duration, error) {
	v := strings.TrimSpace(getenv(EnvArchiveTTL))
	if v == "" {
		return DefaultArchiveTTL, nil
	}
	if v == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s=%q: want a duration such as 168h, or 0 to keep no archive", EnvArchiveTTL, v)
	}
	if d > 0 && d < time.Second {
		return 0, fmt.Errorf("%s=%q: want at least 1s (the table's TTL counts seconds), or 0 to keep no archive", EnvArchiveTTL, v)
	}
	return d, nil
}

// archiveRef is the Data of a KindArchiveEvent record.
type archiveRef struct {
	ID string `json:"id"`
}

// archiveEventKey is the KindArchiveEvent key of a provider event id.
func archiveEventKey(provider, eventID string) string { return provider + ":" + eventID }

// archive keeps the processed message's envelope (as queued, so a
// claim-checked body stays a reference) when Deps.ArchiveTTL is set. It
// never fails the message: errors are logged without the body.
func (h *Handler) archive(ctx context.Context, m *events.SQSMessage, env envelope.Envelope) {
	ttl := h.deps.ArchiveTTL
	if ttl <= 0 || env.ID == "" {
		return
	}
	now := h.deps.now()
	exp := now.Add(ttl)
	put := func(kind, key string, data []byte) error {
		_, err := h.deps.Store.Put(ctx, store.Record{Kind: kind, Key: key, Data: data, UpdatedAt: now, ExpiresAt: exp}, 0)
		if errors.Is(err, store.ErrConflict) {
			return nil // archived already (a redelivery or a replay)
		}
		return err
	}
	err := put(KindArchive, env.ID, []byte(m.Body))
	if err == nil && env.EventID != "" {
		ref, _ := json.Marshal(archiveRef{ID: env.ID})
		err = put(KindArchiveEvent, archiveEventKey(env.Provider, env.EventID), ref)
	}
	if err != nil {
		h.log.WarnContext(ctx, "event not archived; it cannot be replayed from the archive",
			"processor", h.name, "id", env.ID, "provider", env.Provider, "event_id", env.EventID, "error", err.Error())
	}
}

// Archived is an archived envelope: the message body to send again and
// the envelope it decodes to.
type Archived struct {
	Envelope envelope.Envelope
	// Raw is the envelope exactly as it was queued.
	Raw []byte
	// ExpiresAt is when the archive drops it.
	ExpiresAt time.Time
}

// FindArchived looks id up in the archive: as our envelope id, else as
// "provider:event-id", else as a provider event id of any provider.
// ErrNotArchived when nothing matches, ErrAmbiguous when several providers
// archived that event id.
func FindArchived(ctx context.Context, st store.Store, id string) (Archived, error) {
	if err := store.CheckKey("event id", id); err != nil {
		return Archived{}, fmt.Errorf("%w: %q is not an event id", ErrNotArchived, id)
	}
	a, err := getArchived(ctx, st, id)
	if !errors.Is(err, ErrNotArchived) {
		return a, err
	}
	keys := []string{}
	if p, _, ok := strings.Cut(id, ":"); ok && envelope.Known(p) {
		keys = append(keys, id)
	}
	for _, p := range envelope.Providers {
		keys = append(keys, archiveEventKey(p, id))
	}
	var found []string
	for _, k := range keys {
		rec, err := st.Get(ctx, KindArchiveEvent, k)
		switch {
		case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrInvalid):
			continue
		case err != nil:
			return Archived{}, fmt.Errorf("read archive %s: %w", k, err)
		}
		var ref archiveRef
		if err := rec.Decode(&ref); err != nil || ref.ID == "" {
			return Archived{}, fmt.Errorf("archive alias %s: bad record: %v", k, err)
		}
		if !slices.Contains(found, ref.ID) {
			found = append(found, ref.ID)
		}
		if len(found) == 1 && k == id {
			break // provider:event-id given explicitly
		}
	}
	switch len(found) {
	case 0:
		return Archived{}, fmt.Errorf("%w: %q", ErrNotArchived, id)
	case 1:
		return getArchived(ctx, st, found[0])
	}
	return Archived{}, fmt.Errorf("%w: %q is envelope %s: give our id instead", ErrAmbiguous, id, strings.Join(found, ", "))
}

func getArchived(ctx context.Context, st store.Store, id string) (Archived, error) {
	rec, err := st.Get(ctx, KindArchive, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Archived{}, fmt.Errorf("%w: %q", ErrNotArchived, id)
	case err != nil:
		return Archived{}, fmt.Errorf("read archive %s: %w", id, err)
	}
	env, err := envelope.Decode(rec.Data)
	if err != nil {
		return Archived{}, fmt.Errorf("archived envelope %s: %w", id, err)
	}
	return Archived{Envelope: env, Raw: rec.Data, ExpiresAt: rec.ExpiresAt}, nil
}
