package fileblob

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/hookstack/hookstack/shared/blob"
	"github.com/hookstack/hookstack/shared/blob/blobtest"
)

func TestContract(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store {
		s, err := New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// A blob survives a new Store on the same directory (a dev server restart),
// and no temporary files are left behind.
func TestPersistsAndCleansUp(t *testing.T) {
	dir := t.TempDir()
	s, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := s.Put(t.Context(), "bodies/evt", []byte("kept"))
	if err != nil {
		t.Fatal(err)
	}
	if ref != "file:bodies/evt" {
		t.Errorf("ref = %q", ref)
	}
	s2, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s2.Get(t.Context(), ref); err != nil || string(got) != "kept" {
		t.Errorf("Get after reopen = %q, %v", got, err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "bodies", "evt")); err != nil || string(b) != "kept" {
		t.Errorf("file on disk = %q, %v", b, err)
	}
	left, _ := os.ReadDir(filepath.Join(dir, tmpDir))
	if len(left) != 0 {
		t.Errorf("%d temporary files left", len(left))
	}
}

// A key that names a directory (its blobs live below it) is not a blob.
func TestDirectoryIsNotABlob(t *testing.T) {
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(t.Context(), "bodies/a/b", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(t.Context(), "file:bodies/a"); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Get(directory) = %v, want ErrNotFound", err)
	}
}

func TestNewEmptyDir(t *testing.T) {
	if _, err := New(""); err == nil {
		t.Error("New(\"\") succeeded")
	}
}

func FuzzGetRef(f *testing.F) {
	s, err := New(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	if _, err := s.Put(f.Context(), "bodies/x", []byte("x")); err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{"file:bodies/x", "file:../x", "file:/etc/passwd", "file:", "s3://b/k", "file:a\x00b", "file:.tmp/blob-1"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		got, err := s.Get(t.Context(), ref)
		if err == nil && (ref != "file:bodies/x" || string(got) != "x") {
			t.Fatalf("Get(%q) = %q: only the one stored blob may be read", ref, got)
		}
	})
}
