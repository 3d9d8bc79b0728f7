package ulidgen

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
)

// oklog is the reference implementation's text for the same bits.
func oklog(t *testing.T, ms uint64, hi uint16, lo uint64) string {
	t.Helper()
	var id ulid.ULID
	if err := id.SetTime(ms); err != nil {
		t.Fatal(err)
	}
	binary.BigEndian.PutUint16(id[6:8], hi)
	binary.BigEndian.PutUint64(id[8:], lo)
	return id.String()
}

type encodeCase struct {
	name   string
	ms     uint64
	hi     uint16
	lo     uint64
	wanted string // "" compares with oklog only
}

func TestEncodeMatchesOklog(t *testing.T) {
	tests := []encodeCase{
		{name: "zero", wanted: "00000000000000000000000000"},
		{name: "max", ms: maxMS, hi: 0xffff, lo: 1<<64 - 1, wanted: "7ZZZZZZZZZZZZZZZZZZZZZZZZZ"},
		{name: "spec example time", ms: 1469918176385},
		{name: "only hi", hi: 0x8001},
		{name: "only lo", lo: 0x8000000000000001},
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		tests = append(tests, encodeCase{name: fmt.Sprintf("random %d", i), ms: r.Uint64() & maxMS, hi: uint16(r.Uint32()), lo: r.Uint64()})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := encode(tt.ms, tt.hi, tt.lo)
			if want := oklog(t, tt.ms, tt.hi, tt.lo); got != want {
				t.Fatalf("encode(%d, %#x, %#x) = %s, oklog/ulid says %s", tt.ms, tt.hi, tt.lo, got, want)
			}
			if tt.wanted != "" && got != tt.wanted {
				t.Fatalf("encode = %s, want %s", got, tt.wanted)
			}
		})
	}
}

func TestTimestamp(t *testing.T) {
	tests := []struct {
		name string
		t    time.Time
		want uint64
	}{
		{"epoch", time.Unix(0, 0), 0},
		{"milliseconds truncated", time.Unix(1469918176, 385_999_999), 1469918176385},
		{"before 1970", time.Unix(-5, 0), 0},
		{"after the last ULID time", time.Unix(1<<50, 0), maxMS},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Timestamp(tt.t); got != tt.want {
				t.Errorf("Timestamp(%v) = %d, want %d", tt.t, got, tt.want)
			}
		})
	}
}

func TestMakeParses(t *testing.T) {
	now := time.Date(2026, 11, 29, 22, 0, 0, 123_456_789, time.UTC)
	seen := map[string]bool{}
	for range 100 {
		s := Make(now)
		id, err := ulid.ParseStrict(s)
		if err != nil {
			t.Fatalf("Make = %q: %v", s, err)
		}
		if id.Time() != uint64(now.UnixMilli()) {
			t.Fatalf("Make(%v) holds %d ms", now, id.Time())
		}
		if seen[s] {
			t.Fatalf("Make repeated %s", s)
		}
		seen[s] = true
	}
}

func TestMonotonic(t *testing.T) {
	base := time.Date(2026, 11, 29, 22, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		times []time.Time
	}{
		{"one millisecond", slices.Repeat([]time.Time{base}, 1000)},
		{"within the same millisecond", []time.Time{base, base.Add(300 * time.Microsecond), base.Add(999 * time.Microsecond)}},
		{"milliseconds apart", []time.Time{base, base.Add(time.Millisecond), base.Add(2 * time.Millisecond), base.Add(2 * time.Millisecond)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m Monotonic
			prev := ""
			for i, at := range tt.times {
				s := m.Make(at)
				id, err := ulid.ParseStrict(s)
				if err != nil {
					t.Fatalf("id %d %q: %v", i, s, err)
				}
				if id.Time() != uint64(at.UnixMilli()) {
					t.Fatalf("id %d holds %d ms, want %d", i, id.Time(), at.UnixMilli())
				}
				if s <= prev {
					t.Fatalf("id %d %s not after %s", i, s, prev)
				}
				prev = s
			}
		})
	}
}

// The 80 random bits at their maximum: the next id of that millisecond
// moves to the next millisecond instead of wrapping around below the last.
func TestMonotonicOverflow(t *testing.T) {
	at := time.UnixMilli(1_000)
	m := Monotonic{ms: 1_000, hi: 0xffff, lo: 1<<64 - 1, issued: true}
	last := encode(m.ms, m.hi, m.lo)
	s := m.Make(at)
	if s <= last {
		t.Fatalf("after an overflow %s is not after %s", s, last)
	}
	id, err := ulid.ParseStrict(s)
	if err != nil || id.Time() != 1_001 {
		t.Fatalf("after an overflow: %s (%v), time %d, want 1001", s, err, id.Time())
	}
}

func TestMonotonicConcurrent(t *testing.T) {
	var m Monotonic
	now := time.Now()
	const workers, each = 8, 200
	out := make([][]string, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range each {
				out[w] = append(out[w], m.Make(now))
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for w := range out {
		if !slices.IsSorted(out[w]) {
			t.Errorf("worker %d got ids out of order", w)
		}
		for _, s := range out[w] {
			if seen[s] {
				t.Fatalf("duplicate id %s", s)
			}
			seen[s] = true
		}
	}
}

// TestValid agrees with oklog/ulid's ParseStrict.
func TestValid(t *testing.T) {
	for _, id := range []string{
		Make(time.Now()), "00000000000000000000000000", "7ZZZZZZZZZZZZZZZZZZZZZZZZZ",
		"8ZZZZZZZZZZZZZZZZZZZZZZZZZ", "01ARZ3NDEKTSV4RRFFQ69G5FAV", "01arz3ndektsv4rrffq69g5fav",
		"01ARZ3NDEKTSV4RRFFQ69G5FA", "01ARZ3NDEKTSV4RRFFQ69G5FAVX", "01ARZ3NDEKTSV4RRFFQ69G5FAI",
		"01ARZ3NDEKTSV4RRFFQ69G5FAU", "", "01ARZ3NDEKTSV4RRFFQ69G5F\x00V",
	} {
		_, err := ulid.ParseStrict(id)
		if got, want := Valid(id), err == nil; got != want {
			t.Errorf("Valid(%q) = %v, ParseStrict says %v (%v)", id, got, want, err)
		}
	}
}
