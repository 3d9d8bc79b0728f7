package notify

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestParseSchedule(t *testing.T) {
	good := []struct {
		spec string
		want Schedule
	}{
		{DefaultScheduleSpec, Schedule{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}},
		{"1s,2s,4s", Schedule{time.Second, 2 * time.Second, 4 * time.Second}},
		{" 1s , 1m30s ", Schedule{time.Second, 90 * time.Second}},
		{"12h", Schedule{12 * time.Hour}},
		{"500ms", Schedule{500 * time.Millisecond}},
	}
	for _, tt := range good {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := ParseSchedule(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != tt.want.String() {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
	for _, spec := range []string{"", " ", "5", "1s,,2s", "0s", "-1s", "13h", "1s,12h1s", "x", "1s;2s"} {
		t.Run("bad/"+spec, func(t *testing.T) {
			if _, err := ParseSchedule(spec); !errors.Is(err, ErrInvalidSchedule) {
				t.Errorf("ParseSchedule(%q) = %v, want ErrInvalidSchedule", spec, err)
			}
		})
	}
	if DefaultSchedule().Attempts() != 8 {
		t.Errorf("default schedule gives %d attempts, want 1 + 7", DefaultSchedule().Attempts())
	}
}

func TestScheduleNext(t *testing.T) {
	s := DefaultSchedule()
	tests := []struct {
		name       string
		attempt    int
		retryAfter time.Duration
		r          float64
		want       time.Duration
		ok         bool
	}{
		{"first step, no jitter", 1, 0, 0.5, 5 * time.Second, true},
		{"first step, -20%", 1, 0, 0, 4 * time.Second, true},
		{"first step, +20% (r just below 1)", 1, 0, 0.999999, 6 * time.Second, true},
		{"second step -20%", 2, 0, 0, 4 * time.Minute, true},
		{"fourth step +20%", 4, 0, 1, 144 * time.Minute, true},
		{"last step +20% is capped at 12h", 7, 0, 1, 12 * time.Hour, true},
		{"retry-after longer than the step wins", 1, 2 * time.Minute, 0.5, 2 * time.Minute, true},
		{"retry-after shorter than the step is ignored", 3, time.Minute, 0.5, 30 * time.Minute, true},
		{"retry-after capped at 12h", 1, 48 * time.Hour, 0.5, 12 * time.Hour, true},
		{"attempt 0 counts as 1", 0, 0, 0.5, 5 * time.Second, true},
		{"after the last attempt: dead", 8, 0, 0.5, 0, false},
		{"far past the end: dead", 100, time.Hour, 0.5, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := s.Next(tt.attempt, tt.retryAfter, tt.r)
			if got != tt.want || ok != tt.ok {
				t.Errorf("Next(%d, %s, %v) = %s, %v; want %s, %v", tt.attempt, tt.retryAfter, tt.r, got, ok, tt.want, tt.ok)
			}
		})
	}
	// Sub-second steps round up to whole seconds (SQS's unit).
	if got, _ := (Schedule{300 * time.Millisecond}).Next(1, 0, 0.5); got != time.Second {
		t.Errorf("300ms step = %s, want 1s", got)
	}
}

func TestJitterSpread(t *testing.T) {
	s := Schedule{10 * time.Hour}
	lo, hi := 12*time.Hour, time.Duration(0)
	for i := 0; i <= 100; i++ {
		d, _ := s.Next(1, 0, float64(i)/100)
		lo, hi = min(lo, d), max(hi, d)
	}
	if lo != 8*time.Hour || hi != 12*time.Hour {
		t.Errorf("10h step spread %s..%s, want 8h..12h", lo, hi)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := fixedNow
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"120", 2 * time.Minute, true},
		{"0", 0, true},
		{" 7 ", 7 * time.Second, true},
		{"86400", MaxDelay, true},
		{"99999999999999999999999", MaxDelay, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{now.Add(30 * time.Hour).Format(http.TimeFormat), MaxDelay, true},
		{"Sunday, 29-Nov-26 18:01:00 GMT", time.Minute, true}, // RFC 850
		{"", 0, false},
		{"-5", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{"12s", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := ParseRetryAfter(tt.in, now)
			if got != tt.want || ok != tt.ok {
				t.Errorf("ParseRetryAfter(%q) = %s, %v; want %s, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{
		"HOOKSTACK_RETRY_SCHEDULE":       "1s,2s,4s",
		"HOOKSTACK_DELIVERY_TIMEOUT":     "3s",
		"HOOKSTACK_OUTBOUND_ALLOW_CIDRS": "10.1.0.0/16, 192.168.1.7",
	}
	cfg, err := ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Schedule.String() != "1s,2s,4s" || cfg.Timeout != 3*time.Second || len(cfg.Allow) != 2 || cfg.Allow[1].String() != "192.168.1.7/32" {
		t.Errorf("cfg = %+v", cfg)
	}
	def, err := ConfigFromEnv(func(string) string { return "" })
	if err != nil || def.Schedule.String() != DefaultSchedule().String() || def.Timeout != DefaultTimeout || def.Allow != nil {
		t.Errorf("defaults = %+v, %v", def, err)
	}
	for k, v := range map[string]string{"HOOKSTACK_RETRY_SCHEDULE": "5", "HOOKSTACK_DELIVERY_TIMEOUT": "-1s", "HOOKSTACK_OUTBOUND_ALLOW_CIDRS": "10.0.0.0/33"} {
		if _, err := ConfigFromEnv(func(key string) string {
			if key == k {
				return v
			}
			return ""
		}); err == nil {
			t.Errorf("%s=%q accepted", k, v)
		}
	}
}
