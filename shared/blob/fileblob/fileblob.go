// Package fileblob is the blob.Store for `hookstack dev`: one file per key
// under a directory, references "file:<key>". Writes are atomic (temporary
// file, fsync, rename), so a reader sees the old or the new body, never a
// torn one, and a crash leaves no half-written blob.
package fileblob

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hookstack/hookstack/shared/blob"
)

// Scheme prefixes every reference.
const Scheme = "file:"

const tmpDir = ".tmp"

// Store keeps blobs under a directory.
type Store struct{ dir string }

var _ blob.Store = (*Store)(nil)

// New returns a store rooted at dir, creating it if needed.
func New(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("fileblob: empty directory")
	}
	if err := os.MkdirAll(filepath.Join(dir, tmpDir), 0o700); err != nil {
		return nil, fmt.Errorf("fileblob: %w", err)
	}
	return &Store{dir: dir}, nil
}

func (s *Store) path(key string) string {
	return filepath.Join(s.dir, filepath.FromSlash(key))
}

// Put writes body under key atomically and returns "file:<key>".
func (s *Store) Put(ctx context.Context, key string, body []byte) (string, error) {
	if err := blob.CheckKey(key); err != nil {
		return "", fmt.Errorf("fileblob put: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("fileblob put %q: %w", key, err)
	}
	dst := s.path(key)
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return "", fmt.Errorf("fileblob put %q: %w", key, err)
	}
	tmp, err := os.CreateTemp(filepath.Join(s.dir, tmpDir), "blob-*")
	if err != nil {
		return "", fmt.Errorf("fileblob put %q: %w", key, err)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(body); err != nil {
		return "", fmt.Errorf("fileblob put %q: %w", key, err)
	}
	if err := tmp.Sync(); err != nil {
		return "", fmt.Errorf("fileblob put %q: %w", key, err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("fileblob put %q: %w", key, err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", fmt.Errorf("fileblob put %q: %w", key, err)
	}
	ok = true
	syncDir(filepath.Dir(dst))
	return Scheme + key, nil
}

// syncDir makes a rename durable; best effort (not every OS supports it).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// Get reads the blob a "file:<key>" reference points at.
func (s *Store) Get(ctx context.Context, ref string) ([]byte, error) {
	key, ok := strings.CutPrefix(ref, Scheme)
	if !ok {
		return nil, fmt.Errorf("fileblob get %q: %w: want %s<key>", ref, blob.ErrInvalidRef, Scheme)
	}
	if err := blob.CheckKey(key); err != nil {
		return nil, fmt.Errorf("fileblob get %q: %w: %w", ref, blob.ErrInvalidRef, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fileblob get %q: %w", ref, err)
	}
	b, err := os.ReadFile(s.path(key))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("fileblob get %q: %w", ref, blob.ErrNotFound)
	case err != nil:
		// a directory (key "a" when "a/b" exists) is not a blob either
		var pe *fs.PathError
		if errors.As(err, &pe) && isDir(s.path(key)) {
			return nil, fmt.Errorf("fileblob get %q: %w", ref, blob.ErrNotFound)
		}
		return nil, fmt.Errorf("fileblob get %q: %w", ref, err)
	}
	return b, nil
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
