package load

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/hookstack/hookstack/events"
	"github.com/hookstack/hookstack/shared/sample"
)

// TestLoad runs the load scenario: HOOKSTACK_LOAD_N webhooks (default 500,
// the version `make test` runs) at HOOKSTACK_LOAD_CONCURRENCY (default 64)
// through the dev server with HOOKSTACK_LOAD_FAULTS (default DefaultFaults;
// "-" for none), then checks the invariants. HOOKSTACK_LOAD_REPORT names a
// file to write the Markdown report to (`make load`).
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load run skipped in -short mode")
	}
	cfg := Config{DataDir: t.TempDir(), Logf: t.Logf, Faults: os.Getenv("HOOKSTACK_LOAD_FAULTS")}
	for _, v := range []struct {
		env string
		dst *int
	}{{"HOOKSTACK_LOAD_N", &cfg.N}, {"HOOKSTACK_LOAD_CONCURRENCY", &cfg.Concurrency}} {
		if s := os.Getenv(v.env); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n <= 0 || n > 1_000_000 {
				t.Fatalf("%s=%q: want a positive number", v.env, s)
			}
			*v.dst = n
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 18*time.Minute)
	defer cancel()
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cmd := "go test ./shared/load -run TestLoad -count=1"
	if cfg.N != 0 {
		cmd = "HOOKSTACK_LOAD_N=" + strconv.Itoa(rep.Config.N) + " " + cmd
	}
	md := rep.Markdown(cmd)
	t.Log("\n" + md)
	if path := os.Getenv("HOOKSTACK_LOAD_REPORT"); path != "" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(md), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if rep.Dev.Accepted != rep.Config.N {
		t.Errorf("accepted %d of %d", rep.Dev.Accepted, rep.Config.N)
	}
	// Under load, successes sent after their refund were announced late.
	if rep.RefundFirst > 0 && rep.Late == 0 {
		t.Errorf("%d payments got their refund before their success, and no late announcement was delivered", rep.RefundFirst)
	}
	for _, v := range rep.Violations {
		t.Error(v)
	}
}

func TestPlanMix(t *testing.T) {
	p, err := NewPlanner(events.FS, 1)
	if err != nil {
		t.Fatal(err)
	}
	hooks, err := p.Plan(200)
	if err != nil {
		t.Fatal(err)
	}
	if len(hooks) != 200 {
		t.Fatalf("planned %d", len(hooks))
	}
	count := map[string]int{}
	bodies := map[string]bool{}
	for i, h := range hooks {
		if h.Seq != i {
			t.Fatalf("hook %d has seq %d", i, h.Seq)
		}
		count[h.Family]++
		key := h.Sample.Provider + string(h.Sample.Body) + h.Sample.Header.Get("X-Shopify-Event-Id") + h.Sample.Header.Get("X-Github-Delivery") + h.Sample.Header.Get("Webhook-Id")
		if bodies[key] {
			t.Fatalf("hook %d (%s) is not a distinct event", i, h.Sample.Path)
		}
		bodies[key] = true
	}
	want := map[string]int{FamilyPayments: 80, FamilyInventory: 50, FamilyLeads: 40, FamilyRelay: 30}
	for f, n := range want {
		if count[f] != n {
			t.Errorf("%s: %d of 200, want %d", f, count[f], n)
		}
	}
	// Payment pairs share their intent; records differ between intents.
	if !strings.Contains(string(hooks[0].Sample.Body), "pi_load00000000000000000") || !strings.Contains(string(hooks[1].Sample.Body), "pi_load00000000000000000") ||
		hooks[0].Sample.Type != "payment_intent.processing" || hooks[1].Sample.Type != "payment_intent.succeeded" {
		t.Fatalf("first payment pair: %s %s", hooks[0].Sample.Type, hooks[1].Sample.Type)
	}
	paths := map[string]bool{}
	for _, h := range hooks {
		for _, e := range h.Expected {
			if paths[e.Path] {
				t.Fatalf("two webhooks expect record %s", e.Path)
			}
			paths[e.Path] = true
		}
	}
	if len(paths) < 50 {
		t.Fatalf("only %d record expectations", len(paths))
	}
}

// TestPlanRefundFirst: one intent in four has its full refund sent first
// and its success, a minute older in event time, some RefundFirstDelay
// payment webhooks later; the plan keeps the mix and every webhook.
func TestPlanRefundFirst(t *testing.T) {
	p, err := NewPlanner(events.FS, 1)
	if err != nil {
		t.Fatal(err)
	}
	hooks, err := p.Plan(500)
	if err != nil {
		t.Fatal(err)
	}
	type seen struct {
		refund, success  int // position among the payment webhooks (-1: none)
		refundAt, succAt int64
	}
	intents := map[string]*seen{}
	var order []string
	n := 0
	for _, h := range hooks {
		if h.Family != FamilyPayments {
			continue
		}
		pi := gjson.GetBytes(h.Sample.Body, "data.object.id").String()
		if h.Sample.Type == "charge.refunded" {
			pi = gjson.GetBytes(h.Sample.Body, "data.object.payment_intent").String()
		}
		s := intents[pi]
		if s == nil {
			s = &seen{refund: -1, success: -1}
			intents[pi] = s
			order = append(order, pi)
		}
		switch h.Sample.Type {
		case "charge.refunded":
			s.refund, s.refundAt = n, gjson.GetBytes(h.Sample.Body, "created").Int()
		case "payment_intent.succeeded":
			s.success, s.succAt = n, gjson.GetBytes(h.Sample.Body, "created").Int()
		}
		n++
	}
	if n != 200 {
		t.Fatalf("%d payment webhooks of 500, want 200", n)
	}
	first := 0
	for _, pi := range order {
		s := intents[pi]
		if s.success < 0 {
			t.Fatalf("%s: no success planned", pi)
		}
		if s.refund < 0 {
			continue
		}
		first++
		// Held back RefundFirstDelay places (other held webhooks move past
		// it or land before it), or to the end of the plan.
		if gap := s.success - s.refund; gap < RefundFirstDelay/2 && s.success < n-RefundFirstDelay {
			t.Errorf("%s: refund sent at %d, success at %d: want the success some %d payment webhooks later", pi, s.refund, s.success, RefundFirstDelay)
		}
		if s.refundAt-s.succAt != 60 {
			t.Errorf("%s: refund created %d, success %d: want the success a minute older", pi, s.refundAt, s.succAt)
		}
	}
	if first < len(order)/5 {
		t.Fatalf("%d of %d intents refund first, want one in four", first, len(order))
	}
}

func TestEditRequiresTheValue(t *testing.T) {
	s := sample.Sample{Path: "x/y.json", Body: []byte(`{"a":"b"}`)}
	if _, err := edit(s, "zzz", "q"); !errors.Is(err, ErrSampleChanged) {
		t.Fatalf("edit of a missing value: %v", err)
	}
	got, err := edit(s, `"b"`, `"c"`)
	if err != nil || string(got.Body) != `{"a":"c"}` {
		t.Fatalf("edit = %s, %v", got.Body, err)
	}
}

func TestPercentile(t *testing.T) {
	ds := []time.Duration{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	tests := []struct {
		q    float64
		want time.Duration
	}{{0.5, 5}, {0.99, 10}, {1, 10}, {0, 1}, {0.1, 1}, {0.11, 2}}
	for _, tt := range tests {
		t.Run(strconv.FormatFloat(tt.q, 'g', -1, 64), func(t *testing.T) {
			if got := Percentile(ds, tt.q); got != tt.want {
				t.Fatalf("Percentile(%v) = %d, want %d", tt.q, got, tt.want)
			}
		})
	}
	if Percentile(nil, 0.5) != 0 {
		t.Fatal("empty")
	}
}

func TestEscapePath(t *testing.T) {
	if got := escapePath("/api/inventory/sku:A B"); got != "/api/inventory/sku:A%20B" {
		t.Fatalf("got %q", got)
	}
}
