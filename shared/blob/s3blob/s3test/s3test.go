// Package s3test gives tests an S3 endpoint: the emulator started by
// .ci/with-emulators (HOOKSTACK_TEST_S3_ENDPOINT; skip when unset unless
// HOOKSTACK_REQUIRE_EMULATORS=1), or gofakes3 in-process (always there).
package s3test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/hookstack/hookstack/shared/emulator"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/hookstack/hookstack/shared/blob/s3blob"
)

// Environment variables set by .ci/with-emulators.
const (
	EnvEndpoint = emulator.EnvS3
	EnvRequire  = emulator.EnvRequire
)

// Endpoint returns the emulator's S3 endpoint, or skips (fails when
// emulators are required) the test.
func Endpoint(t testing.TB) string {
	t.Helper()
	return emulator.Endpoint(t, EnvEndpoint)
}

// InProcess starts gofakes3 on an httptest server for the test's lifetime
// and returns its endpoint.
func InProcess(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	return srv.URL
}

// ClientFor builds a path-style S3 client for endpoint with dummy
// credentials, on the SDK's buildable HTTP client (honours AWS_CA_BUNDLE).
func ClientFor(ctx context.Context, endpoint string) (*s3.Client, error) {
	cfg, err := emulator.Config(ctx)
	if err != nil {
		return nil, err
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.UsePathStyle = true
		// Emulators send no response checksums; the SDK would log that per GET.
		o.DisableLogOutputChecksumValidationSkipped = true
	}), nil
}

// Bucket creates a fresh bucket at endpoint and returns a client and its name.
func Bucket(t testing.TB, endpoint string) (*s3.Client, string) {
	t.Helper()
	client, err := ClientFor(t.Context(), endpoint)
	if err != nil {
		t.Fatalf("s3 client: %v", err)
	}
	bucket := emulator.Name("hookstack-test-", 6)
	if err := s3blob.EnsureBucket(t.Context(), client, bucket); err != nil {
		t.Fatalf("%v", err)
	}
	return client, bucket
}
