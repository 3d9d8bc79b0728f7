package limits

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/sqstext"
)

func TestCheckOutgoing(t *testing.T) {
	body := []byte(`{"ok":true}`)
	ten := map[string]string{}
	for _, k := range strings.Split("a b c d e f g h i j", " ") {
		ten[k] = "v"
	}
	tests := []struct {
		name string
		m    queue.Outgoing
		ok   bool
	}{
		{"plain", queue.Outgoing{Body: body}, true},
		{"tab newline CR", queue.Outgoing{Body: []byte("a\tb\nc\rd")}, true},
		{"emoji (U+1F680)", queue.Outgoing{Body: []byte("🚀")}, true},
		{"U+FFFD", queue.Outgoing{Body: []byte("\uFFFD")}, true},
		{"ten attributes", queue.Outgoing{Body: body, Attributes: ten}, true},
		{"attribute names", queue.Outgoing{Body: body, Attributes: map[string]string{"a-b_c.d": "v", "reason": "x y"}}, true},
		{"max delay", queue.Outgoing{Body: body, Delay: 15 * time.Minute}, true},
		{"exactly 1 MiB with attribute", queue.Outgoing{Body: []byte(strings.Repeat("x", MaxMessageBytes-len("k")-len("String")-1)), Attributes: map[string]string{"k": "v"}}, true},
		{"1 MiB plus attribute", queue.Outgoing{Body: []byte(strings.Repeat("x", MaxMessageBytes)), Attributes: map[string]string{"k": "v"}}, false},
		{"empty", queue.Outgoing{}, false},
		{"NUL", queue.Outgoing{Body: []byte{0}}, false},
		{"U+001F", queue.Outgoing{Body: []byte{0x1f}}, false},
		{"U+FFFE", queue.Outgoing{Body: []byte("\uFFFE")}, false},
		{"invalid UTF-8", queue.Outgoing{Body: []byte{0xc3}}, false},
		{"surrogate encoded", queue.Outgoing{Body: []byte{0xed, 0xa0, 0x80}}, false},
		{"delay over", queue.Outgoing{Body: body, Delay: 15*time.Minute + 1}, false},
		{"negative delay", queue.Outgoing{Body: body, Delay: -1}, false},
		{"eleven attributes", queue.Outgoing{Body: body, Attributes: func() map[string]string {
			m := map[string]string{"k": "v"}
			for k, v := range ten {
				m[k] = v
			}
			return m
		}()}, false},
		{"empty value", queue.Outgoing{Body: body, Attributes: map[string]string{"k": ""}}, false},
		{"control char in value", queue.Outgoing{Body: body, Attributes: map[string]string{"k": "a\x01"}}, false},
		{"space in name", queue.Outgoing{Body: body, Attributes: map[string]string{"a b": "v"}}, false},
		{"leading dot", queue.Outgoing{Body: body, Attributes: map[string]string{".a": "v"}}, false},
		{"trailing dot", queue.Outgoing{Body: body, Attributes: map[string]string{"a.": "v"}}, false},
		{"double dot", queue.Outgoing{Body: body, Attributes: map[string]string{"a..b": "v"}}, false},
		{"aws prefix", queue.Outgoing{Body: body, Attributes: map[string]string{"aws.x": "v"}}, false},
		{"amazon prefix", queue.Outgoing{Body: body, Attributes: map[string]string{"Amazon.x": "v"}}, false},
		{"long name", queue.Outgoing{Body: body, Attributes: map[string]string{strings.Repeat("n", 257): "v"}}, false},
		{"empty name", queue.Outgoing{Body: body, Attributes: map[string]string{"": "v"}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckOutgoing(tc.m)
			if tc.ok && err != nil {
				t.Errorf("rejected: %v", err)
			}
			if !tc.ok && !errors.Is(err, ErrInvalid) {
				t.Errorf("accepted (err %v)", err)
			}
		})
	}
}

func TestCheckVisibility(t *testing.T) {
	for d, ok := range map[time.Duration]bool{0: true, time.Second: true, 12 * time.Hour: true, -1: false, 12*time.Hour + 1: false} {
		if err := CheckVisibility(d); (err == nil) != ok {
			t.Errorf("CheckVisibility(%v) = %v", d, err)
		}
	}
}

func TestClampBatch(t *testing.T) {
	for in, want := range map[int]int{-5: 1, 0: 1, 1: 1, 7: 7, 10: 10, 11: 10, 1000: 10} {
		if got := ClampBatch(in); got != want {
			t.Errorf("ClampBatch(%d) = %d, want %d", in, got, want)
		}
	}
}

// Anything accepted is valid UTF-8 of allowed characters; nothing panics.
func FuzzCheckOutgoing(f *testing.F) {
	f.Add([]byte(`{"a":1}`), "reason", "x")
	f.Add([]byte{0xff, 0xfe}, "a..b", "")
	f.Add([]byte("🚀\x00"), "AWS.x", "v")
	f.Fuzz(func(t *testing.T, body []byte, name, value string) {
		err := CheckOutgoing(queue.Outgoing{Body: body, Attributes: map[string]string{name: value}})
		if err != nil {
			return
		}
		if !utf8.Valid(body) || !utf8.ValidString(value) || len(body) == 0 || value == "" {
			t.Fatalf("accepted body %q attribute %q=%q", body, name, value)
		}
		for _, r := range string(body) + value {
			if !sqstext.Allowed(r) {
				t.Fatalf("accepted character %U", r)
			}
		}
	})
}
