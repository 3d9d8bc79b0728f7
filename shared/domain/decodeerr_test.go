package domain

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDecodeErrorNamesFieldNotValue(t *testing.T) {
	type doc struct {
		Data struct {
			Object struct {
				Amount *int64 `json:"amount"`
				At     Time   `json:"at"`
			} `json:"object"`
		} `json:"data"`
		Name string `json:"name"`
	}
	tests := []struct {
		name, body, secret, want string
	}{
		{"overflowing number", `{"data":{"object":{"amount":1e999}}}`, "1e999", "field data.object.amount: want a whole number"},
		{"string for number", `{"data":{"object":{"amount":"SECRET-42"}}}`, "SECRET-42", "field data.object.amount: want a whole number"},
		{"bad time", `{"data":{"object":{"at":"SECRET-2026"}}}`, "SECRET-2026", "field data.object.at: want an RFC 3339 time"},
		{"number for time", `{"data":{"object":{"at":12345678}}}`, "12345678", "field data.object.at: want an RFC 3339 time"},
		{"syntax", `{"name":"SECRET"x}`, "SECRET", "invalid JSON at byte 17"},
		{"truncated", `{"name":"SECRET`, "SECRET", "invalid JSON at byte"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d doc
			err := json.Unmarshal([]byte(tt.body), &d)
			if err == nil {
				t.Fatal("no error")
			}
			got := DecodeError(err)
			if strings.Contains(got, tt.secret) || !strings.HasPrefix(got, tt.want) {
				t.Fatalf("DecodeError = %q, want prefix %q without %q (from %v)", got, tt.want, tt.secret, err)
			}
		})
	}
	var d doc
	if err := json.Unmarshal([]byte(`{"data":{"object":{"at":"2026-01-02T03:04:05Z"}}}`), &d); err != nil || d.Data.Object.At.Year() != 2026 {
		t.Fatalf("good time: %v %v", d.Data.Object.At, err)
	}
	if err := json.Unmarshal([]byte(`{"data":{"object":{"at":null}}}`), &d); err != nil {
		t.Fatalf("null time: %v", err)
	}
}
