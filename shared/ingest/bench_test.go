package ingest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/secrets"
	"github.com/hookstack/hookstack/shared/signature"
)

// The ingest benchmarks all work on the same realistic 2 KB Stripe event, so
// one `go test -bench` run gives comparable figures (BENCHMARKS.md).

const benchSecret = "whsec_bench_0123456789abcdef"

func benchBody(b *testing.B) []byte {
	b.Helper()
	body, err := os.ReadFile("../signature/testdata/stripe_payment_intent_succeeded.json")
	if err != nil {
		b.Fatal(err)
	}
	return body
}

type discardQueue struct{}

func (discardQueue) Send(context.Context, string, queue.Outgoing) (string, error) { return "m", nil }

// BenchmarkIngestStripe2KB: the whole handler — verify, extract, envelope,
// encode, the queue call (a no-op sender), the log line with its EMF fields.
func BenchmarkIngestStripe2KB(b *testing.B) {
	body := benchBody(b)
	now := time.Now()
	h, err := New(Config{}, Deps{
		Queue: discardQueue{}, Secrets: secrets.Static{"stripe": {benchSecret}},
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Now: func() time.Time { return now },
	})
	if err != nil {
		b.Fatal(err)
	}
	sr := &signature.Request{Method: "POST", Header: http.Header{"Content-Type": {"application/json"}}, Body: body}
	_, signer, _ := signature.For("stripe", signature.Options{})
	if err := signer.Sign(sr, benchSecret, now); err != nil {
		b.Fatal(err)
	}
	req := Request{Method: "POST", Provider: "stripe", Header: sr.Header, Body: body}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if resp := h.Handle(context.Background(), req); resp.Status != 200 {
			b.Fatalf("status %d", resp.Status)
		}
	}
}

// BenchmarkIngestCoreStripe2KB: verify + extract + envelope bytes, without
// the handler's logging and response.
func BenchmarkIngestCoreStripe2KB(b *testing.B) {
	body := benchBody(b)
	now := time.Now()
	sr := &signature.Request{Method: "POST", Header: http.Header{"Content-Type": {"application/json"}}, Body: body}
	v, signer, _ := signature.For("stripe", signature.Options{})
	if err := signer.Sign(sr, benchSecret, now); err != nil {
		b.Fatal(err)
	}
	secretList := []string{benchSecret}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := v.Verify(sr, secretList, now); err != nil {
			b.Fatal(err)
		}
		evs, err := envelope.Extract("stripe", sr.Header, body, now)
		if err != nil {
			b.Fatal(err)
		}
		e := envelope.Envelope{V: envelope.Version, ID: "01JBENCH", Provider: "stripe", EventID: evs[0].ID,
			Type: evs[0].Type, OccurredAt: evs[0].OccurredAt, ReceivedAt: now, Queue: envelope.QueuePayments, Body: evs[0].Body,
			BodyJSON: evs[0].JSON}
		if _, err := envelope.Encode(e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHMACSHA256Bare2KB: the floor — one HMAC-SHA256 of the signed
// bytes and a constant-time compare.
func BenchmarkHMACSHA256Bare2KB(b *testing.B) {
	body := benchBody(b)
	now := time.Now()
	signed := append([]byte(strconv.FormatInt(now.Unix(), 10)+"."), body...)
	want := webhook.ComputeSignature(now, body, benchSecret)
	key := []byte(benchSecret)
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

// BenchmarkStripeConstructEvent2KB: stripe-go's own verification and parse.
func BenchmarkStripeConstructEvent2KB(b *testing.B) {
	body := benchBody(b)
	header := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: benchSecret}).Header
	opts := webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := webhook.ConstructEventWithOptions(body, header, benchSecret, opts); err != nil {
			b.Fatal(err)
		}
	}
}
