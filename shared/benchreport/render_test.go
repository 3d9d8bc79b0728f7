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
		// ColdStart init-ms: hello 3.684, 3.784 → 3.734; ingest 5.008, 4.927 → 4.9675 → 1.33×;
		// its floor, sdkfloor-ingest 5.605, 5.482 → 5.5435 → 4.9675 / 5.5435 = 0.896×;
		// first-ms 8.020, 7.120 → 7.57; warm 1055, 973.6 → 1,014.
		"| `ColdStart/ingest` | 4.97 | 2 | 9.36 | 7.57 | 1,014 | 1.33× | 0.896× |",
		// A floor has no floor of its own: 5.5435 / 3.734 = 1.48×.
		"| `ColdStart/sdkfloor-ingest` | 5.54 | 2 | 8.87 | 6.72 | 885 | 1.48× | — |",
		"**not met** (met by 0 of 7)",
		// fanout 7.146, 6.282 → 6.714: / 3.734 = 1.80×; / sdkfloor-notify (5.733, 6.127 → 5.93) = 1.13×.
		"`ColdStart/fanout` 1.80× not met",
		"| `ColdStart/fanout` | 6.71 | 2 | 8.65 | 8.12 | 1,094 | 1.80× | 1.13× |",
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
