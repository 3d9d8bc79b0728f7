// Package blobtest is the contract every blob.Store adapter passes
// (fileblob, s3blob against gofakes3 and the S3 emulator).
package blobtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/hookstack/hookstack/shared/blob"
)

// Run runs the contract; newStore returns an empty store per call.
func Run(t *testing.T, newStore func(t *testing.T) blob.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s blob.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"Overwrite", testOverwrite},
		{"NotFound", testNotFound},
		{"InvalidRef", testInvalidRef},
		{"InvalidKey", testInvalidKey},
		{"CanceledContext", testCanceled},
		{"ConcurrentWritersAndReaders", testConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
}

func put(t *testing.T, s blob.Store, key string, body []byte) string {
	t.Helper()
	ref, err := s.Put(t.Context(), key, body)
	if err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
	if !strings.Contains(ref, key) {
		t.Fatalf("Put(%q) = ref %q, which does not contain the key", key, ref)
	}
	return ref
}

func get(t *testing.T, s blob.Store, ref string) []byte {
	t.Helper()
	b, err := s.Get(t.Context(), ref)
	if err != nil {
		t.Fatalf("Get(%q): %v", ref, err)
	}
	return b
}

func testRoundTrip(t *testing.T, s blob.Store) {
	allBytes := make([]byte, 256)
	for i := range allBytes {
		allBytes[i] = byte(i)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 3<<20/16) // 3 MiB
	tests := []struct {
		name, key string
		body      []byte
	}{
		{"json", "bodies/01JDQ3N1ZK8Y7V5XW2T4R6P8M0", []byte(`{"id":"evt_1","amount":2000}`)},
		{"every byte value", "bodies/binary.bin", allBytes},
		{"empty", "bodies/empty", []byte{}},
		{"3 MiB", "bodies/big", big},
		{"deep key", "bodies/2026/11/29/stripe/evt_2.json", []byte("deep")},
		{"odd characters", "bodies/a b+c=d,é~!.json", []byte("odd")},
	}
	refs := map[string]bool{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ref := put(t, s, tc.key, tc.body)
			if refs[ref] {
				t.Errorf("ref %q returned for two keys", ref)
			}
			refs[ref] = true
			if got := get(t, s, ref); !bytes.Equal(got, tc.body) {
				t.Errorf("Get returned %d bytes, want the %d put", len(got), len(tc.body))
			}
		})
	}
}

func testOverwrite(t *testing.T, s blob.Store) {
	ref1 := put(t, s, "bodies/same", []byte("first"))
	ref2 := put(t, s, "bodies/same", []byte("second"))
	if ref1 != ref2 {
		t.Errorf("refs differ for one key: %q, %q", ref1, ref2)
	}
	if got := get(t, s, ref1); string(got) != "second" {
		t.Errorf("Get after overwrite = %q, want %q", got, "second")
	}
}

func testNotFound(t *testing.T, s blob.Store) {
	ref := put(t, s, "bodies/present", []byte("x"))
	for _, missing := range []string{"bodies/absent", "other/present"} {
		unknown := strings.Replace(ref, "bodies/present", missing, 1)
		_, err := s.Get(t.Context(), unknown)
		if !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("Get(%q): %v, want ErrNotFound", unknown, err)
		}
	}
}

func testInvalidRef(t *testing.T, s blob.Store) {
	ref := put(t, s, "bodies/k", []byte("x"))
	scheme, _, _ := strings.Cut(ref, ":")
	refs := []string{
		"",
		"bodies/k",             // a key is not a reference
		"http://example.com/k", // another scheme
		scheme + ":",           // no key
		strings.Replace(ref, "bodies/k", "../../etc/passwd", 1),
		strings.Replace(ref, "bodies/k", "/abs", 1),
	}
	if scheme == "file" {
		refs = append(refs, "s3://bucket/bodies/k")
	} else {
		refs = append(refs, "file:bodies/k")
	}
	for _, r := range refs {
		if _, err := s.Get(t.Context(), r); !errors.Is(err, blob.ErrInvalidRef) {
			t.Errorf("Get(%q): %v, want ErrInvalidRef", r, err)
		}
	}
}

func testInvalidKey(t *testing.T, s blob.Store) {
	for _, key := range []string{"", "/abs", "../up", "a/../b", "a//b", "a/", "./a", `a\b`, "a\x00b", ".tmp/x", strings.Repeat("k", 1025)} {
		if ref, err := s.Put(t.Context(), key, []byte("x")); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("Put(%q) = %q, %v; want ErrInvalidKey", key, ref, err)
		}
	}
}

func testCanceled(t *testing.T, s blob.Store) {
	ref := put(t, s, "bodies/c", []byte("x"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Put(ctx, "bodies/d", []byte("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("Put with a canceled context: %v", err)
	}
	if _, err := s.Get(ctx, ref); !errors.Is(err, context.Canceled) {
		t.Errorf("Get with a canceled context: %v", err)
	}
}

// Writers overwrite one key with whole bodies while readers read it: a
// reader sees one of the bodies, never a mix; distinct keys never mix.
func testConcurrent(t *testing.T, s blob.Store) {
	const writers, rounds = 4, 8
	body := func(w int) []byte { return bytes.Repeat([]byte{byte('a' + w)}, 64<<10) }
	ref := put(t, s, "bodies/contended", body(0))
	var wg sync.WaitGroup
	errc := make(chan error, 2*writers*rounds)
	for w := range writers {
		wg.Go(func() {
			for i := range rounds {
				if _, err := s.Put(t.Context(), "bodies/contended", body(w)); err != nil {
					errc <- err
				}
				own := fmt.Sprintf("bodies/w%d/%d", w, i)
				r, err := s.Put(t.Context(), own, []byte(own))
				if err != nil {
					errc <- err
					continue
				}
				if got, err := s.Get(t.Context(), r); err != nil || string(got) != own {
					errc <- fmt.Errorf("Get(%s) = %q, %v", r, got, err)
				}
			}
		})
		wg.Go(func() {
			for range rounds {
				got, err := s.Get(t.Context(), ref)
				if err != nil {
					errc <- err
					continue
				}
				if len(got) != 64<<10 || bytes.Count(got, got[:1]) != len(got) {
					errc <- fmt.Errorf("torn read: %d bytes starting %q", len(got), got[:min(len(got), 8)])
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
}
