package main

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, path, text string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	head := "goos: linux\ngoarch: amd64\npkg: github.com/hookstack/hookstack/shared/ingest\ncpu: Test CPU 9000\n"
	a := write(t, filepath.Join(dir, "a.txt"), head+
		"BenchmarkHMACSHA256Bare2KB-2 100 2000 ns/op 512 B/op 6 allocs/op\n"+
		"BenchmarkIngestCoreStripe2KB-2 100 4000 ns/op 3696 B/op 12 allocs/op\n")
	b := write(t, filepath.Join(dir, "b.txt"), head+
		"BenchmarkHMACSHA256Bare2KB-2 100 2000 ns/op 512 B/op 6 allocs/op\n"+
		"BenchmarkIngestCoreStripe2KB-2 100 8000 ns/op 3696 B/op 12 allocs/op\n"+
		"pkg: github.com/hookstack/hookstack/shared/e2e\n"+
		"BenchmarkColdStart/hello-2 1 1 ns/op 4 init-ms 800 warm-µs\n")
	cost := write(t, filepath.Join(dir, "cost.md"), "| service | USD |\n|---|---|\n| total | $1.00 |\n")
	cmds := write(t, filepath.Join(dir, "bench.cmd"), "make bench BENCH_COUNT=1\n\ngo test -bench . ./shared/...\n")
	write(t, filepath.Join(dir, "bins", "hello", "bootstrap"), strings.Repeat("x", 3<<20))
	out := filepath.Join(dir, "out", "BENCHMARKS.md")
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, out, "old hand-written text")

	runAt := time.Date(2026, 11, 29, 21, 30, 0, 0, time.UTC)
	for i, p := range []string{a, b} {
		at := runAt.Add(-time.Duration(i) * time.Hour) // a is the newer
		if err := os.Chtimes(p, at, at); err != nil {
			t.Fatal(err)
		}
	}
	var stderr bytes.Buffer
	err := run([]string{
		"-in", a + "," + b, "-cost", cost, "-load", filepath.Join(dir, "no-load-report.md"),
		"-command", "make bench", "-command-file", cmds, "-bins", filepath.Join(dir, "bins"),
		"-module", "github.com/hookstack/hookstack", "-out", out,
	}, &stderr)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	report := string(got)
	for _, want := range []string{
		"# Benchmarks\n",
		"- Date: 2026-11-29 21:30 UTC (when the benchmark output was written)",
		"- CPU: Test CPU 9000 (from the benchmark header)",
		"- Go: go1.", // runtime.Version of this toolchain
		"```sh\nmake bench\nmake bench BENCH_COUNT=1\ngo test -bench . ./shared/...\n```",
		// The two files are one run: IngestCore's median is (4000+8000)/2 over HMAC's 2000.
		"| `IngestCoreStripe2KB` | verify + extract id/type/time + envelope bytes (the ingest core) | 6.00 µs | 2 | 3,696 | 12 | 3.00× |",
		"| `ColdStart/hello` | 4.00 | 1 | 3.00* |", // the size of the file, 3 MiB
		"Not measured: run `make load`",
		"| total | $1.00 |",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	if strings.Contains(report, "old hand-written text") {
		t.Error("the old file was not replaced")
	}
	entries, err := os.ReadDir(filepath.Dir(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("files left beside the report: %v", entries)
	}
	if st, err := os.Stat(out); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, %v; want 0644", st.Mode(), err)
	}
}

func TestRunLoadReport(t *testing.T) {
	dir := t.TempDir()
	in := write(t, filepath.Join(dir, "bench.txt"), "BenchmarkX-2 1 1 ns/op\n")
	load := write(t, filepath.Join(dir, "load-report.md"), "## Load: 10 webhooks\n\nall held\n")
	at := time.Date(2026, 11, 29, 19, 8, 0, 0, time.UTC)
	if err := os.Chtimes(load, at, at); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "B.md")
	var stderr bytes.Buffer
	if err := run([]string{"-in", in, "-load", load, "-cost", "", "-command-file", filepath.Join(dir, "missing.cmd"), "-out", out}, &stderr); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(out)
	for _, want := range []string{"written by `make load` at 2026-11-29 19:08 UTC", "### Load: 10 webhooks", "The cost report was not found", "was not recorded", "| `X` | 1 | 1.00 ns |"} {
		if !strings.Contains(string(got), want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
	if !strings.Contains(stderr.String(), "missing.cmd not found") {
		t.Errorf("no warning about the missing command file: %q", stderr.String())
	}
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	in := write(t, filepath.Join(dir, "bench.txt"), "BenchmarkX-2 1 1 ns/op\n")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no input", []string{"-out", filepath.Join(dir, "o.md")}, "no -in file"},
		{"missing input", []string{"-in", filepath.Join(dir, "nope.txt"), "-out", filepath.Join(dir, "o.md")}, "open benchmark output"},
		{"unknown flag", []string{"-bogus"}, "flag provided but not defined"},
		{"output folder missing", []string{"-in", in, "-out", filepath.Join(dir, "no", "such", "o.md")}, "write"},
		{"cost is a folder", []string{"-in", in, "-cost", dir, "-out", filepath.Join(dir, "o.md")}, "read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			err := run(tc.args, &stderr)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
			if _, err := os.Stat(filepath.Join(dir, "o.md")); err == nil {
				t.Error("a report was written despite the error")
			}
		})
	}
}

func TestMemTotal(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, text, want string
	}{
		{"24 GiB machine", "MemTotal:       24684096 kB\nMemFree:        23078984 kB\n", "23.5 GiB"},
		{"not first", "Foo: 1 kB\nMemTotal: 1048576 kB\n", "1.0 GiB"},
		{"no MemTotal", "MemFree: 1 kB\n", ""},
		{"unknown unit", "MemTotal: 1 MB\n", ""},
		{"not a number", "MemTotal: lots kB\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := write(t, filepath.Join(dir, tc.name), tc.text)
			if got := memTotal(p); got != tc.want {
				t.Errorf("memTotal = %q, want %q", got, tc.want)
			}
		})
	}
	if got := memTotal(filepath.Join(dir, "absent")); got != "" {
		t.Errorf("unreadable file gave %q", got)
	}
}

func TestListFlag(t *testing.T) {
	var l list
	for _, v := range []string{"a.txt,b.txt", " c.txt ", ",,"} {
		if err := l.Set(v); err != nil {
			t.Fatal(err)
		}
	}
	if want := (list{"a.txt", "b.txt", "c.txt"}); !reflect.DeepEqual(l, want) {
		t.Errorf("got %v, want %v", l, want)
	}
}
