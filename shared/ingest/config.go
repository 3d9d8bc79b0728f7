package ingest

import (
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hookstack/hookstack/shared/signature"
)

// Defaults of the contract (../shared/architecture.md).
const (
	DefaultMaxBodyBytes = 1 << 20
	DefaultTolerance    = 5 * time.Minute
	// DefaultClaimThreshold is the largest encoded envelope sent inline. SQS
	// takes 256 KiB per message including attributes; above this the body goes
	// to the claim-check store.
	DefaultClaimThreshold = 240 << 10
)

// Environment variables read by ConfigFromEnv (besides the contract's).
const (
	// EnvHubSpotLegacy turns on Config.HubSpotLegacy.
	EnvHubSpotLegacy = "HOOKSTACK_HUBSPOT_LEGACY_SIGNATURES"
	// EnvProviders lists the enabled providers, comma-separated (infra sets
	// it from the providers context option); unset means all.
	EnvProviders = "HOOKSTACK_PROVIDERS"
	// EnvSalesforceAnyIP turns on Config.SalesforceAnyIP.
	EnvSalesforceAnyIP = "HOOKSTACK_SALESFORCE_ANY_IP"
)

// AllowCIDRsEnv is the variable holding provider's source allowlist.
func AllowCIDRsEnv(provider string) string {
	return "HOOKSTACK_ALLOW_CIDRS_" + strings.ToUpper(provider)
}

// Config is the ingest configuration, read once at start-up.
type Config struct {
	MaxBodyBytes int64
	Tolerance    time.Duration
	// PublicURL is the base URL providers call (scheme://host[/prefix]), used by
	// providers that sign the URL. Empty: derived from each request's Host.
	PublicURL string
	// AllowCIDRs restricts source addresses per provider (absent: any).
	AllowCIDRs map[string][]netip.Prefix
	// ClaimThreshold: envelopes larger than this (encoded) carry their body by
	// reference.
	ClaimThreshold int
	// Providers enabled; nil means all of signature.Providers.
	Providers []string
	// HubSpotLegacy accepts HubSpot's timestamp-less v1/v2 signatures on
	// requests without v3 (signature.Options.HubSpotLegacy).
	HubSpotLegacy bool
	// SalesforceAnyIP accepts Salesforce requests from any source address
	// when AllowCIDRs has none for salesforce. Salesforce Outbound Messages
	// carry no signature: the OrganizationId they are checked against is
	// not a secret, so without an address allowlist anyone who knows it can
	// have a forged message enqueued. Off (the default), salesforce without
	// an allowlist is refused with 403 (see LoopbackByDefault).
	SalesforceAnyIP bool
	// LoopbackByDefault: a provider that needs a source allowlist
	// (salesforce) and has none accepts loopback addresses only, instead of
	// no address. For the dev server, where `hookstack trigger` posts from
	// loopback; never for a handler behind a proxy on the same host.
	LoopbackByDefault bool
}

// ConfigFromEnv reads and validates the HOOKSTACK_* ingest settings.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{MaxBodyBytes: DefaultMaxBodyBytes, Tolerance: DefaultTolerance, ClaimThreshold: DefaultClaimThreshold}
	if v := getenv("HOOKSTACK_MAX_BODY_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return c, fmt.Errorf("HOOKSTACK_MAX_BODY_BYTES=%q: want a positive number of bytes", v)
		}
		c.MaxBodyBytes = n
	}
	if v := getenv("HOOKSTACK_TOLERANCE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return c, fmt.Errorf("HOOKSTACK_TOLERANCE=%q: want a positive duration such as 5m", v)
		}
		c.Tolerance = d
	}
	if v := getenv(EnvHubSpotLegacy); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("%s=%q: want true or false", EnvHubSpotLegacy, v)
		}
		c.HubSpotLegacy = b
	}
	if v := getenv(EnvSalesforceAnyIP); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("%s=%q: want true or false", EnvSalesforceAnyIP, v)
		}
		c.SalesforceAnyIP = b
	}
	if v := getenv(EnvProviders); v != "" {
		list, err := ParseProviders(v)
		if err != nil {
			return c, fmt.Errorf("%s: %w", EnvProviders, err)
		}
		c.Providers = list
	}
	if v := strings.TrimRight(getenv("HOOKSTACK_PUBLIC_URL"), "/"); v != "" {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return c, fmt.Errorf("HOOKSTACK_PUBLIC_URL=%q: want an absolute http(s) URL", v)
		}
		c.PublicURL = v
	}
	for _, p := range signature.Providers {
		key := AllowCIDRsEnv(p)
		v := getenv(key)
		if v == "" {
			continue
		}
		prefixes, err := ParseCIDRs(v)
		if err != nil {
			return c, fmt.Errorf("%s: %w", key, err)
		}
		if c.AllowCIDRs == nil {
			c.AllowCIDRs = map[string][]netip.Prefix{}
		}
		c.AllowCIDRs[p] = prefixes
	}
	return c, nil
}

// ParseProviders parses a comma-separated list of provider names (blanks
// and repeats ignored), each one of signature.Providers.
func ParseProviders(v string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		switch {
		case f == "" || slices.Contains(out, f):
			continue
		case !slices.Contains(signature.Providers, f):
			return nil, fmt.Errorf("unknown provider %s (known: %s)", strconvQuote(f), strings.Join(signature.Providers, ","))
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%q names no provider (unset it to enable all)", v)
	}
	return out, nil
}

// ParseCIDRs parses a comma-separated list of CIDRs or single addresses.
func ParseCIDRs(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("%q is not an address or CIDR", f)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR", f)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
