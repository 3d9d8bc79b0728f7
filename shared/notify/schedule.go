package notify

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"
)

// Retry policy bounds.
const (
	// DefaultScheduleSpec is the retry schedule used when
	// HOOKSTACK_RETRY_SCHEDULE is unset (like Svix's): 1 + 7 attempts.
	DefaultScheduleSpec = "5s,5m,30m,2h,5h,10h,10h"
	// MaxDelay caps every delay (a step with jitter, or a Retry-After):
	// SQS cannot hide a message for longer.
	MaxDelay = 12 * time.Hour
	// Jitter is the relative spread applied to every step: ±20%.
	Jitter = 0.2
	// MaxScheduleSteps bounds a configured schedule.
	MaxScheduleSteps = 100
	maxScheduleSpec  = 4096
)

// ErrInvalidSchedule marks a retry schedule that cannot be used.
var ErrInvalidSchedule = errors.New("invalid retry schedule")

// Schedule is the list of delays between attempts: after the first attempt
// fails the delivery waits Schedule[0], after the second Schedule[1], and so
// on; after the failure of attempt len(s)+1 the delivery is dead.
type Schedule []time.Duration

// DefaultSchedule returns the parsed DefaultScheduleSpec.
func DefaultSchedule() Schedule {
	s, _ := ParseSchedule(DefaultScheduleSpec)
	return s
}

// ParseSchedule parses a comma-separated list of Go durations ("1s,2s,4s",
// spaces allowed). Every step must be positive and at most MaxDelay; at most
// MaxScheduleSteps steps.
func ParseSchedule(spec string) (Schedule, error) {
	if len(spec) > maxScheduleSpec {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrInvalidSchedule, maxScheduleSpec)
	}
	if strings.TrimSpace(spec) == "" {
		return nil, fmt.Errorf("%w: empty", ErrInvalidSchedule)
	}
	parts := strings.Split(spec, ",")
	if len(parts) > MaxScheduleSteps {
		return nil, fmt.Errorf("%w: %d steps, at most %d", ErrInvalidSchedule, len(parts), MaxScheduleSteps)
	}
	s := make(Schedule, 0, len(parts))
	for i, p := range parts {
		p = strings.TrimSpace(p)
		d, err := time.ParseDuration(p)
		if err != nil {
			return nil, fmt.Errorf("%w: step %d %q: %v", ErrInvalidSchedule, i+1, p, err)
		}
		if d <= 0 || d > MaxDelay {
			return nil, fmt.Errorf("%w: step %d %q: want more than 0 and at most %s", ErrInvalidSchedule, i+1, p, MaxDelay)
		}
		s = append(s, d)
	}
	return s, nil
}

// String is the schedule in ParseSchedule's form.
func (s Schedule) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = d.String()
	}
	return strings.Join(parts, ",")
}

// Attempts is the total number of attempts a delivery gets: 1 + len(s).
func (s Schedule) Attempts() int { return len(s) + 1 }

// Next returns the delay before the attempt after attempt (1-based: the
// number of the attempt that just failed with a retryable outcome), and false
// when that was the last attempt.
//
// The delay is the step with jitter: step × (1 − Jitter + 2·Jitter·r) for r
// in [0, 1) (clamped), so ±20%; a retryAfter longer than that wins; the
// result is rounded up to whole seconds (SQS's unit), at least 1 s and at
// most MaxDelay.
func (s Schedule) Next(attempt int, retryAfter time.Duration, r float64) (time.Duration, bool) {
	if attempt < 1 {
		attempt = 1
	}
	if attempt > len(s) {
		return 0, false
	}
	if math.IsNaN(r) || r < 0 {
		r = 0
	}
	if r > 1 {
		r = 1
	}
	step := float64(s[attempt-1])
	d := time.Duration(step * (1 - Jitter + 2*Jitter*r))
	if d > MaxDelay || d < 0 {
		d = MaxDelay
	}
	if retryAfter > d {
		d = retryAfter
	}
	return clampDelay(d), true
}

// clampDelay rounds d up to whole seconds within [1 s, MaxDelay].
func clampDelay(d time.Duration) time.Duration {
	if d >= MaxDelay || d < 0 {
		return MaxDelay
	}
	if r := d % time.Second; r != 0 {
		d += time.Second - r
	}
	if d < time.Second {
		d = time.Second
	}
	return d
}

// ParseRetryAfter reads a Retry-After header value: delta seconds ("120") or
// an HTTP date, relative to now. It returns a delay in [0, MaxDelay] (a date
// in the past is 0, anything longer than MaxDelay is MaxDelay), and false
// when the value is neither form.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		var n int64
		for i := 0; i < len(v); i++ {
			c := v[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			if n <= int64(MaxDelay/time.Second) {
				n = n*10 + int64(c-'0')
			}
		}
		if n > int64(MaxDelay/time.Second) {
			return MaxDelay, true
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	switch {
	case d <= 0:
		return 0, true
	case d > MaxDelay:
		return MaxDelay, true
	}
	return d, true
}
