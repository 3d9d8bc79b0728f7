package dynamostore_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/hookstack/hookstack/shared/store"
	"github.com/hookstack/hookstack/shared/store/dynamostore"
	"github.com/hookstack/hookstack/shared/store/dynamostore/dynamotest"
	"github.com/hookstack/hookstack/shared/store/storetest"
)

// The contract against the DynamoDB emulator (dynalite), one fresh table per
// subtest.
func TestContract(t *testing.T) {
	dynamotest.Endpoint(t)
	storetest.Run(t, func(t *testing.T) store.Store { return dynamotest.Store(t) })
}

// The client is built the way functions build it — config.LoadDefaultConfig
// on awshttp.NewBuildableClient() (honours AWS_CA_BUNDLE) plus BaseEndpoint —
// and CreateTable makes the table the store expects, idempotently.
func TestClientAndCreateTable(t *testing.T) {
	endpoint := dynamotest.Endpoint(t)
	client, err := dynamotest.ClientFor(t.Context(), endpoint)
	if err != nil {
		t.Fatalf("ClientFor: %v", err)
	}
	opts := client.Options()
	if _, ok := opts.HTTPClient.(*awshttp.BuildableClient); !ok {
		t.Errorf("HTTP client is %T, want *awshttp.BuildableClient", opts.HTTPClient)
	}
	if aws.ToString(opts.BaseEndpoint) != endpoint {
		t.Errorf("BaseEndpoint = %q, want %q", aws.ToString(opts.BaseEndpoint), endpoint)
	}

	name := dynamotest.TableName()
	for i := range 2 { // the second call finds the table and succeeds
		if err := dynamostore.CreateTable(t.Context(), client, name); err != nil {
			t.Fatalf("CreateTable #%d: %v", i+1, err)
		}
	}
	t.Cleanup(func() { _ = dynamostore.DeleteTable(context.Background(), client, name) })

	d, err := client.DescribeTable(t.Context(), &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	tb := d.Table
	if tb.TableStatus != types.TableStatusActive {
		t.Errorf("status %s, want ACTIVE", tb.TableStatus)
	}
	if tb.BillingModeSummary == nil || tb.BillingModeSummary.BillingMode != types.BillingModePayPerRequest {
		t.Errorf("billing mode %+v, want PAY_PER_REQUEST", tb.BillingModeSummary)
	}
	if got := keySchema(tb.KeySchema); got != "pk:HASH,sk:RANGE" {
		t.Errorf("key schema %s", got)
	}
	if len(tb.GlobalSecondaryIndexes) != 1 {
		t.Fatalf("GSIs: %+v, want gsi1", tb.GlobalSecondaryIndexes)
	}
	g := tb.GlobalSecondaryIndexes[0]
	if aws.ToString(g.IndexName) != dynamostore.IndexGSI1 || keySchema(g.KeySchema) != "gsi1pk:HASH,gsi1sk:RANGE" ||
		g.Projection == nil || g.Projection.ProjectionType != types.ProjectionTypeAll {
		t.Errorf("gsi1 = %s %s %+v", aws.ToString(g.IndexName), keySchema(g.KeySchema), g.Projection)
	}

	// The store works on it.
	s := dynamostore.New(client, name)
	if _, err := s.Put(t.Context(), store.Record{Kind: "payment", Key: "pi_1", Data: json.RawMessage(`{}`)}, 0); err != nil {
		t.Fatal(err)
	}
	if err := dynamostore.DeleteTable(t.Context(), client, name); err != nil {
		t.Fatal(err)
	}
	if err := dynamostore.DeleteTable(t.Context(), client, name); err != nil {
		t.Errorf("DeleteTable of a missing table: %v", err)
	}
	// A missing table is a configuration error, not a transient one.
	_, err = s.Get(t.Context(), "payment", "pi_1")
	if err == nil || store.IsTransient(err) || errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get on a deleted table: %v, want a permanent error", err)
	}
}

func keySchema(ks []types.KeySchemaElement) string {
	parts := make([]string, len(ks))
	for i, k := range ks {
		parts[i] = aws.ToString(k.AttributeName) + ":" + string(k.KeyType)
	}
	return strings.Join(parts, ",")
}

// fakeDynamo answers every request with one DynamoDB JSON error, as the
// service does, and counts the requests.
func fakeDynamo(t *testing.T, status int, errType string) (*dynamodb.Client, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"__type":"com.amazonaws.dynamodb.v20120810#` + errType + `","message":"injected"}`))
	}))
	t.Cleanup(srv.Close)
	return clientAt(t, srv.URL), &calls
}

func clientAt(t *testing.T, endpoint string) *dynamodb.Client {
	t.Helper()
	c, err := dynamotest.ClientFor(t.Context(), endpoint)
	if err != nil {
		t.Fatal(err)
	}
	return dynamodb.New(c.Options(), func(o *dynamodb.Options) {
		o.RetryMaxAttempts = 1 // one request per call: the test sees the classification, not the SDK's retries
	})
}

// The SDK's real error decoding: throttling and server errors come back
// transient and wrapped in ErrUnavailable; a failed condition is
// ErrConflict; validation errors are permanent. No emulator needed.
func TestErrorClassification(t *testing.T) {
	rec := store.Record{Kind: "payment", Key: "pi_1", Data: json.RawMessage(`{}`)}
	tests := []struct {
		status    int
		errType   string
		transient bool
		is        error
	}{
		{400, "ProvisionedThroughputExceededException", true, store.ErrUnavailable},
		{400, "ThrottlingException", true, store.ErrUnavailable},
		{400, "RequestLimitExceeded", true, store.ErrUnavailable},
		{500, "InternalServerError", true, store.ErrUnavailable},
		{503, "ServiceUnavailable", true, store.ErrUnavailable},
		{400, "ConditionalCheckFailedException", true, store.ErrConflict},
		{400, "ValidationException", false, nil},
		{400, "ResourceNotFoundException", false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.errType, func(t *testing.T) {
			client, calls := fakeDynamo(t, tc.status, tc.errType)
			s := dynamostore.New(client, "t")
			_, err := s.Put(t.Context(), rec, 0)
			if err == nil {
				t.Fatal("Put succeeded against a failing endpoint")
			}
			if got := store.IsTransient(err); got != tc.transient {
				t.Errorf("IsTransient(%v) = %v, want %v", err, got, tc.transient)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("%v is not %v", err, tc.is)
			}
			if tc.is == nil && (errors.Is(err, store.ErrUnavailable) || errors.Is(err, store.ErrConflict)) {
				t.Errorf("%v wrongly classified", err)
			}
			if calls.Load() != 1 {
				t.Errorf("%d requests, want 1", calls.Load())
			}
		})
	}
}

// A table that cannot be reached (connection refused) is transient.
func TestUnreachableIsTransient(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	s := dynamostore.New(clientAt(t, "http://"+addr), "t")
	_, err = s.Get(t.Context(), "payment", "pi_1")
	if !store.IsTransient(err) || !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Get from a closed port: %v, want transient ErrUnavailable", err)
	}
}

func BenchmarkDynamoPut(b *testing.B) {
	dynamotest.Endpoint(b)
	storetest.BenchPut(b, dynamotest.Store(b))
}
