// Package envelope defines the message that travels from ingest to the
// processors: one verified provider event, its identity and its raw bytes.
package envelope

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// Queue names: one per domain, plus the outbound queues. Each has a DLQ named
// Name + DLQSuffix.
const (
	QueuePayments      = "payments"
	QueueInventory     = "inventory"
	QueueLeads         = "leads"
	QueueRelay         = "relay"
	QueueNotifications = "notifications"
	QueueDeliveries    = "deliveries"

	DLQSuffix = "-dlq"
)

// DomainQueues are the queues that ingest writes to.
var DomainQueues = []string{QueuePayments, QueueInventory, QueueLeads, QueueRelay}

// AllQueues are every source queue of the pipeline (each with its own DLQ).
var AllQueues = []string{QueuePayments, QueueInventory, QueueLeads, QueueRelay, QueueNotifications, QueueDeliveries}

// Version is the envelope schema version written into every envelope.
const Version = 1

// Envelope is one verified inbound event. Body holds the exact bytes the
// provider signed (for batch providers, the bytes of this one event), unless
// the body was too large for a queue message, in which case BodyRef points at
// the claim-check object and Body is empty.
type Envelope struct {
	V           int               `json:"v"`
	ID          string            `json:"id"`       // ours, a ULID
	Provider    string            `json:"provider"` // stripe, github, ...
	EventID     string            `json:"event_id"` // the provider's id, or a body hash
	Type        string            `json:"type"`     // the provider's event type
	OccurredAt  time.Time         `json:"occurred_at"`
	ReceivedAt  time.Time         `json:"received_at"`
	ContentType string            `json:"content_type,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"` // useful provider headers, never signatures
	Queue       string            `json:"queue"`
	// Invalid is set when the body was verified but could not be parsed: the
	// processors dead-letter such an envelope at once with this reason.
	Invalid string `json:"invalid,omitempty"`
	// Part and Parts number the events of a batch delivery (HubSpot,
	// Salesforce); both zero for single-event deliveries.
	Part  int    `json:"part,omitempty"`
	Parts int    `json:"parts,omitempty"`
	Body  []byte `json:"-"`
	// BodyRef is the claim-check reference ("s3://bucket/key" or "file:key").
	BodyRef string `json:"body_ref,omitempty"`
}

type plain Envelope // no methods: avoids recursion

// MarshalJSON encodes the body as text when it is valid UTF-8.
func (e Envelope) MarshalJSON() ([]byte, error) {
	type out struct {
		plain
		BodyText   *string `json:"body,omitempty"`
		BodyBase64 *string `json:"body_base64,omitempty"`
	}
	o := out{plain: plain(e)}
	if len(e.Body) > 0 {
		if utf8.Valid(e.Body) {
			s := string(e.Body)
			o.BodyText = &s
		} else {
			s := base64.StdEncoding.EncodeToString(e.Body)
			o.BodyBase64 = &s
		}
	}
	b, err := json.Marshal(o)
	if err != nil {
		return nil, err
	}
	return escapeAstral(b), nil
}

// escapeAstral writes characters above U+FFFF (emoji, ...) as JSON
// surrogate-pair escapes. The JSON means the same, and every SQS
// implementation accepts it (some emulators reject 4-byte UTF-8).
func escapeAstral(b []byte) []byte {
	i := 0
	for i < len(b) && b[i] < 0xF0 {
		i++
	}
	if i == len(b) {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	out = append(out, b[:i]...)
	for i < len(b) {
		if b[i] < 0xF0 {
			out = append(out, b[i])
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError || r <= 0xFFFF {
			out = append(out, b[i:i+size]...)
		} else {
			hi, lo := utf16.EncodeRune(r)
			out = fmt.Appendf(out, `\u%04x\u%04x`, hi, lo)
		}
		i += size
	}
	return out
}

// UnmarshalJSON is the inverse of MarshalJSON.
func (e *Envelope) UnmarshalJSON(b []byte) error {
	var in struct {
		plain
		BodyText   *string `json:"body"`
		BodyBase64 *string `json:"body_base64"`
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	*e = Envelope(in.plain)
	switch {
	case in.BodyText != nil:
		e.Body = []byte(*in.BodyText)
	case in.BodyBase64 != nil:
		body, err := base64.StdEncoding.DecodeString(*in.BodyBase64)
		if err != nil {
			return fmt.Errorf("envelope body_base64: %w", err)
		}
		e.Body = body
	}
	return nil
}

// ErrMalformed marks a queue message that is not an envelope: permanent.
var ErrMalformed = errors.New("malformed envelope")

// Decode parses a queue message body into an envelope.
func Decode(b []byte) (Envelope, error) {
	var e Envelope
	if err := json.Unmarshal(b, &e); err != nil {
		return Envelope{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if e.ID == "" || e.Provider == "" {
		return Envelope{}, fmt.Errorf("%w: missing id or provider", ErrMalformed)
	}
	return e, nil
}

// Encode is json.Marshal of the envelope.
func Encode(e Envelope) ([]byte, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode envelope %s: %w", e.ID, err)
	}
	return b, nil
}
