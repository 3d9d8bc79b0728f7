package hookstack

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/jsii-runtime-go"
)

func TestCheckAssets(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(dir string) error
		wantErr error
		wantMsg []string
	}{
		{"all arm64", func(dir string) error { return writeDummyBootstraps(dir, Functions, 183) }, nil, nil},
		{"nothing built", func(string) error { return nil }, ErrAssetMissing,
			[]string{"ingest/bootstrap not found: run `make build` first", "deliverer/bootstrap not found"}},
		{"one missing", func(dir string) error {
			return writeDummyBootstraps(dir, []string{"ingest", "payments", "inventory", "leads", "fanout", "deliverer"}, 183)
		}, ErrAssetMissing, []string{"relay/bootstrap not found"}},
		{"built for amd64", func(dir string) error { return writeDummyBootstraps(dir, Functions, 62) }, ErrAssetArch,
			[]string{"EM_X86_64", "GOARCH=arm64"}},
		{"not an executable", func(dir string) error {
			if err := writeDummyBootstraps(dir, Functions, 183); err != nil {
				return err
			}
			return os.WriteFile(BootstrapPath(dir, "leads"), []byte("#!/bin/sh\n"), 0o755)
		}, ErrAssetArch, []string{"leads/bootstrap"}},
		{"bootstrap is a directory", func(dir string) error {
			if err := writeDummyBootstraps(dir, Functions, 183); err != nil {
				return err
			}
			p := BootstrapPath(dir, "fanout")
			if err := os.Remove(p); err != nil {
				return err
			}
			return os.Mkdir(p, 0o755)
		}, ErrAssetArch, []string{"fanout/bootstrap"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := tc.setup(dir); err != nil {
				t.Fatal(err)
			}
			err := CheckAssets(dir, Functions)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			for _, m := range tc.wantMsg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("err %q lacks %q", err, m)
				}
			}
		})
	}
}

// TestStackRefusesMissingAssets: the stack is not built (and so synth fails
// with the message) when `make build` has not run.
func TestStackRefusesMissingAssets(t *testing.T) {
	cfg := DefaultConfig()
	cfg.AssetsDir = filepath.Join("testdata", "no-such-bin")
	_, err := NewHookstackStack(nil, jsii.String("Hookstack"), &HookstackStackProps{Config: cfg})
	want := filepath.Join("testdata", "no-such-bin", "ingest", "bootstrap") + " not found: run `make build` first"
	if !errors.Is(err, ErrAssetMissing) || !strings.Contains(err.Error(), want) {
		t.Fatalf("err %v, want %q", err, want)
	}
}
