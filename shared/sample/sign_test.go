package sample

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/signature"
)

// TestSignVerifiesEverySample is the promise `hookstack trigger` relies on:
// each refreshed sample, signed with a provider-shaped secret, passes that
// provider's verifier at the same instant; a different secret does not.
func TestSignVerifiesEverySample(t *testing.T) {
	for _, s := range loadAll(t) {
		t.Run(s.Path, func(t *testing.T) {
			fresh, err := Refresh(s, testNow, seeded(9))
			if err != nil {
				t.Fatal(err)
			}
			secret, err := signature.GenerateSecret(s.Provider)
			if err != nil {
				t.Fatal(err)
			}
			other, err := signature.GenerateSecret(s.Provider)
			if err != nil {
				t.Fatal(err)
			}
			url := "http://127.0.0.1:8080/webhooks/" + s.Provider
			req, err := Sign(fresh, url, secret, testNow)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(fresh.Body, mustRefresh(t, s).Body) {
				t.Fatal("Sign modified the sample's body")
			}
			verifier, _, _ := signature.For(s.Provider, signature.Options{})
			if err := verifier.Verify(req, []string{secret}, testNow); err != nil {
				t.Fatalf("own signature rejected: %v", err)
			}
			if err := verifier.Verify(req, []string{other, secret}, testNow); err != nil {
				t.Fatalf("rejected during a rotation (secret second): %v", err)
			}
			if err := verifier.Verify(req, []string{other}, testNow); !errors.Is(err, signature.ErrInvalid) {
				t.Fatalf("verified with a different secret: %v", err)
			}
			if req.URL != url {
				t.Fatalf("URL changed to %s (only Twilio JSON bodies add a parameter)", req.URL)
			}
			// The signed request still carries the sample's event.
			typ, err := DetectType(s.Provider, req.Header, req.Body)
			if err != nil || typ != s.Type {
				t.Fatalf("type of the signed request = %q, %v; want %q", typ, err, s.Type)
			}
		})
	}
}

func mustRefresh(t *testing.T, s Sample) Sample {
	t.Helper()
	r, err := Refresh(s, testNow, seeded(9))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Providers whose signature covers the URL: the URL signed must be the URL
// the server sees.
func TestSignURLBound(t *testing.T) {
	for _, tt := range []struct{ provider, trigger string }{
		{"trello", "updateCard"}, {"hubspot", "contact.creation"}, {"twilio", "message.status"},
	} {
		t.Run(tt.provider, func(t *testing.T) {
			s := find(t, tt.provider, tt.trigger)
			req, err := Sign(s, "http://127.0.0.1:8080/webhooks/"+tt.provider, "secret-123", testNow)
			if err != nil {
				t.Fatal(err)
			}
			verifier, _, _ := signature.For(tt.provider, signature.Options{})
			req.URL = "http://127.0.0.1:9090/webhooks/" + tt.provider
			if err := verifier.Verify(req, []string{"secret-123"}, testNow); !errors.Is(err, signature.ErrInvalid) {
				t.Fatalf("verified against another URL: %v", err)
			}
		})
	}
}

func TestSignTwilioJSON(t *testing.T) {
	s := Sample{Provider: "twilio", Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"MessageSid":"SM1"}`)}
	req, err := Sign(s, "http://127.0.0.1:8080/webhooks/twilio", "token", testNow)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(req.URL, "http://127.0.0.1:8080/webhooks/twilio?bodySHA256=") {
		t.Fatalf("URL to post to = %s, want the bodySHA256 parameter added", req.URL)
	}
	verifier, _, _ := signature.For("twilio", signature.Options{})
	if err := verifier.Verify(req, []string{"token"}, testNow); err != nil {
		t.Fatal(err)
	}
}

func TestSignBodyEditingProviders(t *testing.T) {
	t.Run("livechat writes the secret_key", func(t *testing.T) {
		s := find(t, "livechat", "incoming_chat")
		req, err := Sign(s, "http://x/webhooks/livechat", "lc-secret", testNow)
		if err != nil {
			t.Fatal(err)
		}
		if gjson.GetBytes(req.Body, "secret_key").String() != "lc-secret" || gjson.GetBytes(s.Body, "secret_key").String() != "REPLACE_ME" {
			t.Fatalf("secret_key not written into the request body (or written into the sample)")
		}
		// The event id does not depend on the secret.
		a, _ := envelope.Extract("livechat", req.Header, req.Body, testNow)
		other, _ := Sign(s, "http://x/webhooks/livechat", "another", testNow)
		b, _ := envelope.Extract("livechat", other.Header, other.Body, testNow)
		if len(a) != 1 || len(b) != 1 || a[0].ID != b[0].ID {
			t.Fatalf("event id depends on the secret: %v vs %v", a, b)
		}
	})
	t.Run("salesforce writes the OrganizationId", func(t *testing.T) {
		s := find(t, "salesforce", "lead")
		org, err := signature.GenerateSecret("salesforce")
		if err != nil {
			t.Fatal(err)
		}
		req, err := Sign(s, "http://x/webhooks/salesforce", org, testNow)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(req.Body, []byte("<OrganizationId>"+org+"</OrganizationId>")) {
			t.Fatal("OrganizationId not written")
		}
	})
}

func TestSignErrors(t *testing.T) {
	if _, err := Sign(Sample{Provider: "paypal"}, "http://x", "s", testNow); !errors.Is(err, ErrUnknownProvider) {
		t.Fatalf("unknown provider: %v", err)
	}
	s := find(t, "github", "push")
	if _, err := Sign(s, "http://x", "", time.Now()); !errors.Is(err, signature.ErrNoSecret) {
		t.Fatalf("empty secret: %v", err)
	}
	if _, err := Sign(find(t, "standard", "lead.created"), "http://x", "not-base64!", time.Now()); err == nil {
		t.Fatal("standard accepted a secret that is not whsec_<base64>")
	}
}
