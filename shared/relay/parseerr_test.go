package relay

import (
	"errors"
	"strings"
	"testing"

	"github.com/hookstack/hookstack/shared/envelope"
)

// Parse errors reach log lines and dead-letter reasons: they name the
// field, never quote its value.
func TestParseErrorsOmitValues(t *testing.T) {
	tests := []struct {
		name, provider, typ, body, secret, want string
	}{
		{"livechat thread created_at", "livechat", "incoming_chat", `{"action":"incoming_chat","payload":{"chat":{"id":"C","thread":{"id":"T","created_at":"SECRET-AT"}}}}`, "SECRET-AT", "field chat.thread.created_at: want an RFC 3339 time"},
		{"livechat chat id a number", "livechat", "chat_deactivated", `{"action":"chat_deactivated","payload":{"chat_id":9999999}}`, "9999999", "field chat_id: want a string"},
		{"trello action date", "trello", "updateCard", `{"action":{"id":"a","type":"updateCard","date":"SECRET-DATE"}}`, "SECRET-DATE", "field action.date: want an RFC 3339 time"},
		{"trello not JSON", "trello", "updateCard", `{"action":"SECRET" x}`, "SECRET", "invalid JSON at byte"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(envelope.Envelope{Provider: tt.provider, EventID: "e1", Type: tt.typ, Body: []byte(tt.body)})
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err %v, want ErrMalformed", err)
			}
			if strings.Contains(err.Error(), tt.secret) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q: want %q, without %q", err, tt.want, tt.secret)
			}
		})
	}
}
