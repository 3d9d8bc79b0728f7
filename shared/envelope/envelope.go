// Package envelope defines the message that travels from ingest to the
// processors: one verified provider event, its identity and its raw bytes.
package envelope

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
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
	// BodyJSON says Body is one valid JSON value safe to embed as is (set
	// from Event.JSON, or by Decode when it read one): the wire form then
	// carries it raw in body_json instead of escaped into a string, which
	// is both cheaper to write and smaller. Only set it for bodies checked
	// so (scanJSON's embeddable): a wrong flag corrupts the envelope, which
	// Decode then rejects as malformed.
	BodyJSON bool `json:"-"`
	// BodyRef is the claim-check reference ("s3://bucket/key" or "file:key").
	BodyRef string `json:"body_ref,omitempty"`
}

type plain Envelope // no methods: avoids recursion

// MarshalJSON writes the wire form: the body as raw JSON in body_json when
// BodyJSON says it is embeddable, with any whitespace around it in
// body_lead and body_trail (the decoder gets the exact bytes back),
// else as text in body when it is valid UTF-8 (characters above U+FFFF as
// surrogate-pair escapes, U+FFFE and U+FFFF escaped: SQS refuses them
// raw), else base64 in body_base64. It is written by
// hand: it runs once per webhook on the ingest hot path, and
// encoding/json's reflection plus re-compaction of a 2 KB body cost more
// than the signature check itself.
func (e Envelope) MarshalJSON() ([]byte, error) {
	return e.appendJSON(make([]byte, 0, 256+len(e.Body)+len(e.Body)/8)), nil
}

func (e Envelope) appendJSON(b []byte) []byte {
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, int64(e.V), 10)
	b = appendField(b, "id", e.ID)
	b = appendField(b, "provider", e.Provider)
	b = appendField(b, "event_id", e.EventID)
	b = appendField(b, "type", e.Type)
	b = append(b, `,"occurred_at":"`...)
	b = e.OccurredAt.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","received_at":"`...)
	b = e.ReceivedAt.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	if e.ContentType != "" {
		b = appendField(b, "content_type", e.ContentType)
	}
	if len(e.Headers) > 0 {
		keys := make([]string, 0, len(e.Headers))
		for k := range e.Headers {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = append(b, `,"headers":{`...)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendString(b, e.Headers[k])
		}
		b = append(b, '}')
	}
	b = appendField(b, "queue", e.Queue)
	if e.Invalid != "" {
		b = appendField(b, "invalid", e.Invalid)
	}
	if e.Part != 0 {
		b = append(b, `,"part":`...)
		b = strconv.AppendInt(b, int64(e.Part), 10)
	}
	if e.Parts != 0 {
		b = append(b, `,"parts":`...)
		b = strconv.AppendInt(b, int64(e.Parts), 10)
	}
	if e.BodyRef != "" {
		b = appendField(b, "body_ref", e.BodyRef)
	}
	if len(e.Body) > 0 {
		if e.BodyJSON {
			lead := skipSpace(e.Body, 0)
			trail := len(e.Body)
			for trail > lead && isSpace(e.Body[trail-1]) {
				trail--
			}
			b = append(b, `,"body_json":`...)
			b = append(b, e.Body[lead:trail]...)
			if lead > 0 {
				b = appendField(b, "body_lead", string(e.Body[:lead]))
			}
			if trail < len(e.Body) {
				b = appendField(b, "body_trail", string(e.Body[trail:]))
			}
		} else if utf8.Valid(e.Body) {
			b = append(b, `,"body":`...)
			b = appendString(b, e.Body)
		} else {
			b = append(b, `,"body_base64":"`...)
			b = base64.StdEncoding.AppendEncode(b, e.Body)
			b = append(b, '"')
		}
	}
	return append(b, '}')
}

func appendField(b []byte, name, value string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendString(b, value)
}

const hexDigits = "0123456789abcdef"

// special marks the bytes appendString cannot copy as they are: control
// characters, '"', '\\', and the lead bytes of anything that is not plain
// ASCII (checked rune by rune: invalid sequences become U+FFFD, and
// characters above U+FFFF surrogate-pair escapes).
var special = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	for c := 0x80; c < 0x100; c++ {
		t[c] = true
	}
	return t
}()

// appendString appends s as a JSON string (invalid UTF-8 bytes are written
// as U+FFFD, as encoding/json does).
func appendString[T string | []byte](b []byte, s T) []byte {
	b = append(b, '"')
	start, i := 0, 0
	for i < len(s) {
		if !special[s[i]] {
			i++
			continue
		}
		c := s[i]
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := decodeRune(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			start = i + size
		case r == 0xFFFE || r == 0xFFFF:
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', 'f', 'f', 'f', hexDigits[r&0xF])
			start = i + size
		case r > 0xFFFF:
			b = append(b, s[start:i]...)
			hi, lo := utf16.EncodeRune(r)
			b = append(b, '\\', 'u', hexDigits[hi>>12&0xF], hexDigits[hi>>8&0xF], hexDigits[hi>>4&0xF], hexDigits[hi&0xF],
				'\\', 'u', hexDigits[lo>>12&0xF], hexDigits[lo>>8&0xF], hexDigits[lo>>4&0xF], hexDigits[lo&0xF])
			start = i + size
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func decodeRune[T string | []byte](s T) (rune, int) {
	switch v := any(s).(type) {
	case string:
		return utf8.DecodeRuneInString(v)
	case []byte:
		return utf8.DecodeRune(v)
	}
	return utf8.RuneError, 1
}

// UnmarshalJSON is the inverse of MarshalJSON.
func (e *Envelope) UnmarshalJSON(b []byte) error {
	var in struct {
		plain
		BodyText   *string         `json:"body"`
		BodyBase64 *string         `json:"body_base64"`
		BodyRaw    json.RawMessage `json:"body_json"`
		BodyLead   string          `json:"body_lead"`
		BodyTrail  string          `json:"body_trail"`
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	*e = Envelope(in.plain)
	switch {
	case in.BodyRaw != nil:
		body := make([]byte, 0, len(in.BodyLead)+len(in.BodyRaw)+len(in.BodyTrail))
		body = append(append(append(body, in.BodyLead...), in.BodyRaw...), in.BodyTrail...)
		e.Body, e.BodyJSON = body, true
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

// Encode writes the envelope's wire form (see MarshalJSON).
func Encode(e Envelope) ([]byte, error) {
	return e.MarshalJSON()
}

// AppendEncode appends the envelope's wire form to dst (see MarshalJSON):
// for callers that reuse one buffer per message, such as ingest's pool.
func AppendEncode(dst []byte, e Envelope) []byte {
	return e.appendJSON(dst)
}
