package s3blob_test

import (
	"errors"
	"testing"

	"github.com/hookstack/hookstack/shared/blob"
	"github.com/hookstack/hookstack/shared/blob/blobtest"
	"github.com/hookstack/hookstack/shared/blob/s3blob"
	"github.com/hookstack/hookstack/shared/blob/s3blob/s3test"
)

// Against gofakes3 in-process: always runs.
func TestContractGofakes3(t *testing.T) {
	endpoint := s3test.InProcess(t)
	blobtest.Run(t, func(t *testing.T) blob.Store {
		client, bucket := s3test.Bucket(t, endpoint)
		return s3blob.New(client, bucket)
	})
}

// Against the emulator's S3 (fauxqs), under .ci/with-emulators.
func TestContractEmulator(t *testing.T) {
	endpoint := s3test.Endpoint(t)
	blobtest.Run(t, func(t *testing.T) blob.Store {
		client, bucket := s3test.Bucket(t, endpoint)
		return s3blob.New(client, bucket)
	})
}

// A reference into a bucket that does not exist is ErrNotFound; EnsureBucket
// is idempotent.
func TestMissingBucketAndEnsure(t *testing.T) {
	endpoint := s3test.InProcess(t)
	client, bucket := s3test.Bucket(t, endpoint)
	if err := s3blob.EnsureBucket(t.Context(), client, bucket); err != nil {
		t.Errorf("EnsureBucket on an existing bucket: %v", err)
	}
	s := s3blob.New(client, bucket)
	if _, err := s.Get(t.Context(), "s3://no-such-bucket-hookstack/bodies/x"); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Get from a missing bucket: %v, want ErrNotFound", err)
	}
}

func TestParseRef(t *testing.T) {
	tests := []struct {
		ref, bucket, key string
		ok               bool
	}{
		{"s3://claims/bodies/01J", "claims", "bodies/01J", true},
		{"s3://claims/a/b/c", "claims", "a/b/c", true},
		{"s3://claims/", "", "", false},
		{"s3://claims", "", "", false},
		{"s3:///key", "", "", false},
		{"s3://claims//key", "", "", false},
		{"s3://claims/../key", "", "", false},
		{"file:bodies/x", "", "", false},
		{"S3://claims/key", "", "", false},
		{"", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.ref, func(t *testing.T) {
			b, k, err := s3blob.ParseRef(tc.ref)
			if tc.ok != (err == nil) || b != tc.bucket || k != tc.key {
				t.Errorf("ParseRef(%q) = %q, %q, %v", tc.ref, b, k, err)
			}
			if err != nil && !errors.Is(err, blob.ErrInvalidRef) {
				t.Errorf("error %v is not ErrInvalidRef", err)
			}
			if err == nil && s3blob.Ref(b, k) != tc.ref {
				t.Errorf("Ref(%q, %q) does not round-trip", b, k)
			}
		})
	}
}

func FuzzParseRef(f *testing.F) {
	for _, s := range []string{"s3://b/k", "s3://b/a/b", "s3://", "s3://b//k", "file:x", "s3://b/.tmp/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		b, k, err := s3blob.ParseRef(ref)
		if err != nil {
			return
		}
		if s3blob.Ref(b, k) != ref || blob.CheckKey(k) != nil {
			t.Fatalf("ParseRef(%q) = %q, %q does not round-trip to a valid key", ref, b, k)
		}
	})
}
