package process

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookstack/hookstack/shared/blob/fileblob"
	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/store"
)

// archiving turns the archive on with a fixed clock (to the second, as the
// table's TTL stores it) and returns that clock's time.
func (r *rig) archiving(ttl time.Duration) time.Time {
	now := time.Now().UTC().Truncate(time.Second)
	r.deps.Now = func() time.Time { return now }
	r.deps.ArchiveTTL = ttl
	return now
}

func TestArchiveAfterSuccess(t *testing.T) {
	r := newRig(t)
	now := r.archiving(48 * time.Hour)
	env := one(t, samples(t), "stripe/payment_intent.succeeded")
	m := msg(t, env)
	if failed := r.handle(r.handler(Payments), m); len(failed) != 0 {
		t.Fatalf("failed = %v\n%s", failed, r.logs)
	}
	rec := r.get(KindArchive, env.ID)
	if string(rec.Data) != m.Body {
		t.Fatalf("archived %s\nwant the message as queued %s", rec.Data, m.Body)
	}
	if want := now.Add(48 * time.Hour); !rec.ExpiresAt.Equal(want) {
		t.Fatalf("expires_at = %v, want %v (now + TTL)", rec.ExpiresAt, want)
	}
	alias := r.get(KindArchiveEvent, "stripe:"+env.EventID)
	if string(alias.Data) != `{"id":"`+env.ID+`"}` || !alias.ExpiresAt.Equal(rec.ExpiresAt) {
		t.Fatalf("alias = %s expires %v", alias.Data, alias.ExpiresAt)
	}

	for _, id := range []string{env.ID, env.EventID, "stripe:" + env.EventID} {
		t.Run("find by "+id, func(t *testing.T) {
			a, err := FindArchived(context.Background(), r.base, id)
			if err != nil {
				t.Fatal(err)
			}
			if string(a.Raw) != m.Body || a.Envelope.ID != env.ID || a.Envelope.Queue != Payments || string(a.Envelope.Body) != string(env.Body) {
				t.Fatalf("found %+v", a)
			}
		})
	}
	for _, id := range []string{"evt_never", "github:" + env.EventID, "", "a\x00b"} {
		t.Run(fmt.Sprintf("not found %q", id), func(t *testing.T) {
			if _, err := FindArchived(context.Background(), r.base, id); !errors.Is(err, ErrNotArchived) {
				t.Fatalf("err = %v, want ErrNotArchived", err)
			}
		})
	}

	// A redelivery of the same envelope leaves the archive as it was and
	// logs no warning.
	r.deps.Now = func() time.Time { return now.Add(time.Hour) }
	if failed := r.handle(r.handler(Payments), msg(t, env)); len(failed) != 0 {
		t.Fatalf("redelivery failed = %v", failed)
	}
	if again := r.get(KindArchive, env.ID); again.Rev != rec.Rev || !again.ExpiresAt.Equal(rec.ExpiresAt) {
		t.Fatalf("archive rewritten: %+v", again)
	}
	if strings.Contains(r.logs.String(), "not archived") {
		t.Fatalf("redelivery logged an archive failure:\n%s", r.logs)
	}
}

func TestArchiveKeepsClaimCheckReference(t *testing.T) {
	r := newRig(t)
	r.archiving(time.Hour)
	blobs, err := fileblob.New(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	r.deps.Blobs = blobs
	env := one(t, samples(t), "stripe/payment_intent.succeeded")
	ref, err := blobs.Put(context.Background(), "bodies/stripe/"+env.ID, env.Body)
	if err != nil {
		t.Fatal(err)
	}
	env.Body, env.BodyRef = nil, ref
	if failed := r.handle(r.handler(Payments), msg(t, env)); len(failed) != 0 {
		t.Fatalf("failed = %v\n%s", failed, r.logs)
	}
	a, err := FindArchived(context.Background(), r.base, env.ID)
	if err != nil {
		t.Fatal(err)
	}
	if a.Envelope.BodyRef != ref || len(a.Envelope.Body) != 0 || strings.Contains(string(a.Raw), `"body"`) {
		t.Fatalf("archived %s: want the reference, not the body", a.Raw)
	}
}

func TestArchiveOnlyAfterSuccess(t *testing.T) {
	all := samples(t)
	good := one(t, all, "stripe/payment_intent.succeeded")
	malformed := good
	malformed.Body = []byte(`{"id":"evt_x","type":"payment_intent.succeeded","created":1767261630,"data":{"object":{"object":"payment_intent"}}}`)
	invalid := good
	invalid.Invalid = "unexpected end of JSON input"
	tests := []struct {
		name      string
		env       envelope.Envelope
		transient bool
		ttl       time.Duration
	}{
		{name: "permanent failure (dead-lettered)", env: malformed, ttl: time.Hour},
		{name: "invalid envelope", env: invalid, ttl: time.Hour},
		{name: "transient failure (retried)", env: good, transient: true, ttl: time.Hour},
		{name: "archive off", env: good, ttl: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			r.archiving(tt.ttl)
			if tt.transient {
				r.withStore(store.WithFaults(r.base, func(op string) error {
					if op == store.OpGet {
						return fmt.Errorf("throttled: %w", store.ErrUnavailable)
					}
					return nil
				}))
			}
			m := msg(t, tt.env)
			failed := r.handle(r.handler(Payments), m)
			if tt.transient != (len(failed) == 1) {
				t.Fatalf("failed = %v", failed)
			}
			for kind, key := range map[string]string{KindArchive: tt.env.ID, KindArchiveEvent: "stripe:" + tt.env.EventID} {
				if _, err := r.base.Get(context.Background(), kind, key); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("%s %s: err = %v, want not found", kind, key, err)
				}
			}
			if _, err := FindArchived(context.Background(), r.base, tt.env.ID); !errors.Is(err, ErrNotArchived) {
				t.Errorf("FindArchived: %v", err)
			}
		})
	}
}

func TestArchiveFailureDoesNotFailTheMessage(t *testing.T) {
	r := newRig(t)
	r.archiving(time.Hour)
	// customer.created is forwarded only: the archive's are the only Puts.
	r.withStore(store.WithFaults(r.base, func(op string) error {
		if op == store.OpPut {
			return fmt.Errorf("throttled: %w", store.ErrUnavailable)
		}
		return nil
	}))
	env := one(t, samples(t), "stripe/customer.created")
	if failed := r.handle(r.handler(Payments), msg(t, env)); len(failed) != 0 {
		t.Fatalf("failed = %v: an archive failure must not fail the message", failed)
	}
	if n := r.notified()["stripe.customer.created"]; n != 1 {
		t.Fatalf("forwarded %d times", n)
	}
	logs := r.logs.String()
	if !strings.Contains(logs, "event not archived") || !strings.Contains(logs, env.ID) || !strings.Contains(logs, `"status":"processed"`) {
		t.Fatalf("want an archive warning and a processed line:\n%s", logs)
	}
	if strings.Contains(logs, string(env.Body[:40])) {
		t.Fatalf("the body was logged:\n%s", logs)
	}
	if _, err := r.base.Get(context.Background(), KindArchive, env.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("archive: %v", err)
	}
}

func TestFindArchivedAmbiguous(t *testing.T) {
	r := newRig(t)
	r.archiving(time.Hour)
	all := samples(t)
	stripe := one(t, all, "stripe/customer.created")
	github := one(t, all, "github/ping")
	stripe.EventID, github.EventID = "same-id", "same-id"
	if failed := r.handle(r.handler(Payments), msg(t, stripe)); len(failed) != 0 {
		t.Fatalf("failed = %v\n%s", failed, r.logs)
	}
	if failed := r.handle(r.handler(github.Queue), msg(t, github)); len(failed) != 0 {
		t.Fatalf("failed = %v\n%s", failed, r.logs)
	}
	ctx := context.Background()
	if _, err := FindArchived(ctx, r.base, "same-id"); !errors.Is(err, ErrAmbiguous) {
		t.Fatalf("err = %v, want ErrAmbiguous", err)
	}
	for _, want := range []envelope.Envelope{stripe, github} {
		a, err := FindArchived(ctx, r.base, want.Provider+":same-id")
		if err != nil || a.Envelope.ID != want.ID || a.Envelope.Provider != want.Provider {
			t.Fatalf("%s: %+v, %v", want.Provider, a.Envelope, err)
		}
	}
}

func TestArchiveTTLFromEnv(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"", DefaultArchiveTTL, false},
		{"0", 0, false},
		{" 24h ", 24 * time.Hour, false},
		{"90m", 90 * time.Minute, false},
		{"-1h", 0, true},
		{"7d", 0, true},
		{"500ms", 0, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.in), func(t *testing.T) {
			got, err := ArchiveTTLFromEnv(func(k string) string {
				if k == EnvArchiveTTL {
					return tt.in
				}
				return ""
			})
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("= %v, %v; want %v (error %v)", got, err, tt.want, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), EnvArchiveTTL) {
				t.Fatalf("error does not name the variable: %v", err)
			}
		})
	}
}
