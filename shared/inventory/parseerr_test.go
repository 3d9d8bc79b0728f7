package inventory

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// Parse errors reach log lines and dead-letter reasons: they name the
// field, never quote its value.
func TestParseErrorsOmitValues(t *testing.T) {
	tests := []struct {
		name   string
		parse  func() (Event, error)
		secret string
		want   string
	}{
		{"shopify updated_at", func() (Event, error) {
			return ParseShopify(TopicInventoryLevelsUpdate, "e1", time.Time{}, []byte(`{"inventory_item_id":1,"location_id":2,"available":3,"updated_at":"SECRET-AT"}`))
		}, "SECRET-AT", "field updated_at: want an RFC 3339 time"},
		{"shopify id not whole", func() (Event, error) {
			return ParseShopify(TopicInventoryLevelsUpdate, "e1", time.Time{}, []byte(`{"inventory_item_id":31415.926,"location_id":2}`))
		}, "31415.926", "field inventory_item_id: want a whole number"},
		{"products/update variant id", func() (Event, error) {
			return ParseShopify(TopicProductsUpdate, "e1", time.Time{}, []byte(`{"variants":[{"inventory_item_id":27182.818}]}`))
		}, "27182.818", "field variants.inventory_item_id: want a whole number"},
		{"standard data.updated_at", func() (Event, error) {
			return ParseStandard("m1", time.Time{}, []byte(`{"type":"inventory.adjusted","data":{"sku":"S","updated_at":"SECRET-UP"}}`))
		}, "SECRET-UP", "field updated_at: want an RFC 3339 time"},
		{"standard timestamp", func() (Event, error) {
			return ParseStandard("m1", time.Time{}, []byte(`{"type":"inventory.adjusted","timestamp":"SECRET-TS"}`))
		}, "SECRET-TS", "field timestamp: want an RFC 3339 time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.parse()
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err %v, want ErrMalformed", err)
			}
			if strings.Contains(err.Error(), tt.secret) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q: want %q, without %q", err, tt.want, tt.secret)
			}
		})
	}
}
