package hookstack

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookstack/hookstack/shared/ingest"
	"github.com/hookstack/hookstack/shared/notify"
	"github.com/hookstack/hookstack/shared/process"
)

func ctxGetter(m map[string]any) func(string) any {
	return func(k string) any { return m[k] }
}

func TestConfigFromContextDefaults(t *testing.T) {
	cfg, err := ConfigFromContext(ctxGetter(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		StackName: "Hookstack", Providers: Providers, ThrottleRate: 100, ThrottleBurst: 200,
		RetrySchedule: "5s,5m,30m,2h,5h,10h,10h", LogRetentionDays: 30, Removal: "retain", AssetsDir: "bin",
	}
	if cfg.StackName != want.StackName || !slices.Equal(cfg.Providers, want.Providers) ||
		cfg.ThrottleRate != want.ThrottleRate || cfg.ThrottleBurst != want.ThrottleBurst ||
		cfg.RetrySchedule != want.RetrySchedule || cfg.LogRetentionDays != want.LogRetentionDays ||
		cfg.Removal != want.Removal || cfg.AssetsDir != want.AssetsDir || cfg.AlarmEmail != "" ||
		cfg.DomainName != "" || len(cfg.AllowCidrs) != 0 {
		t.Errorf("defaults:\n got %+v\nwant %+v", cfg, want)
	}
	if got := cfg.DeliveryAttempts(); got != 8 {
		t.Errorf("delivery attempts %d, want 8", got)
	}
	if cfg.TableCapacity != CapacityOnDemand || cfg.TableMaxWrite != DefaultTableMaxWrite ||
		cfg.TableMaxRead != DefaultTableMaxRead || cfg.SystemLogLevel != "INFO" {
		t.Errorf("table %s %v/%v, system log level %s", cfg.TableCapacity, cfg.TableMaxWrite, cfg.TableMaxRead, cfg.SystemLogLevel)
	}
}

func TestConfigFromContextValues(t *testing.T) {
	tests := []struct {
		name  string
		ctx   map[string]any
		check func(t *testing.T, c Config)
	}{
		{"providers as string, reordered", map[string]any{"providers": "zoom, stripe"}, func(t *testing.T, c Config) {
			if !slices.Equal(c.Providers, []string{"stripe", "zoom"}) {
				t.Errorf("providers %v", c.Providers)
			}
		}},
		{"providers as JSON array", map[string]any{"providers": []any{"github"}}, func(t *testing.T, c Config) {
			if !slices.Equal(c.Providers, []string{"github"}) {
				t.Errorf("providers %v", c.Providers)
			}
		}},
		{"providers as JSON in a string", map[string]any{"providers": `["slack","github"]`}, func(t *testing.T, c Config) {
			if !slices.Equal(c.Providers, []string{"github", "slack"}) {
				t.Errorf("providers %v", c.Providers)
			}
		}},
		{"hubspot legacy as JSON and as -c", map[string]any{"hubspotLegacySignatures": true}, func(t *testing.T, c Config) {
			if !c.HubSpotLegacySignatures {
				t.Error("hubspotLegacySignatures true not read")
			}
		}},
		{"salesforce any ip as -c", map[string]any{"salesforceAnyIp": "true"}, func(t *testing.T, c Config) {
			if !c.SalesforceAnyIP || c.HubSpotLegacySignatures {
				t.Errorf("salesforceAnyIp %v, hubspot legacy %v", c.SalesforceAnyIP, c.HubSpotLegacySignatures)
			}
		}},
		{"hubspot legacy as string", map[string]any{"hubspotLegacySignatures": "true"}, func(t *testing.T, c Config) {
			if !c.HubSpotLegacySignatures {
				t.Error(`hubspotLegacySignatures "true" not read`)
			}
		}},
		{"provisioned table, warn", map[string]any{"tableCapacity": "provisioned", "tableMaxWriteCapacity": 40.0,
			"tableMaxReadCapacity": "25", "lambdaSystemLogLevel": "warn"}, func(t *testing.T, c Config) {
			if c.TableCapacity != CapacityProvisioned || c.TableMaxWrite != 40 || c.TableMaxRead != 25 || c.SystemLogLevel != "WARN" {
				t.Errorf("table %s %v/%v, system log level %s", c.TableCapacity, c.TableMaxWrite, c.TableMaxRead, c.SystemLogLevel)
			}
		}},
		{"providers all", map[string]any{"providers": "all"}, func(t *testing.T, c Config) {
			if len(c.Providers) != len(Providers) {
				t.Errorf("providers %v", c.Providers)
			}
		}},
		{"numbers as strings", map[string]any{"throttleRate": "12.5", "throttleBurst": "30", "logRetentionDays": "90"}, func(t *testing.T, c Config) {
			if c.ThrottleRate != 12.5 || c.ThrottleBurst != 30 || c.LogRetentionDays != 90 {
				t.Errorf("%+v", c)
			}
		}},
		{"numbers as JSON", map[string]any{"throttleRate": 7.0, "logRetentionDays": 365.0}, func(t *testing.T, c Config) {
			if c.ThrottleRate != 7 || c.LogRetentionDays != 365 {
				t.Errorf("%+v", c)
			}
		}},
		{"allowCidrs object", map[string]any{"allowCidrs": map[string]any{"stripe": []any{"3.18.12.63/32"}, "github": "192.30.252.0/22,185.199.108.0/22"}}, func(t *testing.T, c Config) {
			if !slices.Equal(c.AllowCidrs["stripe"], []string{"3.18.12.63/32"}) || len(c.AllowCidrs["github"]) != 2 {
				t.Errorf("allowCidrs %v", c.AllowCidrs)
			}
		}},
		{"allowCidrs key=value string", map[string]any{"allowCidrs": "stripe=3.18.12.63/32,3.130.192.231/32; github=2001:db8::/32"}, func(t *testing.T, c Config) {
			if len(c.AllowCidrs["stripe"]) != 2 || !slices.Equal(c.AllowCidrs["github"], []string{"2001:db8::/32"}) {
				t.Errorf("allowCidrs %v", c.AllowCidrs)
			}
		}},
		{"destroy with domain", map[string]any{"removal": "destroy", "domainName": "hooks.example.com", "certificateArn": "arn:aws:acm:us-east-1:1:certificate/x"}, func(t *testing.T, c Config) {
			if c.Removal != RemovalDestroy || c.DomainName != "hooks.example.com" {
				t.Errorf("%+v", c)
			}
		}},
		{"retry schedule", map[string]any{"retrySchedule": "1s, 12h"}, func(t *testing.T, c Config) {
			if c.DeliveryAttempts() != 3 {
				t.Errorf("attempts %d", c.DeliveryAttempts())
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ConfigFromContext(ctxGetter(tc.ctx))
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func TestConfigFromContextErrors(t *testing.T) {
	tests := []struct {
		name string
		ctx  map[string]any
		want string // in the error message
	}{
		{"unknown provider", map[string]any{"providers": "stripe,paypal"}, `unknown provider "paypal"`},
		{"no providers", map[string]any{"providers": ""}, "at least one provider"},
		{"bad stack name", map[string]any{"stackName": "1stack"}, "stackName"},
		{"bad email", map[string]any{"alarmEmail": "ops"}, "alarmEmail"},
		{"rate not a number", map[string]any{"throttleRate": "fast"}, "throttleRate"},
		{"rate zero", map[string]any{"throttleRate": 0.0}, "throttleRate 0"},
		{"rate NaN", map[string]any{"throttleRate": "NaN"}, "throttleRate NaN"},
		{"rate infinite", map[string]any{"throttleRate": "Inf"}, "throttleRate +Inf"},
		{"burst fraction", map[string]any{"throttleBurst": "1.5"}, "throttleBurst"},
		{"retention not allowed", map[string]any{"logRetentionDays": "31"}, "logRetentionDays 31"},
		{"retention fraction", map[string]any{"logRetentionDays": 1.5}, "whole number"},
		{"removal", map[string]any{"removal": "keep"}, `removal "keep"`},
		{"domain without certificate", map[string]any{"domainName": "hooks.example.com"}, "set both or neither"},
		{"certificate not an ARN", map[string]any{"domainName": "a.b", "certificateArn": "cert"}, "not an ARN"},
		{"retry delay too long", map[string]any{"retrySchedule": "5s,13h"}, "13h"},
		{"retry delay unparseable", map[string]any{"retrySchedule": "5s,soon"}, "retrySchedule"},
		{"retry delay zero", map[string]any{"retrySchedule": "0s"}, "must be > 0"},
		{"cidr invalid", map[string]any{"allowCidrs": `{"stripe":["3.18.12.63"]}`}, "allowCidrs stripe"},
		{"cidr for disabled provider", map[string]any{"providers": "stripe", "allowCidrs": "github=1.2.3.0/24"}, `"github" is not enabled`},
		{"cidr map malformed", map[string]any{"allowCidrs": "stripe:1.2.3.0/24"}, "provider=cidr"},
		{"cidr JSON malformed", map[string]any{"allowCidrs": `{"stripe":`}, "allowCidrs"},
		{"outbound cidr invalid", map[string]any{"outboundAllowCidrs": "10.0.0.0"}, "outboundAllowCidrs"},
		{"providers wrong type", map[string]any{"providers": []any{1.0}}, "not a string"},
		{"table capacity unknown", map[string]any{"tableCapacity": "reserved"}, `tableCapacity "reserved"`},
		{"table max write zero", map[string]any{"tableCapacity": "provisioned", "tableMaxWriteCapacity": "0"}, "tableMaxWriteCapacity 0"},
		{"table max read fraction", map[string]any{"tableMaxReadCapacity": 2.5}, "tableMaxReadCapacity 2.5"},
		{"system log level unknown", map[string]any{"lambdaSystemLogLevel": "quiet"}, `lambdaSystemLogLevel "QUIET"`},
		{"hubspot legacy not a boolean", map[string]any{"hubspotLegacySignatures": "maybe"}, "hubspotLegacySignatures"},
		{"salesforce any ip not a boolean", map[string]any{"salesforceAnyIp": "anywhere"}, "salesforceAnyIp"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ConfigFromContext(ctxGetter(tc.ctx))
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("err %v, want ErrInvalidConfig", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestNames(t *testing.T) {
	tests := map[string][2]string{
		"payments-dlq":  {"PaymentsDlq", "HOOKSTACK_QUEUE_URL_PAYMENTS_DLQ"},
		"notifications": {"Notifications", "HOOKSTACK_QUEUE_URL_NOTIFICATIONS"},
	}
	for in, want := range tests {
		if got := title(in); got != want[0] {
			t.Errorf("title(%q) = %q, want %q", in, got, want[0])
		}
		if got := QueueURLEnv(in); got != want[1] {
			t.Errorf("QueueURLEnv(%q) = %q, want %q", in, got, want[1])
		}
	}
	if got := SecretARNEnv("github"); got != "HOOKSTACK_SECRET_ARN_GITHUB" {
		t.Errorf("SecretARNEnv = %s", got)
	}
	if got := AllowCidrsEnv("stripe"); got != "HOOKSTACK_ALLOW_CIDRS_STRIPE" {
		t.Errorf("AllowCidrsEnv = %s", got)
	}
	for infra, code := range map[string]string{EnvSalesforceAnyIP: ingest.EnvSalesforceAnyIP, EnvProviders: ingest.EnvProviders, EnvMaxReceives: process.EnvMaxReceives, EnvLowStock: process.EnvLowStock, EnvDoneLists: process.EnvDoneLists} {
		if infra != code {
			t.Errorf("infra sets %s, the processors read %s", infra, code)
		}
	}
}

// FuzzConfigFromContext feeds arbitrary strings (what `-c key=value` passes)
// to every context key: no panics, and an accepted config validates again.
func FuzzConfigFromContext(f *testing.F) {
	f.Add("stripe,github", "100", "5s,5m", "30", `{"stripe":["3.18.12.63/32"]}`, "retain")
	f.Add("[\"zoom\"]", "1e309", "12h", "7", "stripe=1.2.3.0/24;github=::/0", "destroy")
	f.Add("", "-1", ",", "0", "{", "")
	f.Fuzz(func(t *testing.T, providers, rate, schedule, retention, cidrs, removal string) {
		c, err := ConfigFromContext(ctxGetter(map[string]any{
			"providers": providers, "throttleRate": rate, "retrySchedule": schedule,
			"logRetentionDays": retention, "allowCidrs": cidrs, "removal": removal,
		}))
		if err != nil {
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("error %v does not wrap ErrInvalidConfig", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted config fails Validate: %v", err)
		}
		if !(c.ThrottleRate > 0) || math.IsInf(c.ThrottleRate, 0) {
			t.Fatalf("accepted throttleRate %v", c.ThrottleRate)
		}
		if c.DeliveryAttempts() < 2 {
			t.Fatalf("accepted a schedule with no retries: %q", c.RetrySchedule)
		}
		delays, _ := c.RetryDelays()
		var total time.Duration
		for _, d := range delays {
			total += d
		}
		if float64(total)*(1+RetryJitter) > float64(DeliveriesRetention) {
			t.Fatalf("accepted schedule %q outlasts the deliveries queue's retention with jitter", c.RetrySchedule)
		}
	})
}

// TestRetryScheduleTotal: a schedule whose delays, stretched by the ±20%
// jitter, add up to more than the deliveries queue keeps a message is
// refused at synth; one that fits exactly is accepted.
func TestRetryScheduleTotal(t *testing.T) {
	if RetryJitter != notify.Jitter {
		t.Fatalf("RetryJitter %v, the deliverer's jitter is %v", RetryJitter, notify.Jitter)
	}
	twelves := func(n int) string { return strings.TrimSuffix(strings.Repeat("12h,", n), ",") }
	// 7 days / 1.2 = 140 h = 11 × 12 h + 8 h.
	tests := []struct {
		name     string
		schedule string
		ok       bool
	}{
		{"default", DefaultRetrySchedule, true},
		{"11 × 12h", twelves(11), true},
		{"exactly the retention with jitter", twelves(11) + ",8h", true},
		{"one second over", twelves(11) + ",8h1s", false},
		{"12 × 12h", twelves(12), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ConfigFromContext(ctxGetter(map[string]any{"retrySchedule": tc.schedule}))
			if tc.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("err %v, want ErrInvalidConfig", err)
			}
			for _, want := range []string{"retrySchedule", "jitter", "deliveries queue keeps a message (168h0m0s)", "at most 140h0m0s"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
}

// TestRetentionsNest: a message SQS itself moves to a DLQ keeps its first
// enqueue time, so the deliveries queue keeps messages well under the
// DLQs' retention; and claim-check bodies outlive the longest a message
// referring to one can wait (notifications, then deliveries, then a DLQ).
func TestRetentionsNest(t *testing.T) {
	if DeliveriesRetention > DLQRetention/2 {
		t.Errorf("deliveries keep messages %v: a delivery redriven by SQS late in its life would have under %v in the DLQ", DeliveriesRetention, DLQRetention-DeliveriesRetention)
	}
	longest := QueueRetention + DeliveriesRetention + DLQRetention
	if body := time.Duration(ClaimExpirationDays) * 24 * time.Hour; body <= longest {
		t.Errorf("claim-check bodies live %v, a raw forward may wait %v", body, longest)
	}
}
