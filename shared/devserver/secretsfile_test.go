package devserver

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookstack/hookstack/shared/secrets"
	"github.com/hookstack/hookstack/shared/signature"
)

// `hookstack secrets set` while the dev server runs: the next webhook
// signed with the new secret verifies, without a restart.
func TestSecretRotationWhileRunning(t *testing.T) {
	dir := t.TempDir()
	base, stop := startDev(t, dir, nil) // generated secrets, in secrets.json
	defer stop()
	fresh, err := signature.GenerateSecret("stripe")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := secrets.SetLocal(filepath.Join(dir, "secrets.json"), "stripe", fresh); err != nil {
		t.Fatal(err)
	}
	// Signed as the CLI signs: with the newest secret of the file.
	sendSample(t, base, fresh, "stripe", "payment_intent.succeeded", nil)
	// And the inspector's "Send test event" signs with it too.
	if code, res := postJSON(t, base+"/api/samples/send", `{"provider":"stripe","event":"payment_intent.succeeded"}`); code != 200 || res["status"] != float64(200) {
		t.Fatalf("send after rotation = %d %v", code, res)
	}
}

func TestFileSecretsReadsTheFileOnlyWhenItChanges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secrets.json")
	write := func(m map[string][]string) {
		t.Helper()
		raw, _ := json.Marshal(m)
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	write(map[string][]string{"stripe": {"whsec_a"}, "github": {"gh_a"}})
	env := map[string]string{"HOOKSTACK_SECRET_SHOPIFY": "env_shop"}
	initial, _, err := secrets.LoadLocal(path, func(k string) string { return env[k] }, []string{"stripe", "github", "shopify"})
	if err != nil {
		t.Fatal(err)
	}
	f := newFileSecrets(path, func(k string) string { return env[k] }, []string{"stripe", "github", "shopify"}, initial, nil)
	first := func(p string) string {
		t.Helper()
		v, err := f.Secrets(context.Background(), p)
		if err != nil || len(v) == 0 {
			t.Fatalf("Secrets(%s) = %v, %v", p, v, err)
		}
		return v[0]
	}
	steps := []struct {
		name   string
		change func()
		want   map[string]string // provider → newest secret
	}{
		{"unchanged", nil, map[string]string{"stripe": "whsec_a", "github": "gh_a", "shopify": "env_shop"}},
		{"rotated", func() {
			write(map[string][]string{"stripe": {"whsec_b", "whsec_a"}, "github": {"gh_a"}, "shopify": {"file_shop"}})
		},
			map[string]string{"stripe": "whsec_b", "github": "gh_a", "shopify": "env_shop"}}, // the environment still wins
		{"a provider dropped from the file keeps its secrets", func() { write(map[string][]string{"stripe": {"whsec_c"}}) },
			map[string]string{"stripe": "whsec_c", "github": "gh_a"}},
		{"a broken file keeps the secrets in use", func() {
			if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, map[string]string{"stripe": "whsec_c", "github": "gh_a"}},
		{"a removed file keeps the secrets in use", func() { _ = os.Remove(path) }, map[string]string{"stripe": "whsec_c"}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if s.change != nil {
				s.change()
			}
			for p, want := range s.want {
				if got := first(p); got != want {
					t.Fatalf("%s: newest = %q, want %q", p, got, want)
				}
			}
		})
	}

	t.Run("no parse while unchanged", func(t *testing.T) {
		write(map[string][]string{"stripe": {"whsec_d"}})
		first("stripe")
		f.mu.Lock()
		seen := f.seen
		f.mu.Unlock()
		// Replace the cached secrets behind the file's back: an unchanged
		// file must not be read again, so the replacement is what answers.
		f.mu.Lock()
		f.current = secrets.Static{"stripe": {"cached"}}
		f.mu.Unlock()
		for range 3 {
			if got := first("stripe"); got != "cached" {
				t.Fatalf("the unchanged file was read again: %q", got)
			}
		}
		f.mu.Lock()
		same := f.seen == seen
		f.mu.Unlock()
		if !same {
			t.Fatal("file info replaced without a change")
		}
		// Touching it (a new modification time) reads it again.
		later := time.Now().Add(2 * time.Second)
		if err := os.Chtimes(path, later, later); err != nil {
			t.Fatal(err)
		}
		if got := first("stripe"); got != "whsec_d" {
			t.Fatalf("after a change: %q", got)
		}
	})
}

// TestFileSecretsKeepsUsableSecrets: a re-read file whose secret no verifier
// can use (a standard secret that is not base64) keeps the provider's
// secrets in use, and the warning names the provider, never the value.
func TestFileSecretsKeepsUsableSecrets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secrets.json")
	good := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	write := func(v string) {
		t.Helper()
		raw, _ := json.Marshal(map[string][]string{"standard": {v}})
		if err := os.WriteFile(path+".tmp", raw, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".tmp", path); err != nil {
			t.Fatal(err)
		}
	}
	write(good)
	none := func(string) string { return "" }
	initial, _, err := secrets.LoadLocal(path, none, []string{"standard"})
	if err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	f := newFileSecrets(path, none, []string{"standard"}, initial, slog.New(slog.NewJSONHandler(&logs, nil)))
	write("whsec_not!base64*secret")
	got, err := f.Secrets(context.Background(), "standard")
	if err != nil || len(got) != 1 || got[0] != good {
		t.Fatalf("Secrets = %v, %v; want the usable %q kept", got, err, good)
	}
	if !strings.Contains(logs.String(), `"provider":"standard"`) || strings.Contains(logs.String(), "not!base64") {
		t.Fatalf("warning should name the provider and never the value: %s", logs.String())
	}
}
