package devserver

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"sync"

	"github.com/hookstack/hookstack/shared/ingest"
	"github.com/hookstack/hookstack/shared/secrets"
)

// fileSecrets is the dev server's secret source: HOOKSTACK_SECRET_<PROVIDER>
// when set, else the secrets file (.hookstack/secrets.json), read again
// whenever the file changes, so that `hookstack secrets set` (which writes
// the file and signs with its newest secret) verifies without a restart.
// Each lookup costs one stat of the file; it is parsed only when its
// modification time, size or identity changed (the CLI replaces it with a
// rename). A file that cannot be read or parsed keeps the secrets in use,
// and so does a provider it no longer lists.
type fileSecrets struct {
	path      string
	getenv    func(string) string
	providers []string
	log       *slog.Logger

	mu      sync.Mutex
	seen    os.FileInfo // the file as last read (nil: not read)
	current secrets.Static
}

// newFileSecrets starts from initial, the secrets read at start-up from path.
func newFileSecrets(path string, getenv func(string) string, providers []string, initial secrets.Static, log *slog.Logger) *fileSecrets {
	f := &fileSecrets{path: path, getenv: getenv, providers: providers, log: log, current: initial}
	if fi, err := os.Stat(path); err == nil {
		f.seen = fi
	}
	return f
}

// Secrets implements ingest.SecretSource.
func (f *fileSecrets) Secrets(ctx context.Context, provider string) ([]string, error) {
	return f.load().Secrets(ctx, provider)
}

// load returns the secrets, reading the file again when it changed.
func (f *fileSecrets) load() secrets.Static {
	fi, err := os.Stat(f.path)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil || (f.seen != nil && os.SameFile(fi, f.seen) && fi.ModTime().Equal(f.seen.ModTime()) && fi.Size() == f.seen.Size()) {
		return f.current
	}
	f.seen = fi
	raw, err := os.ReadFile(f.path)
	var stored map[string][]string
	if err == nil {
		err = json.Unmarshal(raw, &stored)
	}
	if err != nil {
		// Not err's text: a JSON syntax error can quote the file's bytes.
		if f.log != nil {
			f.log.Warn("secrets file changed but is not a JSON object of secret lists; keeping the secrets in use", "path", f.path)
		}
		return f.current
	}
	next := secrets.FromEnv(f.getenv, f.providers)
	for _, p := range f.providers {
		if _, ok := next[p]; ok {
			continue
		}
		v := stored[p]
		if err := secrets.Check(p, v); err != nil {
			// The error names the position and the problem, never the value.
			if f.log != nil {
				f.log.Warn("secrets file changed but holds a secret no verifier can use; keeping that provider's secrets in use",
					"path", f.path, "provider", p, "error", err.Error())
			}
			v = nil
		}
		if len(v) > 0 {
			next[p] = v
		} else if v := f.current[p]; len(v) > 0 {
			next[p] = v
		}
	}
	f.current = next
	if f.log != nil {
		f.log.Info("secrets file read again", "path", f.path)
	}
	return next
}

var _ ingest.SecretSource = (*fileSecrets)(nil)
