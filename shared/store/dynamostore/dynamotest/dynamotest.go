// Package dynamotest connects tests to the DynamoDB emulator that
// .ci/with-emulators starts (HOOKSTACK_TEST_DYNAMODB_ENDPOINT). Without the
// endpoint a test skips, unless HOOKSTACK_REQUIRE_EMULATORS=1, when it fails.
package dynamotest

import (
	"context"
	"testing"
	"time"

	"github.com/hookstack/hookstack/shared/emulator"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/hookstack/hookstack/shared/store/dynamostore"
)

// Environment variables set by .ci/with-emulators.
const (
	EnvEndpoint = emulator.EnvDynamoDB
	EnvRequire  = emulator.EnvRequire
)

// Endpoint returns the emulator's endpoint, or skips (fails when emulators
// are required) the test or benchmark.
func Endpoint(t testing.TB) string {
	t.Helper()
	return emulator.Endpoint(t, EnvEndpoint)
}

// ClientFor builds a DynamoDB client for endpoint with dummy credentials:
// config.LoadDefaultConfig on the SDK's buildable HTTP client (which honours
// AWS_CA_BUNDLE; a plain *http.Client would make LoadDefaultConfig fail when
// it is set) and BaseEndpoint.
func ClientFor(ctx context.Context, endpoint string) (*dynamodb.Client, error) {
	cfg, err := emulator.Config(ctx)
	if err != nil {
		return nil, err
	}
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(endpoint) }), nil
}

// Client returns a client for the emulator (see Endpoint for skipping).
func Client(t testing.TB) *dynamodb.Client {
	t.Helper()
	c, err := ClientFor(t.Context(), Endpoint(t))
	if err != nil {
		t.Fatalf("dynamodb client: %v", err)
	}
	return c
}

// TableName returns a fresh table name, so tests sharing one emulator never
// share a table.
func TableName() string {
	return emulator.Name("hookstack-test-", 6)
}

// Table creates a fresh table with dynamostore.CreateTable, deletes it when
// the test ends, and returns the client and its name.
func Table(t testing.TB) (*dynamodb.Client, string) {
	t.Helper()
	client := Client(t)
	name := TableName()
	if err := dynamostore.CreateTable(t.Context(), client, name); err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := dynamostore.DeleteTable(ctx, client, name); err != nil {
			t.Logf("cleanup: %v", err)
		}
	})
	return client, name
}

// Store returns a dynamostore.Store with opts on a fresh table (see Table).
// Without options no record kind is listable (dynamostore.New): pass the
// production constructor's dynamostore.ListKinds, or dynamostore.ListAll.
func Store(t testing.TB, opts ...dynamostore.Option) *dynamostore.Store {
	t.Helper()
	client, name := Table(t)
	return dynamostore.New(client, name, opts...)
}
