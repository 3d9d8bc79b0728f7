package ingest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"fmt"
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
func BenchmarkIngestStripe2KB(b *testing.B) { benchIngestHandler(b, benchBody(b)) }

// BenchmarkIngestStripe256KB: the whole handler on the 256 KiB event: the
// body goes to the claim-check store (in memory here: the S3 upload is I/O,
// not in this figure) and the queue gets the small envelope.
func BenchmarkIngestStripe256KB(b *testing.B) { benchIngestHandler(b, lineItemsStripeBody(b, 256<<10)) }

func benchIngestHandler(b *testing.B, body []byte) {
	now := time.Now()
	h, err := New(Config{Providers: []string{"stripe"}}, Deps{
		Queue: discardQueue{}, Secrets: secrets.Static{"stripe": {benchSecret}}, Blobs: &benchBlobs{},
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
func BenchmarkIngestCoreStripe2KB(b *testing.B) { benchIngestCore(b, benchBody(b)) }

// BenchmarkIngestCoreStripe256KB: the same on a 256 KiB event (an invoice
// with many line items): above the claim-check threshold, so the envelope
// is encoded without the body, as the handler does (the S3 upload is I/O,
// not in this figure).
func BenchmarkIngestCoreStripe256KB(b *testing.B) {
	benchIngestCore(b, lineItemsStripeBody(b, 256<<10))
}

func benchIngestCore(b *testing.B, body []byte) {
	now := time.Now()
	sr := &signature.Request{Method: "POST", Header: http.Header{"Content-Type": {"application/json"}}, Body: body}
	v, signer, _ := signature.For("stripe", signature.Options{})
	if err := signer.Sign(sr, benchSecret, now); err != nil {
		b.Fatal(err)
	}
	secretList := []string{benchSecret}
	var buf []byte // reused, as the handler's pool does
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
			Type: evs[0].Type, OccurredAt: evs[0].OccurredAt, ReceivedAt: now, Queue: envelope.QueuePayments}
		if len(body) <= DefaultClaimThreshold {
			e.Body, e.BodyJSON = evs[0].Body, evs[0].JSON
		} else {
			e.BodyRef = "s3://bucket/bodies/stripe/01JBENCH"
		}
		if buf = envelope.AppendEncode(buf[:0], e); len(buf) == 0 {
			b.Fatal("empty envelope")
		}
	}
}

// lineItemsStripeBody is the 2 KB sample grown to exactly size bytes by
// invoice-style line items inside data.object (what makes real Stripe
// events large), so every parser has to walk them.
func lineItemsStripeBody(b *testing.B, size int) []byte {
	b.Helper()
	body := benchBody(b)
	at := bytes.Index(body, []byte(`"object": {`))
	if at < 0 {
		b.Fatal("sample has no data.object")
	}
	at += len(`"object": {`)
	var items bytes.Buffer
	items.WriteString("\n      \"lines\": {\"object\": \"list\", \"data\": [")
	const item = `{"id": "il_1PqLk2Hk9TqWx1aB%06d", "object": "line_item", "amount": %d, "currency": "usd", ` +
		`"description": "1 × Hookstack Pro seat (at $49.99 / month)", "discountable": true, "livemode": false, ` +
		`"metadata": {"seat": "%d", "team": "platform"}, "period": {"end": 1727354412, "start": 1724762412}, ` +
		`"price": {"id": "price_1PqLk2Hk9TqWx1aB", "unit_amount": 4999, "recurring": {"interval": "month"}}, ` +
		`"proration": false, "quantity": 1, "type": "subscription"}`
	tail := "], \"has_more\": false, \"x_pad\": \"\"},"
	for n := 0; ; n++ {
		next := fmt.Sprintf(item, n, 4999+n, n)
		if n > 0 {
			next = ", " + next
		}
		if len(body)+items.Len()+len(next)+len(tail) > size {
			break
		}
		items.WriteString(next)
	}
	pad := size - len(body) - items.Len() - len(tail)
	out := make([]byte, 0, size)
	out = append(out, body[:at]...)
	out = append(out, items.Bytes()...)
	out = append(out, tail[:len(tail)-3]...)
	out = append(out, bytes.Repeat([]byte("p"), pad)...)
	out = append(out, tail[len(tail)-3:]...)
	out = append(out, body[at:]...)
	if len(out) != size || !json.Valid(out) {
		b.Fatalf("line-item body: %d bytes, valid JSON %v", len(out), json.Valid(out))
	}
	return out
}

// BenchmarkHMACSHA256Bare2KB: the floor — one HMAC-SHA256 of the signed
// bytes and a constant-time compare.
func BenchmarkHMACSHA256Bare2KB(b *testing.B) { benchHMACBare(b, benchBody(b)) }

// BenchmarkHMACSHA256Bare256KB: the floor for the 256 KiB event.
func BenchmarkHMACSHA256Bare256KB(b *testing.B) { benchHMACBare(b, lineItemsStripeBody(b, 256<<10)) }

func benchHMACBare(b *testing.B, body []byte) {
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
func BenchmarkStripeConstructEvent2KB(b *testing.B) { benchConstructEvent(b, benchBody(b)) }

// BenchmarkStripeConstructEvent256KB: the same on the 256 KiB event.
func BenchmarkStripeConstructEvent256KB(b *testing.B) {
	benchConstructEvent(b, lineItemsStripeBody(b, 256<<10))
}

func benchConstructEvent(b *testing.B, body []byte) {
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
