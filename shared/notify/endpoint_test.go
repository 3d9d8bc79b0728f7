package notify

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hookstack/hookstack/shared/domain"
)

func TestNewSecret(t *testing.T) {
	a, b := NewSecret(), NewSecret()
	if a == b {
		t.Fatal("two secrets are equal")
	}
	for _, s := range []string{a, b} {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
		if !strings.HasPrefix(s, "whsec_") || err != nil || len(key) != 32 || !ValidSecret(s) {
			t.Errorf("secret %q: prefix/base64/len %d/%v", s, len(key), err)
		}
	}
	for _, bad := range []string{"", "whsec_", "whsec_!!", "abc", "whsec_" + base64.StdEncoding.EncodeToString([]byte("short"))} {
		if ValidSecret(bad) {
			t.Errorf("ValidSecret(%q) = true", bad)
		}
	}
}

func TestNewEndpointID(t *testing.T) {
	a := NewEndpointID(fixedNow)
	b := NewEndpointID(fixedNow.Add(time.Millisecond))
	if !strings.HasPrefix(a, "ep_") || len(a) != 29 || a == b || a > b {
		t.Errorf("ids %q %q: want ep_ + 26 chars, time-ordered", a, b)
	}
}

func TestValidateURL(t *testing.T) {
	dev := &Guard{AllowLoopback: true}
	allow := &Guard{Allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	tests := []struct {
		url     string
		guard   *Guard
		wantErr string // substring; "" = valid
	}{
		{"https://hooks.example.com/x?y=1", nil, ""},
		{"http://example.com:8080/hook", nil, ""},
		{"https://93.184.215.14/hook", nil, ""},
		{"https://us21.api.mailchimp.com", nil, ""},
		{"ftp://example.com/x", nil, "scheme"},
		{"file:///etc/passwd", nil, "scheme"},
		{"gopher://example.com", nil, "scheme"},
		{"javascript:alert(1)", nil, "scheme"},
		{"//example.com/x", nil, "scheme"},
		{"example.com/x", nil, "scheme"},
		{"https:///x", nil, "no host"},
		{"https://user:pass@example.com/", nil, "credentials"},
		{"https://example.com:0/", nil, "port"},
		{"https://example.com:99999/", nil, "port"},
		{"", nil, "empty"},
		{"http://127.0.0.1:8080/sink", nil, "loopback"},
		{"http://127.0.0.1:8080/sink", dev, ""},
		{"http://[::1]/sink", nil, "loopback"},
		{"http://localhost:9000/sink", nil, "loopback"},
		{"http://LOCALHOST./sink", nil, "loopback"},
		{"http://app.localhost/sink", nil, "loopback"},
		{"http://localhost:9000/sink", dev, ""},
		{"http://169.254.169.254/latest/meta-data/", nil, "cloud metadata"},
		{"http://169.254.169.254/latest/meta-data/", dev, "cloud metadata"},
		{"http://[fd00:ec2::254]/", dev, "cloud metadata"},
		{"http://[::ffff:169.254.169.254]/", dev, "cloud metadata"},
		{"http://[::ffff:7f00:1]/", nil, "loopback"},
		{"http://10.0.0.5/", nil, "private"},
		{"http://10.0.0.5/", allow, ""},
		{"http://192.168.0.1/", nil, "private"},
		{"http://100.100.100.200/", nil, "carrier-grade NAT"},
		{"http://[fc00::1]/", nil, "unique local"},
		{"http://[fe80::1%25eth0]/", nil, "link-local"},
		{"http://0.0.0.0:8080/", dev, "unspecified"},
		{"http://2130706433/", nil, "non-canonical"},
		{"http://0x7f.1/", nil, "non-canonical"},
		{"http://127.1/", nil, "non-canonical"},
		{"http://0177.0.0.1/", nil, "non-canonical"},
		{"http://1.2.3.example/", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			err := ValidateURL(tt.url, tt.guard)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ValidateURL = %v", err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrInvalidURL) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ValidateURL = %v, want ErrInvalidURL mentioning %q", err, tt.wantErr)
			}
		})
	}
}

func TestEndpointValidate(t *testing.T) {
	base := func(typ string) Endpoint {
		ep := Endpoint{ID: "ep_1", Type: typ, URL: "https://hooks.example.com/x", Events: []string{"payment.*"}, Enabled: true}
		switch typ {
		case TypeHTTP:
			ep.Secrets = []string{NewSecret(), NewSecret()}
		case TypeMailchimp:
			ep.URL = "https://us21.api.mailchimp.com"
			ep.Mailchimp = MailchimpSettings{ListID: "abc123", APIKey: "key-us21"}
		}
		return ep
	}
	tests := []struct {
		name    string
		mutate  func(*Endpoint)
		typ     string
		wantErr bool
	}{
		{"http ok", func(*Endpoint) {}, TypeHTTP, false},
		{"slack ok", func(*Endpoint) {}, TypeSlack, false},
		{"mailchimp ok", func(*Endpoint) {}, TypeMailchimp, false},
		{"unknown type", func(e *Endpoint) { e.Type = "sms" }, TypeHTTP, true},
		{"no id", func(e *Endpoint) { e.ID = "" }, TypeHTTP, true},
		{"no events", func(e *Endpoint) { e.Events = nil }, TypeHTTP, true},
		{"bad pattern", func(e *Endpoint) { e.Events = []string{"pay*"} }, TypeHTTP, true},
		{"http without secret", func(e *Endpoint) { e.Secrets = nil }, TypeHTTP, true},
		{"http with a bad secret", func(e *Endpoint) { e.Secrets = append(e.Secrets, "nope") }, TypeHTTP, true},
		{"mailchimp without list", func(e *Endpoint) { e.Mailchimp.ListID = "" }, TypeMailchimp, true},
		{"mailchimp list with a slash", func(e *Endpoint) { e.Mailchimp.ListID = "a/../b" }, TypeMailchimp, true},
		{"blocked URL", func(e *Endpoint) { e.URL = "http://169.254.169.254/" }, TypeSlack, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep := base(tt.typ)
			tt.mutate(&ep)
			err := ep.Validate(nil)
			if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, ErrInvalidEndpoint)) {
				t.Fatalf("Validate = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}

func TestRedacted(t *testing.T) {
	secret := NewSecret()
	ep := Endpoint{Secrets: []string{secret}, Mailchimp: MailchimpSettings{APIKey: "0123456789abcdef-us21"}}
	r := ep.Redacted()
	if strings.Contains(r.Secrets[0], secret[10:]) || strings.Contains(r.Mailchimp.APIKey, "abcdef") {
		t.Errorf("redacted = %+v", r)
	}
	if ep.Secrets[0] != secret {
		t.Error("Redacted modified the original")
	}
}

// Slack and Mailchimp requests carry a credential (the webhook URL's token,
// the API key as Basic auth): their endpoints need https, except to a
// loopback host (local sinks); http endpoints may use plain http.
func TestEndpointTransport(t *testing.T) {
	dev := &Guard{AllowLoopback: true}
	allow10 := &Guard{Allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	tests := []struct {
		name      string
		typ, url  string
		guard     *Guard
		plaintext bool // want ErrPlaintext
	}{
		{"slack https", TypeSlack, "https://hooks.slack.com/services/T0/B0/x", nil, false},
		{"slack http", TypeSlack, "http://hooks.slack.com/services/T0/B0/x", nil, true},
		{"slack HTTP upper case", TypeSlack, "HTTP://hooks.slack.com/services/T0/B0/x", nil, true},
		{"mailchimp https", TypeMailchimp, "https://us21.api.mailchimp.com", nil, false},
		{"mailchimp http", TypeMailchimp, "http://us21.api.mailchimp.com", nil, true},
		{"mailchimp http to an allowed private address", TypeMailchimp, "http://10.1.2.3:8080", allow10, true},
		{"slack http to a name that looks loopback", TypeSlack, "http://127.0.0.1.nip.io/x", nil, true},
		{"http endpoint may use http", TypeHTTP, "http://hooks.example.com/x", nil, false},
		{"slack http to loopback (local sink)", TypeSlack, "http://127.0.0.1:9/services/T0/B0/x", dev, false},
		{"mailchimp http to localhost", TypeMailchimp, "http://localhost:9", dev, false},
		{"slack http to ::1", TypeSlack, "http://[::1]:9/x", dev, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep := Endpoint{ID: "ep_1", Type: tt.typ, URL: tt.url, Events: []string{"*"}, Enabled: true,
				Secrets: []string{NewSecret()}, Mailchimp: MailchimpSettings{ListID: "abc123", APIKey: "key-us21"}}
			err := ep.Validate(tt.guard)
			if tt.plaintext {
				if !errors.Is(err, ErrPlaintext) || !errors.Is(err, ErrInvalidEndpoint) {
					t.Fatalf("Validate = %v, want ErrPlaintext", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Validate = %v, want nil", err)
			}
		})
	}
}

// roundTripFunc is an http.RoundTripper from a function (no network).
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// An endpoint stored before https was required (http:// to a public host)
// is refused at delivery time: the API key or webhook token is never sent.
func TestAttemptRefusesPlaintextCredentials(t *testing.T) {
	lead := domain.New("lead.created", "lead:a@b.c", "hubspot", "evt_1", fixedNow, map[string]string{"email": "a@b.c"})
	tests := []struct {
		name, typ, url string
		wantSent       bool
	}{
		{"mailchimp http", TypeMailchimp, "http://us21.api.mailchimp.com", false},
		{"slack http", TypeSlack, "http://hooks.slack.com/services/T0/B0/x", false},
		{"mailchimp https", TypeMailchimp, "https://us21.api.mailchimp.com", true},
		{"slack https", TypeSlack, "https://hooks.slack.com/services/T0/B0/x", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sent []*http.Request
			dl := &Deliverer{Client: &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
				sent = append(sent, r)
				return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("ok")), Header: http.Header{}, Request: r}, nil
			})}, Rand: func() float64 { return 0.5 }}
			ep := Endpoint{ID: "ep_1", Type: tt.typ, URL: tt.url, Events: []string{"*"}, Enabled: true,
				Mailchimp: MailchimpSettings{ListID: "abc123", APIKey: "key-us21"}}
			res := dl.Attempt(context.Background(), delivery(lead, ep, 1), ep)
			if got := len(sent) > 0; got != tt.wantSent {
				t.Fatalf("sent %v (result %+v), want %v", got, res, tt.wantSent)
			}
			if !tt.wantSent && (res.Outcome != Permanent || !strings.Contains(res.Error, "https")) {
				t.Errorf("result %+v, want a permanent failure naming https", res)
			}
		})
	}
}
