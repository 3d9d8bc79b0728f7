package cost

import (
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookstack/hookstack/shared/process"
)

var update = flag.Bool("update", false, "rewrite testdata/report.md from the model")

// TestReport prints the cost table (BENCHMARKS.md, "Cost model") and checks
// it is sane and matches the committed copy.
func TestReport(t *testing.T) {
	in := Typical()
	got, err := Report(in)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + got)

	r, err := Compute(in)
	if err != nil {
		t.Fatal(err)
	}
	total := Sum(r.Variable)
	t.Run("total is sane", func(t *testing.T) {
		// API Gateway alone is $1.00 per million; three queue hops, four
		// functions and ~20 write units per webhook cannot exceed $30.
		if total < 1 || total > 30 {
			t.Errorf("total $%.2f per million, want between $1 and $30", total)
		}
	})
	t.Run("breakdown sums to the total", func(t *testing.T) {
		bySvc := 0.0
		for _, l := range ByService(r.Variable) {
			bySvc += l.USD
		}
		if math.Abs(bySvc-total) > 1e-9 {
			t.Errorf("services sum to %v, lines to %v", bySvc, total)
		}
		for _, l := range append(r.Variable, r.Fixed...) {
			if l.USD < 0 || l.Quantity < 0 || math.IsNaN(l.USD) {
				t.Errorf("%s %s: quantity %v, USD %v", l.Service, l.Item, l.Quantity, l.USD)
			}
		}
	})
	t.Run("all-in falls with volume towards the variable cost", func(t *testing.T) {
		prev := math.Inf(1)
		for _, v := range Volumes {
			a := r.AllIn(v)
			if a >= prev || a < total {
				t.Errorf("all-in at %v/month: $%.4f (previous $%.4f, variable $%.4f)", v, a, prev, total)
			}
			prev = a
		}
	})
	t.Run("matches testdata/report.md", func(t *testing.T) {
		path := filepath.Join("testdata", "report.md")
		if *update {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		}
		if string(want) != got {
			t.Errorf("the report changed: run `go test ./shared/cost -run TestReport -update` and update BENCHMARKS.md")
		}
	})
	t.Run("BENCHMARKS.md carries the report", func(t *testing.T) {
		doc, err := os.ReadFile(filepath.Join("..", "..", "BENCHMARKS.md"))
		if err != nil {
			t.Skipf("no BENCHMARKS.md: %v", err)
		}
		if !strings.Contains(string(doc), got) {
			t.Error("BENCHMARKS.md's \"Cost model\" section does not contain the current report: paste testdata/report.md into it")
		}
	})
}

// TestComputeArithmetic checks the model against hand-computed figures on a
// minimal input.
func TestComputeArithmetic(t *testing.T) {
	in := Inputs{
		Prices: ListPrices,
		Mix: []Class{{Name: "one", Share: 1, ProcessorMS: 100, ConsistentReads: 1, Notifications: 1,
			Writes: []Write{{What: "w", KB: 1.5, GSI: true}}}},
		MemoryMB: 1024, Batch: 10, EndpointsPerEvent: 1,
		EnvelopeKB: 100, NotificationKB: 1, DeliveryKB: 1,
		ReferenceWebhooksMonth: 1e6,
	}
	r, err := Compute(in)
	if err != nil {
		t.Fatal(err)
	}
	get := func(service, prefix string) float64 {
		for _, l := range r.Variable {
			if l.Service == service && strings.HasPrefix(l.Item, prefix) {
				return l.USD
			}
		}
		t.Fatalf("no line %s %s", service, prefix)
		return 0
	}
	cases := []struct {
		name, service, item string
		want                float64
	}{
		{"API Gateway $1 per million", "API Gateway", "HTTP API", 1.00},
		// 1M ingest + 3 × 100k consumer invocations.
		{"Lambda requests", "Lambda", "invocations", 1.3e6 * 0.20 / 1e6},
		// 1M × 0.1 s × 1 GB.
		{"processor duration", "Lambda", "duration, processors", 1e5 * 0.0000133334},
		// a 100 KB envelope is 2 chunks; notification and delivery 1 each.
		{"SQS sends in 64 KB chunks", "SQS", "SendMessage", 4e6 * 0.40 / 1e6},
		{"SQS receives per batch", "SQS", "ReceiveMessage", 3e5 * 0.40 / 1e6},
		// 1.5 KB rounds up to 2 WRU, doubled by the index.
		{"WRU rounding and index", "DynamoDB", "write", 4e6 * 0.625 / 1e6},
		{"RRU", "DynamoDB", "read", 1e6 * 0.125 / 1e6},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := get(c.service, c.item); math.Abs(got-c.want) > 1e-9 {
				t.Errorf("$%.6f, want $%.6f", got, c.want)
			}
		})
	}
}

func TestWrite(t *testing.T) {
	cases := []struct {
		name string
		w    Write
		wru  float64
		kbm  float64
	}{
		{"small item is one unit", Write{KB: 0.3}, 1, 0},
		{"rounds up", Write{KB: 2.7}, 3, 0},
		{"index doubles", Write{KB: 1, GSI: true, RetainMonths: 1}, 2, 2},
		{"retained storage", Write{KB: 3, RetainMonths: 0.5}, 3, 1.5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.w.WRU(); got != c.wru {
				t.Errorf("WRU %v, want %v", got, c.wru)
			}
			if got := c.w.StoredKBMonths(); got != c.kbm {
				t.Errorf("KB-months %v, want %v", got, c.kbm)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		change func(*Inputs)
	}{
		{"shares not summing to one", func(in *Inputs) { in.Mix[0].Share += 0.1 }},
		{"negative share", func(in *Inputs) { in.Mix[0].Share, in.Mix[1].Share = -0.1, in.Mix[1].Share+0.5 }},
		{"batch above 10", func(in *Inputs) { in.Batch = 11 }},
		{"batch below 1", func(in *Inputs) { in.Batch = 0.5 }},
		{"no memory", func(in *Inputs) { in.MemoryMB = 0 }},
		{"no reference volume", func(in *Inputs) { in.ReferenceWebhooksMonth = 0 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := Typical()
			c.change(&in)
			if _, err := Compute(in); err == nil {
				t.Error("accepted")
			}
		})
	}
}

// TestVariantsMoveTheRightWay checks each what-if changes the cost in the
// direction its name says.
func TestVariantsMoveTheRightWay(t *testing.T) {
	base, err := Compute(Typical())
	if err != nil {
		t.Fatal(err)
	}
	baseTotal := Sum(base.Variable)
	want := map[string]int{ // +1 dearer, -1 cheaper, 0 same
		"typical (as above)": 0,
		"DynamoDB at the pre-November-2024 on-demand prices":              +1,
		"Lambda function URL instead of API Gateway (no per-request fee)": -1,
		"quiet queues: one message per batch":                             +1,
		"two endpoints per event":                                         +1,
		"dense gsi1: every item indexed (before dynamostore.ListKinds)":   +1,
		"replay archive off (HOOKSTACK_ARCHIVE_TTL=0)":                    -1,
	}
	for _, v := range Variants {
		t.Run(v.Name, func(t *testing.T) {
			in := Typical()
			v.Apply(&in)
			r, err := Compute(in)
			if err != nil {
				t.Fatal(err)
			}
			d := Sum(r.Variable) - baseTotal
			dir, ok := want[v.Name]
			if !ok {
				dir = -1 // the remaining variants are savings
			}
			switch {
			case dir == 0 && math.Abs(d) > 1e-12, dir > 0 && d <= 0, dir < 0 && d >= 0:
				t.Errorf("changes the total by $%.4f, want direction %d", d, dir)
			}
		})
	}
	// Variants must not alias the typical inputs' slices.
	if again, _ := Compute(Typical()); Sum(again.Variable) != baseTotal {
		t.Error("applying the variants changed Typical()")
	}
	// The report prices each variant on its own, from the typical inputs
	// (not on top of the variants before it).
	report, err := Report(Typical())
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range Variants {
		in := Typical()
		v.Apply(&in)
		r, err := Compute(in)
		if err != nil {
			t.Fatal(err)
		}
		if row := "| " + v.Name + " | " + usd(Sum(r.Variable)) + " |"; !strings.Contains(report, row) {
			t.Errorf("report lacks %q", row)
		}
	}
}

// TestParallelMatchesTheCode: the model's concurrency is the processors'.
func TestParallelMatchesTheCode(t *testing.T) {
	if got := Typical().Processor.Parallel; got != process.Parallelism {
		t.Errorf("Typical().Processor.Parallel = %d, process.Parallelism = %d", got, process.Parallelism)
	}
}

// TestInvocationMS: messages handled at once cost one round each.
func TestInvocationMS(t *testing.T) {
	tests := []struct {
		t    FunctionTime
		n    float64
		want float64
	}{
		{FunctionTime{PerInvocationMS: 2}, 10, 2 + 10*5},
		{FunctionTime{PerInvocationMS: 2, Parallel: 1}, 10, 2 + 10*5},
		{FunctionTime{PerInvocationMS: 2, Parallel: 10}, 10, 2 + 5},
		{FunctionTime{PerInvocationMS: 2, Parallel: 4}, 10, 2 + 3*5},
		{FunctionTime{PerInvocationMS: 2, Parallel: 10}, 1, 2 + 5},
	}
	for _, tc := range tests {
		if got := tc.t.invocationMS(tc.n, 5); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("%+v.invocationMS(%v, 5) = %v, want %v", tc.t, tc.n, got, tc.want)
		}
	}
}
