// Package inventory is the pure core of the inventory processor: Shopify
// inventory_levels/update and products/update and Standard Webhooks
// inventory.adjusted in, stock records and threshold events out. No I/O.
//
// Keys. Shopify identifies stock by inventory_item_id; a warehouse system
// sending inventory.adjusted knows only the sku. products/update records each
// variant's sku for its inventory_item_id. So an inventory.adjusted is keyed
// by the item id the sku maps to when that mapping is known (the store keeps
// a sku → item index), else by "sku:<sku>". When products/update later maps
// the sku, the caller merges the "sku:<sku>" record into the item's record
// (Merge) and leaves a tombstone (Tombstone) whose MergedInto redirects late
// writes (Apply returns ErrMerged). Per-location writes are
// last-writer-wins by updated_at, so the merged record is the same whatever
// the order of arrival.
//
// Locations. Shopify locations are keyed by location_id, warehouse locations
// by the name the warehouse sends: the same physical place reported by both
// systems counts twice unless the warehouse uses the Shopify location_id.
//
// Threshold events are state-level alarms, not milestones: low_stock,
// out_of_stock and restocked announce that the item's current total crossed
// a threshold. They are deliberately not announced late: a late older
// adjustment that its location's newer write supersedes changes nothing,
// and announcing the crossing it stood for ("out of stock") would be false
// now. So the alarms announced depend on the arrival order (a dip and its
// restock seen in reverse announce nothing); the final level does not.
package inventory

import (
	"errors"
	"fmt"
	"maps"
	"sort"
	"time"

	"github.com/hookstack/hookstack/shared/domain"
)

// DefaultLowStock is the low-stock threshold when neither HOOKSTACK_LOW_STOCK
// nor a per-item override sets one.
const DefaultLowStock = 5

// Domain event types.
const (
	EventLowStock   = "inventory.low_stock"
	EventOutOfStock = "inventory.out_of_stock"
	EventRestocked  = "inventory.restocked"
)

// Stock levels of an item's total.
const (
	LevelOK  = "ok"  // above the low threshold
	LevelLow = "low" // at or below the threshold, above zero
	LevelOut = "out" // zero (or below: oversold)
)

// SKUKeyPrefix prefixes the key of an item known only by its sku.
const SKUKeyPrefix = "sku:"

var (
	// ErrMerged means the record was merged into another one: apply the
	// event to MergedError.Into instead.
	ErrMerged = errors.New("inventory record merged")
	// ErrWrongRecord means Apply was given a record the event is not about.
	ErrWrongRecord = errors.New("event does not concern this record")
)

// MergedError carries the key a tombstone points to; errors.Is(err, ErrMerged).
type MergedError struct{ Into string }

func (e *MergedError) Error() string { return fmt.Sprintf("%v into %s", ErrMerged, e.Into) }
func (e *MergedError) Unwrap() error { return ErrMerged }

// Config is the processor's configuration.
type Config struct {
	// LowStock is the default low threshold (HOOKSTACK_LOW_STOCK); nil
	// means DefaultLowStock. 0 is a threshold: only out_of_stock (and
	// restocked) are announced.
	LowStock *int64
}

// LowStock returns a Config.LowStock of n.
func LowStock(n int64) *int64 { return &n }

// Item is the stock record of one inventory item (`GET /api/inventory/{id}`):
// Available is the total over Locations.
type Item struct {
	ItemID    string              `json:"inventory_item_id"`
	SKU       string              `json:"sku,omitempty"`
	Title     string              `json:"title,omitempty"`
	Available int64               `json:"available"`
	Locations map[string]Location `json:"locations"`
	Level     string              `json:"level,omitempty"` // "" until a quantity is known
	// LowThreshold overrides Config.LowStock for this item; set by the store
	// (operator configuration), never by provider events.
	LowThreshold *int64 `json:"low_threshold,omitempty"`
	// MergedInto marks a "sku:" record merged into an item record.
	MergedInto  string       `json:"merged_into,omitempty"`
	UpdatedAt   time.Time    `json:"updated_at"`
	LastEventID string       `json:"last_event_id"`
	Versions    ItemVersions `json:"versions"`
}

// Location is the stock at one location.
type Location struct {
	Available int64     `json:"available"`
	UpdatedAt time.Time `json:"updated_at"`
	EventID   string    `json:"event_id"`
}

func (l Location) version() domain.Version {
	return domain.Version{At: l.UpdatedAt, EventID: l.EventID}
}

// ItemVersions versions the fields that products/update writes.
type ItemVersions struct {
	SKU   domain.Version `json:"sku,omitzero"`
	Title domain.Version `json:"title,omitzero"`
}

// Subject names the record in domain events.
func (it Item) Subject() string { return "inventory:" + it.ItemID }

// Threshold is the item's low-stock threshold.
func (it Item) Threshold(cfg Config) int64 {
	if it.LowThreshold != nil {
		return *it.LowThreshold
	}
	if cfg.LowStock != nil {
		return *cfg.LowStock
	}
	return DefaultLowStock
}

// LevelOf classifies a total against a threshold.
func LevelOf(total, threshold int64) string {
	switch {
	case total <= 0:
		return LevelOut
	case total <= threshold:
		return LevelLow
	}
	return LevelOK
}

// crossing is the event for a level change: an item's first observation
// counts as coming from above (LevelOK); a change that crosses both
// thresholds at once emits only out_of_stock; rising from out to low emits
// nothing (it crosses no threshold downwards and not the low one upwards).
func crossing(from, to string) string {
	if from == "" {
		from = LevelOK
	}
	switch {
	case from == to:
		return ""
	case to == LevelOut:
		return EventOutOfStock
	case to == LevelLow && from == LevelOK:
		return EventLowStock
	case to == LevelOK:
		return EventRestocked
	}
	return ""
}

// Apply applies ev to the record stored under key (old nil when none).
// key is one of ev.Keys(). It returns the next record, whether it must be
// saved, and the threshold events to emit.
func Apply(old *Item, key string, ev Event, cfg Config) (next Item, changed bool, emitted []domain.Event, err error) {
	if old != nil {
		if old.MergedInto != "" {
			return *old, false, nil, &MergedError{Into: old.MergedInto}
		}
		if old.ItemID != key {
			return *old, false, nil, fmt.Errorf("apply %s to %s: %w", ev.ID, old.ItemID, ErrWrongRecord)
		}
		next = clone(*old)
	} else {
		next = Item{ItemID: key}
	}
	if !ev.Handled {
		return next, false, nil, nil
	}
	switch ev.Kind {
	case KindLevel, KindAdjusted:
		if ev.Available == nil { // untracked item: no quantity to record
			return next, false, nil, nil
		}
		changed = setLocation(&next, ev.Location, Location{Available: *ev.Available, UpdatedAt: ev.UpdatedAt, EventID: ev.ID})
		if ev.Kind == KindAdjusted && key == SKUKeyPrefix+ev.SKU {
			a, _ := domain.Set(&next.SKU, &next.Versions.SKU, ev.SKU, domain.Version{At: ev.UpdatedAt, EventID: ev.ID})
			changed = changed || a
		}
	case KindProduct:
		for _, v := range ev.Variants {
			if v.ItemID != key {
				continue
			}
			ver := domain.Version{At: ev.UpdatedAt, EventID: ev.ID}
			a1, _ := domain.Set(&next.SKU, &next.Versions.SKU, v.SKU, ver)
			a2, _ := domain.Set(&next.Title, &next.Versions.Title, v.Title, ver)
			changed = changed || a1 || a2
		}
	}
	if !changed {
		if old == nil {
			return Item{}, false, nil, nil
		}
		return next, false, nil, nil
	}
	emitted = finish(&next, old, ev, cfg)
	return next, true, emitted, nil
}

// Merge folds the "sku:" record alias into the item record into (nil when the
// item has no record yet) under key, on behalf of ev (the products/update that
// mapped the sku; threshold events carry its id, qualified by the alias's
// key: see domain.Event.Via).
func Merge(into *Item, key string, alias Item, ev Event, cfg Config) (next Item, changed bool, emitted []domain.Event) {
	if into != nil {
		next = clone(*into)
	} else {
		next = Item{ItemID: key}
	}
	for name, l := range alias.Locations {
		changed = setLocation(&next, name, l) || changed
	}
	if !changed {
		if into == nil {
			return Item{}, false, nil
		}
		return next, false, nil
	}
	out := finish(&next, into, ev, cfg)
	for i := range out { // ev may write the item itself, or merge another sku into it
		out[i] = out[i].Via(alias.ItemID)
	}
	return next, true, out
}

// Tombstone turns the alias record into a pointer to the item it was merged
// into; its stock stays as it was for inspection.
func Tombstone(alias Item, into string) Item {
	alias.MergedInto = into
	return alias
}

func clone(it Item) Item {
	it.Locations = maps.Clone(it.Locations)
	return it
}

func setLocation(it *Item, name string, l Location) bool {
	cur, ok := it.Locations[name]
	if ok && !l.version().After(cur.version()) {
		return false
	}
	if it.Locations == nil {
		it.Locations = map[string]Location{}
	}
	it.Locations[name] = l
	return true
}

// finish recomputes the derived fields and returns the threshold event.
func finish(it *Item, old *Item, ev Event, cfg Config) []domain.Event {
	var total int64
	v := domain.Max(it.Versions.SKU, it.Versions.Title)
	names := make([]string, 0, len(it.Locations))
	for name := range it.Locations {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		l := it.Locations[name]
		total += l.Available
		v = domain.Max(v, l.version())
	}
	it.Available = total
	it.UpdatedAt, it.LastEventID = v.At, v.EventID
	prev := ""
	if old != nil {
		prev = old.Level
	}
	if len(it.Locations) == 0 {
		return nil
	}
	threshold := it.Threshold(cfg)
	it.Level = LevelOf(total, threshold)
	typ := crossing(prev, it.Level)
	if typ == "" {
		return nil
	}
	return []domain.Event{domain.New(typ, it.Subject(), ev.Provider, ev.ID, ev.OccurredAt, eventData{
		ItemID: it.ItemID, SKU: it.SKU, Title: it.Title, Available: total, Threshold: threshold,
	})}
}

type eventData struct {
	ItemID    string `json:"inventory_item_id"`
	SKU       string `json:"sku,omitempty"`
	Title     string `json:"title,omitempty"`
	Available int64  `json:"available"`
	Threshold int64  `json:"threshold"`
}

// Forward is the raw forward of ev, naming its record when it has one.
func Forward(ev Event) domain.Event {
	raw := domain.Raw(ev.Provider, ev.ID, ev.Type, ev.OccurredAt, ev.Body)
	if ev.Kind == KindLevel && ev.ItemID != "" {
		return raw.WithSubject("inventory:" + ev.ItemID)
	}
	if ev.Kind == KindAdjusted && ev.SKU != "" {
		return raw.WithSubject("inventory:" + SKUKeyPrefix + ev.SKU)
	}
	return raw
}
