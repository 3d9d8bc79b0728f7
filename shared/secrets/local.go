package secrets

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hookstack/hookstack/shared/signature"
)

// LoadLocal returns the dev server's secrets: HOOKSTACK_SECRET_<PROVIDER>
// when set, else the ones persisted in path, else newly generated ones
// (persisted, so restarts keep them). generated lists the providers whose
// secret was made now.
func LoadLocal(path string, getenv func(string) string, providers []string) (s Static, generated []string, err error) {
	stored := map[string][]string{}
	raw, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	default:
		if err := json.Unmarshal(raw, &stored); err != nil {
			return nil, nil, fmt.Errorf("%s is not a JSON object of provider → secrets: %w", path, err)
		}
	}
	s, err = LoadEnv(getenv, providers)
	if err != nil {
		return nil, nil, err
	}
	changed := false
	for _, p := range providers {
		if _, ok := s[p]; ok {
			continue
		}
		if v := stored[p]; len(v) > 0 {
			if err := Check(p, v); err != nil {
				return nil, nil, fmt.Errorf("%s: %w (fix it with `hookstack secrets set %s`, or delete it to have one generated)", path, err, p)
			}
			s[p] = v
			continue
		}
		secret, err := signature.GenerateSecret(p)
		if err != nil {
			return nil, nil, err
		}
		stored[p] = []string{secret}
		s[p] = stored[p]
		generated = append(generated, p)
		changed = true
	}
	if changed {
		if err := writeJSON(path, stored); err != nil {
			return nil, nil, err
		}
	}
	return s, generated, nil
}

// SetLocal prepends secret to a provider's list in the dev server's file
// (rotation: the old one stays active until retired).
func SetLocal(path, provider, secret string) ([]string, error) {
	return editLocal(path, func(m map[string][]string) {
		list := []string{secret}
		for _, s := range m[provider] {
			if s != secret {
				list = append(list, s)
			}
		}
		m[provider] = list
	}, provider)
}

// RetireLocal keeps only the newest secret of a provider.
func RetireLocal(path, provider string) ([]string, error) {
	return editLocal(path, func(m map[string][]string) {
		if len(m[provider]) > 1 {
			m[provider] = m[provider][:1]
		}
	}, provider)
}

func editLocal(path string, fn func(map[string][]string), provider string) ([]string, error) {
	m := map[string][]string{}
	if raw, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	fn(m)
	if err := writeJSON(path, m); err != nil {
		return nil, err
	}
	return m[provider], nil
}

func writeJSON(path string, v any) error {
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(raw, '\n'), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	return nil
}

// Mask shows only a secret's start, for start-up tables.
func Mask(s string) string {
	if len(s) <= 10 {
		return strings.Repeat("•", len(s))
	}
	return s[:8] + "…"
}
