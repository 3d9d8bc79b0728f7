package rie

import (
	"os"
	"path/filepath"
	"testing"
)

// Environment variables `make test` sets for tests of the built bootstraps.
const (
	EnvLambdaBin = "HOOKSTACK_LAMBDA_BIN" // folder with <function>/bootstrap (linux/amd64)
	EnvEmulator  = "HOOKSTACK_RIE"        // path of aws-lambda-rie
)

// StartBuilt runs the built bootstrap of function under the emulator for the
// test's lifetime, with env as its environment; it prints the function's
// logs when the test fails. Without the two variables the test skips, or
// fails when HOOKSTACK_REQUIRE_EMULATORS=1 (as under `make test`).
func StartBuilt(t testing.TB, function string, env []string) *Function {
	t.Helper()
	bin, emu := os.Getenv(EnvLambdaBin), os.Getenv(EnvEmulator)
	if bin == "" || emu == "" {
		if os.Getenv("HOOKSTACK_REQUIRE_EMULATORS") == "1" {
			t.Fatalf("%s and %s must be set (make test sets them)", EnvLambdaBin, EnvEmulator)
		}
		t.Skipf("%s/%s not set: run `make test`", EnvLambdaBin, EnvEmulator)
	}
	f, err := Start(t.Context(), Options{Emulator: emu, Bootstrap: filepath.Join(bin, function, "bootstrap"), Env: env})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.Stop()
		if t.Failed() {
			t.Logf("%s: emulator and function logs:\n%s", function, f.Logs())
		}
	})
	return f
}
