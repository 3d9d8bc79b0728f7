package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/hookstack/hookstack/shared/signature"
)

// captured is one request as a receiver saw it.
type captured struct {
	header http.Header
	body   []byte
}

// deliverSigned sends one delivery with secrets to a local receiver and
// returns what it received. The clock is real: the library under test
// checks the timestamp against time.Now.
func deliverSigned(t *testing.T, secrets []string) captured {
	t.Helper()
	var c captured
	srv := server(t, func(w http.ResponseWriter, r *http.Request) {
		c.header = r.Header.Clone()
		c.body, _ = io.ReadAll(r.Body)
	})
	ep := httpEndpoint(srv.URL, secrets...)
	res := testDeliverer(t).Attempt(context.Background(), delivery(event(t, "payment.succeeded", samplePayment), ep, 1), ep)
	if res.Outcome != Delivered {
		t.Fatalf("result %+v", res)
	}
	return c
}

// TestSignatureVerifiedByStandardWebhooksLibrary: the reference Go library
// of the Standard Webhooks project (test-only dependency) verifies our
// requests, with each of the active secrets during a rotation.
func TestSignatureVerifiedByStandardWebhooksLibrary(t *testing.T) {
	newer, older := NewSecret(), NewSecret()
	c := deliverSigned(t, []string{newer, older})
	for name, secret := range map[string]string{"newest secret": newer, "older secret": older} {
		t.Run(name, func(t *testing.T) {
			wh, err := standardwebhooks.NewWebhook(secret)
			if err != nil {
				t.Fatal(err)
			}
			if err := wh.Verify(c.body, c.header); err != nil {
				t.Fatalf("standard-webhooks library rejects our request: %v", err)
			}
		})
	}
	t.Run("a retired secret fails", func(t *testing.T) {
		wh, _ := standardwebhooks.NewWebhook(NewSecret())
		if err := wh.Verify(c.body, c.header); err == nil {
			t.Fatal("verified with a secret that did not sign")
		}
	})
	t.Run("a changed body fails", func(t *testing.T) {
		wh, _ := standardwebhooks.NewWebhook(newer)
		if err := wh.Verify(append(c.body[:len(c.body):len(c.body)], ' '), c.header); err == nil {
			t.Fatal("verified a modified body")
		}
	})
}

// TestSignatureVerifiedBySpecReimplementation checks the same request with
// the scheme written out from the specification (and with shared/signature's
// verifier): HMAC-SHA256 over "{id}.{timestamp}.{body}" keyed with the
// base64-decoded secret, "v1,<base64>" entries separated by spaces.
func TestSignatureVerifiedBySpecReimplementation(t *testing.T) {
	newer, older := NewSecret(), NewSecret()
	c := deliverSigned(t, []string{newer, older})
	id, ts := c.header.Get("webhook-id"), c.header.Get("webhook-timestamp")
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.Unix(n, 0)).Abs() > time.Minute {
		t.Fatalf("webhook-timestamp %q is not the current unix time", ts)
	}
	entries := strings.Split(c.header.Get("webhook-signature"), " ")
	if len(entries) != 2 {
		t.Fatalf("signature entries %q", entries)
	}
	for i, secret := range []string{newer, older} {
		key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
		m := hmac.New(sha256.New, key)
		m.Write([]byte(id + "." + ts + "."))
		m.Write(c.body)
		if want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil)); entries[i] != want {
			t.Errorf("entry %d = %q, want %q (newest secret first)", i, entries[i], want)
		}
	}
	v, _, _ := signature.For("standard", signature.Options{})
	for _, secrets := range [][]string{{newer}, {older}, {NewSecret(), older}} {
		if err := v.Verify(&signature.Request{Method: "POST", Header: c.header, Body: c.body}, secrets, time.Now()); err != nil {
			t.Errorf("shared/signature rejects: %v", err)
		}
	}
}

func TestSignHeaders(t *testing.T) {
	s := NewSecret()
	h, err := SignHeaders("msg_1", fixedNow, []byte(`{}`), []string{"bogus", s})
	if err != nil || len(strings.Fields(h.Get(HeaderWebhookSignature))) != 1 || h.Get(HeaderWebhookID) != "msg_1" {
		t.Errorf("SignHeaders = %v, %v: want the bogus secret skipped", h, err)
	}
	if _, err := SignHeaders("msg_1", fixedNow, nil, []string{"bogus"}); err != ErrNoSigningSecret {
		t.Errorf("no valid secret: %v", err)
	}
}
