package inventory

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"time"

	"github.com/hookstack/hookstack/shared/domain"
	"github.com/hookstack/hookstack/shared/envelope"
)

// ErrMalformed marks a handled event whose payload lacks what the processor
// needs: permanent.
var ErrMalformed = errors.New("malformed inventory event")

// Handled event types.
const (
	TopicInventoryLevelsUpdate = "inventory_levels/update"
	TopicProductsUpdate        = "products/update"
	TypeInventoryAdjusted      = "inventory.adjusted"
)

// Kind says what an Event carries.
type Kind int

// Event kinds.
const (
	KindNone     Kind = iota // not handled: raw forward only
	KindLevel                // a quantity at one location
	KindProduct              // variant sku/title per inventory item
	KindAdjusted             // a quantity at one location, by sku
)

// Event is one parsed inbound inventory event.
type Event struct {
	Provider   string
	ID         string // the provider's event id (X-Shopify-Event-Id, webhook-id)
	Type       string
	OccurredAt time.Time
	Body       []byte
	Handled    bool
	Kind       Kind

	ItemID    string // KindLevel
	SKU       string // KindAdjusted
	Location  string // KindLevel, KindAdjusted
	Available *int64 // nil: Shopify sends null for untracked items
	UpdatedAt time.Time
	Variants  []Variant // KindProduct
}

// Variant is one product variant's inventory identity.
type Variant struct {
	ItemID string
	SKU    string
	Title  string // "<product title> - <variant title>"
}

// Keys lists the records ev concerns. resolve maps a sku to its inventory
// item id when products/update has recorded it.
func (ev Event) Keys(resolve func(sku string) (itemID string, ok bool)) []string {
	switch ev.Kind {
	case KindLevel:
		return []string{ev.ItemID}
	case KindAdjusted:
		if resolve != nil {
			if id, ok := resolve(ev.SKU); ok {
				return []string{id}
			}
		}
		return []string{SKUKeyPrefix + ev.SKU}
	case KindProduct:
		keys := make([]string, 0, len(ev.Variants))
		for _, v := range ev.Variants {
			keys = append(keys, v.ItemID)
		}
		return keys
	}
	return nil
}

// FromEnvelope parses an envelope of the inventory queue (body already
// fetched when it was claim-checked).
func FromEnvelope(env envelope.Envelope) (Event, error) {
	switch env.Provider {
	case "shopify":
		return ParseShopify(env.Type, env.EventID, env.OccurredAt, env.Body)
	case "standard":
		return ParseStandard(env.EventID, env.OccurredAt, env.Body)
	}
	return Event{Provider: env.Provider, ID: env.EventID, Type: env.Type, OccurredAt: env.OccurredAt.UTC(), Body: env.Body}, nil
}

// flexID accepts a Shopify numeric id or a string id.
type flexID string

func (f *flexID) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexID(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	if _, err := strconv.ParseInt(n.String(), 10, 64); err != nil {
		return domain.BadValue(reflect.TypeFor[int64]()) // names the field, not the value
	}
	*f = flexID(n.String())
	return nil
}

// ParseShopify parses a Shopify webhook body for topic (X-Shopify-Topic).
func ParseShopify(topic, eventID string, occurredAt time.Time, body []byte) (Event, error) {
	ev := Event{Provider: "shopify", ID: eventID, Type: topic, OccurredAt: occurredAt.UTC(), Body: body}
	switch topic {
	case TopicInventoryLevelsUpdate:
		var p struct {
			InventoryItemID flexID      `json:"inventory_item_id"`
			LocationID      flexID      `json:"location_id"`
			Available       *int64      `json:"available"`
			UpdatedAt       domain.Time `json:"updated_at"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			return Event{}, fmt.Errorf("%w: %s: %s", ErrMalformed, topic, domain.DecodeError(err))
		}
		if p.InventoryItemID == "" || p.LocationID == "" || p.UpdatedAt.IsZero() {
			return Event{}, fmt.Errorf("%w: %s: missing inventory_item_id, location_id or updated_at", ErrMalformed, topic)
		}
		ev.Kind, ev.ItemID, ev.Location, ev.Available, ev.UpdatedAt = KindLevel, string(p.InventoryItemID), string(p.LocationID), p.Available, p.UpdatedAt.UTC()
	case TopicProductsUpdate:
		var p struct {
			Title     string      `json:"title"`
			UpdatedAt domain.Time `json:"updated_at"`
			Variants  []struct {
				InventoryItemID flexID `json:"inventory_item_id"`
				SKU             string `json:"sku"`
				Title           string `json:"title"`
			} `json:"variants"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			return Event{}, fmt.Errorf("%w: %s: %s", ErrMalformed, topic, domain.DecodeError(err))
		}
		if p.UpdatedAt.IsZero() {
			return Event{}, fmt.Errorf("%w: %s: missing updated_at", ErrMalformed, topic)
		}
		ev.Kind, ev.UpdatedAt = KindProduct, p.UpdatedAt.UTC()
		for _, v := range p.Variants {
			if v.InventoryItemID == "" {
				continue
			}
			title := p.Title
			if v.Title != "" && v.Title != "Default Title" {
				title += " - " + v.Title
			}
			ev.Variants = append(ev.Variants, Variant{ItemID: string(v.InventoryItemID), SKU: v.SKU, Title: title})
		}
	default:
		return ev, nil
	}
	if ev.ID == "" {
		return Event{}, fmt.Errorf("%w: %s: no event id", ErrMalformed, topic)
	}
	ev.Handled = true
	return ev, nil
}

// ParseStandard parses a Standard Webhooks body {"type","timestamp","data"}.
// eventID is the webhook-id header.
func ParseStandard(eventID string, occurredAt time.Time, body []byte) (Event, error) {
	var p struct {
		Type      string          `json:"type"`
		Timestamp domain.Time     `json:"timestamp"`
		Data      json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return Event{}, fmt.Errorf("%w: %s", ErrMalformed, domain.DecodeError(err))
	}
	if occurredAt.IsZero() {
		occurredAt = p.Timestamp.Time
	}
	ev := Event{Provider: "standard", ID: eventID, Type: p.Type, OccurredAt: occurredAt.UTC(), Body: body}
	if p.Type != TypeInventoryAdjusted {
		return ev, nil
	}
	var d struct {
		SKU       string      `json:"sku"`
		Location  string      `json:"location"`
		Available *int64      `json:"available"`
		UpdatedAt domain.Time `json:"updated_at"`
	}
	if err := json.Unmarshal(p.Data, &d); err != nil {
		return Event{}, fmt.Errorf("%w: %s data: %s", ErrMalformed, p.Type, domain.DecodeError(err))
	}
	if d.SKU == "" || d.Location == "" || d.Available == nil || d.UpdatedAt.IsZero() || eventID == "" {
		return Event{}, fmt.Errorf("%w: %s: missing sku, location, available, updated_at or event id", ErrMalformed, p.Type)
	}
	ev.Kind, ev.SKU, ev.Location, ev.Available, ev.UpdatedAt, ev.Handled = KindAdjusted, d.SKU, d.Location, d.Available, d.UpdatedAt.UTC(), true
	return ev, nil
}
