package dynamostore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
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

// rawItem reads the item of record (kind, key) as stored.
func rawItem(t *testing.T, client *dynamodb.Client, table, kind, key string) map[string]types.AttributeValue {
	t.Helper()
	out, err := client.GetItem(t.Context(), &dynamodb.GetItemInput{
		TableName: aws.String(table),
		Key: map[string]types.AttributeValue{
			dynamostore.AttrPK: &types.AttributeValueMemberS{Value: dynamostore.RecordPK(kind, key)},
			dynamostore.AttrSK: &types.AttributeValueMemberS{Value: dynamostore.SKState},
		},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil || out.Item == nil {
		t.Fatalf("GetItem %s %q: %v (found %v)", kind, key, err, err == nil && out.Item != nil)
	}
	return out.Item
}

func attrString(it map[string]types.AttributeValue, name string) string {
	if v, ok := it[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func listedKeys(rs []store.Record) string {
	k := make([]string, len(rs))
	for i, r := range rs {
		k[i] = r.Key
	}
	return strings.Join(k, ",")
}

// Records of one listed kind are indexed under several gsi1 partition keys
// (<kind>#<shard>), not one, and List still returns them all.
func TestListShardsSpread(t *testing.T) {
	client, table := dynamotest.Table(t)
	const kind = "delivery-attempt"
	s := dynamostore.New(client, table, dynamostore.ListKinds(kind))
	t0 := time.Date(2026, 11, 29, 20, 0, 0, 0, time.UTC)
	const n = 24
	for i := range n {
		r := store.Record{Kind: kind, Key: fmt.Sprintf("msg_%02d#001", i), Data: json.RawMessage(`{}`), UpdatedAt: t0.Add(time.Duration(i) * time.Second)}
		if _, err := s.Put(t.Context(), r, 0); err != nil {
			t.Fatal(err)
		}
	}
	perPK := map[string]int{}
	for i := range n {
		key := fmt.Sprintf("msg_%02d#001", i)
		it := rawItem(t, client, table, kind, key)
		pk, sk := attrString(it, dynamostore.AttrGSI1PK), attrString(it, dynamostore.AttrGSI1SK)
		if pk != dynamostore.RecordGSI1PK(kind, key) || !strings.HasPrefix(pk, kind+"#") {
			t.Errorf("%s: gsi1pk %q, want %q", key, pk, dynamostore.RecordGSI1PK(kind, key))
		}
		if want := store.SortTime(t0.Add(time.Duration(i)*time.Second)) + "#" + key; sk != want {
			t.Errorf("%s: gsi1sk %q, want %q (unchanged by sharding)", key, sk, want)
		}
		perPK[pk]++
	}
	if len(perPK) < 5 {
		t.Errorf("%d records on %d gsi1 partition keys %v, want them spread over at least 5 of %d", n, len(perPK), perPK, dynamostore.GSI1Shards)
	}
	for pk, c := range perPK {
		if c > n/2 {
			t.Errorf("gsi1pk %s holds %d of %d records", pk, c, n)
		}
	}
	got, err := s.List(t.Context(), kind, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]string, n)
	for i := range n {
		want[i] = fmt.Sprintf("msg_%02d#001", n-1-i)
	}
	if listedKeys(got) != strings.Join(want, ",") {
		t.Errorf("List = %s\nwant   %s", listedKeys(got), strings.Join(want, ","))
	}
}

// Items written before sharding (gsi1pk = <kind>, in the first and the
// compact layout) are still listed, merged in order with sharded ones, and
// an expired one is skipped; rewriting one moves it to its shard, listed
// once.
func TestListMergesUnshardedItems(t *testing.T) {
	client, table := dynamotest.Table(t)
	const kind = "endpoint"
	s := dynamostore.New(client, table, dynamostore.ListKinds(kind))
	ctx := t.Context()
	t0 := time.Date(2026, 11, 29, 20, 0, 0, 0, time.UTC)
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
	for _, w := range []struct {
		key string
		sec int
	}{{"new_1", 1}, {"new_3", 3}, {"new_5", 5}, {"tie_b", 4}, {"new_9", 9}} {
		if _, err := s.Put(ctx, store.Record{Kind: kind, Key: w.key, Data: json.RawMessage(`{"id":"` + w.key + `"}`), UpdatedAt: at(w.sec)}, 0); err != nil {
			t.Fatal(err)
		}
	}
	str := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	num := func(v int64) types.AttributeValue { return &types.AttributeValueMemberN{Value: fmt.Sprint(v)} }
	legacy := []map[string]types.AttributeValue{
		{ // first layout
			"pk": str(kind + "#old_2"), "sk": str("state"), "kind": str(kind), "key": str("old_2"), "rev": num(1),
			"data": str(`{"id":"old_2"}`), "updated_at": str(store.SortTime(at(2))),
			"gsi1pk": str(kind), "gsi1sk": str(store.SortTime(at(2)) + "#old_2"),
		},
		{ // compact layout, unsharded
			"pk": str(kind + "#old_6"), "sk": str("state"), "rev": num(3), "data": str(`{"id":"old_6"}`), "t": num(at(6).UnixNano()),
			"gsi1pk": str(kind), "gsi1sk": str(store.SortTime(at(6)) + "#old_6"),
		},
		{ // same time as tie_b: key descending puts tie_b first
			"pk": str(kind + "#tie_a"), "sk": str("state"), "rev": num(1), "data": str(`{"id":"tie_a"}`), "t": num(at(4).UnixNano()),
			"gsi1pk": str(kind), "gsi1sk": str(store.SortTime(at(4)) + "#tie_a"),
		},
		{ // expired, not yet deleted by TTL
			"pk": str(kind + "#old_8"), "sk": str("state"), "rev": num(1), "data": str(`{}`), "t": num(at(8).UnixNano()),
			"gsi1pk": str(kind), "gsi1sk": str(store.SortTime(at(8)) + "#old_8"), "expires_at": num(time.Now().Add(-time.Hour).Unix()),
		},
	}
	for _, it := range legacy {
		if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: it}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		limit int
		want  string
	}{
		{0, "new_9,old_6,new_5,tie_b,tie_a,new_3,old_2,new_1"},
		{1, "new_9"},
		{2, "new_9,old_6"},
		{5, "new_9,old_6,new_5,tie_b,tie_a"},
		{8, "new_9,old_6,new_5,tie_b,tie_a,new_3,old_2,new_1"},
	} {
		t.Run(fmt.Sprint("limit ", tc.limit), func(t *testing.T) {
			got, err := s.List(ctx, kind, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if listedKeys(got) != tc.want {
				t.Errorf("List(%d) = %s, want %s", tc.limit, listedKeys(got), tc.want)
			}
		})
	}
	t.Run("rewritten: moves to its shard, listed once", func(t *testing.T) {
		if _, err := s.Put(ctx, store.Record{Kind: kind, Key: "old_2", Data: json.RawMessage(`{"id":"old_2","v":2}`), UpdatedAt: at(10)}, 1); err != nil {
			t.Fatal(err)
		}
		if pk := attrString(rawItem(t, client, table, kind, "old_2"), dynamostore.AttrGSI1PK); pk != dynamostore.RecordGSI1PK(kind, "old_2") {
			t.Errorf("gsi1pk after the rewrite = %q, want %q", pk, dynamostore.RecordGSI1PK(kind, "old_2"))
		}
		got, err := s.List(ctx, kind, 0)
		if err != nil {
			t.Fatal(err)
		}
		if want := "old_2,new_9,old_6,new_5,tie_b,tie_a,new_3,new_1"; listedKeys(got) != want {
			t.Errorf("List = %s, want %s", listedKeys(got), want)
		}
		if string(got[0].Data) != `{"id":"old_2","v":2}` || got[0].Rev != 2 {
			t.Errorf("listed old_2 = %s at rev %d", got[0].Data, got[0].Rev)
		}
	})
}

// The limit is honoured exactly across shards: the newest limit records of
// the kind, newest first (ties by key descending), expired ones skipped,
// whichever shards they are on.
func TestListLimitAcrossShards(t *testing.T) {
	client, table := dynamotest.Table(t)
	const kind = "delivery-attempt"
	s := dynamostore.New(client, table, dynamostore.ListKinds(kind))
	ctx := t.Context()
	t0 := time.Date(2026, 11, 29, 20, 0, 0, 0, time.UTC)
	type w struct {
		key string
		at  time.Time
	}
	var live []w
	shards := map[string]bool{}
	for i := range 30 {
		// Times out of key order, every third pair tied.
		r := store.Record{Kind: kind, Key: fmt.Sprintf("k%02d", i), Data: json.RawMessage(`{}`),
			UpdatedAt: t0.Add(time.Duration((i*7)%30/2) * time.Millisecond)}
		if i%10 == 4 {
			r.ExpiresAt = time.Now().Add(-time.Minute)
		} else {
			live = append(live, w{r.Key, r.UpdatedAt})
		}
		shards[dynamostore.RecordGSI1PK(kind, r.Key)] = true
		if _, err := s.Put(ctx, r, 0); err != nil {
			t.Fatal(err)
		}
	}
	if len(shards) < 5 {
		t.Fatalf("the keys fall on %d shards only", len(shards))
	}
	slices.SortFunc(live, func(a, b w) int {
		if c := b.at.Compare(a.at); c != 0 {
			return c
		}
		return strings.Compare(b.key, a.key)
	})
	for _, limit := range []int{1, 2, 7, 13, len(live) - 1, len(live), 100, 0, -1} {
		t.Run(fmt.Sprint("limit ", limit), func(t *testing.T) {
			got, err := s.List(ctx, kind, limit)
			if err != nil {
				t.Fatal(err)
			}
			n := min(store.ClampLimit(limit), len(live))
			want := make([]string, n)
			for i := range n {
				want[i] = live[i].key
			}
			if listedKeys(got) != strings.Join(want, ",") {
				t.Errorf("List(%d) = %s\nwant      %s", limit, listedKeys(got), strings.Join(want, ","))
			}
		})
	}
}

// A repeated append indexes by type what is stored, not the new copy: an
// attribute the first append left out (subject, event) stays out.
func TestAppendNotificationIndexesStored(t *testing.T) {
	client, table := dynamotest.Table(t)
	s := dynamostore.New(client, table)
	ctx := t.Context()
	at := time.Date(2026, 11, 29, 20, 0, 0, 0, time.UTC)
	if err := s.AppendNotification(ctx, store.Notification{ID: "n1", Type: "lead.created", CreatedAt: at}); err != nil {
		t.Fatal(err)
	}
	again := store.Notification{ID: "n1", Type: "lead.created", Subject: "lead:x", Event: json.RawMessage(`{"a":1}`), CreatedAt: at.Add(time.Hour)}
	if err := s.AppendNotification(ctx, again); err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{"", "lead.created"} {
		ns, err := s.ListNotifications(ctx, typ, 0)
		if err != nil || len(ns) != 1 {
			t.Fatalf("ListNotifications(%q) = %+v, %v", typ, ns, err)
		}
		if n := ns[0]; n.Subject != "" || n.Event != nil || !n.CreatedAt.Equal(at) {
			t.Errorf("ListNotifications(%q) = %+v, want the first append's", typ, n)
		}
	}
}

// List queries its shards concurrently and fails with the backend's error,
// classified as a single query's is, not with the cancellation of the
// other queries it leads to.
func TestListErrorClassification(t *testing.T) {
	for _, tc := range []struct {
		status    int
		errType   string
		transient bool
	}{
		{400, "ThrottlingException", true},
		{400, "ValidationException", false},
		{400, "ResourceNotFoundException", false},
	} {
		t.Run(tc.errType, func(t *testing.T) {
			client, calls := fakeDynamo(t, tc.status, tc.errType)
			s := dynamostore.New(client, "t", dynamostore.ListKinds("endpoint"))
			_, err := s.List(t.Context(), "endpoint", 10)
			if err == nil || !strings.Contains(err.Error(), tc.errType) {
				t.Fatalf("List = %v, want the %s", err, tc.errType)
			}
			if got := store.IsTransient(err); got != tc.transient {
				t.Errorf("IsTransient(%v) = %v, want %v", err, got, tc.transient)
			}
			if errors.Is(err, context.Canceled) {
				t.Errorf("%v is a cancellation", err)
			}
			if n := calls.Load(); n < 1 || n > dynamostore.GSI1Shards+1 {
				t.Errorf("%d queries, want 1..%d", n, dynamostore.GSI1Shards+1)
			}
		})
	}
}
