package payments

import (
	"errors"
	"strings"
	"testing"
)

// Parse errors reach log lines and dead-letter reasons: they name the
// field, never quote its value.
func TestParseErrorsOmitValues(t *testing.T) {
	const pi = `"object":"payment_intent","id":"pi_1","currency":"usd"`
	tests := []struct {
		name, body, secret, want string
	}{
		{"created not a number", `{"id":"evt_1","type":"payment_intent.succeeded","created":"SECRET-1","data":{"object":{}}}`, "SECRET-1", "field created: want a whole number"},
		{"created overflows", `{"id":"evt_1","type":"payment_intent.succeeded","created":98765432109876543210987,"data":{"object":{}}}`, "98765432109876543210987", "field created: want a whole number"},
		{"amount a string", `{"id":"evt_1","type":"payment_intent.succeeded","created":1,"data":{"object":{` + pi + `,"amount":"SECRET-2"}}}`, "SECRET-2", "data.object: field amount: want a whole number"},
		{"expanded customer id a number", `{"id":"evt_1","type":"payment_intent.succeeded","created":1,"data":{"object":{` + pi + `,"amount":1,"customer":{"id":7777777}}}}`, "7777777", "data.object: field customer.id: want a string"},
		{"not JSON", `{"id":"SECRET-3" x}`, "SECRET-3", "invalid JSON at byte"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.body))
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err %v, want ErrMalformed", err)
			}
			if strings.Contains(err.Error(), tt.secret) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q: want %q, without %q", err, tt.want, tt.secret)
			}
		})
	}
}
