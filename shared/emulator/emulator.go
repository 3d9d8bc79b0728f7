// Package emulator connects tests to the AWS protocol emulators that
// .ci/with-emulators starts (SQS and S3: fauxqs; DynamoDB: dynalite). A test
// whose emulator is not running skips, unless HOOKSTACK_REQUIRE_EMULATORS=1
// (as under `make test`), when it fails.
package emulator

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Environment variables set by .ci/with-emulators.
const (
	EnvSQS      = "HOOKSTACK_TEST_SQS_ENDPOINT"
	EnvSQSMove  = "HOOKSTACK_TEST_SQS_MOVE_ENDPOINT" // an SQS emulator with StartMessageMoveTask
	EnvS3       = "HOOKSTACK_TEST_S3_ENDPOINT"
	EnvDynamoDB = "HOOKSTACK_TEST_DYNAMODB_ENDPOINT"
	EnvRequire  = "HOOKSTACK_REQUIRE_EMULATORS"
)

// Endpoint returns the endpoint in the environment variable env, or skips
// the test (fails it when emulators are required).
func Endpoint(t testing.TB, env string) string {
	t.Helper()
	ep := os.Getenv(env)
	if ep == "" {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("%s is not set but %s=1", env, EnvRequire)
		}
		t.Skipf("%s not set; run under .ci/with-emulators", env)
	}
	return ep
}

// Config is the SDK configuration for the emulators: us-east-1, dummy
// credentials, and the SDK's buildable HTTP client (it honours
// AWS_CA_BUNDLE; a plain *http.Client makes LoadDefaultConfig fail when that
// is set). Clients set BaseEndpoint themselves.
func Config(ctx context.Context) (aws.Config, error) {
	return config.LoadDefaultConfig(ctx,
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
		config.WithHTTPClient(awshttp.NewBuildableClient()),
	)
}

// Name returns prefix followed by random hex, so tests sharing one emulator
// never share a queue, bucket or table.
func Name(prefix string, bytes int) string {
	b := make([]byte, bytes)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}
