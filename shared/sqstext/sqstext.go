// Package sqstext is SQS's character set for message bodies and attribute
// values (#x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF) and the
// two ways Hookstack keeps text inside it: escaping JSON (the meaning is
// unchanged) and replacing what is refused in plain text (U+FFFD).
package sqstext

import (
	"unicode/utf8"
)

// EscapeJSON returns the JSON text b with every character SQS refuses in a
// message written as a JSON escape: SQS accepts only #x9 #xA #xD
// #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF, while encoding/json writes
// U+FFFE and U+FFFF (and a json.RawMessage keeps whatever it holds) as they
// are. In valid JSON such characters can only stand inside strings, where
// \ufffe, \uffff and \u00XX mean the same, so the document is unchanged
// for any JSON reader. A byte that is not UTF-8 becomes \ufffd, as
// encoding/json does in strings. b itself is returned when nothing needs
// escaping; it is never modified.
func EscapeJSON(b []byte) []byte {
	i := firstUnsafe(b)
	if i == len(b) {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	start := 0
	for i < len(b) {
		c := b[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 || c == '\t' || c == '\n' || c == '\r' {
				i++
				continue
			}
			out = append(append(out, b[start:i]...), '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			i++
			start = i
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			out = append(append(out, b[start:i]...), `\ufffd`...)
		case r == 0xFFFE || r == 0xFFFF:
			out = append(append(out, b[start:i]...), '\\', 'u', 'f', 'f', 'f', hexDigits[r&0xF])
		default:
			i += n
			continue
		}
		i += n
		start = i
	}
	return append(out, b[start:]...)
}

// Valid reports whether s holds only characters SQS accepts in a message
// body or attribute value.
func Valid(s string) bool {
	b := []byte(s)
	return firstUnsafe(b) == len(b)
}

// Text returns s with each character SQS refuses replaced by U+FFFD
// (for message attribute values, which are not JSON).
func Text(s string) string {
	if Valid(s) {
		return s
	}
	out := make([]rune, 0, len(s))
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !Allowed(r) || (r == utf8.RuneError && n == 1) {
			r = utf8.RuneError
		}
		out = append(out, r)
		i += n
	}
	return string(out)
}

// firstUnsafe is the index of the first byte of b starting a character SQS
// refuses (or a byte that is not UTF-8), len(b) when there is none.
func firstUnsafe(b []byte) int {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return i
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if (r == utf8.RuneError && n == 1) || !Allowed(r) {
			return i
		}
		i += n
	}
	return len(b)
}

// Allowed reports whether SQS accepts r: #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF.
func Allowed(r rune) bool {
	switch {
	case r == 0x9 || r == 0xA || r == 0xD:
		return true
	case r >= 0x20 && r <= 0xD7FF:
		return true
	case r >= 0xE000 && r <= 0xFFFD:
		return true
	case r >= 0x10000 && r <= 0x10FFFF:
		return true
	}
	return false
}

const hexDigits = "0123456789abcdef"
