// Package sqstest connects tests to the SQS emulator that .ci/with-emulators
// starts (HOOKSTACK_TEST_SQS_ENDPOINT). Without the endpoint a test skips,
// unless HOOKSTACK_REQUIRE_EMULATORS=1, when it fails.
package sqstest

import (
	"context"
	"testing"
	"time"

	"github.com/hookstack/hookstack/shared/emulator"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/hookstack/hookstack/shared/queue/sqsq"
)

// Environment variables set by .ci/with-emulators.
const (
	EnvEndpoint = emulator.EnvSQS
	EnvRequire  = emulator.EnvRequire
)

// Endpoint returns the emulator's endpoint, or skips (fails when emulators
// are required) the test.
func Endpoint(t testing.TB) string {
	t.Helper()
	return emulator.Endpoint(t, EnvEndpoint)
}

// ClientFor builds an SQS client for endpoint with dummy credentials. It
// uses the SDK's buildable HTTP client, which honours AWS_CA_BUNDLE.
func ClientFor(ctx context.Context, endpoint string) (*sqs.Client, error) {
	cfg, err := emulator.Config(ctx)
	if err != nil {
		return nil, err
	}
	return sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(endpoint) }), nil
}

// Client returns a client for the emulator (see Endpoint for skipping).
func Client(t testing.TB) *sqs.Client {
	t.Helper()
	c, err := ClientFor(t.Context(), Endpoint(t))
	if err != nil {
		t.Fatalf("sqs client: %v", err)
	}
	return c
}

// Prefix returns a fresh queue-name prefix ("t1a2b3c4d5e-"), so tests
// sharing one emulator never share a queue.
func Prefix() string {
	return emulator.Name("t", 5) + "-"
}

// Queues provisions names (each with its DLQ and a redrive policy after
// maxReceive receives) under a fresh prefix, deletes them when the test
// ends, and returns the adapter, the client and the logical name → URL map.
func Queues(t testing.TB, names []string, maxReceive int) (*sqsq.Queue, *sqs.Client, map[string]string) {
	t.Helper()
	client := Client(t)
	urls, err := sqsq.Provision(t.Context(), client, names, maxReceive, Prefix())
	if err != nil {
		t.Fatalf("provision queues: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, u := range urls {
			_, _ = client.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(u)})
		}
	})
	return sqsq.New(client, urls), client, urls
}
