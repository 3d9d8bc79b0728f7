package benchreport

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name     string
		in       string
		samples  []Sample
		config   map[string][]string
		problems []string
	}{
		{
			name: "standard line with -N and custom units",
			in: "pkg: example.com/m/shared/ingest\n" +
				"BenchmarkIngestSDKStripe2KB-2   200   116543 ns/op   17.79 MB/s   597.0 log-bytes   2663 sqs-bytes   76791 B/op   340 allocs/op\n",
			samples: []Sample{{Pkg: "example.com/m/shared/ingest", Name: "IngestSDKStripe2KB", Procs: 2, Iters: 200, Values: []Value{
				{116543, "ns/op"}, {17.79, "MB/s"}, {597, "log-bytes"}, {2663, "sqs-bytes"}, {76791, "B/op"}, {340, "allocs/op"},
			}}},
			config: map[string][]string{"pkg": {"example.com/m/shared/ingest"}},
		},
		{
			name:    "no -N suffix (GOMAXPROCS=1)",
			in:      "BenchmarkX 10 5 ns/op\n",
			samples: []Sample{{Name: "X", Iters: 10, Values: []Value{{5, "ns/op"}}}},
		},
		{
			name:    "sub-benchmark with a non-ASCII unit",
			in:      "BenchmarkColdStart/hello-2   2   86672989 ns/op   5.996 MiB   11.86 init-ms   787.3 warm-µs\n",
			samples: []Sample{{Name: "ColdStart/hello", Procs: 2, Iters: 2, Values: []Value{{86672989, "ns/op"}, {5.996, "MiB"}, {11.86, "init-ms"}, {787.3, "warm-µs"}}}},
		},
		{
			name: "paired ratios of a cold start",
			in:   "BenchmarkColdStart/ingest-2   10   99540584 ns/op   1.764 first-x-hello   6.058 init-ms   0.9720 init-x-floor   1.486 init-x-hello\n",
			samples: []Sample{{Name: "ColdStart/ingest", Procs: 2, Iters: 10, Values: []Value{
				{99540584, "ns/op"}, {1.764, "first-x-hello"}, {6.058, "init-ms"}, {0.9720, "init-x-floor"}, {1.486, "init-x-hello"},
			}}},
		},
		{
			name: "dashes in the name that are not the -N suffix",
			in:   "BenchmarkA-b-8 1 1 ns/op\nBenchmarkA-b 1 2 ns/op\nBenchmarkA- 1 3 ns/op\nBenchmarkA-+2 1 4 ns/op\n",
			samples: []Sample{
				{Name: "A-b", Procs: 8, Iters: 1, Values: []Value{{1, "ns/op"}}},
				{Name: "A-b", Iters: 1, Values: []Value{{2, "ns/op"}}},
				{Name: "A-", Iters: 1, Values: []Value{{3, "ns/op"}}},
				{Name: "A-+2", Iters: 1, Values: []Value{{4, "ns/op"}}},
			},
		},
		{
			name: "malformed lines are skipped",
			in: "BenchmarkOdd-2 10 5 ns/op 7\n" + // a value without its unit
				"BenchmarkWord-2 10 five ns/op\n" +
				"BenchmarkNaN-2 10 NaN ns/op\n" +
				"BenchmarkInf-2 10 +Inf ns/op\n" +
				"BenchmarkNoValues-2 10\n" +
				"BenchmarkNegIters-2 -1 5 ns/op\n" +
				"Benchmarking is fun 1 2 3\n" + // lower case after Benchmark: not a benchmark
				"  BenchmarkIndented-2 10 5 ns/op\n" +
				"PASS\nok  \texample.com/m\t0.1s\n",
			samples: []Sample{{Name: "Indented", Procs: 2, Iters: 10, Values: []Value{{5, "ns/op"}}}},
		},
		{
			name: "name alone, log output, then the figures",
			in: "BenchmarkLoud-2\n" +
				"    bench_test.go:12: warming up 3 things\n" +
				"     100	      2000 ns/op	      64 B/op\n",
			samples: []Sample{{Name: "Loud", Procs: 2, Iters: 100, Values: []Value{{2000, "ns/op"}, {64, "B/op"}}}},
		},
		{
			name:   "a pending name is dropped at the next header",
			in:     "BenchmarkLoud-2\npkg: p\n100 2000 ns/op\n",
			config: map[string][]string{"pkg": {"p"}},
		},
		{
			name: "header lines, repeated per package, distinct values kept",
			in: "goos: linux\ngoarch: amd64\npkg: a\ncpu: AMD EPYC\nBenchmarkA-2 1 1 ns/op\n" +
				"goos: linux\ngoarch: amd64\npkg: b\ncpu: AMD EPYC\nBenchmarkB-2 1 2 ns/op\n" +
				"Note: capitalised keys are not headers\nsee http://example.com\n",
			samples: []Sample{
				{Pkg: "a", Name: "A", Procs: 2, Iters: 1, Values: []Value{{1, "ns/op"}}},
				{Pkg: "b", Name: "B", Procs: 2, Iters: 1, Values: []Value{{2, "ns/op"}}},
			},
			config: map[string][]string{"goos": {"linux"}, "goarch": {"amd64"}, "pkg": {"a", "b"}, "cpu": {"AMD EPYC"}},
		},
		{
			name: "failures and skips",
			in: "--- FAIL: BenchmarkColdStart/ingest-2\n    coldstart_test.go:50: first invoke: boom\n" +
				"--- SKIP: BenchmarkDynamoPut\n" +
				"FAIL\texample.com/m/shared/e2e\t3.1s\n" +
				"--- FAIL: TestSomething (0.00s)\n" + // a test, not a benchmark
				"FAILED to do x\n",
			problems: []string{
				"--- FAIL: BenchmarkColdStart/ingest-2",
				"--- SKIP: BenchmarkDynamoPut",
				"FAIL example.com/m/shared/e2e 3.1s",
			},
		},
		{
			name:    "CRLF and no final newline",
			in:      "cpu: X\r\nBenchmarkA-4 3 1.5 ns/op\r\nBenchmarkB-4 3 2.5 ns/op",
			samples: []Sample{{Name: "A", Procs: 4, Iters: 3, Values: []Value{{1.5, "ns/op"}}}, {Name: "B", Procs: 4, Iters: 3, Values: []Value{{2.5, "ns/op"}}}},
			config:  map[string][]string{"cpu": {"X"}},
		},
		{
			name: "empty input",
			in:   "",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Parse(strings.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(d.Samples, tc.samples) {
				t.Errorf("samples:\n got %+v\nwant %+v", d.Samples, tc.samples)
			}
			if tc.config == nil {
				tc.config = map[string][]string{}
			}
			if !reflect.DeepEqual(d.Config, tc.config) {
				t.Errorf("config: got %v, want %v", d.Config, tc.config)
			}
			if !reflect.DeepEqual(d.Problems, tc.problems) {
				t.Errorf("problems: got %q, want %q", d.Problems, tc.problems)
			}
		})
	}
}

func TestParseReadError(t *testing.T) {
	boom := errors.New("disk gone")
	d, err := Parse(io.MultiReader(strings.NewReader("BenchmarkX-2 1 1 ns/op\n"), iotest.ErrReader(boom)))
	if !errors.Is(err, ErrRead) || !errors.Is(err, boom) {
		t.Fatalf("err = %v, want ErrRead wrapping the reader's error", err)
	}
	if d == nil || len(d.Samples) != 1 {
		t.Fatalf("partial data %+v, want the line read before the error", d)
	}
}

// TestParseTestdata reads real `go test -bench` output (see testdata/README).
func TestParseTestdata(t *testing.T) {
	for _, tc := range []struct {
		file     string
		samples  int
		pkgs     []string
		check    string // a benchmark of the file
		units    []string
		problems int
	}{
		{
			file: "bench-unit.txt", samples: 30,
			pkgs:  []string{"shared/ingest", "shared/signature", "shared/envelope"},
			check: "IngestSDKStripe2KB", units: []string{"ns/op", "MB/s", "log-bytes", "sqs-bytes", "B/op", "allocs/op"},
		},
		{
			file: "bench-coldstart.txt", samples: 22,
			pkgs:  []string{"shared/e2e"},
			check: "ColdStart/relay", units: []string{"ns/op", "MiB", "first-ms", "first-x-hello", "init-ms", "init-x-floor", "init-x-hello", "warm-µs", "B/op", "allocs/op"},
		},
		{
			file: "bench-coldstart-unpaired.txt", samples: 22,
			pkgs:  []string{"shared/e2e"},
			check: "ColdStart/relay", units: []string{"ns/op", "MiB", "first-ms", "init-ms", "warm-µs", "B/op", "allocs/op"},
		},
		{
			file: "bench-emulators.txt", samples: 12,
			pkgs:  []string{"shared/process", "shared/store/dynamostore", "shared/store/localstore"},
			check: "PaymentsBatch10Dynamo", units: []string{"ns/op", "msgs/s", "B/op", "allocs/op"},
		},
	} {
		t.Run(tc.file, func(t *testing.T) {
			d := parseFile(t, tc.file)
			if len(d.Samples) != tc.samples {
				t.Errorf("%d samples, want %d", len(d.Samples), tc.samples)
			}
			if got := d.Header("cpu"); got != "AMD EPYC" {
				t.Errorf("cpu header %q", got)
			}
			set := Group(d)
			var pkgs []string
			for _, p := range set.Packages() {
				pkgs = append(pkgs, strings.TrimPrefix(p, "github.com/hookstack/hookstack/"))
			}
			if !reflect.DeepEqual(pkgs, tc.pkgs) {
				t.Errorf("packages %v, want %v", pkgs, tc.pkgs)
			}
			b := set.Lookup("", tc.check)
			if b == nil {
				t.Fatalf("%s not found", tc.check)
			}
			if !reflect.DeepEqual(b.Units(), tc.units) {
				t.Errorf("units %v, want %v", b.Units(), tc.units)
			}
			if b.Count("ns/op") != 2 {
				t.Errorf("%d repetitions, want 2", b.Count("ns/op"))
			}
			if len(d.Problems) != tc.problems {
				t.Errorf("problems %q", d.Problems)
			}
		})
	}
}

func TestMerge(t *testing.T) {
	a := mustParse(t, "cpu: A\npkg: p\nBenchmarkX-2 1 10 ns/op\n--- SKIP: BenchmarkY\n")
	b := mustParse(t, "cpu: B\npkg: p\nBenchmarkX-2 1 30 ns/op\ncpu: A\n")
	a.Merge(b)
	if got := a.Header("cpu"); got != "A; B" {
		t.Errorf("cpu %q, want %q", got, "A; B")
	}
	m, _ := Group(a).Lookup("p", "X").Median("ns/op")
	if m != 20 {
		t.Errorf("median over both files %v, want 20", m)
	}
	if len(a.Problems) != 1 {
		t.Errorf("problems %q", a.Problems)
	}
}

func parseFile(t testing.TB, name string) *Data {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func mustParse(t testing.TB, s string) *Data {
	t.Helper()
	d, err := Parse(strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	return d
}
