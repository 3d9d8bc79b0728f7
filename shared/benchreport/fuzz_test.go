package benchreport

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// FuzzParse feeds the parser arbitrary text (it reads files written by other
// programs): it must never fail on text or panic, every sample it returns
// must be well formed and survive being written back and parsed again, and
// the report of whatever it found must render.
func FuzzParse(f *testing.F) {
	// The first lines of each real output: small seeds keep the fuzzer's
	// minimisation of a new input short (it re-renders the report per try).
	for _, name := range []string{"bench-unit.txt", "bench-coldstart.txt", "bench-emulators.txt"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		lines := strings.SplitAfter(string(b), "\n")
		f.Add(strings.Join(lines[:min(len(lines), 7)], ""))
	}
	for _, s := range []string{
		"",
		"BenchmarkX-2 1 1 ns/op",
		"BenchmarkX-2\nlog\n100 5 ns/op 3 B/op\n",
		"BenchmarkA-b-8 1 1 ns/op\nBenchmark-2 1 1 ns/op\nBenchmarkA-+2 1 1 ns/op\n",
		"BenchmarkNaN 1 NaN ns/op\nBenchmarkE 1 1e308 ns/op 1e308 B/op\n",
		"pkg: a\ncpu: \t\nBenchmarkX 9223372036854775807 -0 x\n",
		"--- FAIL: BenchmarkX\nFAIL\tpkg\t1s\n\r\n",
		"BenchmarkColdStart/hello-2 2 1 ns/op 0 init-ms\nBenchmarkColdStart/ingest-2 2 1 ns/op 5 init-ms\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		d, err := Parse(strings.NewReader(in))
		if err != nil {
			t.Fatalf("Parse failed on text: %v", err)
		}
		var again strings.Builder
		for _, s := range d.Samples {
			if s.Name == "" || s.Procs < 0 || s.Iters < 0 || len(s.Values) == 0 {
				t.Fatalf("malformed sample %+v", s)
			}
			if strings.ContainsFunc(s.Name, unicode.IsSpace) {
				t.Fatalf("name with a space: %q", s.Name)
			}
			again.WriteString("Benchmark" + s.Name)
			if s.Procs > 0 {
				again.WriteString("-" + strconv.Itoa(s.Procs))
			}
			again.WriteString(" " + strconv.FormatInt(s.Iters, 10))
			for _, v := range s.Values {
				if math.IsNaN(v.Value) || math.IsInf(v.Value, 0) || v.Unit == "" || strings.ContainsFunc(v.Unit, unicode.IsSpace) {
					t.Fatalf("bad value %+v in %+v", v, s)
				}
				again.WriteString(" " + strconv.FormatFloat(v.Value, 'g', -1, 64) + " " + v.Unit)
			}
			again.WriteString("\n")
		}
		for _, p := range d.Problems {
			if strings.ContainsAny(p, "\r\n") {
				t.Fatalf("problem with a line break: %q", p)
			}
		}
		d2, err := Parse(strings.NewReader(again.String()))
		if err != nil {
			t.Fatal(err)
		}
		if len(d2.Samples) != len(d.Samples) {
			t.Fatalf("round trip: %d samples, want %d\n%s", len(d2.Samples), len(d.Samples), again.String())
		}
		for i := range d.Samples {
			a, b := d.Samples[i], d2.Samples[i]
			a.Pkg, b.Pkg = "", ""
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", b, a)
			}
		}
		var out bytes.Buffer
		if err := Render(&out, Report{Set: Group(d), Sections: DefaultSections()}); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(out.String(), "# Benchmarks\n") {
			t.Fatal("report without its heading")
		}
	})
}
