// Package benchreport turns the text output of `go test -bench` into
// BENCHMARKS.md: it parses the standard benchmark format, takes the median of
// every unit over the -count repetitions, and renders sections of markdown
// tables in which every comparison is a ratio between two benchmarks of the
// same run.
//
// The parser is a small, lenient reader of the format described in
// golang.org/x/perf/benchfmt (which is not a dependency of this module):
//
//	goos: linux
//	pkg: github.com/hookstack/hookstack/shared/ingest
//	cpu: AMD EPYC
//	BenchmarkIngestStripe2KB-2   200   27357 ns/op   75.78 MB/s   9819 B/op   28 allocs/op
//
// Lines it does not understand (test logs, PASS, ok) are ignored; failures
// and skips (`--- FAIL: BenchmarkX`, `FAIL pkg`) are kept so the report can
// say why a figure is missing.
package benchreport

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Value is one measurement of a result line: 27357 ns/op.
type Value struct {
	Value float64
	Unit  string
}

// Sample is one benchmark result line.
type Sample struct {
	Pkg    string // import path from the latest "pkg:" line ("" before any)
	Name   string // without the "Benchmark" prefix and the -N suffix: "ColdStart/hello"
	Procs  int    // the -N suffix (GOMAXPROCS); 0 when the name has none
	Iters  int64
	Values []Value // in the order of the line
}

// Data is everything read from one or more outputs of `go test -bench`.
type Data struct {
	// Config holds the distinct values of each "key: value" header line
	// (goos, goarch, pkg, cpu, ...), in order of first appearance.
	Config map[string][]string
	// Samples are the result lines, in order.
	Samples []Sample
	// Problems are the lines that report a failed or skipped benchmark or
	// package ("--- FAIL: BenchmarkX", "--- SKIP: BenchmarkY", "FAIL pkg").
	Problems []string
}

// ErrRead wraps a failure of the underlying reader (the parser itself never
// fails on malformed text: it skips what it does not understand).
var ErrRead = errors.New("benchreport: read benchmark output")

// Parse reads the text output of `go test -bench`.
func Parse(r io.Reader) (*Data, error) {
	d := &Data{Config: map[string][]string{}}
	if err := d.parse(r); err != nil {
		return d, err
	}
	return d, nil
}

// Merge appends o's samples, header values and problems to d.
func (d *Data) Merge(o *Data) {
	for _, k := range sortedKeys(o.Config) {
		for _, v := range o.Config[k] {
			d.addConfig(k, v)
		}
	}
	d.Samples = append(d.Samples, o.Samples...)
	d.Problems = append(d.Problems, o.Problems...)
}

// Header returns the distinct values of a header key joined by "; ".
func (d *Data) Header(key string) string {
	return strings.Join(d.Config[key], "; ")
}

func (d *Data) addConfig(key, value string) {
	for _, v := range d.Config[key] {
		if v == value {
			return
		}
	}
	d.Config[key] = append(d.Config[key], value)
}

func (d *Data) parse(r io.Reader) error {
	br := bufio.NewReader(r)
	pkg := ""
	// pending is a benchmark name printed alone on its line (the benchmark
	// wrote output of its own before the figures, which then follow on a
	// later line of their own).
	pending := ""
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			line = strings.TrimRight(line, "\r\n")
			if key, value, ok := configLine(line); ok {
				d.addConfig(key, value)
				if key == "pkg" {
					pkg = value
				}
				pending = ""
			} else if p, ok := problemLine(line); ok {
				d.Problems = append(d.Problems, p)
			} else {
				fields := strings.Fields(line)
				switch {
				case len(fields) > 0 && isBenchName(fields[0]):
					pending = ""
					if s, ok := resultFields(fields[0], fields[1:]); ok {
						s.Pkg = pkg
						d.Samples = append(d.Samples, s)
					} else if len(fields) == 1 {
						pending = fields[0]
					}
				case pending != "":
					if s, ok := resultFields(pending, fields); ok {
						s.Pkg = pkg
						d.Samples = append(d.Samples, s)
						pending = ""
					}
				}
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrRead, err)
		}
	}
}

// configLine recognises "key: value" header lines: the key starts with a
// lower-case letter and holds no space.
func configLine(line string) (key, value string, ok bool) {
	key, value, found := strings.Cut(line, ":")
	if !found || key == "" {
		return "", "", false
	}
	first, _ := utf8.DecodeRuneInString(key)
	if !unicode.IsLower(first) || strings.ContainsFunc(key, unicode.IsSpace) {
		return "", "", false
	}
	if value != "" && value[0] != ' ' && value[0] != '\t' {
		return "", "", false // "http://x" is not a header
	}
	return key, strings.TrimSpace(value), true
}

// problemLine recognises the lines of a failed or skipped benchmark or
// package.
func problemLine(line string) (string, bool) {
	t := strings.TrimSpace(line)
	for _, prefix := range []string{"--- FAIL: Benchmark", "--- SKIP: Benchmark"} {
		if strings.HasPrefix(t, prefix) {
			return strings.Join(strings.Fields(t), " "), true
		}
	}
	if rest, ok := strings.CutPrefix(t, "FAIL"); ok && (strings.HasPrefix(rest, "\t") || strings.HasPrefix(rest, " ")) {
		return strings.Join(strings.Fields(t), " "), true
	}
	return "", false
}

// isBenchName reports whether f names a benchmark: "Benchmark" followed by
// nothing or by a character that is not a lower-case letter (as `go test`
// requires of benchmark functions).
func isBenchName(f string) bool {
	rest, ok := strings.CutPrefix(f, "Benchmark")
	if !ok {
		return false
	}
	if rest == "" {
		return true
	}
	r, _ := utf8.DecodeRuneInString(rest)
	return !unicode.IsLower(r)
}

// resultFields parses "iterations value unit [value unit ...]" for the named
// benchmark. At least one value is required, every value must be a finite
// number and every unit present.
func resultFields(fullName string, fields []string) (Sample, bool) {
	if len(fields) < 3 || len(fields)%2 != 1 {
		return Sample{}, false
	}
	iters, err := strconv.ParseInt(fields[0], 10, 64)
	if err != nil || iters < 0 {
		return Sample{}, false
	}
	values := make([]Value, 0, (len(fields)-1)/2)
	for i := 1; i < len(fields); i += 2 {
		v, err := strconv.ParseFloat(fields[i], 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return Sample{}, false
		}
		values = append(values, Value{Value: v, Unit: fields[i+1]})
	}
	name, procs := splitProcs(strings.TrimPrefix(fullName, "Benchmark"))
	if name == "" {
		return Sample{}, false
	}
	return Sample{Name: name, Procs: procs, Iters: iters, Values: values}, true
}

// splitProcs strips the -N (GOMAXPROCS) suffix `go test` adds to names.
func splitProcs(name string) (string, int) {
	i := strings.LastIndexByte(name, '-')
	if i < 0 || i == len(name)-1 {
		return name, 0
	}
	n, err := strconv.Atoi(name[i+1:])
	if err != nil || n <= 0 || strings.ContainsAny(name[i+1:], "+-") {
		return name, 0
	}
	return name[:i], n
}
