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
	"time"

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
// subtest, every kind indexed (the suite lists several kinds).
func TestContract(t *testing.T) {
	dynamotest.Endpoint(t)
	storetest.Run(t, func(t *testing.T) store.Store { return dynamotest.Store(t, dynamostore.ListAll()) })
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

// gsi1 is sparse: only the kinds given to ListKinds (and the notifications
// log) carry gsi1pk/gsi1sk; the others still round-trip through Get, Put and
// ClearOutbox, and List on them is ErrNotListable.
func TestSparseIndex(t *testing.T) {
	client, name := dynamotest.Table(t)
	ctx := t.Context()
	s := dynamostore.New(client, name, dynamostore.ListKinds("endpoint"), dynamostore.ListKinds("delivery-attempt"))
	dense := dynamostore.New(client, name, dynamostore.ListAll())

	indexed := func(t *testing.T, pk, sk string) bool {
		t.Helper()
		out, err := client.GetItem(ctx, &dynamodb.GetItemInput{
			TableName: aws.String(name),
			Key: map[string]types.AttributeValue{
				dynamostore.AttrPK: &types.AttributeValueMemberS{Value: pk},
				dynamostore.AttrSK: &types.AttributeValueMemberS{Value: sk},
			},
			ConsistentRead: aws.Bool(true),
		})
		if err != nil || out.Item == nil {
			t.Fatalf("GetItem %s/%s: %v (item %v)", pk, sk, err, out.Item != nil)
		}
		_, pkOK := out.Item[dynamostore.AttrGSI1PK]
		_, skOK := out.Item[dynamostore.AttrGSI1SK]
		if pkOK != skOK {
			t.Fatalf("%s/%s: gsi1pk present %v but gsi1sk %v", pk, sk, pkOK, skOK)
		}
		return pkOK
	}

	// A payment first written by a dense store, then rewritten by the sparse
	// one: the PutItem replaces the item, index keys and all.
	rev, err := dense.Put(ctx, store.Record{Kind: "payment", Key: "pi_1", Data: json.RawMessage(`{"v":1}`)}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !indexed(t, dynamostore.RecordPK("payment", "pi_1"), dynamostore.SKState) {
		t.Fatal("ListAll store wrote payment without gsi1 keys")
	}
	out := []store.OutboxEvent{{ID: "ev_1", Body: json.RawMessage(`{}`)}}
	if rev, err = s.Put(ctx, store.Record{Kind: "payment", Key: "pi_1", Data: json.RawMessage(`{"v":2}`), Outbox: out}, rev); err != nil {
		t.Fatal(err)
	}
	if rev, err = s.ClearOutbox(ctx, "payment", "pi_1", rev); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "payment", "pi_1")
	if err != nil || string(got.Data) != `{"v":2}` || got.Rev != rev || len(got.Outbox) != 0 {
		t.Fatalf("Get payment = %+v, %v; want v2 at rev %d with no outbox", got, err, rev)
	}
	if _, err := s.Put(ctx, store.Record{Kind: "endpoint", Key: "ep_1", Data: json.RawMessage(`{}`)}, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendNotification(ctx, store.Notification{ID: "n_1", Type: "payment.succeeded"}); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, pk, sk string
		want         bool
	}{
		{"unlisted kind", dynamostore.RecordPK("payment", "pi_1"), dynamostore.SKState, false},
		{"listed kind", dynamostore.RecordPK("endpoint", "ep_1"), dynamostore.SKState, true},
		{"notification", dynamostore.NotificationPK("n_1"), dynamostore.SKNotification, true},
		{"notification type", dynamostore.NotificationPK("n_1"), dynamostore.SKNotificationType, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := indexed(t, tc.pk, tc.sk); got != tc.want {
				t.Errorf("carries gsi1 keys = %v, want %v", got, tc.want)
			}
		})
	}

	if l, err := s.List(ctx, "payment", 10); !errors.Is(err, store.ErrNotListable) {
		t.Errorf("List(payment) = %v, %v; want ErrNotListable", l, err)
	}
	if l, err := dense.List(ctx, "payment", 10); err != nil || len(l) != 0 {
		t.Errorf("dense List(payment) after the sparse rewrite = %d records, %v; want none (not indexed)", len(l), err)
	}
	for _, kind := range []string{"endpoint", "delivery-attempt"} {
		if _, err := s.List(ctx, kind, 10); err != nil {
			t.Errorf("List(%s): %v", kind, err)
		}
	}
	if l, err := s.List(ctx, "endpoint", 10); err != nil || len(l) != 1 || l[0].Key != "ep_1" {
		t.Errorf("List(endpoint) = %v, %v; want ep_1", l, err)
	}
	none := dynamostore.New(client, name)
	if ns, err := none.ListNotifications(ctx, "payment.succeeded", 0); err != nil || len(ns) != 1 {
		t.Errorf("ListNotifications without options = %v, %v; want n_1", ns, err)
	}
	if _, err := none.List(ctx, "endpoint", 10); !errors.Is(err, store.ErrNotListable) {
		t.Errorf("List(endpoint) without options: %v, want ErrNotListable", err)
	}
}

// Scan finds records of kinds that are not indexed, skipping expired ones.
func TestScanFindsUnindexedKinds(t *testing.T) {
	client, name := dynamotest.Table(t)
	ctx := t.Context()
	s := dynamostore.New(client, name) // no kind indexed
	for _, key := range []string{"pi_a", "pi_b"} {
		if _, err := s.Put(ctx, store.Record{Kind: "payment", Key: key, Data: json.RawMessage(`{"id":"` + key + `"}`)}, 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Put(ctx, store.Record{Kind: "payment", Key: "pi_gone", Data: json.RawMessage(`{}`), ExpiresAt: time.Now().Add(-time.Hour)}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, store.Record{Kind: "chat", Key: "c1", Data: json.RawMessage(`{}`)}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.List(ctx, "payment", 10); !errors.Is(err, store.ErrNotListable) {
		t.Fatalf("List of an unindexed kind: %v, want ErrNotListable", err)
	}
	got, err := s.Scan(ctx, "payment")
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for _, r := range got {
		keys[r.Key] = true
	}
	if len(got) != 2 || !keys["pi_a"] || !keys["pi_b"] {
		t.Fatalf("scan = %v", keys)
	}
}

// A table written by the previous version: its items (long attribute names,
// the document as a string, the outbox as a list) are read, listed, cleared
// and overwritten by this one.
func TestLegacyItems(t *testing.T) {
	client, table := dynamotest.Table(t)
	st := dynamostore.New(client, table, dynamostore.ListKinds("payment"))
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	item := map[string]types.AttributeValue{
		"pk": s("payment#pi_old"), "sk": s("state"), "kind": s("payment"), "key": s("pi_old"),
		"rev": &types.AttributeValueMemberN{Value: "4"}, "data": s(`{"id": "pi_old"}`),
		"updated_at": s("2026-01-06T12:00:00.000000000Z"),
		"gsi1pk":     s("payment"), "gsi1sk": s("2026-01-06T12:00:00.000000000Z#pi_old"),
		"outbox": &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"id": s("e1"), "body": s(`{"type": "payment.succeeded"}`)}}}},
	}
	if _, err := client.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	t.Run("get", func(t *testing.T) {
		r, err := st.Get(ctx, "payment", "pi_old")
		if err != nil || r.Rev != 4 || string(r.Data) != `{"id": "pi_old"}` || len(r.Outbox) != 1 || string(r.Outbox[0].Body) != `{"type": "payment.succeeded"}` {
			t.Fatalf("Get = %+v, %v", r, err)
		}
	})
	t.Run("list and scan", func(t *testing.T) {
		l, err := st.List(ctx, "payment", 10)
		if err != nil || len(l) != 1 || l[0].Key != "pi_old" {
			t.Fatalf("List = %+v, %v", l, err)
		}
		sc, err := st.Scan(ctx, "payment")
		if err != nil || len(sc) != 1 || sc[0].Key != "pi_old" {
			t.Fatalf("Scan = %+v, %v", sc, err)
		}
	})
	t.Run("clear outbox", func(t *testing.T) {
		rev, err := st.ClearOutbox(ctx, "payment", "pi_old", 4)
		if err != nil || rev != 5 {
			t.Fatalf("ClearOutbox = %d, %v", rev, err)
		}
		r, err := st.Get(ctx, "payment", "pi_old")
		if err != nil || r.Rev != 5 || len(r.Outbox) != 0 {
			t.Fatalf("after clear: %+v, %v", r, err)
		}
	})
	t.Run("put over it writes the compact layout", func(t *testing.T) {
		if _, err := st.Put(ctx, store.Record{Kind: "payment", Key: "pi_old", Data: json.RawMessage(`{"id": "pi_old", "n": 2}`)}, 5); err != nil {
			t.Fatal(err)
		}
		out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{"pk": s("payment#pi_old"), "sk": s("state")}})
		if err != nil {
			t.Fatal(err)
		}
		for _, gone := range []string{"kind", "key", "updated_at", "outbox"} {
			if _, ok := out.Item[gone]; ok {
				t.Errorf("attribute %s of the previous layout kept", gone)
			}
		}
		// A synced record's document stays readable JSON text.
		if d, ok := out.Item[dynamostore.AttrDataText].(*types.AttributeValueMemberS); !ok || d.Value != `{"id": "pi_old", "n": 2}` {
			t.Errorf("data = %#v, want the document as JSON text", out.Item[dynamostore.AttrDataText])
		}
		r, err := st.Get(ctx, "payment", "pi_old")
		if err != nil || r.Rev != 6 || string(r.Data) != `{"id": "pi_old", "n": 2}` {
			t.Fatalf("after put: %+v, %v", r, err)
		}
	})
}

// PackKinds: the documents of packed kinds are stored compressed (binary d),
// those of other kinds as JSON text (data); a store without the option reads
// both.
func TestPackKinds(t *testing.T) {
	client, table := dynamotest.Table(t)
	writer := dynamostore.New(client, table, dynamostore.PackKinds("archive"))
	reader := dynamostore.New(client, table)
	doc := json.RawMessage(`{"v":1,"id":"01J","provider":"stripe","queue":"payments","body_json":{"id":"evt_1","object":"event"}}`)
	for _, tc := range []struct {
		kind   string
		attr   string
		absent string
	}{
		{"archive", dynamostore.AttrData, dynamostore.AttrDataText},
		{"payment", dynamostore.AttrDataText, dynamostore.AttrData},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			if _, err := writer.Put(t.Context(), store.Record{Kind: tc.kind, Key: "k1", Data: doc}, 0); err != nil {
				t.Fatal(err)
			}
			out, err := client.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String(table),
				Key: map[string]types.AttributeValue{
					"pk": &types.AttributeValueMemberS{Value: tc.kind + "#k1"}, "sk": &types.AttributeValueMemberS{Value: "state"}}})
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := out.Item[tc.attr]; !ok {
				t.Errorf("no %s attribute: %v", tc.attr, out.Item)
			}
			if _, ok := out.Item[tc.absent]; ok {
				t.Errorf("unexpected %s attribute", tc.absent)
			}
			r, err := reader.Get(t.Context(), tc.kind, "k1")
			if err != nil || string(r.Data) != string(doc) {
				t.Fatalf("Get = %s, %v", r.Data, err)
			}
		})
	}
}
