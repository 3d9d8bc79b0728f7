package benchreport

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.md from the testdata bench output")

// goldenReport is the report of the three testdata files of real
// `go test -bench` output (see testdata/README.md), with a fixed machine.
func goldenReport(t testing.TB) Report {
	t.Helper()
	d := &Data{Config: map[string][]string{}}
	for _, f := range []string{"bench-unit.txt", "bench-coldstart.txt", "bench-emulators.txt"} {
		d.Merge(parseFile(t, f))
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	return Report{
		Machine: Machine{
			Date:      time.Date(2026, 11, 29, 20, 15, 0, 0, time.UTC),
			GoVersion: "go1.26.8",
			GOOS:      d.Header("goos"),
			GOARCH:    d.Header("goarch"),
			CPU:       d.Header("cpu"),
			NumCPU:    2,
			MemTotal:  "23.5 GiB",
			Commands:  []string{"make bench BENCH_COUNT=2", "go test -run '^$' -bench . -benchmem -count 2 ./shared/..."},
			Inputs:    []string{"testdata/bench-unit.txt", "testdata/bench-coldstart.txt", "testdata/bench-emulators.txt"},
		},
		Set:      Group(d),
		Sections: DefaultSections(),
		Module:   "github.com/hookstack/hookstack",
		Load: &Attachment{
			Path: ".cache/load-report.md", Text: read("load-report.md"),
			ModTime: time.Date(2026, 11, 29, 19, 8, 43, 0, time.UTC),
		},
		Cost: &Attachment{Path: "shared/cost/testdata/report.md", Text: read("cost-report.md")},
	}
}

func TestGolden(t *testing.T) {
	var got bytes.Buffer
	if err := Render(&got, goldenReport(t)); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "golden.md")
	if *update {
		if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./shared/benchreport -run TestGolden -update)", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("report differs from %s (-update rewrites it):\n%s", golden, firstDiff(got.String(), string(want)))
	}
	// The same inputs give the same bytes.
	var again bytes.Buffer
	if err := Render(&again, goldenReport(t)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), again.Bytes()) {
		t.Error("two renders of the same report differ")
	}
}

// TestGoldenFigures checks figures of the golden report against values
// computed by hand from testdata/bench-unit.txt, so the golden file is not
// merely whatever the renderer printed once.
func TestGoldenFigures(t *testing.T) {
	var b bytes.Buffer
	if err := Render(&b, goldenReport(t)); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		// HMACSHA256Bare2KB in shared/ingest: 2300, 2027 ns → 2163.5; ConstructEvent 67298, 62265 → 64781.5.
		"| `HMACSHA256Bare2KB` | one HMAC-SHA256 of `{t}.{body}` + constant-time compare (the floor) | 2.16 µs | 2 | 512 | 6 | 1.00× | 29.9× |",
		// IngestCoreStripe2KB: 11038, 10983 → 11010.5; / 2163.5 = 5.09; 64781.5 / 11010.5 = 5.88.
		"| `IngestCoreStripe2KB` | verify + extract id/type/time + envelope bytes (the ingest core) | 11.0 µs | 2 | 3,697 | 12 | 5.09× | 5.88× |",
		"`IngestCoreStripe2KB` ≤ 3× `HMACSHA256Bare2KB` — measured 5.09×: **not met**.",
		"`IngestCoreStripe2KB` ≥ 3× faster than `StripeConstructEvent2KB` — measured 5.88× faster: **met**.",
		// IngestStripe2KB: 27357, 21142 → 24249.5; 64781.5 / 24249.5 = 2.67.
		"`IngestStripe2KB` ≥ 3× faster than `StripeConstructEvent2KB` — measured 2.67× faster: **not met**.",
		// ColdStart, the paired ratios: ingest init-ms 6.058, 5.462 → 5.76; first-ms 9.270, 8.825 → 9.05;
		// warm 1207, 1169 → 1,188; init-x-hello 1.486, 1.339 → 1.41× (the quotient of the medians,
		// 5.76 / hello's 3.515, would be 1.64×); init-x-floor 0.9720, 0.9666 → 0.969×;
		// first-x-hello 1.764, 1.541 → 1.65×.
		"| `ColdStart/ingest` | 5.76 | 2 | 9.36 | 9.05 | 1,188 | 1.41× | 0.969× | 1.65× |",
		// A floor pairs with hello only: init-x-hello 1.475, 1.428 → 1.45×; first-x-hello 1.371, 1.314 → 1.34×.
		"| `ColdStart/sdkfloor-ingest` | 5.77 | 2 | 8.87 | 7.20 | 953 | 1.45× | — | 1.34× |",
		"in INIT, paired per iteration — **not met** (met by 0 of 7)",
		// fanout init-x-hello 1.455, 1.555 → 1.50× (the quotient: 6.4675 / 3.515 = 1.84×);
		// init-x-floor 1.010, 1.008 → 1.01×; first-x-hello 1.375, 1.478 → 1.43×.
		"`ColdStart/fanout` 1.50× not met",
		"| `ColdStart/fanout` | 6.47 | 2 | 8.55 | 7.93 | 974 | 1.50× | 1.01× | 1.43× |",
		// The stub's share out of both: (115507 − 41460) / (79936 − 41460) = 1.92.
		"= **1.92×**.",
		"From `.cache/load-report.md`, written by `make load` at 2026-11-29 19:08 UTC (file time)",
		"### Load: 10000 signed webhooks", // its heading nested one level down
		"From `go test ./shared/cost -run TestReport`",
		"| API Gateway | HTTP API requests | 1,000,000 requests | $1.00 |", // verbatim
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// Every benchmark of the testdata has a section: nothing in "Other".
	if strings.Contains(out, "## Other benchmarks") {
		t.Error("a known benchmark fell into Other benchmarks")
	}
	for _, bad := range []string{"Not paired", "| init-x-hello |", "| init-x-floor |", "| first-x-hello |"} {
		if strings.Contains(out, bad) {
			t.Errorf("report contains %q: every row of the testdata is paired, and paired units are no columns", bad)
		}
	}
}

// TestRenderColdStartPaired checks the paired ratio columns: a row's own
// per-iteration ratio where it reported one, the quotient of the medians
// where it did not, and the notes and aim line that say which.
func TestRenderColdStartPaired(t *testing.T) {
	const pkg = "pkg: github.com/hookstack/hookstack/shared/e2e\n"
	render := func(t *testing.T, set *Set) string {
		t.Helper()
		var b bytes.Buffer
		if err := Render(&b, Report{Set: set, Sections: []Section{coldStart()}}); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	mixed := render(t, Group(mustParse(t, pkg+
		"BenchmarkColdStart/hello-2 1 1 ns/op 4.0 init-ms 5.0 first-ms\n"+
		// paired: the quotients would be 1.50× and 1.40×
		"BenchmarkColdStart/sdkfloor-ingest-2 1 1 ns/op 6.0 init-ms 7.0 first-ms 1.40 init-x-hello 1.30 first-x-hello\n"+
		// paired: the quotients would be 1.65×, 1.10×, 2.00×
		"BenchmarkColdStart/ingest-2 1 1 ns/op 6.6 init-ms 10 first-ms 1.20 init-x-hello 1.05 init-x-floor 1.90 first-x-hello\n"+
		// not paired (an older benchmark), and its floor not measured
		"BenchmarkColdStart/payments-2 1 1 ns/op 6.0 init-ms 12 first-ms\n"+
		// paired with a floor this run has no benchmark of
		"BenchmarkColdStart/fanout-2 1 1 ns/op 5.0 init-ms 1.25 init-x-hello 0.95 init-x-floor\n")))
	unpaired := render(t, Group(parseFile(t, "bench-coldstart-unpaired.txt")))
	for _, tc := range []struct {
		name, out, want string
		not             bool
	}{
		{name: "paired units are no columns", out: mixed, want: "| INIT (ms) | runs | binary (MiB) | INIT + first invocation (ms) | INIT / hello | INIT / SDK floor | first / hello |\n"},
		{name: "hello over itself", out: mixed, want: "| `ColdStart/hello` | 4.00 | 1 | — | 5.00 | 1.00× | — | 1.00× |"},
		{name: "a floor paired with hello", out: mixed, want: "| `ColdStart/sdkfloor-ingest` | 6.00 | 1 | — | 7.00 | 1.40× | — | 1.30× |"},
		{name: "a function paired with hello and its floor", out: mixed, want: "| `ColdStart/ingest` | 6.60 | 1 | — | 10.0 | 1.20× | 1.05× | 1.90× |"},
		{name: "an unpaired row falls back to the medians", out: mixed, want: "| `ColdStart/payments` | 6.00 | 1 | — | 12.0 | 1.50× | — | 2.40× |"},
		{name: "paired without its floor's benchmark", out: mixed, want: "| `ColdStart/fanout` | 5.00 | 1 | — | — | 1.25× | 0.950× | — |"},
		{name: "the unpaired rows named", out: mixed, want: "Not paired: `ColdStart/payments` reported no per-iteration ratios (`init-x-hello`, `init-x-floor`, `first-x-hello`), so their ratios divide the medians of separate benchmarks"},
		{name: "a missing floor that left a blank is noted", out: mixed, want: "The reference `ColdStart/sdkfloor-processor` was not measured in this run, so its ratios are left blank."},
		{name: "a missing floor the pairing covered is not", out: mixed, want: "The reference `ColdStart/sdkfloor-notify`", not: true},
		{name: "the aim paired where reported", out: mixed, want: "each ≤ 1.3× `ColdStart/hello` in INIT, paired per iteration where reported — **not met** (met by 2 of 7, 4 not measured): `ColdStart/ingest` 1.20× met; `ColdStart/payments` 1.50× not met;"},
		{name: "the aim's paired row", out: mixed, want: "`ColdStart/fanout` 1.25× met"},
		// The output of the benchmark before the pairing (testdata/README) renders as it did:
		// init-ms hello 3.684, 3.784 → 3.734; ingest 5.008, 4.927 → 4.9675 / 3.734 = 1.33×;
		// over sdkfloor-ingest (5.605, 5.482 → 5.5435) 0.896×; first-ms 7.57 / 4.8915 = 1.55×.
		{name: "old output: the quotients", out: unpaired, want: "| `ColdStart/ingest` | 4.97 | 2 | 9.36 | 7.57 | 1,014 | 1.33× | 0.896× | 1.55× |"},
		{name: "old output: said once for the table", out: unpaired, want: "Not paired: this run reported no per-iteration ratios (`init-x-hello`, `init-x-floor`, `first-x-hello`), so the ratios divide the medians of separate benchmarks, measured seconds apart."},
		{name: "old output: the aim not called paired", out: unpaired, want: "each ≤ 1.3× `ColdStart/hello` in INIT — **not met** (met by 0 of 7): `ColdStart/ingest` 1.33× not met;"},
		// That run predates the deliverer's own floor (it reads claim-checked bodies: S3).
		{name: "old output: only the newer floor missing", out: unpaired, want: "The reference `ColdStart/sdkfloor-deliverer` was not measured in this run"},
		{name: "old output: its floors measured", out: unpaired, want: "The reference `ColdStart/sdkfloor-notify`", not: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if strings.Contains(tc.out, tc.want) == tc.not {
				t.Errorf("contains %q = %v, want %v\n%s", tc.want, !tc.not, !tc.not, tc.out)
			}
		})
	}
}

func TestRenderMissingAndUnknown(t *testing.T) {
	in := "goos: linux\ngoarch: amd64\npkg: github.com/hookstack/hookstack/shared/ingest\ncpu: Test CPU\n" +
		"BenchmarkHMACSHA256Bare2KB-2 100 2000 ns/op 512 B/op 6 allocs/op\n" +
		"BenchmarkIngestCoreStripe2KB-2 100 5000 ns/op 3696 B/op 12 allocs/op\n" +
		"BenchmarkBrandNew-2 100 700 ns/op 3 widgets/op\n" +
		"BenchmarkSDKSendMessage2KB-2 100 80000 ns/op\n" +
		"pkg: github.com/hookstack/hookstack/shared/mystery\n" +
		"BenchmarkOdd-2 5 42 ms/init\n" +
		"--- SKIP: BenchmarkDynamoPut\n" +
		"FAIL\tgithub.com/hookstack/hookstack/shared/e2e\t0.5s\n"
	r := Report{
		Machine:  Machine{Date: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC), NumCPU: 2},
		Set:      Group(mustParse(t, in)),
		Sections: DefaultSections(),
		Module:   "github.com/hookstack/hookstack",
	}
	var b bytes.Buffer
	if err := Render(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, tc := range []struct {
		name string
		want string
		not  bool
	}{
		{name: "measured row", want: "| `IngestCoreStripe2KB` | verify + extract id/type/time + envelope bytes (the ingest core) | 5.00 µs | 1 | 3,696 | 12 | 2.50× | — |"},
		{name: "missing row", want: "| `IngestStripe2KB` | the whole handler: the core + queue call (no-op sender) + JSON log line with EMF metrics | not measured in this run | — | — | — | — | — |"},
		{name: "missing reference noted", want: "The reference `StripeConstructEvent2KB` was not measured in this run"},
		{name: "aim met", want: "`IngestCoreStripe2KB` ≤ 3× `HMACSHA256Bare2KB` — measured 2.50×: **met**."},
		{name: "aim without its reference", want: "`IngestCoreStripe2KB` ≥ 3× faster than `StripeConstructEvent2KB` — **not measured in this run**."},
		{name: "optional table left out", want: "256KB", not: true},
		{name: "a table with nothing measured is one line", want: "go test -run '^$' -bench ColdStart -count 6 ./shared/e2e/\n```\n\nNot measured in this run.\n\n## "},
		{name: "no rows of an unmeasured table", want: "`ColdStart/hello`", not: true},
		{name: "no aim of an unmeasured table", want: "INIT of every function", not: true},
		{name: "optional table left out", want: "256 KB Stripe event (claim-checked)", not: true},
		{name: "derived figure measured", want: "`SDKSendMessage2KB` / `HMACSHA256Bare2KB` = **40.0×**."},
		{name: "derived figure missing", want: "(`IngestSDKStripe2KB` − `SDKStubOnly2KB`) / (`SDKSendMessage2KB` − `SDKStubOnly2KB`) = not measured in this run."},
		{name: "other benchmarks of a known package", want: "### `shared/ingest`\n\n| benchmark | runs | ns/op | widgets/op |\n| --- | --- | --- | --- |\n| `BrandNew` | 1 | 700 ns | 3.00 |"},
		{name: "other benchmarks of an unknown package", want: "### `shared/mystery`\n\n| benchmark | runs | ms/init |\n| --- | --- | --- |\n| `Odd` | 1 | 42.0 |"},
		{name: "problems listed", want: "- `--- SKIP: BenchmarkDynamoPut`\n- `FAIL github.com/hookstack/hookstack/shared/e2e 0.5s`"},
		{name: "no load report", want: "Not measured: run `make load`"},
		{name: "no cost report", want: "The cost report was not found"},
		{name: "no command", want: "The command that produced the figures was not recorded."},
		{name: "unknown fields", want: "- Go: unknown, unknown/unknown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if strings.Contains(out, tc.want) == tc.not {
				t.Errorf("contains %q = %v, want %v\n%s", tc.want, !tc.not, !tc.not, out)
			}
		})
	}
}

func TestRenderBinarySizesFromFiles(t *testing.T) {
	in := "pkg: github.com/hookstack/hookstack/shared/e2e\n" +
		"BenchmarkColdStart/hello-2 2 80000000 ns/op 4.0 init-ms 800 warm-µs\n" +
		"BenchmarkColdStart/ingest-2 2 90000000 ns/op 5.0 init-ms 900 warm-µs\n" +
		"BenchmarkColdStart/payments-2 2 90000000 ns/op 5.0 init-ms 900 warm-µs 12.5 MiB\n"
	r := Report{
		Set:         Group(mustParse(t, in)),
		Sections:    []Section{coldStart()},
		BinarySizes: map[string]int64{"hello": 6 << 20, "ingest": 11 << 20, "payments": 1},
		BinaryDir:   ".cache/lambda-amd64",
	}
	var b bytes.Buffer
	if err := Render(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"| `ColdStart/hello` | 4.00 | 1 | 6.00* | 800 | 1.00× | — | 1.00× | — |",   // size from the file; no reported MiB to take a ratio of
		"| `ColdStart/ingest` | 5.00 | 1 | 11.0* | 900 | 1.25× | — | 1.12× | — |",  // 900/800 = 1.125, rounded to even
		"| `ColdStart/payments` | 5.00 | 1 | 12.5 | 900 | 1.25× | — | 1.12× | — |", // reported size wins over the file
		"\\* the size of the file in `.cache/lambda-amd64` when the report was written",
		"**not met** (met by 2 of 7, 5 not measured): `ColdStart/ingest` 1.25× met; `ColdStart/payments` 1.25× met; `ColdStart/inventory` not measured;",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "first / hello") {
		t.Error("a ratio column of a unit no benchmark reported")
	}
}

// TestRenderColdStartFloors checks the SDK floor column: each function's
// INIT over its own floor's, nothing for hello and the floors, and the
// issue's aim still taken against hello for the seven functions only.
func TestRenderColdStartFloors(t *testing.T) {
	in := "pkg: github.com/hookstack/hookstack/shared/e2e\n" +
		"BenchmarkColdStart/hello-2 2 1 ns/op 4.0 init-ms\n" +
		"BenchmarkColdStart/sdkfloor-ingest-2 2 1 ns/op 5.0 init-ms\n" +
		"BenchmarkColdStart/ingest-2 2 1 ns/op 5.5 init-ms\n" +
		"BenchmarkColdStart/sdkfloor-processor-2 2 1 ns/op 6.0 init-ms\n" +
		"BenchmarkColdStart/payments-2 2 1 ns/op 6.6 init-ms\n" +
		"BenchmarkColdStart/relay-2 2 1 ns/op 6.0 init-ms\n" +
		"BenchmarkColdStart/fanout-2 2 1 ns/op 4.8 init-ms\n"
	r := Report{Set: Group(mustParse(t, in)), Sections: []Section{coldStart()}}
	var b bytes.Buffer
	if err := Render(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, tc := range []struct {
		name string
		want string
		not  bool
	}{
		{name: "column", want: "| INIT / hello | INIT / SDK floor |"},
		{name: "hello has no floor", want: "| `ColdStart/hello` | 4.00 | 1 | — | 1.00× | — |"},
		{name: "a floor has no floor", want: "| `ColdStart/sdkfloor-ingest` | 5.00 | 1 | — | 1.25× | — |"},
		{name: "ingest over its floor", want: "| `ColdStart/ingest` | 5.50 | 1 | — | 1.38× | 1.10× |"},                 // 5.5/4, 5.5/5
		{name: "payments over the processors' floor", want: "| `ColdStart/payments` | 6.60 | 1 | — | 1.65× | 1.10× |"}, // 6.6/6
		{name: "relay at its floor", want: "| `ColdStart/relay` | 6.00 | 1 | — | 1.50× | 1.00× |"},
		{name: "fanout without its floor", want: "| `ColdStart/fanout` | 4.80 | 1 | — | 1.20× | — |"},
		{name: "the missing floor noted once", want: "The reference `ColdStart/sdkfloor-notify` was not measured in this run, so its ratios are left blank.\n\n- Aim"},
		{name: "measured floors not noted", want: "The reference `ColdStart/sdkfloor-ingest`", not: true},
		{name: "aim vs hello for the functions only", want: "each ≤ 1.3× `ColdStart/hello` in INIT — **not met** (met by 1 of 7, 3 not measured): `ColdStart/ingest` 1.38× not met; `ColdStart/payments` 1.65× not met;"},
		{name: "floors are not held to the aim", want: "`ColdStart/sdkfloor-ingest` 1.25×", not: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if strings.Contains(out, tc.want) == tc.not {
				t.Errorf("contains %q = %v, want %v\n%s", tc.want, !tc.not, !tc.not, out)
			}
		})
	}
}

func TestRenderNilSet(t *testing.T) {
	var b bytes.Buffer
	if err := Render(&b, Report{Sections: DefaultSections()}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(b.String(), "Not measured in this run."); got != len(DefaultSections()) {
		t.Errorf("%d sections say they were not measured, want all %d", got, len(DefaultSections()))
	}
	if !strings.Contains(b.String(), "Not measured: run `make load`") {
		t.Error("an empty run should say its figures were not measured")
	}
}

func TestDemoteHeadings(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"heading", "## Load\ntext", "### Load\ntext"},
		{"not a heading", "#hashtag\n#", "#hashtag\n#"},
		{"inside a fence", "```\n# comment\n```\n# H", "```\n# comment\n```\n## H"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := demoteHeadings(tc.in); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestSectionsHaveNoFigures keeps measured numbers out of the prose: the
// explanations are fixed text, the figures come only from the run.
func TestSectionsHaveNoFigures(t *testing.T) {
	for _, s := range DefaultSections() {
		for _, text := range []string{s.Title, s.Intro} {
			for _, bad := range []string{"µs", " ms", " ns", "×", "%"} {
				if strings.Contains(text, bad) {
					t.Errorf("section %q: prose %q contains %q", s.Title, text, bad)
				}
			}
		}
		if len(s.Tables) == 0 {
			t.Errorf("section %q has no table", s.Title)
		}
		for _, tbl := range s.Tables {
			if len(tbl.Ratios) == 0 {
				t.Errorf("section %q: a table without a ratio to a benchmark of the run", s.Title)
			}
		}
	}
}

func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\n got: %s\nwant: %s", i+1, gl, wl)
		}
	}
	return ""
}
