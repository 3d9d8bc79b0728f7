// Command benchreport writes BENCHMARKS.md from the output of `go test
// -bench` (see shared/benchreport). `make bench` runs it after the
// benchmarks; `make bench-report` re-renders from .cache/bench.txt.
//
//	go run ./shared/benchreport/cmd/benchreport -in .cache/bench.txt \
//	  -cost shared/cost/testdata/report.md -load .cache/load-report.md \
//	  -bins .cache/lambda-amd64 -command-file .cache/bench.cmd -out BENCHMARKS.md
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/hookstack/hookstack/shared/benchreport"
)

// list is a repeatable, comma-separated flag.
type list []string

func (l *list) String() string { return strings.Join(*l, ",") }

func (l *list) Set(v string) error {
	for p := range strings.SplitSeq(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

// repeated is a repeatable flag whose values may contain commas.
type repeated []string

func (r *repeated) String() string { return strings.Join(*r, "\n") }

func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

func run(args []string, stderr io.Writer) error {
	fl := flag.NewFlagSet("benchreport", flag.ContinueOnError)
	fl.SetOutput(stderr)
	var (
		in       list
		commands repeated
	)
	fl.Var(&in, "in", "benchmark output file(s) of `go test -bench` (repeatable or comma-separated)")
	fl.Var(&commands, "command", "a command line that produced the input, printed in the report (repeatable)")
	cmdFile := fl.String("command-file", "", "file with the command line(s), one per line (added after -command)")
	cost := fl.String("cost", "shared/cost/testdata/report.md", "the cost model's report, included verbatim")
	load := fl.String("load", ".cache/load-report.md", "the load report of `make load`, included when present")
	bins := fl.String("bins", ".cache/lambda-amd64", "folder of <function>/bootstrap, sized when a cold start benchmark did not report it")
	out := fl.String("out", "BENCHMARKS.md", "the report to write (atomically)")
	module := fl.String("module", "", "module path trimmed from package names (default: read from ./go.mod)")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if len(in) == 0 {
		return errors.New("no -in file given")
	}
	if *cmdFile != "" {
		lines, err := readLines(*cmdFile)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			fmt.Fprintf(stderr, "benchreport: warning: %s not found: the report will not show the command\n", *cmdFile)
		case err != nil:
			return fmt.Errorf("command file: %w", err)
		}
		commands = append(commands, lines...)
	}

	data := &benchreport.Data{Config: map[string][]string{}}
	for _, path := range in {
		d, err := parseFile(path)
		if err != nil {
			return err
		}
		data.Merge(d)
	}
	if len(data.Samples) == 0 {
		fmt.Fprintf(stderr, "benchreport: warning: no benchmark results in %s\n", strings.Join(in, ", "))
	}

	rep := benchreport.Report{
		Machine:     machine(data, commands, relAll(in)),
		Set:         benchreport.Group(data),
		Sections:    benchreport.DefaultSections(),
		Module:      *module,
		BinarySizes: binarySizes(*bins),
		BinaryDir:   rel(*bins),
	}
	if rep.Module == "" {
		rep.Module = modulePath("go.mod")
	}
	var err error
	if rep.Cost, err = attachment(*cost); err != nil {
		return err
	}
	if rep.Load, err = attachment(*load); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := benchreport.Render(&buf, rep); err != nil {
		return err
	}
	if err := writeAtomic(*out, buf.Bytes()); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "benchreport: wrote %s (%d benchmarks, %d result lines)\n", *out, len(rep.Set.Benches()), len(data.Samples))
	return nil
}

func parseFile(path string) (*benchreport.Data, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open benchmark output: %w", err)
	}
	defer f.Close()
	d, err := benchreport.Parse(f)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	return d, nil
}

// machine describes this machine; GOOS, GOARCH and the CPU come from the
// benchmark header when it has them (the run may have been elsewhere).
func machine(d *benchreport.Data, commands, inputs []string) benchreport.Machine {
	m := benchreport.Machine{
		Date:      runDate(inputs),
		GoVersion: runtime.Version(),
		GOOS:      d.Header("goos"),
		GOARCH:    d.Header("goarch"),
		CPU:       d.Header("cpu"),
		NumCPU:    runtime.NumCPU(),
		MemTotal:  memTotal("/proc/meminfo"),
		Commands:  commands,
		Inputs:    inputs,
	}
	if m.GOOS == "" {
		m.GOOS = runtime.GOOS
	}
	if m.GOARCH == "" {
		m.GOARCH = runtime.GOARCH
	}
	return m
}

// runDate is when the benchmark output was written (the newest input's file
// time), so a re-render from .cache/bench.txt keeps the date of the run; now
// when no input can be stat'ed.
func runDate(inputs []string) time.Time {
	var newest time.Time
	for _, p := range inputs {
		if st, err := os.Stat(p); err == nil && st.ModTime().After(newest) {
			newest = st.ModTime()
		}
	}
	if newest.IsZero() {
		return time.Now().UTC()
	}
	return newest.UTC()
}

// memTotal reads MemTotal from /proc/meminfo as "23.5 GiB"; "" when it
// cannot.
func memTotal(path string) string {
	lines, err := readLines(path)
	if err != nil {
		return ""
	}
	for _, l := range lines {
		rest, ok := strings.CutPrefix(l, "MemTotal:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return ""
		}
		kb, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return ""
		}
		return strconv.FormatFloat(kb/(1<<20), 'f', 1, 64) + " GiB"
	}
	return ""
}

// binarySizes stats dir/<function>/bootstrap for every function folder.
func binarySizes(dir string) map[string]int64 {
	sizes := map[string]int64{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return sizes
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if st, err := os.Stat(filepath.Join(dir, e.Name(), "bootstrap")); err == nil && st.Mode().IsRegular() {
			sizes[e.Name()] = st.Size()
		}
	}
	return sizes
}

// attachment reads a report to include; a missing file is nil, not an error.
func attachment(path string) (*benchreport.Attachment, error) {
	if path == "" {
		return nil, nil
	}
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return &benchreport.Attachment{Path: rel(path), Text: string(text), ModTime: st.ModTime()}, nil
}

// rel shows an absolute path relative to the working directory when it is
// inside it (the Makefile passes $(CURDIR)/.cache/...).
func rel(path string) string {
	wd, err := os.Getwd()
	if err != nil || !filepath.IsAbs(path) {
		return path
	}
	if r, err := filepath.Rel(wd, path); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return path
}

func relAll(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = rel(p)
	}
	return out
}

func modulePath(gomod string) string {
	lines, err := readLines(gomod)
	if err != nil {
		return ""
	}
	for _, l := range lines {
		if rest, ok := strings.CutPrefix(l, "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}

func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	return out, sc.Err()
}

// writeAtomic writes data to a temporary file beside path and renames it
// over path, so a reader never sees half a report.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	name := tmp.Name()
	defer os.Remove(name) // no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	if err := os.Chmod(name, 0o644); err != nil {
		return fmt.Errorf("chmod %s: %w", path, err)
	}
	if err := os.Rename(name, path); err != nil {
		return fmt.Errorf("rename into %s: %w", path, err)
	}
	return nil
}
