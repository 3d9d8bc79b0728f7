package notify

import (
	"encoding/base64"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
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
