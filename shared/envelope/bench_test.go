package envelope

import (
	"net/http"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

func stripeSample(tb testing.TB) (http.Header, []byte) {
	tb.Helper()
	h, body := loadSample(tb, filepath.Join("testdata", "stripe", "payment_intent.succeeded.json"))
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
	h.Set("Stripe-Signature", "t=1724851200,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd")
	return h, body
}

// BenchmarkExtractStripe2KB measures the ingest hot path: id, type and time
// out of a ~2 KB Stripe event.
func BenchmarkExtractStripe2KB(b *testing.B) {
	h, body := stripeSample(b)
	at := time.Now()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		evs, err := Extract(ProviderStripe, h, body, at)
		if err != nil || len(evs) != 1 {
			b.Fatal(err)
		}
	}
}

// TestExtractStripeAllocs guards the hot path against an accidental full
// unmarshal or body copy: a handful of small allocations, none body-sized.
func TestExtractStripeAllocs(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("coverage instrumentation allocates")
	}
	h, body := stripeSample(t)
	at := time.Now()
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := Extract(ProviderStripe, h, body, at); err != nil {
			t.Fatal(err)
		}
	})
	const max = 8
	if allocs > max {
		t.Errorf("Extract(stripe) = %v allocs per call, want <= %d", allocs, max)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const n = 100
	for range n {
		_, _ = Extract(ProviderStripe, h, body, at)
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / n; per >= uint64(len(body)) {
		t.Errorf("Extract(stripe) allocates %d bytes per call for a %d-byte body: copies the body", per, len(body))
	}
}

// BenchmarkScanJSONStripe2KB: the one validating pass over a ~2 KB Stripe
// event that also picks its id, type and created.
func BenchmarkScanJSONStripe2KB(b *testing.B) {
	_, body := stripeSample(b)
	keys := []string{"id", "type", "created"}
	out := make([][]byte, len(keys))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		clear(out)
		if emb, ok := scanJSON(body, keys, out); !ok || !emb || out[2] == nil {
			b.Fatal("scan failed")
		}
	}
}
