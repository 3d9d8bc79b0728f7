// Package ulidgen makes ULIDs (https://github.com/ulid/spec): 26 characters
// of Crockford's base32 holding a 48-bit millisecond timestamp and 80 random
// bits, so that they sort by time. Every ULID of the project is made here:
// ingest's envelope ids, notify's endpoint ids, the local queue's message
// ids and the dev server's event-log ids.
//
// It makes the same ids as github.com/oklog/ulid/v2 (its tests check so)
// without that package's initialisation — a seeded
// math/rand source for its default entropy and database/sql/driver — which
// every Lambda bootstrap paid at each cold start.
package ulidgen

import (
	"crypto/rand"
	"encoding/binary"
	"strings"
	"sync"
	"time"
)

// alphabet is Crockford's base32, as the ULID specification uses it.
const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// maxMS is the largest timestamp a ULID holds (48 bits: the year 10889).
const maxMS = 1<<48 - 1

// Timestamp is t in Unix milliseconds as a ULID holds it: times before 1970
// are 0 and times after maxMS are maxMS.
func Timestamp(t time.Time) uint64 {
	ms := t.UnixMilli()
	switch {
	case ms < 0:
		return 0
	case ms > maxMS:
		return maxMS
	}
	return uint64(ms)
}

// Make returns a new ULID for t with 80 bits from crypto/rand.
func Make(t time.Time) string {
	var b [10]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return encode(Timestamp(t), binary.BigEndian.Uint16(b[:2]), binary.BigEndian.Uint64(b[2:]))
}

// Monotonic makes ULIDs that strictly increase, also within one
// millisecond: the first id of a millisecond has 80 random bits; each next
// id of the same millisecond adds a random number in [1, 2³²] to the
// previous one's, as oklog/ulid's Monotonic entropy does. Should the 80 bits
// overflow (2⁴⁸ ids in one millisecond at the least), the id moves on to
// the next millisecond rather than failing. The zero value is ready; it is
// safe for concurrent use.
type Monotonic struct {
	mu     sync.Mutex
	ms     uint64
	hi     uint16 // the top 16 of the 80 random bits
	lo     uint64 // the other 64
	issued bool
	rnd    [128]byte // random bytes not used yet: rnd[used:]
	used   int
}

// Make returns the next ULID for t.
func (m *Monotonic) Make(t time.Time) string {
	ms := Timestamp(t)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.issued && ms == m.ms {
		inc := uint64(binary.BigEndian.Uint32(m.random(4))) + 1
		lo := m.lo + inc
		hi := m.hi
		if lo < m.lo {
			hi++
		}
		if hi < m.hi && ms < maxMS { // the 80 bits overflowed
			ms++
		}
		m.ms, m.hi, m.lo = ms, hi, lo
		return encode(m.ms, m.hi, m.lo)
	}
	b := m.random(10)
	m.ms, m.hi, m.lo, m.issued = ms, binary.BigEndian.Uint16(b[:2]), binary.BigEndian.Uint64(b[2:]), true
	return encode(m.ms, m.hi, m.lo)
}

// random returns n ≤ len(m.rnd) bytes from crypto/rand, read a buffer at a
// time (as oklog/ulid's Monotonic reads through a bufio.Reader): one
// getrandom call per few ids, not per id. m.mu is held.
func (m *Monotonic) random(n int) []byte {
	if m.used == 0 || m.used+n > len(m.rnd) {
		_, _ = rand.Read(m.rnd[:]) // crypto/rand.Read never fails (Go 1.24+)
		m.used = 0
	}
	b := m.rnd[m.used : m.used+n]
	m.used += n
	return b
}

// encode writes the 128 bits ms(48) | hi(16) | lo(64) as 26 base32
// characters, the most significant first (the first character holds only
// three bits).
func encode(ms uint64, hi uint16, lo uint64) string {
	var out [26]byte
	h, l := ms<<16|uint64(hi), lo
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = alphabet[l&31]
		l = l>>5 | h<<59
		h >>= 5
	}
	return string(out[:])
}

// Valid reports whether id is a ULID: 26 characters of the alphabet in
// either case (Crockford's base32 is case-insensitive), the first at most
// '7' (a 128-bit value).
func Valid(id string) bool {
	if len(id) != 26 || id[0] > '7' {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if strings.IndexByte(alphabet, c) < 0 {
			return false
		}
	}
	return true
}
