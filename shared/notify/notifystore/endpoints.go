// Package notifystore keeps notify's outbound state in a store.Store: the
// endpoints (notify.EndpointSource, EndpointLookup, EndpointDisabler, plus the
// management calls of the CLI and the dev API) and the delivery log
// (notify.DeliveryLog plus the listing of `GET /api/deliveries`). The same
// code runs on localstore (`hookstack dev`) and dynamostore (AWS), and
// env.go builds the fanout and deliverer handlers of the Lambdas.
//
// # Records
//
//	kind               key                   data                       expires
//	endpoint           endpoint id           notify.Endpoint JSON       never (see Remove)
//	delivery-attempt   Attempt.Key()         notify.Attempt JSON        AttemptedAt + 30 days
//	delivered          delivery id           {"delivery_id","at"}       at + 30 days
//
// # Deleting without Delete
//
// The store port has no Delete. Remove overwrites the endpoint's record
// with a tombstone document ({"id","deleted":true,"deleted_at"}, so the
// secrets do not linger) whose ExpiresAt lies an hour in the past: both
// adapters treat an expired record as absent at once (Get, List, and a new
// Put of the same id), and DynamoDB's TTL removes the item later. The hour
// covers clock skew between writers and readers; it is not more because
// DynamoDB's TTL ignores items that expired more than five years ago.
package notifystore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hookstack/hookstack/shared/notify"
	"github.com/hookstack/hookstack/shared/store"
)

// Record kinds.
const (
	KindEndpoint  = "endpoint"
	KindAttempt   = "delivery-attempt"
	KindDelivered = "delivered"
)

// ListedKinds are the kinds this package lists (Endpoints, DeliveryLog.List):
// every dynamostore.New on the table that writes or lists them passes
// dynamostore.ListKinds(ListedKinds...), so that only they (and the
// notifications log) take gsi1 writes. KindDelivered is not among them:
// every successful delivery writes one, and an index entry for each would
// cost as much again and put them all under one index key; DeliveryLog.List
// finds them by key (delivery id) instead.
var ListedKinds = []string{KindEndpoint, KindAttempt}

// MaxEndpoints bounds the endpoints Add accepts: Endpoints reads them with
// one store.List, capped at store.MaxLimit, and must never miss one.
const MaxEndpoints = store.MaxLimit

// tombstoneAge is how far in the past a removed endpoint's record expires.
const tombstoneAge = time.Hour

// MaxActiveSecrets is how many signing secrets an endpoint keeps after
// RotateSecret: the new one and the previous one (both sign every request
// until the next rotation retires the older).
const MaxActiveSecrets = 2

// Errors of endpoint management.
var (
	// ErrEndpointExists: Add with an id that is taken.
	ErrEndpointExists = errors.New("endpoint exists")
	// ErrTooManyEndpoints: Add beyond MaxEndpoints.
	ErrTooManyEndpoints = errors.New("too many endpoints")
	// ErrNotHTTP: RotateSecret on an endpoint that does not sign (slack,
	// mailchimp).
	ErrNotHTTP = errors.New("endpoint has no signing secret")
)

// Endpoints are the endpoints in a store. Guard is what Add validates URLs
// with (nil: the default guard, nothing private; `hookstack dev` passes one
// that allows loopback). The zero Now means time.Now.
type Endpoints struct {
	Store store.Store
	Guard *notify.Guard
	Now   func() time.Time
}

var (
	_ notify.EndpointSource   = (*Endpoints)(nil)
	_ notify.EndpointLookup   = (*Endpoints)(nil)
	_ notify.EndpointDisabler = (*Endpoints)(nil)
)

// NewEndpoints returns the endpoints of s, validated with guard on Add.
func NewEndpoints(s store.Store, guard *notify.Guard) *Endpoints {
	return &Endpoints{Store: s, Guard: guard}
}

func (e *Endpoints) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func decodeEndpoint(r store.Record) (notify.Endpoint, error) {
	var ep notify.Endpoint
	if err := r.Decode(&ep); err != nil {
		return notify.Endpoint{}, err
	}
	if ep.ID == "" {
		ep.ID = r.Key
	}
	if ep.ID != r.Key {
		return notify.Endpoint{}, fmt.Errorf("endpoint record %q holds id %q", r.Key, ep.ID)
	}
	return ep, nil
}

// Endpoints lists every endpoint, newest created first (notify.EndpointSource).
func (e *Endpoints) Endpoints(ctx context.Context) ([]notify.Endpoint, error) {
	recs, err := e.Store.List(ctx, KindEndpoint, MaxEndpoints)
	if err != nil {
		return nil, fmt.Errorf("list endpoints: %w", err)
	}
	out := make([]notify.Endpoint, 0, len(recs))
	for _, r := range recs {
		ep, err := decodeEndpoint(r)
		if err != nil {
			return nil, fmt.Errorf("list endpoints: %w", err)
		}
		out = append(out, ep)
	}
	return out, nil
}

// List is Endpoints under the name the CLI and the dev API use.
func (e *Endpoints) List(ctx context.Context) ([]notify.Endpoint, error) { return e.Endpoints(ctx) }

// Endpoint returns one endpoint, or an error wrapping
// notify.ErrEndpointNotFound (notify.EndpointLookup).
func (e *Endpoints) Endpoint(ctx context.Context, id string) (notify.Endpoint, error) {
	if id == "" {
		return notify.Endpoint{}, fmt.Errorf("endpoint %q: %w", id, notify.ErrEndpointNotFound)
	}
	r, err := e.Store.Get(ctx, KindEndpoint, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notify.Endpoint{}, fmt.Errorf("endpoint %q: %w", id, notify.ErrEndpointNotFound)
	case errors.Is(err, store.ErrInvalid):
		// An id the store cannot hold names no endpoint.
		return notify.Endpoint{}, fmt.Errorf("endpoint %q: %w", id, notify.ErrEndpointNotFound)
	case err != nil:
		return notify.Endpoint{}, fmt.Errorf("get endpoint %q: %w", id, err)
	}
	return decodeEndpoint(r)
}

// Get is Endpoint under the name the CLI and the dev API use.
func (e *Endpoints) Get(ctx context.Context, id string) (notify.Endpoint, error) {
	return e.Endpoint(ctx, id)
}

// Add stores a new endpoint and returns it as stored. It fills what is
// absent: the id (notify.NewEndpointID), CreatedAt, and for an http endpoint
// a signing secret (notify.NewSecret); a new endpoint is always enabled
// (DisabledReason is cleared). It validates with notify's Validate and
// e.Guard (literal addresses the guard refuses fail here, with the reason).
// ErrEndpointExists when the id is taken, ErrTooManyEndpoints beyond
// MaxEndpoints.
func (e *Endpoints) Add(ctx context.Context, ep notify.Endpoint) (notify.Endpoint, error) {
	now := e.now().UTC()
	if ep.ID == "" {
		ep.ID = notify.NewEndpointID(now)
	}
	if ep.CreatedAt.IsZero() {
		ep.CreatedAt = now
	}
	ep.CreatedAt = ep.CreatedAt.UTC()
	if ep.Type == notify.TypeHTTP && len(ep.Secrets) == 0 {
		ep.Secrets = []string{notify.NewSecret()}
	}
	ep.Enabled, ep.DisabledReason = true, ""
	if err := ep.Validate(e.Guard); err != nil {
		return notify.Endpoint{}, fmt.Errorf("add endpoint: %w", err)
	}
	if err := store.CheckKey("endpoint id", ep.ID); err != nil {
		return notify.Endpoint{}, fmt.Errorf("add endpoint: %w: %w", notify.ErrInvalidEndpoint, err)
	}
	existing, err := e.Store.List(ctx, KindEndpoint, MaxEndpoints)
	if err != nil {
		return notify.Endpoint{}, fmt.Errorf("add endpoint: %w", err)
	}
	if len(existing) >= MaxEndpoints {
		return notify.Endpoint{}, fmt.Errorf("add endpoint: %w: at most %d (remove unused ones)", ErrTooManyEndpoints, MaxEndpoints)
	}
	r, err := endpointRecord(ep)
	if err != nil {
		return notify.Endpoint{}, err
	}
	if _, err := e.Store.Put(ctx, r, 0); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return notify.Endpoint{}, fmt.Errorf("add endpoint %q: %w", ep.ID, ErrEndpointExists)
		}
		return notify.Endpoint{}, fmt.Errorf("add endpoint %q: %w", ep.ID, err)
	}
	return ep, nil
}

// endpointRecord is ep's record. UpdatedAt is the creation time, so List
// keeps creation order however often an endpoint is changed.
func endpointRecord(ep notify.Endpoint) (store.Record, error) {
	r := store.Record{Kind: KindEndpoint, Key: ep.ID, UpdatedAt: ep.CreatedAt}
	if err := r.Encode(ep); err != nil {
		return store.Record{}, err
	}
	return r, nil
}

// change runs fn on the stored endpoint id in a store.Update loop; fn
// returns false to leave it unchanged. notify.ErrEndpointNotFound when there
// is no such endpoint.
func (e *Endpoints) change(ctx context.Context, id string, fn func(ep *notify.Endpoint) (bool, error)) (notify.Endpoint, error) {
	if err := store.CheckKey("endpoint id", id); err != nil {
		return notify.Endpoint{}, fmt.Errorf("endpoint %q: %w", id, notify.ErrEndpointNotFound)
	}
	var out notify.Endpoint
	_, _, err := store.Update(ctx, e.Store, KindEndpoint, id, func(r *store.Record) (bool, error) {
		if r.Rev == 0 {
			return false, fmt.Errorf("endpoint %q: %w", id, notify.ErrEndpointNotFound)
		}
		ep, err := decodeEndpoint(*r)
		if err != nil {
			return false, err
		}
		write, err := fn(&ep)
		if err != nil || !write {
			out = ep
			return false, err
		}
		next, err := endpointRecord(ep)
		if err != nil {
			return false, err
		}
		r.Data, r.UpdatedAt = next.Data, next.UpdatedAt
		out = ep
		return true, nil
	})
	if err != nil {
		return notify.Endpoint{}, err
	}
	return out, nil
}

// Disable marks the endpoint disabled with reason: its pending deliveries
// are dropped as they arrive and the fan-out stops matching it. Disabling a
// disabled endpoint keeps its first reason.
func (e *Endpoints) Disable(ctx context.Context, id, reason string) error {
	if reason == "" {
		reason = "disabled by an operator"
	}
	_, err := e.change(ctx, id, func(ep *notify.Endpoint) (bool, error) {
		if !ep.Enabled {
			return false, nil
		}
		ep.Enabled, ep.DisabledReason = false, reason
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("disable endpoint: %w", err)
	}
	return nil
}

// DisableEndpoint is Disable (notify.EndpointDisabler: the deliverer on a
// 410 Gone).
func (e *Endpoints) DisableEndpoint(ctx context.Context, id, reason string) error {
	return e.Disable(ctx, id, reason)
}

// Enable re-enables a disabled endpoint and clears its reason.
func (e *Endpoints) Enable(ctx context.Context, id string) error {
	_, err := e.change(ctx, id, func(ep *notify.Endpoint) (bool, error) {
		if ep.Enabled {
			return false, nil
		}
		ep.Enabled, ep.DisabledReason = true, ""
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("enable endpoint: %w", err)
	}
	return nil
}

// RotateSecret prepends a new signing secret to an http endpoint's secrets
// and keeps the previous newest one active (MaxActiveSecrets): receivers
// verifying with either pass until the next rotation. It returns the new
// secret; ErrNotHTTP for endpoints that do not sign.
func (e *Endpoints) RotateSecret(ctx context.Context, id string) (string, error) {
	secret := notify.NewSecret() // outside the loop: a retried write stores the same one
	_, err := e.change(ctx, id, func(ep *notify.Endpoint) (bool, error) {
		if ep.Type != notify.TypeHTTP {
			return false, fmt.Errorf("endpoint %q is %s: %w", id, ep.Type, ErrNotHTTP)
		}
		keep := ep.Secrets
		if len(keep) > MaxActiveSecrets-1 {
			keep = keep[:MaxActiveSecrets-1]
		}
		ep.Secrets = append([]string{secret}, keep...)
		return true, nil
	})
	if err != nil {
		return "", fmt.Errorf("rotate secret: %w", err)
	}
	return secret, nil
}

// tombstone is what a removed endpoint's record holds until the TTL
// deletes it.
type tombstone struct {
	ID        string    `json:"id"`
	Deleted   bool      `json:"deleted"`
	DeletedAt time.Time `json:"deleted_at"`
}

// Remove deletes the endpoint: its record becomes an expired tombstone (see
// the package documentation). Its pending deliveries are dropped as they
// arrive ("endpoint removed"). notify.ErrEndpointNotFound when there is none.
func (e *Endpoints) Remove(ctx context.Context, id string) error {
	if err := store.CheckKey("endpoint id", id); err != nil {
		return fmt.Errorf("remove endpoint: endpoint %q: %w", id, notify.ErrEndpointNotFound)
	}
	now := e.now().UTC()
	_, _, err := store.Update(ctx, e.Store, KindEndpoint, id, func(r *store.Record) (bool, error) {
		if r.Rev == 0 {
			return false, fmt.Errorf("endpoint %q: %w", id, notify.ErrEndpointNotFound)
		}
		data, err := json.Marshal(tombstone{ID: id, Deleted: true, DeletedAt: now})
		if err != nil {
			return false, err
		}
		r.Data, r.Outbox = data, nil
		r.ExpiresAt = now.Add(-tombstoneAge)
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("remove endpoint: %w", err)
	}
	return nil
}
