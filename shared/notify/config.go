package notify

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Config is the outbound configuration read from the environment.
type Config struct {
	Schedule Schedule       // HOOKSTACK_RETRY_SCHEDULE (default DefaultScheduleSpec)
	Timeout  time.Duration  // HOOKSTACK_DELIVERY_TIMEOUT (default 15s)
	Allow    []netip.Prefix // HOOKSTACK_OUTBOUND_ALLOW_CIDRS
}

// ConfigFromEnv reads Config with getenv (os.Getenv in functions).
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{Schedule: DefaultSchedule(), Timeout: DefaultTimeout}
	if v := strings.TrimSpace(getenv("HOOKSTACK_RETRY_SCHEDULE")); v != "" {
		s, err := ParseSchedule(v)
		if err != nil {
			return Config{}, fmt.Errorf("HOOKSTACK_RETRY_SCHEDULE: %w", err)
		}
		cfg.Schedule = s
	}
	if v := strings.TrimSpace(getenv("HOOKSTACK_DELIVERY_TIMEOUT")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > 15*time.Minute {
			return Config{}, fmt.Errorf("HOOKSTACK_DELIVERY_TIMEOUT %q: want a duration above 0 and at most 15m", v)
		}
		cfg.Timeout = d
	}
	allow, err := ParseCIDRs(getenv("HOOKSTACK_OUTBOUND_ALLOW_CIDRS"))
	if err != nil {
		return Config{}, fmt.Errorf("HOOKSTACK_OUTBOUND_ALLOW_CIDRS: %w", err)
	}
	cfg.Allow = allow
	return cfg, nil
}
