package notify

import (
	"errors"
	"slices"
	"testing"
)

func TestMatchPattern(t *testing.T) {
	tests := []struct {
		pattern, typ string
		want         bool
	}{
		{"*", "payment.succeeded", true},
		{"*", "github.push", true},
		{"*", "task", true},
		{"*", "", false},
		{"*", "a.", false},
		{"payment.*", "payment.succeeded", true},
		{"payment.*", "payment.a.b", true},
		{"payment.*", "payment", false},
		{"payment.*", "payments.succeeded", false},
		{"payment.*", "subscription.activated", false},
		{"payment.*", "stripe.payment.succeeded", false},
		{"github.push", "github.push", true},
		{"github.push", "github.pushed", false},
		{"github.push", "github.push.x", false},
		{"github.push", "github", false},
		{"shopify.*", "shopify.orders/create", true},
		{"shopify.orders/create", "shopify.orders/create", true},
		{"*.created", "lead.created", true},
		{"*.created", "a.b.created", false},
		{"*.created", "lead.updated", false},
		{"lead.*.x", "lead.a.x", true},
		{"lead.*.x", "lead.a.b.x", false},
		{"Payment.*", "payment.succeeded", false}, // case-sensitive
		{"pay*", "payment.succeeded", false},      // not a wildcard inside a segment
		{"", "payment.succeeded", false},
		{"a..b", "a..b", false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+"~"+tt.typ, func(t *testing.T) {
			if got := MatchPattern(tt.pattern, tt.typ); got != tt.want {
				t.Errorf("MatchPattern(%q, %q) = %v, want %v", tt.pattern, tt.typ, got, tt.want)
			}
		})
	}
}

func TestEndpointMatches(t *testing.T) {
	ep := Endpoint{Events: []string{"payment.*", "inventory.low_stock"}}
	for typ, want := range map[string]bool{
		"payment.failed": true, "inventory.low_stock": true, "inventory.out_of_stock": false, "lead.created": false,
	} {
		if got := ep.Matches(typ); got != want {
			t.Errorf("Matches(%q) = %v, want %v", typ, got, want)
		}
	}
	if (Endpoint{}).Matches("payment.failed") {
		t.Error("an endpoint without patterns matched")
	}
}

func TestValidatePattern(t *testing.T) {
	for _, p := range []string{"*", "payment.*", "github.push", "*.created", "shopify.orders/create"} {
		if err := ValidatePattern(p); err != nil {
			t.Errorf("ValidatePattern(%q) = %v", p, err)
		}
	}
	for _, p := range []string{"", "pay*", "payment.", ".x", "a..b", "a b", "a,b", "a\tb", string(make([]byte, MaxPatternLen+1))} {
		if err := ValidatePattern(p); !errors.Is(err, ErrInvalidPattern) {
			t.Errorf("ValidatePattern(%q) = %v, want ErrInvalidPattern", p, err)
		}
	}
}

func TestParsePatterns(t *testing.T) {
	got, err := ParsePatterns(" payment.* ,inventory.*,payment.*")
	if err != nil || !slices.Equal(got, []string{"payment.*", "inventory.*"}) {
		t.Fatalf("ParsePatterns = %q, %v", got, err)
	}
	if _, err := ParsePatterns("payment.*,,x"); err == nil {
		t.Error("empty pattern in a list accepted")
	}
}
