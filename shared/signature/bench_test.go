package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"strconv"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82/webhook"
)

// Benchmarks on the same ~2 KB Stripe event (testdata), signed at the same
// instant: our Stripe verifier, a bare HMAC-SHA256 verification of the same
// signed bytes (the floor), and stripe-go's ConstructEventWithOptions (which
// also unmarshals the event).

const benchSecret = "whsec_bench_4eC39HqLyjWDarjtT1zdp7dc"

func benchStripe(b *testing.B) (body []byte, header string, now time.Time) {
	body = stripeEvent(b)
	now = time.Unix(1724762412, 0)
	p := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: benchSecret, Timestamp: now})
	return body, p.Header, now
}

func BenchmarkVerifyStripe2KB(b *testing.B) {
	body, header, now := benchStripe(b)
	s := mustScheme(b, "stripe")
	r := &Request{Method: "POST", Body: body, Header: hdr("Stripe-Signature", header, "Content-Type", "application/json")}
	secrets := []string{benchSecret}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Verify(r, secrets, now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHMACSHA256Bare2KB(b *testing.B) {
	body, header, now := benchStripe(b)
	signed := append([]byte(strconv.FormatInt(now.Unix(), 10)+"."), body...)
	key := []byte(benchSecret)
	want := webhook.ComputeSignature(now, body, benchSecret)
	_ = header
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		m := hmac.New(sha256.New, key)
		m.Write(signed)
		if !hmac.Equal(m.Sum(nil), want) {
			b.Fatal("mismatch")
		}
	}
}

func BenchmarkStripeConstructEvent2KB(b *testing.B) {
	body, header, _ := benchStripe(b)
	// stripe-go checks tolerance against the real clock; re-sign now.
	header = webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: benchSecret}).Header
	opts := webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := webhook.ConstructEventWithOptions(body, header, benchSecret, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyStripe2KBRotation: the matching secret is the second one.
func BenchmarkVerifyStripe2KBRotation(b *testing.B) {
	body, header, now := benchStripe(b)
	s := mustScheme(b, "stripe")
	r := &Request{Method: "POST", Body: body, Header: hdr("Stripe-Signature", header)}
	secrets := []string{"whsec_newer_not_yet_used", benchSecret}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Verify(r, secrets, now); err != nil {
			b.Fatal(err)
		}
	}
}
