package notify

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hookstack/hookstack/shared/domain"
)

// Delivery is one event on its way to one endpoint: the body of a message on
// the deliveries queue.
type Delivery struct {
	// ID is DeliveryID(EventID, EndpointID), stable for the pair; it is the
	// webhook-id the receiver deduplicates on.
	ID         string       `json:"id"`
	EventID    string       `json:"event_id"`
	EndpointID string       `json:"endpoint_id"`
	Event      domain.Event `json:"event"`
	// Attempt is the number of the attempt being made (1-based). It is not
	// stored in the message: the deliverer sets it from the receive count.
	Attempt int `json:"-"`
	// FirstAttemptAt is when the fan-out created the delivery.
	FirstAttemptAt time.Time `json:"first_attempt_at,omitzero"`
	// DataRef is the claim-check reference of the inbound body of a raw
	// forward too large for a queue message: the processors sent it
	// without data (AttrDataRef), and the deliverer reads the body and
	// builds the data from it (RawData) before sending. Empty otherwise.
	DataRef string `json:"data_ref,omitempty"`
}

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// DeliveryID is "msg_" + the first 26 characters of the lower-case base32
// of sha256(eventID + "|" + endpointID): 130 bits, the same for the same
// event and endpoint however often the fan-out runs.
func DeliveryID(eventID, endpointID string) string {
	sum := sha256.Sum256([]byte(eventID + "|" + endpointID))
	return "msg_" + strings.ToLower(idEncoding.EncodeToString(sum[:]))[:26]
}

// FanOut returns one delivery per enabled endpoint whose filter matches the
// event's type, in the order of endpoints. FirstAttemptAt is left zero (the
// handler stamps it).
func FanOut(ev domain.Event, endpoints []Endpoint) []Delivery {
	var out []Delivery
	seen := map[string]bool{}
	for _, ep := range endpoints {
		if !ep.Enabled || ep.ID == "" || seen[ep.ID] || !ep.Matches(ev.Type) {
			continue
		}
		seen[ep.ID] = true
		out = append(out, Delivery{
			ID:         DeliveryID(ev.ID, ep.ID),
			EventID:    ev.ID,
			EndpointID: ep.ID,
			Event:      ev,
		})
	}
	return out
}

// EndpointSource lists every endpoint (the store, or a cache over it).
type EndpointSource interface {
	Endpoints(ctx context.Context) ([]Endpoint, error)
}

// EndpointLookup finds one endpoint; ErrEndpointNotFound when there is none.
type EndpointLookup interface {
	Endpoint(ctx context.Context, id string) (Endpoint, error)
}

// EndpointConfirmer reads one endpoint afresh, bypassing any cache, with a
// consistent read where the store has one: what the deliverer consults
// before it drops a delivery because its cached view says the endpoint is
// gone, disabled or not subscribed (ErrEndpointNotFound when there is none).
type EndpointConfirmer interface {
	ConfirmEndpoint(ctx context.Context, id string) (Endpoint, error)
}

// EndpointCache caches an EndpointSource for a TTL. It serves both the list
// (EndpointSource) and lookups by id (EndpointLookup). Errors are not cached;
// a failed refresh returns the error (the message is retried by its queue).
//
// The list may lag behind the store: it is read from an eventually
// consistent index (DynamoDB's gsi1) and kept for the TTL, and the fan-out
// and the deliverer each keep their own. ConfirmEndpoint reads one endpoint
// from the source itself (the store's consistent GetItem when the source is
// an EndpointLookup) and puts what it read into the cache.
type EndpointCache struct {
	src EndpointSource
	ttl time.Duration
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time

	mu      sync.Mutex
	fetched time.Time
	list    []Endpoint
	byID    map[string]Endpoint
}

// CachedEndpoints wraps src with a cache of ttl (0 or less: no caching).
func CachedEndpoints(src EndpointSource, ttl time.Duration) *EndpointCache {
	return &EndpointCache{src: src, ttl: ttl}
}

var (
	_ EndpointSource    = (*EndpointCache)(nil)
	_ EndpointLookup    = (*EndpointCache)(nil)
	_ EndpointConfirmer = (*EndpointCache)(nil)
)

func (c *EndpointCache) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *EndpointCache) load(ctx context.Context) error {
	if c.byID != nil && c.ttl > 0 && c.now().Sub(c.fetched) < c.ttl {
		return nil
	}
	list, err := c.src.Endpoints(ctx)
	if err != nil {
		return fmt.Errorf("list endpoints: %w", err)
	}
	byID := make(map[string]Endpoint, len(list))
	for _, ep := range list {
		byID[ep.ID] = ep
	}
	c.list, c.byID, c.fetched = list, byID, c.now()
	return nil
}

// Endpoints returns the cached list (refreshed when older than the TTL). The
// slice is shared: do not modify it.
func (c *EndpointCache) Endpoints(ctx context.Context) ([]Endpoint, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.load(ctx); err != nil {
		return nil, err
	}
	return c.list, nil
}

// Endpoint returns one endpoint of the cached list, or ErrEndpointNotFound.
func (c *EndpointCache) Endpoint(ctx context.Context, id string) (Endpoint, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.load(ctx); err != nil {
		return Endpoint{}, err
	}
	ep, ok := c.byID[id]
	if !ok {
		return Endpoint{}, fmt.Errorf("endpoint %q: %w", id, ErrEndpointNotFound)
	}
	return ep, nil
}

// Invalidate drops the cached list; the next call reloads it.
func (c *EndpointCache) Invalidate() {
	c.mu.Lock()
	c.list, c.byID = nil, nil
	c.mu.Unlock()
}

// ConfirmEndpoint reads endpoint id from the source, not the cache: with
// the source's own Endpoint (a consistent read of that one endpoint) when
// it is an EndpointLookup, else with a fresh list. The cache then holds
// what was read (the endpoint replaced, added or forgotten), so the next
// deliveries to it see the same until the list is next refreshed. Errors
// other than ErrEndpointNotFound leave the cache as it was.
func (c *EndpointCache) ConfirmEndpoint(ctx context.Context, id string) (Endpoint, error) {
	lookup, ok := c.src.(EndpointLookup)
	if !ok {
		c.Invalidate()
		return c.Endpoint(ctx, id)
	}
	ep, err := lookup.Endpoint(ctx, id)
	found := err == nil
	if err != nil && !errors.Is(err, ErrEndpointNotFound) {
		return Endpoint{}, fmt.Errorf("confirm endpoint %q: %w", id, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byID != nil {
		c.patch(id, ep, found)
	}
	if !found {
		return Endpoint{}, err
	}
	return ep, nil
}

// patch replaces (found) or removes endpoint id in the cached list and
// index. The list is copied: callers may hold the previous one.
func (c *EndpointCache) patch(id string, ep Endpoint, found bool) {
	list := make([]Endpoint, 0, len(c.list)+1)
	replaced := false
	for _, e := range c.list {
		if e.ID != id {
			list = append(list, e)
			continue
		}
		if found && !replaced {
			list = append(list, ep)
			replaced = true
		}
	}
	if found && !replaced {
		list = append(list, ep)
	}
	byID := make(map[string]Endpoint, len(list))
	for _, e := range list {
		byID[e.ID] = e
	}
	c.list, c.byID = list, byID
}
