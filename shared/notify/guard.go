package notify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// ErrBlockedAddress marks an outbound connection the SSRF guard refused.
// Use errors.Is; the concrete error is *BlockedError with the reason.
var ErrBlockedAddress = errors.New("blocked address")

// BlockedError says which address was refused and why.
type BlockedError struct {
	Addr   netip.Addr
	Reason string // "loopback", "private", "link-local", "cloud metadata", ...
}

func (e *BlockedError) Error() string {
	return fmt.Sprintf("blocked address %s (%s)", e.Addr, e.Reason)
}

// Unwrap makes errors.Is(err, ErrBlockedAddress) hold.
func (e *BlockedError) Unwrap() error { return ErrBlockedAddress }

// Guard decides which addresses outbound deliveries may connect to. The zero
// value (and a nil *Guard) allows only public unicast addresses.
//
// Always refused, whatever Allow and AllowLoopback say: link-local
// (169.254.0.0/16, fe80::/10), which includes the cloud metadata service
// 169.254.169.254, and AWS's IPv6 metadata address fd00:ec2::254. These
// reach the host's own credentials, so no configuration may open them.
//
// Refused unless in Allow: loopback (127/8, ::1; also allowed by
// AllowLoopback), private (10/8, 172.16/12, 192.168/16), CGNAT (100.64/10),
// unique local (fc00::/7), site-local (fec0::/10), unspecified and "this
// network" (0/8, ::), multicast (224/4, ff00::/8), reserved and broadcast
// (240/4), IETF protocol (192.0.0/24), benchmarking (198.18/15), the
// documentation ranges, the IPv6 discard prefix (100::/64) and the IETF
// protocol assignments 2001::/23 (Teredo, benchmarking, ORCHID, ...).
//
// An IPv6 address that embeds an IPv4 address is judged by the embedded
// address too: IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d),
// IPv4-translated (::ffff:0:a.b.c.d), NAT64 (64:ff9b::/96; the local-use
// NAT64 prefix 64:ff9b:1::/48 is refused outright) and 6to4 (2002::/16).
type Guard struct {
	// Allow lists prefixes that may be reached despite the rules above
	// (HOOKSTACK_OUTBOUND_ALLOW_CIDRS), except the always-refused ones.
	Allow []netip.Prefix
	// AllowLoopback lets loopback through (`hookstack dev`, so local sinks
	// work). Link-local and metadata stay refused.
	AllowLoopback bool
}

type rangeRule struct {
	prefix netip.Prefix
	reason string
}

var (
	alwaysBlocked = []rangeRule{
		{netip.MustParsePrefix("169.254.169.254/32"), "cloud metadata"},
		{netip.MustParsePrefix("fd00:ec2::254/128"), "cloud metadata"},
		{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
		{netip.MustParsePrefix("fe80::/10"), "link-local"},
	}
	blocked = []rangeRule{
		{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
		{netip.MustParsePrefix("::1/128"), "loopback"},
		{netip.MustParsePrefix("0.0.0.0/8"), "unspecified"},
		{netip.MustParsePrefix("::/128"), "unspecified"},
		{netip.MustParsePrefix("10.0.0.0/8"), "private"},
		{netip.MustParsePrefix("172.16.0.0/12"), "private"},
		{netip.MustParsePrefix("192.168.0.0/16"), "private"},
		{netip.MustParsePrefix("100.64.0.0/10"), "carrier-grade NAT"},
		{netip.MustParsePrefix("fc00::/7"), "unique local"},
		{netip.MustParsePrefix("fec0::/10"), "site-local"},
		{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
		{netip.MustParsePrefix("ff00::/8"), "multicast"},
		{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},
		{netip.MustParsePrefix("192.0.0.0/24"), "reserved"},
		{netip.MustParsePrefix("198.18.0.0/15"), "reserved"},
		{netip.MustParsePrefix("192.0.2.0/24"), "documentation"},
		{netip.MustParsePrefix("198.51.100.0/24"), "documentation"},
		{netip.MustParsePrefix("203.0.113.0/24"), "documentation"},
		{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
		// IANA's IETF protocol assignments, 2001::/23, whole: Teredo
		// (2001::/32, tunnels to IPv4 hosts behind NATs), benchmarking
		// (2001:2::/48), ORCHID (2001:10::/28, 2001:20::/28), AMT, AS112,
		// DRIP and a few anycast service addresses. Some are marked
		// globally reachable, but none is where a webhook receiver lives,
		// and carving them out would only widen what the guard must get
		// right.
		{netip.MustParsePrefix("2001::/32"), "Teredo"},
		{netip.MustParsePrefix("2001::/23"), "IETF protocol assignment"},
		{netip.MustParsePrefix("100::/64"), "discard"},
		{netip.MustParsePrefix("64:ff9b:1::/48"), "local NAT64"},
	}
	prefixNAT64      = netip.MustParsePrefix("64:ff9b::/96")
	prefixV4Compat   = netip.MustParsePrefix("::/96")
	prefixTranslated = netip.MustParsePrefix("::ffff:0:0:0/96")
	prefix6to4       = netip.MustParsePrefix("2002::/16")
)

// Check returns nil when addr may be reached, else a *BlockedError.
func (g *Guard) Check(addr netip.Addr) error {
	if !addr.IsValid() {
		return &BlockedError{Addr: addr, Reason: "invalid"}
	}
	addr = addr.WithZone("")
	if addr.Is4In6() {
		addr = addr.Unmap()
	}
	// Embedded IPv4 forms: judge the embedded address first, so that
	// ::ffff:0:169.254.169.254 is "cloud metadata", not merely odd.
	if e, ok := embeddedV4(addr); ok {
		if err := g.Check(e); err != nil {
			be := err.(*BlockedError)
			return &BlockedError{Addr: addr, Reason: be.Reason + " (embedded IPv4 " + e.String() + ")"}
		}
	}
	for _, r := range alwaysBlocked {
		if r.prefix.Contains(addr) {
			return &BlockedError{Addr: addr, Reason: r.reason}
		}
	}
	if g != nil {
		for _, p := range g.Allow {
			if p.Contains(addr) {
				return nil
			}
		}
		if g.AllowLoopback && addr.IsLoopback() {
			return nil
		}
	}
	for _, r := range blocked {
		if r.prefix.Contains(addr) {
			return &BlockedError{Addr: addr, Reason: r.reason}
		}
	}
	return nil
}

// embeddedV4 returns the IPv4 address an IPv6 address carries in one of the
// transition forms, if any.
func embeddedV4(a netip.Addr) (netip.Addr, bool) {
	if !a.Is6() {
		return netip.Addr{}, false
	}
	b := a.As16()
	switch {
	case prefixNAT64.Contains(a), prefixTranslated.Contains(a):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case prefixV4Compat.Contains(a):
		// :: and ::1 are themselves (unspecified, loopback).
		if a == netip.IPv6Unspecified() || a == netip.IPv6Loopback() {
			return netip.Addr{}, false
		}
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case prefix6to4.Contains(a):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}

// Control is a net.Dialer Control function: it refuses to connect a socket
// to an address the guard blocks. It sees the address actually being
// connected, after resolution, so it holds against DNS rebinding.
func (g *Guard) Control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &BlockedError{Reason: "unparseable address " + quoteShort(address)}
	}
	return g.Check(ap.Addr())
}

func quoteShort(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return fmt.Sprintf("%q", s)
}

// LookupFunc resolves a host name to addresses.
type LookupFunc func(ctx context.Context, host string) ([]netip.Addr, error)

// Dialer connects only to addresses its Guard allows. Host names are
// resolved once with Lookup; each allowed address is dialled as a literal
// (so the address checked is the address connected to), and the socket is
// checked again by Guard.Control right before connect.
type Dialer struct {
	Guard *Guard
	// Lookup resolves names; nil means net.DefaultResolver.LookupNetIP.
	// Tests inject a fake to play DNS rebinding without a network.
	Lookup LookupFunc
	// Timeout bounds one connect; 0 means 10 s.
	Timeout time.Duration
}

// DialContext is for http.Transport.DialContext.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", quoteShort(address), err)
	}
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		lookup := d.Lookup
		if lookup == nil {
			lookup = defaultLookup
		}
		addrs, err = lookup(ctx, host)
		if err != nil {
			return nil, fmt.Errorf("dial %s: resolve: %w", quoteShort(host), err)
		}
		if len(addrs) == 0 {
			return nil, fmt.Errorf("dial %s: resolve: no addresses", quoteShort(host))
		}
	}
	timeout := d.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	nd := &net.Dialer{Timeout: timeout, Control: d.Guard.Control}
	var first error
	for _, a := range addrs {
		if err := d.Guard.Check(a); err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		c, err := nd.DialContext(ctx, network, net.JoinHostPort(a.WithZone("").Unmap().String(), port))
		if err == nil {
			return c, nil
		}
		if first == nil || errors.Is(first, ErrBlockedAddress) {
			first = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("dial %s: %w", quoteShort(host), first)
}

func defaultLookup(ctx context.Context, host string) ([]netip.Addr, error) {
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

// NewClient returns the HTTP client for outbound deliveries: connections
// through a Dialer with guard and lookup, no proxy (a proxy would be checked
// instead of the target), redirects not followed (the 3xx is returned as
// is), HTTP/2 when the server offers it. Request timeouts come from the
// caller's context (Deliverer.Timeout).
func NewClient(guard *Guard, lookup LookupFunc) *http.Client {
	d := &Dialer{Guard: guard, Lookup: lookup}
	t := &http.Transport{
		Proxy:                  nil,
		DialContext:            d.DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           100,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
	return &http.Client{
		Transport: t,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// ParseCIDRs parses a comma-separated list of CIDR prefixes or single
// addresses (HOOKSTACK_OUTBOUND_ALLOW_CIDRS). Empty yields none.
func ParseCIDRs(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if strings.Contains(f, "/") {
			p, err := netip.ParsePrefix(f)
			if err != nil {
				return nil, fmt.Errorf("allow cidr %q: %w", f, err)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("allow cidr %q: %w", f, err)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}
