package domain

import (
	"encoding/json"

	"github.com/hookstack/hookstack/shared/sqstext"
)

// Encode marshals e to the JSON a notification carries, SQS-safe (see
// sqstext.EscapeJSON): a payload field such as a name holding U+FFFF must not make
// the notifications queue refuse the event.
func Encode(e Event) ([]byte, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	return sqstext.EscapeJSON(b), nil
}
