package main

import (
	"errors"
	"testing"
)

func TestParseBackend(t *testing.T) {
	tests := []struct {
		value, want string
		err         bool
	}{
		{"", "", false},
		{"local", backendLocal, false},
		{"aws", backendAWS, false},
		{"AWS", backendAWS, false},
		{" Aws\n", backendAWS, false},
		{"LOCAL", backendLocal, false},
		{"cloud", "", true},
		{"aws,local", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			got, err := parseBackend(func(k string) string {
				if k == "HOOKSTACK_BACKEND" {
					return tt.value
				}
				return ""
			})
			if (err != nil) != tt.err || got != tt.want {
				t.Fatalf("parseBackend(%q) = %q, %v", tt.value, got, err)
			}
			if tt.err && !errors.Is(err, errUnknownBackend) {
				t.Fatalf("err = %v, want errUnknownBackend", err)
			}
		})
	}
}

// Every command that chooses a backend reads HOOKSTACK_BACKEND the same way:
// "AWS" is aws (no error), "cloud" the same error everywhere.
func TestBackendParsedAlike(t *testing.T) {
	down := closedURL(t)
	for _, args := range [][]string{
		{"endpoints", "list"}, {"dlq", "list"}, {"replay", "evt_1"}, {"tail"},
		{"secrets", "retire", "stripe", "--data", t.TempDir()},
	} {
		t.Run(args[0], func(t *testing.T) {
			_, _, err := execute(t, map[string]string{"HOOKSTACK_BACKEND": "cloud", "HOOKSTACK_DEV_URL": down}, "", args...)
			if !errors.Is(err, errUnknownBackend) {
				t.Fatalf("HOOKSTACK_BACKEND=cloud: err = %v", err)
			}
			_, _, err = execute(t, map[string]string{"HOOKSTACK_BACKEND": " Local ", "HOOKSTACK_DEV_URL": down}, "", args...)
			if errors.Is(err, errUnknownBackend) {
				t.Fatalf("HOOKSTACK_BACKEND=' Local ': err = %v", err)
			}
		})
	}
	t.Run("dev", func(t *testing.T) {
		_, _, err := execute(t, map[string]string{"HOOKSTACK_BACKEND": "cloud"}, "", "dev", "--data", t.TempDir(), "--addr", "127.0.0.1:0")
		if !errors.Is(err, errUnknownBackend) {
			t.Fatalf("dev: err = %v", err)
		}
	})
}
