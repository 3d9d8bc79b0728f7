package sample

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
)

const (
	base62     = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	upperAlnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
)

// ids makes provider-shaped random ids from rnd.
type ids struct{ rnd io.Reader }

func (g ids) read(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(g.rnd, b); err != nil {
		return nil, fmt.Errorf("random id: %w", err)
	}
	return b, nil
}

// alnum returns n characters of alphabet (len(alphabet) <= 256), uniformly
// distributed (bytes that would bias the choice are drawn again).
func (g ids) alnum(n int, alphabet string) (string, error) {
	limit := 256 - 256%len(alphabet)
	out := make([]byte, 0, n)
	for len(out) < n {
		b, err := g.read(n - len(out))
		if err != nil {
			return "", err
		}
		for _, c := range b {
			if int(c) < limit {
				out = append(out, alphabet[int(c)%len(alphabet)])
			}
		}
	}
	return string(out), nil
}

func (g ids) hex(n int) (string, error) {
	b, err := g.read(n)
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// uuid returns a random (version 4) UUID.
func (g ids) uuid() (string, error) {
	b, err := g.read(16)
	if err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
}

// digits returns an n-digit decimal number without a leading zero.
func (g ids) digits(n int) func() (string, error) {
	return func() (string, error) {
		first, err := g.alnum(1, "123456789")
		if err != nil {
			return "", err
		}
		rest, err := g.alnum(n-1, "0123456789")
		return first + rest, err
	}
}

// token returns n random bytes, base64url without padding.
func (g ids) token(n int) func() (string, error) {
	return func() (string, error) {
		b, err := g.read(n)
		if err != nil {
			return "", err
		}
		return base64.RawURLEncoding.EncodeToString(b), nil
	}
}

// salesforceID returns an 18-character Salesforce id: the 3-character key
// prefix, 12 random letters and digits, and the case-encoding suffix.
func (g ids) salesforceID(prefix string) (string, error) {
	rest, err := g.alnum(15-len(prefix), base62)
	if err != nil {
		return "", err
	}
	id := prefix + rest
	return id + salesforceSuffix(id), nil
}

// salesforceSuffix is the 3 characters that make a 15-character id
// case-insensitive: for each 5-character chunk, a bit per upper-case letter
// (first character = lowest bit) indexes "A".."Z","0".."5".
func salesforceSuffix(id15 string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
	var out [3]byte
	for i := range out {
		flags := 0
		for j := range 5 {
			if c := id15[i*5+j]; 'A' <= c && c <= 'Z' {
				flags |= 1 << j
			}
		}
		out[i] = alphabet[flags]
	}
	return string(out[:])
}
