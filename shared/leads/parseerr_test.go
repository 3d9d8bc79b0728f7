package leads

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
		parse  func() error
		secret string
		want   string
	}{
		{"salesforce LastModifiedDate", func() error {
			_, err := ParseSalesforce("n1", time.Time{}, []byte(`{"sobject_type":"Lead","fields":{"Id":"00Q1","LastModifiedDate":"SECRET-DATE"}}`))
			return err
		}, "SECRET-DATE", "salesforce LastModifiedDate: want an RFC 3339 time"},
		{"salesforce fields not strings", func() error {
			_, err := ParseSalesforce("n1", time.Time{}, []byte(`{"sobject_type":"Lead","fields":{"Email":12345678}}`))
			return err
		}, "12345678", "field fields: want a string"},
		{"standard timestamp", func() error {
			_, err := ParseStandard("m1", time.Time{}, []byte(`{"type":"lead.created","timestamp":"SECRET-TS","data":{"email":"a@b.c"}}`))
			return err
		}, "SECRET-TS", "field timestamp: want an RFC 3339 time"},
		{"standard first_name a number", func() error {
			_, err := ParseStandard("m1", time.Time{}, []byte(`{"type":"lead.created","data":{"email":"a@b.c","first_name":4242424242}}`))
			return err
		}, "4242424242", "field data.first_name: want a string"},
		{"hubspot occurredAt", func() error {
			_, err := ParseHubSpot("1", []byte(`{"subscriptionType":"contact.creation","objectId":1,"occurredAt":"SECRET-MS"}`))
			return err
		}, "SECRET-MS", "field occurredAt: want a whole number"},
		{"hubspot eventId not a number", func() error {
			_, err := ParseHubSpot("", []byte(`{"eventId":"SECRET-ID","subscriptionType":"contact.creation"}`))
			return err
		}, "SECRET-ID", "hubspot: invalid value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.parse()
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err %v, want ErrMalformed", err)
			}
			if strings.Contains(err.Error(), tt.secret) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q: want %q, without %q", err, tt.want, tt.secret)
			}
		})
	}
}
