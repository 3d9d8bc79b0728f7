package hookstack

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Environment of TestCLISynth.
const (
	// EnvSynthCheck=1 runs the real CDK CLI (`cdk synth --quiet`) against
	// the app; `make synth-check` sets it.
	EnvSynthCheck = "HOOKSTACK_CDK_SYNTH_CHECK"
	// EnvSynthAssets points the CLI synth at real assets (e.g. bin) instead
	// of dummy arm64 bootstraps.
	EnvSynthAssets = "HOOKSTACK_CDK_SYNTH_ASSETS"
)

// TestCLISynth runs the CDK CLI the way `make synth` does and checks the
// cloud assembly: the template exists and holds the 7 functions, cdk-nag's
// report has no unsuppressed error, and a synth without assets fails with
// the message that says to run `make build`.
func TestCLISynth(t *testing.T) {
	if os.Getenv(EnvSynthCheck) != "1" {
		t.Skipf("set %s=1 to run the CDK CLI synth (make synth-check)", EnvSynthCheck)
	}
	cdk := filepath.Join(testRoot, "node_modules", ".bin", "cdk")
	if _, err := os.Stat(cdk); err != nil {
		t.Fatalf("CDK CLI missing (%v): run `npm ci --prefer-offline`", err)
	}
	run := func(t *testing.T, out string, args ...string) ([]byte, error) {
		t.Helper()
		cmd := exec.Command(cdk, append([]string{"synth", "--quiet", "-o", out}, args...)...)
		cmd.Dir = testRoot
		cmd.Env = append(os.Environ(),
			"CDK_HOME="+filepath.Join(testRoot, ".cache", "cdk-home"),
			"JSII_RUNTIME_PACKAGE_CACHE_ROOT="+filepath.Join(testRoot, ".cache", "jsii-runtime"),
			"CDK_DISABLE_CLI_TELEMETRY=true",
			"CDK_DISABLE_VERSION_CHECK=1",
			"JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20",
		)
		start := time.Now()
		b, err := cmd.CombinedOutput()
		t.Logf("cdk %s: %s", strings.Join(args, " "), time.Since(start).Round(100*time.Millisecond))
		return b, err
	}

	t.Run("synth", func(t *testing.T) {
		assets := os.Getenv(EnvSynthAssets)
		if assets == "" {
			assets = testAssets
		}
		out := t.TempDir()
		if b, err := run(t, out, "-c", "assetsDir="+assets); err != nil {
			t.Fatalf("cdk synth: %v\n%s", err, b)
		}
		raw, err := os.ReadFile(filepath.Join(out, "Hookstack.template.json"))
		if err != nil {
			t.Fatalf("template: %v", err)
		}
		var tmpl struct {
			Resources map[string]struct {
				Type       string
				Properties map[string]any
			}
		}
		if err := json.Unmarshal(raw, &tmpl); err != nil {
			t.Fatalf("parse template: %v", err)
		}
		var fns []string
		for id, r := range tmpl.Resources {
			if r.Type == "AWS::Lambda::Function" && r.Properties["Runtime"] == "provided.al2023" {
				fns = append(fns, id)
			}
		}
		if len(fns) != len(Functions) {
			t.Errorf("%d provided.al2023 functions, want %d: %v", len(fns), len(Functions), fns)
		}
		reports, _ := filepath.Glob(filepath.Join(out, "AwsSolutions-*Hookstack-NagReport.csv"))
		if len(reports) != 1 {
			t.Fatalf("cdk-nag reports %v, want one", reports)
		}
		report, err := os.Open(reports[0])
		if err != nil {
			t.Fatalf("cdk-nag report: %v", err)
		}
		defer report.Close()
		rows, err := csv.NewReader(report).ReadAll()
		if err != nil {
			t.Fatalf("cdk-nag report: %v", err)
		}
		if len(rows) < 2 {
			t.Fatalf("cdk-nag report has %d rows", len(rows))
		}
		for _, row := range rows[1:] { // Rule ID, Resource ID, Compliance, Exception Reason, Rule Level, Rule Info
			if len(row) >= 5 && row[2] == "Non-Compliant" && row[4] == "Error" {
				t.Errorf("cdk-nag: %s on %s", row[0], row[1])
			}
		}
	})

	t.Run("missing assets", func(t *testing.T) {
		empty := t.TempDir()
		b, err := run(t, t.TempDir(), "-c", "assetsDir="+empty)
		if err == nil {
			t.Fatalf("synth without assets succeeded:\n%s", b)
		}
		want := filepath.Join(empty, "ingest", "bootstrap") + " not found: run `make build` first"
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("output lacks %q:\n%s", want, b)
		}
	})
}
