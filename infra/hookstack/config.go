// Package hookstack defines Hookstack's AWS infrastructure as CDK constructs:
// storage, queues, secrets, ingest, processing, notifications and monitoring,
// composed by NewHookstackStack. The app in infra/main.go reads the CDK
// context into a Config and synthesizes one stack.
package hookstack

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Providers are every provider Hookstack verifies, in path-name form.
var Providers = []string{
	"stripe", "github", "shopify", "slack", "standard", "livechat",
	"trello", "hubspot", "twilio", "zoom", "salesforce",
}

// GeneratedSecretProviders are the providers whose signing secret we choose
// (and so generate at deploy time); every other provider issues its own.
var GeneratedSecretProviders = []string{"github", "standard"}

// Removal policies for stateful resources (context key "removal").
const (
	RemovalRetain  = "retain"
	RemovalDestroy = "destroy"
)

// Context keys read by ConfigFromContext.
const (
	CtxStackName          = "stackName"
	CtxProviders          = "providers"
	CtxAlarmEmail         = "alarmEmail"
	CtxThrottleRate       = "throttleRate"
	CtxThrottleBurst      = "throttleBurst"
	CtxRetrySchedule      = "retrySchedule"
	CtxLogRetentionDays   = "logRetentionDays"
	CtxRemoval            = "removal"
	CtxDomainName         = "domainName"
	CtxCertificateArn     = "certificateArn"
	CtxAllowCidrs         = "allowCidrs"
	CtxOutboundAllowCidrs = "outboundAllowCidrs"
	CtxAssetsDir          = "assetsDir"
	CtxLowStock           = "lowStock"
	CtxTrelloDoneLists    = "trelloDoneLists"
	CtxTableCapacity      = "tableCapacity"
	CtxTableMaxWrite      = "tableMaxWriteCapacity"
	CtxTableMaxRead       = "tableMaxReadCapacity"
	CtxSystemLogLevel     = "lambdaSystemLogLevel"
	CtxHubSpotLegacy      = "hubspotLegacySignatures"
	CtxSalesforceAnyIP    = "salesforceAnyIp"
)

// Table capacity modes (context key "tableCapacity").
const (
	// CapacityOnDemand: pay per request, no capacity to plan (default).
	CapacityOnDemand = "on-demand"
	// CapacityProvisioned: provisioned capacity with auto scaling (target
	// 70% utilisation) between 1 and the configured maxima, for the table
	// and its index. Cheaper per write for steady traffic (the cost
	// model's what-if); a burst above the capacity is throttled, which only
	// delays processing: ingest never touches the table, and processors
	// retry throttled writes.
	CapacityProvisioned = "provisioned"
)

// Default auto-scaling maxima with CapacityProvisioned (units per second).
const (
	DefaultTableMaxWrite = 100
	DefaultTableMaxRead  = 100
)

// SystemLogLevels are the Lambda system (platform) log levels accepted by
// "lambdaSystemLogLevel": INFO keeps the START/END/REPORT lines of every
// invocation, WARN drops them (less log ingestion; Lambda's own metrics are
// unaffected).
var SystemLogLevels = []string{"DEBUG", "INFO", "WARN"}

// DefaultRetrySchedule is the outbound delivery retry schedule (the
// contract's HOOKSTACK_RETRY_SCHEDULE default).
const DefaultRetrySchedule = "5s,5m,30m,2h,5h,10h,10h"

// MaxRetryDelay is the longest single retry delay: the deliverer waits by
// ChangeMessageVisibility, whose maximum is 12 hours.
const MaxRetryDelay = 12 * time.Hour

// ErrInvalidConfig wraps every context validation error.
var ErrInvalidConfig = errors.New("invalid infra configuration")

// Config is the stack's configuration, read from the CDK context.
type Config struct {
	StackName          string
	Providers          []string            // enabled providers, in Providers order
	AlarmEmail         string              // optional email subscription on the alarm topic
	ThrottleRate       float64             // API stage steady-state rate, requests/s
	ThrottleBurst      float64             // API stage burst
	RetrySchedule      string              // comma-separated Go durations
	LogRetentionDays   int                 // CloudWatch Logs retention
	Removal            string              // RemovalRetain or RemovalDestroy
	DomainName         string              // optional custom domain for the API
	CertificateArn     string              // ACM certificate for DomainName (same region)
	AllowCidrs         map[string][]string // optional per-provider source allowlists
	OutboundAllowCidrs []string            // addresses deliveries may reach despite the SSRF guard
	AssetsDir          string              // where <function>/bootstrap files live
	LowStock           string              // optional HOOKSTACK_LOW_STOCK for inventory (default 5)
	TrelloDoneLists    string              // optional HOOKSTACK_TRELLO_DONE_LISTS for relay
	TableCapacity      string              // CapacityOnDemand or CapacityProvisioned
	TableMaxWrite      float64             // auto-scaling maximum WCU (provisioned)
	TableMaxRead       float64             // auto-scaling maximum RCU (provisioned)
	SystemLogLevel     string              // Lambda system log level, one of SystemLogLevels
	// HubSpotLegacySignatures accepts HubSpot's timestamp-less v1/v2
	// signatures on requests without v3 (ingest's
	// HOOKSTACK_HUBSPOT_LEGACY_SIGNATURES); off by default.
	HubSpotLegacySignatures bool
	// SalesforceAnyIP accepts Salesforce Outbound Messages from any address
	// when no allowCidrs entry names salesforce (ingest's
	// HOOKSTACK_SALESFORCE_ANY_IP): Salesforce signs nothing, so anyone who
	// knows the OrganizationId can then post. Off by default.
	SalesforceAnyIP bool
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		StackName:        "Hookstack",
		Providers:        slices.Clone(Providers),
		ThrottleRate:     100,
		ThrottleBurst:    200,
		RetrySchedule:    DefaultRetrySchedule,
		LogRetentionDays: 30,
		Removal:          RemovalRetain,
		AssetsDir:        "bin",
		TableCapacity:    CapacityOnDemand,
		TableMaxWrite:    DefaultTableMaxWrite,
		TableMaxRead:     DefaultTableMaxRead,
		SystemLogLevel:   "INFO",
	}
}

// ConfigFromContext builds a Config from CDK context values. get returns a
// context value or nil; values may be JSON-typed (from cdk.json) or strings
// (from `-c key=value`).
func ConfigFromContext(get func(key string) any) (Config, error) {
	c := DefaultConfig()
	var errs []error
	str := func(key string, dst *string) {
		if v, ok := asString(get(key)); ok {
			*dst = v
		}
	}
	str(CtxStackName, &c.StackName)
	str(CtxAlarmEmail, &c.AlarmEmail)
	str(CtxRetrySchedule, &c.RetrySchedule)
	str(CtxRemoval, &c.Removal)
	str(CtxDomainName, &c.DomainName)
	str(CtxCertificateArn, &c.CertificateArn)
	str(CtxAssetsDir, &c.AssetsDir)
	str(CtxLowStock, &c.LowStock)
	str(CtxTrelloDoneLists, &c.TrelloDoneLists)
	str(CtxTableCapacity, &c.TableCapacity)
	str(CtxSystemLogLevel, &c.SystemLogLevel)
	c.SystemLogLevel = strings.ToUpper(c.SystemLogLevel)
	if c.LowStock != "" {
		if n, err := strconv.Atoi(c.LowStock); err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("context %s: %q is not a whole number ≥ 0", CtxLowStock, c.LowStock))
		}
	}

	num := func(key string, dst *float64) {
		v := get(key)
		if v == nil {
			return
		}
		f, err := asFloat(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("context %s: %w", key, err))
			return
		}
		*dst = f
	}
	num(CtxThrottleRate, &c.ThrottleRate)
	num(CtxThrottleBurst, &c.ThrottleBurst)
	flag := func(key string, dst *bool) {
		v := get(key)
		if v == nil {
			return
		}
		switch b := v.(type) {
		case bool:
			*dst = b
		default:
			s, _ := asString(v)
			parsed, err := strconv.ParseBool(s)
			if err != nil {
				errs = append(errs, fmt.Errorf("context %s: %v is not true or false", key, v))
			}
			*dst = parsed
		}
	}
	flag(CtxHubSpotLegacy, &c.HubSpotLegacySignatures)
	flag(CtxSalesforceAnyIP, &c.SalesforceAnyIP)
	num(CtxTableMaxWrite, &c.TableMaxWrite)
	num(CtxTableMaxRead, &c.TableMaxRead)
	days := float64(c.LogRetentionDays)
	num(CtxLogRetentionDays, &days)
	c.LogRetentionDays = int(days)
	if days != float64(c.LogRetentionDays) {
		errs = append(errs, fmt.Errorf("context %s: %v is not a whole number of days", CtxLogRetentionDays, days))
	}

	if v := get(CtxProviders); v != nil {
		list, err := asList(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("context %s: %w", CtxProviders, err))
		} else if !(len(list) == 1 && list[0] == "all") {
			c.Providers = list
		}
	}
	if v := get(CtxAllowCidrs); v != nil {
		m, err := asCidrMap(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("context %s: %w", CtxAllowCidrs, err))
		}
		c.AllowCidrs = m
	}
	if v := get(CtxOutboundAllowCidrs); v != nil {
		list, err := asList(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("context %s: %w", CtxOutboundAllowCidrs, err))
		}
		c.OutboundAllowCidrs = list
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("%w: %w", ErrInvalidConfig, errors.Join(errs...))
	}
	return c, c.Validate()
}

var stackNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,127}$`)

// Validate checks every field and normalizes Providers to Providers order.
func (c *Config) Validate() error {
	var errs []error
	if !stackNameRE.MatchString(c.StackName) {
		errs = append(errs, fmt.Errorf("stackName %q: want a letter then letters, digits or '-' (CloudFormation stack name)", c.StackName))
	}
	if len(c.Providers) == 0 {
		errs = append(errs, errors.New("providers: at least one provider must be enabled"))
	}
	for _, p := range c.Providers {
		if !slices.Contains(Providers, p) {
			errs = append(errs, fmt.Errorf("providers: unknown provider %q (known: %s)", p, strings.Join(Providers, ",")))
		}
	}
	enabled := make([]string, 0, len(c.Providers))
	for _, p := range Providers {
		if slices.Contains(c.Providers, p) {
			enabled = append(enabled, p)
		}
	}
	c.Providers = enabled
	if c.AlarmEmail != "" && !strings.Contains(c.AlarmEmail, "@") {
		errs = append(errs, fmt.Errorf("alarmEmail %q is not an email address", c.AlarmEmail))
	}
	if !(c.ThrottleRate > 0) || math.IsInf(c.ThrottleRate, 0) {
		errs = append(errs, fmt.Errorf("throttleRate %v: must be > 0", c.ThrottleRate))
	}
	if !(c.ThrottleBurst >= 1) || c.ThrottleBurst > math.MaxInt32 || c.ThrottleBurst != math.Trunc(c.ThrottleBurst) {
		errs = append(errs, fmt.Errorf("throttleBurst %v: must be a whole number >= 1", c.ThrottleBurst))
	}
	if delays, err := c.RetryDelays(); err != nil {
		errs = append(errs, err)
	} else if err := checkRetryTotal(c.RetrySchedule, delays); err != nil {
		errs = append(errs, err)
	}
	if _, ok := retentionDays[c.LogRetentionDays]; !ok {
		errs = append(errs, fmt.Errorf("logRetentionDays %d: CloudWatch Logs accepts only %s", c.LogRetentionDays, retentionChoices()))
	}
	if c.Removal != RemovalRetain && c.Removal != RemovalDestroy {
		errs = append(errs, fmt.Errorf("removal %q: want %q or %q", c.Removal, RemovalRetain, RemovalDestroy))
	}
	if (c.DomainName == "") != (c.CertificateArn == "") {
		errs = append(errs, errors.New("domainName and certificateArn go together: set both or neither"))
	}
	if c.CertificateArn != "" && !strings.HasPrefix(c.CertificateArn, "arn:") {
		errs = append(errs, fmt.Errorf("certificateArn %q is not an ARN", c.CertificateArn))
	}
	for _, p := range sortedKeys(c.AllowCidrs) {
		if !slices.Contains(c.Providers, p) {
			errs = append(errs, fmt.Errorf("allowCidrs: provider %q is not enabled", p))
		}
		for _, cidr := range c.AllowCidrs[p] {
			if _, err := netip.ParsePrefix(cidr); err != nil {
				errs = append(errs, fmt.Errorf("allowCidrs %s: %w", p, err))
			}
		}
	}
	for _, cidr := range c.OutboundAllowCidrs {
		if _, err := netip.ParsePrefix(cidr); err != nil {
			errs = append(errs, fmt.Errorf("outboundAllowCidrs: %w", err))
		}
	}
	if c.AssetsDir == "" {
		errs = append(errs, errors.New("assetsDir: must not be empty"))
	}
	if c.TableCapacity != CapacityOnDemand && c.TableCapacity != CapacityProvisioned {
		errs = append(errs, fmt.Errorf("tableCapacity %q: want %q or %q", c.TableCapacity, CapacityOnDemand, CapacityProvisioned))
	}
	for _, m := range []struct {
		key string
		v   float64
	}{{CtxTableMaxWrite, c.TableMaxWrite}, {CtxTableMaxRead, c.TableMaxRead}} {
		if !(m.v >= 1) || m.v > 40000 || m.v != math.Trunc(m.v) {
			errs = append(errs, fmt.Errorf("%s %v: must be a whole number from 1 to 40000", m.key, m.v))
		}
	}
	if !slices.Contains(SystemLogLevels, c.SystemLogLevel) {
		errs = append(errs, fmt.Errorf("lambdaSystemLogLevel %q: want one of %s", c.SystemLogLevel, strings.Join(SystemLogLevels, ", ")))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, errors.Join(errs...))
	}
	return nil
}

// RetryDelays parses RetrySchedule.
func (c Config) RetryDelays() ([]time.Duration, error) {
	var out []time.Duration
	for s := range strings.SplitSeq(c.RetrySchedule, ",") {
		s = strings.TrimSpace(s)
		d, err := time.ParseDuration(s)
		if err != nil {
			return nil, fmt.Errorf("retrySchedule %q: %w", c.RetrySchedule, err)
		}
		if d <= 0 || d > MaxRetryDelay {
			return nil, fmt.Errorf("retrySchedule %q: delay %s must be > 0 and <= %s (SQS visibility limit)", c.RetrySchedule, s, MaxRetryDelay)
		}
		out = append(out, d)
	}
	return out, nil
}

// RetryJitter is the deliverer's spread on every retry delay (±20%,
// shared/notify schedule.go Jitter): a delay may last up to 1+RetryJitter
// times its step.
const RetryJitter = 0.2

// checkRetryTotal refuses a schedule whose delays, each stretched by the
// jitter, add up to more than the deliveries queue keeps a message
// (DeliveriesRetention): SQS would delete a delivery before its last
// attempt, with no DLQ entry and no log of the loss. A delivery's age
// counts from its first send, and each retry waits on the same message.
func checkRetryTotal(schedule string, delays []time.Duration) error {
	var total time.Duration
	for _, d := range delays {
		total += d
	}
	worst := time.Duration(float64(total) * (1 + RetryJitter))
	if worst > DeliveriesRetention {
		return fmt.Errorf("retrySchedule %q: the delays add up to %s, up to %s with the ±%d%% jitter, more than the deliveries queue keeps a message (%s): deliveries would expire before their last attempt; shorten the schedule to at most %s in total",
			schedule, total, worst.Round(time.Second), int(RetryJitter*100), DeliveriesRetention,
			time.Duration(float64(DeliveriesRetention)/(1+RetryJitter)).Truncate(time.Second))
	}
	return nil
}

// DeliveryAttempts is how many times the deliverer tries a delivery: the
// first attempt plus one per retry delay.
func (c Config) DeliveryAttempts() int {
	d, _ := c.RetryDelays()
	return len(d) + 1
}

// retentionDays maps CloudWatch Logs' allowed retention values to the CDK enum
// names (awslogs.RetentionDays values).
var retentionDays = map[int]string{
	1: "ONE_DAY", 3: "THREE_DAYS", 5: "FIVE_DAYS", 7: "ONE_WEEK", 14: "TWO_WEEKS",
	30: "ONE_MONTH", 60: "TWO_MONTHS", 90: "THREE_MONTHS", 120: "FOUR_MONTHS",
	150: "FIVE_MONTHS", 180: "SIX_MONTHS", 365: "ONE_YEAR", 400: "THIRTEEN_MONTHS",
	545: "EIGHTEEN_MONTHS", 731: "TWO_YEARS", 1096: "THREE_YEARS", 1827: "FIVE_YEARS",
	2192: "SIX_YEARS", 2557: "SEVEN_YEARS", 2922: "EIGHT_YEARS", 3288: "NINE_YEARS",
	3653: "TEN_YEARS",
}

func retentionChoices() string {
	keys := make([]int, 0, len(retentionDays))
	for k := range retentionDays {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = strconv.Itoa(k)
	}
	return strings.Join(parts, ",")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func asString(v any) (string, bool) {
	switch v := v.(type) {
	case nil:
		return "", false
	case string:
		return strings.TrimSpace(v), true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(v), true
	default:
		return fmt.Sprint(v), true
	}
}

func asFloat(v any) (float64, error) {
	switch v := v.(type) {
	case float64:
		return v, nil
	case int:
		return float64(v), nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number", v)
		}
		return f, nil
	default:
		return 0, fmt.Errorf("%v (%T) is not a number", v, v)
	}
}

// asList accepts a JSON array, a JSON array in a string, or a comma-separated
// string.
func asList(v any) ([]string, error) {
	switch v := v.(type) {
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("list element %v (%T) is not a string", e, e)
			}
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		return out, nil
	case []string:
		return asList(anySlice(v))
	case string:
		s := strings.TrimSpace(v)
		if strings.HasPrefix(s, "[") {
			var arr []any
			if err := json.Unmarshal([]byte(s), &arr); err != nil {
				return nil, fmt.Errorf("parse list %q: %w", s, err)
			}
			return asList(arr)
		}
		var out []string
		for part := range strings.SplitSeq(s, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
		return out, nil
	default:
		return nil, fmt.Errorf("%v (%T) is not a list", v, v)
	}
}

func anySlice(s []string) []any {
	out := make([]any, len(s))
	for i, e := range s {
		out[i] = e
	}
	return out
}

// asCidrMap accepts a JSON object {"provider": ["cidr", ...] | "cidr,cidr"},
// the same object as a string, or "provider=cidr,cidr;provider=cidr".
func asCidrMap(v any) (map[string][]string, error) {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string][]string, len(v))
		for _, k := range sortedKeys(v) {
			list, err := asList(v[k])
			if err != nil {
				return nil, fmt.Errorf("provider %s: %w", k, err)
			}
			out[k] = list
		}
		return out, nil
	case string:
		s := strings.TrimSpace(v)
		if s == "" {
			return nil, nil
		}
		if strings.HasPrefix(s, "{") {
			var m map[string]any
			if err := json.Unmarshal([]byte(s), &m); err != nil {
				return nil, fmt.Errorf("parse %q: %w", s, err)
			}
			return asCidrMap(m)
		}
		out := map[string][]string{}
		for entry := range strings.SplitSeq(s, ";") {
			if entry = strings.TrimSpace(entry); entry == "" {
				continue
			}
			p, cidrs, ok := strings.Cut(entry, "=")
			if !ok {
				return nil, fmt.Errorf("entry %q: want provider=cidr[,cidr]", entry)
			}
			list, _ := asList(cidrs)
			out[strings.TrimSpace(p)] = list
		}
		return out, nil
	default:
		return nil, fmt.Errorf("%v (%T) is not an object", v, v)
	}
}
