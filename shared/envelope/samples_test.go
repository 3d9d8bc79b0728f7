package envelope

import (
	"bufio"
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Sample files follow the events/ convention: <dir>/<provider>/<name>.<ext>,
// body bytes exactly as sent, with an optional <name>.headers sidecar of
// "Name: value" lines (blank lines and # comments ignored).

// loadSample reads a sample body and its sidecar headers (empty when absent).
func loadSample(t testing.TB, path string) (http.Header, []byte) {
	t.Helper()
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read sample: %v", err)
	}
	h := http.Header{}
	sidecar := strings.TrimSuffix(path, filepath.Ext(path)) + ".headers"
	raw, err := os.ReadFile(sidecar)
	switch {
	case err == nil:
		h, err = parseHeaders(raw)
		if err != nil {
			t.Fatalf("%s: %v", sidecar, err)
		}
	case !os.IsNotExist(err):
		t.Fatalf("read sidecar: %v", err)
	}
	return h, body
}

func parseHeaders(raw []byte) (http.Header, error) {
	h := http.Header{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return nil, &headerLineError{line}
		}
		h.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	return h, sc.Err()
}

type headerLineError struct{ line string }

func (e *headerLineError) Error() string { return "header line without colon: " + e.line }

// sampleFiles lists the body files (not sidecars, not dotfiles or READMEs)
// in dir/<provider>/.
func sampleFiles(t testing.TB, dir, provider string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, provider))
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		t.Fatalf("list samples: %v", err)
	}
	var files []string
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || strings.HasSuffix(name, ".headers") || strings.HasPrefix(name, ".") ||
			strings.HasPrefix(strings.ToUpper(name), "README") {
			continue
		}
		files = append(files, filepath.Join(dir, provider, name))
	}
	return files
}
