package notify

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestGuardCheck(t *testing.T) {
	def := &Guard{}
	dev := &Guard{AllowLoopback: true}
	allowAll := &Guard{AllowLoopback: true, Allow: []netip.Prefix{
		netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0"),
	}}
	allow10 := &Guard{Allow: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}}
	tests := []struct {
		addr   string
		guard  *Guard
		reason string // "" = allowed
	}{
		{"93.184.215.14", def, ""},
		{"2606:2800:21f:cb07:6820:80da:af6b:8b2c", def, ""},
		{"93.184.215.14", nil, ""},
		{"127.0.0.1", def, "loopback"},
		{"127.0.0.1", nil, "loopback"},
		{"127.9.9.9", def, "loopback"},
		{"::1", def, "loopback"},
		{"127.0.0.1", dev, ""},
		{"::1", dev, ""},
		{"10.0.0.1", def, "private"},
		{"172.16.5.4", def, "private"},
		{"172.31.255.255", def, "private"},
		{"172.32.0.1", def, ""},
		{"192.168.1.1", def, "private"},
		{"10.0.0.1", dev, "private"},
		{"100.64.0.1", def, "carrier-grade NAT"},
		{"100.127.255.254", def, "carrier-grade NAT"},
		{"fc00::1", def, "unique local"},
		{"fd12:3456::1", def, "unique local"},
		{"169.254.169.254", def, "cloud metadata"},
		{"169.254.169.254", dev, "cloud metadata"},
		{"169.254.169.254", allowAll, "cloud metadata"},
		{"fd00:ec2::254", def, "cloud metadata"},
		{"fd00:ec2::254", allowAll, "cloud metadata"},
		{"169.254.1.1", def, "link-local"},
		{"169.254.1.1", allowAll, "link-local"},
		{"fe80::1", def, "link-local"},
		{"fe80::1%eth0", allowAll, "link-local"},
		{"0.0.0.0", def, "unspecified"},
		{"0.1.2.3", def, "unspecified"},
		{"::", def, "unspecified"},
		{"224.0.0.1", def, "multicast"},
		{"ff02::1", def, "multicast"},
		{"255.255.255.255", def, "reserved"},
		{"192.0.0.170", def, "reserved"},
		{"198.18.0.1", def, "reserved"},
		{"192.0.2.1", def, "documentation"},
		{"2001:db8::1", def, "documentation"},
		// IETF protocol assignments, 2001::/23, refused whole.
		{"2001::1", def, "Teredo"},
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", def, "Teredo"}, // RFC 4380's example
		{"2001:0:ffff:ffff:ffff:ffff:ffff:ffff", def, "Teredo"},
		{"2001:1::1", def, "IETF protocol assignment"},                              // PCP anycast
		{"2001:2::1", def, "IETF protocol assignment"},                              // benchmarking
		{"2001:3::1", def, "IETF protocol assignment"},                              // AMT
		{"2001:4:112::1", def, "IETF protocol assignment"},                          // AS112-v6
		{"2001:10::1", def, "IETF protocol assignment"},                             // ORCHID (deprecated)
		{"2001:20::1", def, "IETF protocol assignment"},                             // ORCHIDv2
		{"2001:30::1", def, "IETF protocol assignment"},                             // DRIP
		{"2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", def, "IETF protocol assignment"}, // last of the /23
		{"2001::1", dev, "Teredo"},
		{"2001:200::1", def, ""},                                                               // first address past the /23 (WIDE, Japan)
		{"2001:4860:4860::8888", def, ""},                                                      // Google Public DNS
		{"2001:2::1", &Guard{Allow: []netip.Prefix{netip.MustParsePrefix("2001:2::/48")}}, ""}, // the allowlist may open it
		// IPv4-mapped, -compatible, -translated, NAT64 and 6to4 forms.
		{"::ffff:127.0.0.1", def, "loopback"},
		{"::ffff:127.0.0.1", dev, ""},
		{"::ffff:169.254.169.254", def, "cloud metadata"},
		{"::ffff:169.254.169.254", allowAll, "cloud metadata"},
		{"::ffff:10.0.0.1", def, "private"},
		{"::ffff:93.184.215.14", def, ""},
		{"::127.0.0.1", def, "loopback (embedded IPv4 127.0.0.1)"},
		{"::169.254.169.254", allowAll, "cloud metadata (embedded IPv4 169.254.169.254)"},
		{"::ffff:0:10.0.0.1", def, "private (embedded IPv4 10.0.0.1)"},
		{"64:ff9b::127.0.0.1", def, "loopback (embedded IPv4 127.0.0.1)"},
		{"64:ff9b::a9fe:a9fe", dev, "cloud metadata (embedded IPv4 169.254.169.254)"},
		{"64:ff9b::5db8:d70e", def, ""}, // NAT64 of a public address
		{"64:ff9b:1::1", def, "local NAT64"},
		{"2002:7f00:1::1", def, "loopback (embedded IPv4 127.0.0.1)"},
		{"2002:a9fe:a9fe::1", allowAll, "cloud metadata (embedded IPv4 169.254.169.254)"},
		// The allowlist opens private ranges, not more.
		{"10.1.2.3", allow10, ""},
		{"10.2.0.1", allow10, "private"},
		{"127.0.0.1", allow10, "loopback"},
		{"10.0.0.1", allowAll, ""},
	}
	for _, tt := range tests {
		name := tt.addr
		switch tt.guard {
		case dev:
			name += "/dev"
		case allowAll:
			name += "/allow-all"
		case allow10:
			name += "/allow-10.1"
		case nil:
			name += "/nil"
		}
		t.Run(name, func(t *testing.T) {
			err := tt.guard.Check(netip.MustParseAddr(tt.addr))
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("blocked: %v", err)
				}
				return
			}
			var be *BlockedError
			if !errors.As(err, &be) || !errors.Is(err, ErrBlockedAddress) {
				t.Fatalf("err = %v, want a BlockedError", err)
			}
			if be.Reason != tt.reason {
				t.Errorf("reason %q, want %q", be.Reason, tt.reason)
			}
		})
	}
	if err := def.Check(netip.Addr{}); !errors.Is(err, ErrBlockedAddress) {
		t.Errorf("invalid address: %v", err)
	}
}

// TestGuardControlAtConnect: the Control hook alone (no pre-check) refuses a
// real connect to a listening loopback socket.
func TestGuardControlAtConnect(t *testing.T) {
	srv := server(t, func(http.ResponseWriter, *http.Request) {})
	addr := srv.Listener.Addr().String()
	d := &net.Dialer{Timeout: time.Second, Control: (&Guard{}).Control}
	if c, err := d.Dial("tcp", addr); !errors.Is(err, ErrBlockedAddress) {
		if c != nil {
			c.Close()
		}
		t.Fatalf("dial %s = %v, want blocked", addr, err)
	}
	d.Control = (&Guard{AllowLoopback: true}).Control
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s with loopback allowed: %v", addr, err)
	}
	c.Close()
}

func TestGuardControl(t *testing.T) {
	g := &Guard{}
	for address, blocked := range map[string]bool{
		"127.0.0.1:80": true, "[::ffff:169.254.169.254]:80": true, "[fe80::1%eth0]:443": true,
		"93.184.215.14:443": false, "not-an-address": true,
	} {
		err := g.Control("tcp", address, nil)
		if got := errors.Is(err, ErrBlockedAddress); got != blocked {
			t.Errorf("Control(%q) = %v, want blocked=%v", address, err, blocked)
		}
	}
}

// fakeDNS resolves names from a table, like a hostile DNS server would.
func fakeDNS(t *testing.T, table map[string][]string) LookupFunc {
	return func(_ context.Context, host string) ([]netip.Addr, error) {
		ips, ok := table[host]
		if !ok {
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		}
		out := make([]netip.Addr, len(ips))
		for i, s := range ips {
			out[i] = netip.MustParseAddr(s)
		}
		return out, nil
	}
}

// TestDialerResolvedAddresses drives the whole client: names that resolve to
// blocked addresses are refused at connect time, whatever the URL looked
// like when the endpoint was added (DNS rebinding).
func TestDialerResolvedAddresses(t *testing.T) {
	var hits int
	srv := server(t, func(w http.ResponseWriter, r *http.Request) {
		hits++
		io.WriteString(w, "ok")
	})
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	dns := fakeDNS(t, map[string][]string{
		"rebind.example":   {"127.0.0.1"},
		"metadata.example": {"169.254.169.254"},
		"mapped.example":   {"::ffff:127.0.0.1"},
		"mixed.example":    {"169.254.169.254", "127.0.0.1"},
		"private.example":  {"10.0.0.7"},
	})
	allowAll := []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}
	tests := []struct {
		name, host string
		guard      *Guard
		wantReason string // "" = reaches the server
	}{
		{"name to 127.0.0.1, loopback not allowed", "rebind.example", &Guard{}, "loopback"},
		{"name to 127.0.0.1, dev allows loopback", "rebind.example", &Guard{AllowLoopback: true}, ""},
		{"name to 169.254.169.254", "metadata.example", &Guard{}, "cloud metadata"},
		{"name to 169.254.169.254, even in dev with allow-all", "metadata.example", &Guard{AllowLoopback: true, Allow: allowAll}, "cloud metadata"},
		{"name to ::ffff:127.0.0.1", "mapped.example", &Guard{}, "loopback"},
		{"name to metadata and loopback: only loopback dialled in dev", "mixed.example", &Guard{AllowLoopback: true}, ""},
		{"name to a private address", "private.example", &Guard{AllowLoopback: true}, "private"},
		{"literal 127.0.0.1 (real connect refused)", "127.0.0.1", &Guard{}, "loopback"},
		{"literal 127.0.0.1 allowed by the allowlist", "127.0.0.1", &Guard{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := hits
			c := NewClient(tt.guard, dns)
			u := "http://" + net.JoinHostPort(tt.host, strconv.Itoa(port))
			resp, err := c.Get(u)
			if tt.wantReason == "" {
				if err != nil {
					t.Fatalf("GET %s: %v", u, err)
				}
				resp.Body.Close()
				if hits != before+1 {
					t.Errorf("server not reached")
				}
				return
			}
			if err == nil {
				resp.Body.Close()
				t.Fatalf("GET %s reached the server", u)
			}
			var be *BlockedError
			if !errors.As(err, &be) || be.Reason != tt.wantReason {
				t.Fatalf("err = %v, want blocked (%s)", err, tt.wantReason)
			}
			if hits != before {
				t.Error("server reached despite the block")
			}
		})
	}
}

// TestRebindingAfterValidation: a name passes ValidateURL (it is not a
// literal), then resolves to the metadata address at delivery time.
func TestRebindingAfterValidation(t *testing.T) {
	raw := "http://innocent.example/hook"
	if err := ValidateURL(raw, &Guard{}); err != nil {
		t.Fatalf("ValidateURL(%s) = %v", raw, err)
	}
	dl := &Deliverer{
		Client:  NewClient(&Guard{}, fakeDNS(t, map[string][]string{"innocent.example": {"169.254.169.254"}})),
		Timeout: time.Second,
	}
	ep := httpEndpoint(raw, NewSecret())
	res := dl.Attempt(context.Background(), delivery(event(t, "payment.succeeded", nil), ep, 1), ep)
	if res.Outcome != Permanent || res.Reason != ReasonBlocked || !strings.Contains(res.Error, "cloud metadata") {
		t.Fatalf("result = %+v, want Permanent blocked address (cloud metadata)", res)
	}
}

func TestClientDoesNotFollowRedirects(t *testing.T) {
	var followed bool
	target := server(t, func(w http.ResponseWriter, r *http.Request) { followed = true })
	src := server(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusFound)
	})
	resp, err := loopbackClient().Get(src.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || followed {
		t.Errorf("status %d, followed %v", resp.StatusCode, followed)
	}
}

func TestClientIgnoresProxyEnvironment(t *testing.T) {
	t.Setenv("HTTP_PROXY", "http://127.0.0.1:1")
	t.Setenv("HTTPS_PROXY", "http://127.0.0.1:1")
	tr := NewClient(nil, nil).Transport.(*http.Transport)
	if tr.Proxy != nil {
		u, _ := tr.Proxy(&http.Request{URL: &url.URL{Scheme: "http", Host: "example.com"}})
		t.Errorf("transport uses a proxy (%v): the guard would check the proxy, not the target", u)
	}
}

func TestParseCIDRs(t *testing.T) {
	got, err := ParseCIDRs(" 10.0.0.0/8 ,192.168.1.5,, fd00::/8,10.1.2.3/16")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/8", "192.168.1.5/32", "fd00::/8", "10.1.0.0/16"}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("[%d] = %s, want %s", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"10.0.0.0/40", "host", "10.0.0.1/x"} {
		if _, err := ParseCIDRs(bad); err == nil {
			t.Errorf("ParseCIDRs(%q) accepted", bad)
		}
	}
}
