// Package limits holds the SQS message rules both queue adapters enforce, so
// a message the embedded queue accepts in `hookstack dev` is one SQS accepts
// too (and the SQS adapter fails before a network round trip).
package limits

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/sqstext"
)

// SQS quotas (standard queues).
const (
	MaxMessageBytes = 1 << 20          // body + message attributes (SQS raised 256 KiB to 1 MiB in 2025)
	MaxAttributes   = 10               // message attributes per message
	MaxAttrNameLen  = 256              // characters in an attribute name
	MaxDelay        = 15 * time.Minute // DelaySeconds 0..900
	MaxVisibility   = 12 * time.Hour   // VisibilityTimeout 0..43200
	MaxBatch        = 10               // MaxNumberOfMessages 1..10; SendMessageBatch entries
	// MaxBatchBytes is the payload of one SendMessageBatch the adapter sends
	// (SQS's batch limit was 256 KiB before it followed messages to 1 MiB;
	// the smaller figure works everywhere and costs nothing: SQS bills a
	// batch per 64 KB chunk either way).
	MaxBatchBytes  = 256 << 10
	attrTypeString = "String"
)

// ErrInvalid marks a message SQS would reject.
var ErrInvalid = errors.New("message not accepted by SQS rules")

// CheckOutgoing reports why SQS would reject m, or nil.
func CheckOutgoing(m queue.Outgoing) error {
	if len(m.Body) == 0 {
		return fmt.Errorf("%w: empty body", ErrInvalid)
	}
	if err := checkText(m.Body); err != nil {
		return fmt.Errorf("%w: body: %v", ErrInvalid, err)
	}
	if m.Delay < 0 || m.Delay > MaxDelay {
		return fmt.Errorf("%w: delay %s outside 0..%s", ErrInvalid, m.Delay, MaxDelay)
	}
	if len(m.Attributes) > MaxAttributes {
		return fmt.Errorf("%w: %d attributes, at most %d", ErrInvalid, len(m.Attributes), MaxAttributes)
	}
	size := len(m.Body)
	for name, value := range m.Attributes {
		if err := checkAttrName(name); err != nil {
			return fmt.Errorf("%w: attribute %q: %v", ErrInvalid, name, err)
		}
		if value == "" {
			return fmt.Errorf("%w: attribute %q: empty value", ErrInvalid, name)
		}
		if err := checkText([]byte(value)); err != nil {
			return fmt.Errorf("%w: attribute %q: %v", ErrInvalid, name, err)
		}
		size += len(name) + len(attrTypeString) + len(value)
	}
	if size > MaxMessageBytes {
		return fmt.Errorf("%w: %d bytes (body and attributes), at most %d", ErrInvalid, size, MaxMessageBytes)
	}
	return nil
}

// Size is m's size as SQS counts it against its limits: the body plus each
// attribute's name, type ("String") and value.
func Size(m queue.Outgoing) int {
	size := len(m.Body)
	for name, value := range m.Attributes {
		size += len(name) + len(attrTypeString) + len(value)
	}
	return size
}

// CheckVisibility reports whether d is a valid visibility timeout.
func CheckVisibility(d time.Duration) error {
	if d < 0 || d > MaxVisibility {
		return fmt.Errorf("%w: visibility %s outside 0..%s", ErrInvalid, d, MaxVisibility)
	}
	return nil
}

// ClampBatch maps a requested receive size onto SQS's 1..10.
func ClampBatch(n int) int {
	return min(max(n, 1), MaxBatch)
}

// checkText accepts valid UTF-8 made of the characters SQS allows:
// #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF.
func checkText(b []byte) error {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return fmt.Errorf("invalid UTF-8 at byte %d", i)
		}
		if !sqstext.Allowed(r) {
			return fmt.Errorf("character %U at byte %d is not allowed", r, i)
		}
		i += n
	}
	return nil
}

// checkAttrName applies SQS's message attribute name rules.
func checkAttrName(name string) error {
	if name == "" || len(name) > MaxAttrNameLen {
		return fmt.Errorf("name must be 1..%d characters", MaxAttrNameLen)
	}
	for _, r := range name {
		ok := r == '-' || r == '_' || r == '.' ||
			(r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
		if !ok {
			return fmt.Errorf("character %q not allowed (A-Z a-z 0-9 - _ .)", r)
		}
	}
	if strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") || strings.Contains(name, "..") {
		return errors.New("no leading, trailing or doubled '.'")
	}
	lower := strings.ToLower(name)
	if strings.HasPrefix(lower, "aws.") || strings.HasPrefix(lower, "amazon.") {
		return errors.New(`"AWS." and "Amazon." prefixes are reserved`)
	}
	return nil
}
