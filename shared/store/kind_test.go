package store

import (
	"regexp"
	"strings"
	"testing"
)

// kindPattern is the definition validKind implements by hand.
var kindPattern = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}$`)

func TestValidKindMatchesPattern(t *testing.T) {
	for _, kind := range []string{
		"", "a", "z", "payment", "lead-alias", "sub_scription", "a0", "a" + strings.Repeat("9", 63), "a" + strings.Repeat("9", 64),
		"A", "0a", "_a", "-a", "pay ment", "payment\n", "\npayment", "paymént", "pay.ment", "payMent", "a\x00", "a/b",
	} {
		t.Run(kind, func(t *testing.T) {
			if got, want := validKind(kind), kindPattern.MatchString(kind); got != want {
				t.Errorf("validKind(%q) = %v, the pattern says %v", kind, got, want)
			}
		})
	}
}

func FuzzValidKind(f *testing.F) {
	for _, s := range []string{"payment", "lead-alias", "", "A", "a" + strings.Repeat("b", 64), "é", "a\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, kind string) {
		if got, want := validKind(kind), kindPattern.MatchString(kind); got != want {
			t.Errorf("validKind(%q) = %v, the pattern says %v", kind, got, want)
		}
	})
}
