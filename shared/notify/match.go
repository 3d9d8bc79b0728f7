package notify

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidPattern marks an event filter that can never be valid.
var ErrInvalidPattern = errors.New("invalid event pattern")

// MaxPatternLen bounds one event filter pattern.
const MaxPatternLen = 256

// MatchPattern reports whether eventType matches one filter pattern.
//
// Event types are dot-separated segments ("payment.succeeded",
// "shopify.orders/create"). A pattern is compared segment by segment,
// case-sensitively:
//
//   - a segment "*" matches exactly one segment of any content, except as the
//     last segment of the pattern, where it matches one or more segments;
//   - any other segment matches only itself.
//
// So "*" matches every type, "payment.*" matches "payment.succeeded" (and
// "payment.a.b", but not "payment" nor "payments.x"), "github.push" matches
// only itself and "*.created" matches "lead.created" but not "a.b.created".
// An empty pattern or type matches nothing; "*" inside a segment ("pay*") is
// not a wildcard (ValidatePattern rejects it).
func MatchPattern(pattern, eventType string) bool {
	if pattern == "" || eventType == "" {
		return false
	}
	for {
		pseg, prest, pmore := strings.Cut(pattern, ".")
		tseg, trest, tmore := strings.Cut(eventType, ".")
		if pseg == "*" && !pmore {
			return tseg != "" && (!tmore || trest != "")
		}
		if pseg != "*" && pseg != tseg || tseg == "" {
			return false
		}
		if !pmore || !tmore {
			return pmore == tmore
		}
		pattern, eventType = prest, trest
	}
}

// ValidatePattern rejects patterns that MatchPattern could never use as
// intended: empty, too long, empty segments, whitespace or control
// characters, or '*' inside a segment.
func ValidatePattern(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("%w: empty", ErrInvalidPattern)
	case len(p) > MaxPatternLen:
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalidPattern, MaxPatternLen)
	}
	for _, seg := range strings.Split(p, ".") {
		if seg == "" {
			return fmt.Errorf("%w: %q has an empty segment", ErrInvalidPattern, p)
		}
		if strings.Contains(seg, "*") && seg != "*" {
			return fmt.Errorf("%w: %q: '*' must be a whole segment", ErrInvalidPattern, p)
		}
		for _, r := range seg {
			if r <= ' ' || r == 0x7f || r == ',' {
				return fmt.Errorf("%w: %q contains a space, comma or control character", ErrInvalidPattern, p)
			}
		}
	}
	return nil
}

// ParsePatterns splits a comma-separated filter ("payment.*, inventory.*")
// into validated patterns, dropping duplicates.
func ParsePatterns(s string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if err := ValidatePattern(p); err != nil {
			return nil, err
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out, nil
}
