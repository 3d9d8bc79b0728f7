package envelope

import (
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"unicode/utf8"
)

// scanJSON validates body as one JSON value (RFC 8259 grammar; like gjson's
// validator it does not reject invalid UTF-8 inside strings) in a single
// pass, and on the way captures the raw values of the wanted top-level
// object members: out[k] is the value of the first member named keys[k], or
// nil. It is the ingest hot path's only full pass over the body, replacing a
// validation pass followed by one lookup pass per field.
//
// embeddable reports whether the body may travel as raw JSON inside an
// envelope (see Envelope.BodyJSON): valid UTF-8, none of the two characters
// SQS refuses that JSON allows unescaped (U+FFFE, U+FFFF), and no character
// above U+FFFF (envelopes carry those as surrogate-pair escapes, which every
// SQS implementation accepts). Whitespace around the value is allowed: the
// envelope carries it beside the value.
//
// Nesting depth is bounded only by memory (one byte per level), so a
// hostile body cannot exhaust the goroutine stack.
func scanJSON(body []byte, keys []string, out [][]byte) (embeddable, valid bool) {
	var stackBuf [64]byte
	stack := stackBuf[:0] // '{' or '[' per open container
	embeddable = true
	b := body
	i := skipSpace(b, 0)
	pending, valueStart := -1, 0 // the wanted top-level member being read
	for {
		// A value starts at b[i].
		if i >= len(b) {
			return false, false
		}
		switch c := b[i]; {
		case c == '{':
			stack = append(stack, '{')
			i = skipSpace(b, i+1)
			if i < len(b) && b[i] == '}' {
				stack = stack[:len(stack)-1]
				i++
				break
			}
			k, ok := 0, false
			if i, k, ok = scanMember(b, i, len(stack) == 1, keys, out, &embeddable); !ok {
				return false, false
			}
			if len(stack) == 1 {
				pending, valueStart = k, i
			}
			continue
		case c == '[':
			stack = append(stack, '[')
			i = skipSpace(b, i+1)
			if i < len(b) && b[i] == ']' {
				stack = stack[:len(stack)-1]
				i++
				break
			}
			continue
		case c == '"':
			var ok bool
			if i, ok = scanString(b, i, &embeddable); !ok {
				return false, false
			}
		case c == '-' || (c >= '0' && c <= '9'):
			var ok bool
			if i, ok = scanNumber(b, i); !ok {
				return false, false
			}
		case c == 't':
			if !hasLiteral(b, i, "true") {
				return false, false
			}
			i += 4
		case c == 'f':
			if !hasLiteral(b, i, "false") {
				return false, false
			}
			i += 5
		case c == 'n':
			if !hasLiteral(b, i, "null") {
				return false, false
			}
			i += 4
		default:
			return false, false
		}
		// A value ended at b[i-1]: close containers until one continues.
		for {
			if len(stack) == 1 && pending >= 0 {
				out[pending] = b[valueStart:i]
				pending = -1
			}
			if len(stack) == 0 {
				return embeddable, skipSpace(b, i) == len(b)
			}
			i = skipSpace(b, i)
			if i >= len(b) {
				return false, false
			}
			top := stack[len(stack)-1]
			switch {
			case b[i] == ',' && top == '{':
				k, ok := 0, false
				if i, k, ok = scanMember(b, skipSpace(b, i+1), len(stack) == 1, keys, out, &embeddable); !ok {
					return false, false
				}
				if len(stack) == 1 {
					pending, valueStart = k, i
				}
			case b[i] == ',' && top == '[':
				i = skipSpace(b, i+1)
			case (b[i] == '}' && top == '{') || (b[i] == ']' && top == '['):
				stack = stack[:len(stack)-1]
				i++
				continue
			default:
				return false, false
			}
			break
		}
	}
}

// scanMember reads `"key" :` at b[i] and returns the index of the member's
// value (spaces skipped) and, for a member of the top-level object (top)
// whose name is a wanted key not yet seen, that key's index, else -1.
func scanMember(b []byte, i int, top bool, keys []string, out [][]byte, embeddable *bool) (int, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return i, -1, false
	}
	start := i
	end, ok := scanString(b, i, embeddable)
	if !ok {
		return i, -1, false
	}
	i = skipSpace(b, end)
	if i >= len(b) || b[i] != ':' {
		return i, -1, false
	}
	i = skipSpace(b, i+1)
	pending := -1
	if top && len(keys) > 0 {
		name := b[start+1 : end-1]
		for k, key := range keys {
			if out[k] == nil && keyEquals(name, b[start:end], key) {
				pending = k
				break
			}
		}
	}
	return i, pending, true
}

// keyEquals compares a member name (raw, without quotes) with key; names
// written with escapes are decoded first (rare: providers don't).
func keyEquals(name, quoted []byte, key string) bool {
	for _, c := range name {
		if c == '\\' {
			var s string
			return json.Unmarshal(quoted, &s) == nil && s == key
		}
	}
	return string(name) == key
}

// strPlain marks the ASCII bytes a JSON string may hold as they are.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanString reads the string starting at the quote b[i] and returns the
// index after its closing quote.
func scanString(b []byte, i int, embeddable *bool) (int, bool) {
	i++
	for {
		// Fast path: jump over plain ASCII eight bytes per step, then to
		// the first byte that needs a look.
		for i+8 <= len(b) {
			m := special8(binary.LittleEndian.Uint64(b[i:]))
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) >> 3
			break
		}
		if i >= len(b) {
			return i, false
		}
		c := b[i]
		switch {
		case strPlain[c]:
			i++
		case c == '"':
			return i + 1, true
		case c == '\\':
			if i+1 >= len(b) {
				return i, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return i, false
				}
				i += 6
			default:
				return i, false
			}
		case c < 0x20:
			return i, false
		default: // non-ASCII
			r, size := utf8.DecodeRune(b[i:])
			if (r == utf8.RuneError && size == 1) || r == 0xFFFE || r == 0xFFFF || r > 0xFFFF {
				*embeddable = false
			}
			i += size
		}
	}
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// special8 flags (in the high bit of its byte) the bytes of the eight in x
// (little endian) that a string cannot hold as they are: control
// characters, '"', '\\' and non-ASCII. The lowest flagged byte is always
// truly special (a subtraction borrows only upwards, from a byte that is
// itself flagged), so scanString can jump straight to it; 0 means all
// eight are plain.
func special8(x uint64) uint64 {
	q := x ^ ('"' * ones)
	bs := x ^ ('\\' * ones)
	return ((x - 0x20*ones) | (q - ones) | (bs - ones) | x) & highs
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// scanNumber reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at b[i].
func scanNumber(b []byte, i int) (int, bool) {
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(b, i)
	default:
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return i, false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return i, false
		}
		i = j
	}
	return i, true
}

func digits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

func hasLiteral(b []byte, i int, lit string) bool {
	return len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// jsonSpace marks the four whitespace bytes JSON allows between tokens.
var jsonSpace = [256]bool{' ': true, '\t': true, '\n': true, '\r': true}

func skipSpace(b []byte, i int) int {
	for i < len(b) && jsonSpace[b[i]] {
		i++
	}
	return i
}
