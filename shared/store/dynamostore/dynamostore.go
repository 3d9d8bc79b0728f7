// Package dynamostore is the store.Store on one DynamoDB table
// (HOOKSTACK_TABLE): partition key pk, sort key sk, GSI gsi1 on
// gsi1pk/gsi1sk (projection ALL), TTL attribute expires_at. Every write is a
// single conditional PutItem or UpdateItem — no transactions. The item
// layout is in ../README.md; records are written compact (codec.go: short
// attribute names, the document and outbox packed) so that a typical one
// costs one write unit, and items of the previous layout are still read.
//
// gsi1 is sparse: a record carries gsi1pk/gsi1sk (and so costs an index
// write) only when its kind is listed (ListKinds, ListAll); the
// notifications log is always indexed. Every Store writing a kind must index
// it when any Store on the table lists it.
//
// gsi1 is sharded: a listed record's gsi1pk is <kind>#<shard>, shard = a
// hash (FNV-1a, mixed) of its key mod GSI1Shards (8); gsi1sk stays
// <updated_at>#<key>. A kind written in bursts (failed delivery attempts
// during a receiver's outage) so spreads over 8 index partitions instead of
// hitting one partition's limit of about 1000 writes a second (and a
// throttled index throttles the table's writes). List queries the 8 shards
// and the unsharded gsi1pk <kind> of items written before sharding,
// concurrently, and merges them newest first. Notifications (written by the
// dev server only) stay unsharded.
//
// Items are converted by hand and expressions written out
// (codec.go, noteitem.go): no attributevalue or expression package, whose
// reflection and package init cost every Lambda's cold start.
package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/hookstack/hookstack/shared/store"
)

// Key and index names of the table.
const (
	AttrPK        = "pk"
	AttrSK        = "sk"
	AttrGSI1PK    = "gsi1pk"
	AttrGSI1SK    = "gsi1sk"
	AttrExpiresAt = "expires_at"
	IndexGSI1     = "gsi1"

	// SKState is the sort key of a record's item (pk = kind#key).
	SKState = "state"
	// SKNotification and SKNotificationType are the sort keys of a
	// notification's two items (pk = notification#id): the first is listed
	// under gsi1pk "notification", the second under "notification-type#<type>".
	SKNotification     = "n"
	SKNotificationType = "type"

	gsiNotifications    = store.NotificationKind
	gsiNotificationType = store.NotificationKind + "-type#"
)

// Store is a store.Store on one table.
type Store struct {
	client *dynamodb.Client
	table  string
	now    func() time.Time
	// listed is the kinds indexed in gsi1 (and so listable); nil with
	// listAll.
	listed  map[string]bool
	listAll bool
	packed  map[string]bool // PackKinds
}

var _ store.Store = (*Store)(nil)

// Option configures New.
type Option func(*Store)

// ListKinds indexes records of these kinds in gsi1, so that List serves
// them; records of other kinds are written without gsi1pk/gsi1sk (no index
// write) and List on them returns store.ErrNotListable. Options add up.
func ListKinds(kinds ...string) Option {
	return func(s *Store) {
		if s.listed == nil {
			s.listed = map[string]bool{}
		}
		for _, k := range kinds {
			s.listed[k] = true
		}
	}
}

// ListAll indexes records of every kind (each write also writes gsi1), as the
// contract suite and tools that list arbitrary kinds need.
func ListAll() Option { return func(s *Store) { s.listAll = true } }

// PackKinds stores the documents of these kinds packed (compressed binary,
// codec.go) instead of as JSON text: for internal kinds, such as the replay
// archive, that only Hookstack reads, where the smaller item is a cheaper
// write. Readers need no option: they read either form. Options add up.
func PackKinds(kinds ...string) Option {
	return func(s *Store) {
		if s.packed == nil {
			s.packed = map[string]bool{}
		}
		for _, k := range kinds {
			s.packed[k] = true
		}
	}
}

// New returns the store on table. Without options no record kind is indexed
// (only the notifications log): pass ListKinds with every kind any user of
// the table lists.
func New(client *dynamodb.Client, table string, opts ...Option) *Store {
	s := &Store{client: client, table: table, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Listable reports whether records of kind are indexed in gsi1.
func (s *Store) Listable(kind string) bool { return s.listAll || s.listed[kind] }

// RecordPK is the partition key of record (kind, key).
func RecordPK(kind, key string) string { return kind + "#" + key }

// NotificationPK is the partition key of notification id.
func NotificationPK(id string) string { return store.NotificationKind + "#" + id }

func keyOf(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		AttrPK: &types.AttributeValueMemberS{Value: pk},
		AttrSK: &types.AttributeValueMemberS{Value: sk},
	}
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func timeOrZero(sec int64) time.Time {
	if sec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}

func (it noteItem) notification() (store.Notification, error) {
	created, err := store.ParseSortTime(it.CreatedAt)
	if err != nil {
		return store.Notification{}, err
	}
	n := store.Notification{
		ID: it.ID, Type: it.Type, Subject: it.Subject, CreatedAt: created,
		ExpiresAt: timeOrZero(it.ExpiresAt),
	}
	if it.Event != "" {
		n.Event = []byte(it.Event)
	}
	return n, nil
}

// The expressions, written out with their placeholders (#name, :value):
// the expression builder, and the attributevalue reflection it marshals
// values with, cost every Lambda's cold start for a handful of constants.
const (
	// exprNotExpired: the item has no expires_at or it lies after :now.
	exprNotExpired = "attribute_not_exists(#exp) OR #exp > :now"
	// exprAbsent: no live item — none, or an expired one that TTL has not
	// deleted yet.
	exprAbsent = "attribute_not_exists(#pk) OR #exp <= :now"
	// exprAtRev: the live item is at revision :rev.
	exprAtRev = "#rev = :rev AND (" + exprNotExpired + ")"
	// exprClearOutbox: the next revision, without the outbox of either layout.
	exprClearOutbox = "SET #rev = :next REMOVE #o, #outbox"
	// exprGSI1Key: the key condition of a gsi1 query.
	exprGSI1Key = "#gsi1pk = :gsi1pk"
)

// expr is an expression's placeholders: fresh maps per request, which the
// callers extend.
type expr struct {
	names  map[string]string
	values map[string]types.AttributeValue
}

// absent is exprAbsent's placeholders.
func absent(now time.Time) expr {
	return expr{
		names:  map[string]string{"#pk": AttrPK, "#exp": AttrExpiresAt},
		values: map[string]types.AttributeValue{":now": numberAV(now.Unix())},
	}
}

// atRev is exprAtRev's placeholders.
func atRev(rev int64, now time.Time) expr {
	return expr{
		names:  map[string]string{"#rev": AttrRev, "#exp": AttrExpiresAt},
		values: map[string]types.AttributeValue{":rev": numberAV(rev), ":now": numberAV(now.Unix())},
	}
}

func numberAV(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// fail wraps a backend error with context; transient ones (throttling,
// timeouts, connection failures) also wrap store.ErrUnavailable.
func fail(op string, err error) error {
	if store.IsTransient(err) && !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrUnavailable) {
		return fmt.Errorf("dynamostore %s: %w: %w", op, store.ErrUnavailable, err)
	}
	return fmt.Errorf("dynamostore %s: %w", op, err)
}

func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, kind, key string) (store.Record, error) {
	if err := checkKindKey(kind, key); err != nil {
		return store.Record{}, fmt.Errorf("dynamostore get: %w", err)
	}
	op := fmt.Sprintf("get %s %q", kind, key)
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            keyOf(RecordPK(kind, key), SKState),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return store.Record{}, fail(op, err)
	}
	if out.Item == nil {
		return store.Record{}, fmt.Errorf("dynamostore %s: %w", op, store.ErrNotFound)
	}
	r, err := decodeRecord(out.Item)
	if err != nil {
		return store.Record{}, fmt.Errorf("dynamostore %s: decode: %w", op, err)
	}
	if store.Expired(r.ExpiresAt, s.now()) {
		return store.Record{}, fmt.Errorf("dynamostore %s: %w (expired)", op, store.ErrNotFound)
	}
	return r, nil
}

// Put implements store.Store: one PutItem conditional on
// attribute_not_exists(pk) (or an expired item) when expectRev is 0, else
// on rev = expectRev (and not expired).
func (s *Store) Put(ctx context.Context, r store.Record, expectRev int64) (int64, error) {
	if err := store.CheckRecord(r); err != nil {
		return 0, fmt.Errorf("dynamostore put: %w", err)
	}
	op := fmt.Sprintf("put %s %q at rev %d", r.Kind, r.Key, expectRev)
	if expectRev < 0 {
		return 0, fmt.Errorf("dynamostore %s: %w: negative revision", op, store.ErrInvalid)
	}
	now := s.now()
	updated := r.UpdatedAt
	if updated.IsZero() {
		updated = now
	}
	av := encodeRecord(r, expectRev+1, updated, s.Listable(r.Kind), s.packed[r.Kind])
	cond, e := exprAbsent, absent(now)
	if expectRev > 0 {
		cond, e = exprAtRev, atRev(expectRev, now)
	}
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(s.table),
		Item:                      av,
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  e.names,
		ExpressionAttributeValues: e.values,
	})
	if isConditionFailed(err) {
		return 0, fmt.Errorf("dynamostore %s: %w", op, store.ErrConflict)
	}
	if err != nil {
		return 0, fail(op, err)
	}
	return expectRev + 1, nil
}

// ClearOutbox implements store.Store: one UpdateItem (SET rev, REMOVE the
// outbox of either layout) conditional on the revision.
func (s *Store) ClearOutbox(ctx context.Context, kind, key string, rev int64) (int64, error) {
	if err := checkKindKey(kind, key); err != nil {
		return 0, fmt.Errorf("dynamostore clear outbox: %w", err)
	}
	op := fmt.Sprintf("clear outbox %s %q at rev %d", kind, key, rev)
	e := atRev(rev, s.now())
	e.names["#o"], e.names["#outbox"] = AttrOutbox, legacyOutbox
	e.values[":next"] = numberAV(rev + 1)
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       keyOf(RecordPK(kind, key), SKState),
		ConditionExpression:       aws.String(exprAtRev),
		UpdateExpression:          aws.String(exprClearOutbox),
		ExpressionAttributeNames:  e.names,
		ExpressionAttributeValues: e.values,
	})
	if isConditionFailed(err) {
		// Tell "gone" from "written since" (a read only on this path).
		if _, gerr := s.Get(ctx, kind, key); errors.Is(gerr, store.ErrNotFound) {
			return 0, fmt.Errorf("dynamostore %s: %w", op, store.ErrNotFound)
		}
		return 0, fmt.Errorf("dynamostore %s: %w", op, store.ErrConflict)
	}
	if err != nil {
		return 0, fail(op, err)
	}
	return rev + 1, nil
}

// query pages through gsi1 under pk, newest first, skipping expired items,
// until limit items were decoded by add.
func (s *Store) query(ctx context.Context, op, pk string, limit int, add func(map[string]types.AttributeValue) error) error {
	in := &dynamodb.QueryInput{
		TableName:                aws.String(s.table),
		IndexName:                aws.String(IndexGSI1),
		KeyConditionExpression:   aws.String(exprGSI1Key),
		FilterExpression:         aws.String(exprNotExpired),
		ExpressionAttributeNames: map[string]string{"#gsi1pk": AttrGSI1PK, "#exp": AttrExpiresAt},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":gsi1pk": &types.AttributeValueMemberS{Value: pk},
			":now":    numberAV(s.now().Unix()),
		},
		ScanIndexForward: aws.Bool(false),
	}
	n := 0
	for {
		in.Limit = aws.Int32(int32(limit - n))
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return fail(op, err)
		}
		for _, item := range out.Items {
			if n == limit {
				return nil
			}
			if err := add(item); err != nil {
				return fmt.Errorf("dynamostore %s: %w", op, err)
			}
			n++
		}
		if n >= limit || len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// List implements store.Store: a Query on gsi1, descending, per gsi1
// partition key of the kind (every shard, and the unsharded key of items
// written before sharding: see GSI1Shards), run concurrently and merged.
// The GSI is eventually consistent in AWS: a record written a moment ago may
// be missing or show its previous revision. A kind this Store does not index
// (see ListKinds) is store.ErrNotListable.
func (s *Store) List(ctx context.Context, kind string, limit int) ([]store.Record, error) {
	if err := store.CheckKind(kind); err != nil {
		return nil, fmt.Errorf("dynamostore list: %w", err)
	}
	if !s.Listable(kind) {
		return nil, fmt.Errorf("dynamostore list %s: %w: pass dynamostore.ListKinds(%q) to every dynamostore.New on this table", kind, store.ErrNotListable, kind)
	}
	return s.listMerged(ctx, "list "+kind, listPKs(kind), store.ClampLimit(limit))
}

// AppendNotification implements store.Store. A notification is two items
// under pk notification#id: sk "n" (listed under gsi1pk "notification") and
// sk "type" (listed under "notification-type#<type>"). The first is written
// conditionally, so the first append of an id wins; the second is a plain
// put of whatever the first holds, so a retried append repairs a crash
// between the two.
func (s *Store) AppendNotification(ctx context.Context, n store.Notification) error {
	if err := store.CheckNotification(n); err != nil {
		return fmt.Errorf("dynamostore append notification: %w", err)
	}
	op := fmt.Sprintf("append notification %q", n.ID)
	now := s.now()
	created := n.CreatedAt
	if created.IsZero() {
		created = now
	}
	it := noteItem{
		PK: NotificationPK(n.ID), SK: SKNotification,
		ID: n.ID, Type: n.Type, Subject: n.Subject,
		CreatedAt: store.SortTime(created),
		Event:     string(n.Event),
		GSI1PK:    gsiNotifications,
		ExpiresAt: unixOrZero(n.ExpiresAt),
	}
	it.GSI1SK = it.CreatedAt + "#" + it.ID
	e := absent(now)
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(s.table),
		Item:                      it.item(),
		ConditionExpression:       aws.String(exprAbsent),
		ExpressionAttributeNames:  e.names,
		ExpressionAttributeValues: e.values,
	})
	switch {
	case isConditionFailed(err):
		// Appended before: index what is stored, not this copy.
		got, gerr := s.client.GetItem(ctx, &dynamodb.GetItemInput{
			TableName:      aws.String(s.table),
			Key:            keyOf(it.PK, SKNotification),
			ConsistentRead: aws.Bool(true),
		})
		if gerr != nil {
			return fail(op, gerr)
		}
		if got.Item == nil { // expired and deleted in between: retry later
			return fmt.Errorf("dynamostore %s: %w: vanished during append", op, store.ErrConflict)
		}
		if it, err = decodeNoteItem(got.Item); err != nil {
			return fmt.Errorf("dynamostore %s: decode: %w", op, err)
		}
	case err != nil:
		return fail(op, err)
	}
	it.SK = SKNotificationType
	it.GSI1PK = gsiNotificationType + it.Type
	if _, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: it.item()}); err != nil {
		return fail(op+": type index", err)
	}
	return nil
}

// ListNotifications implements store.Store: a Query on gsi1, descending.
func (s *Store) ListNotifications(ctx context.Context, typ string, limit int) ([]store.Notification, error) {
	pk := gsiNotifications
	if typ != "" {
		if err := store.CheckKey("notification type", typ); err != nil {
			return nil, fmt.Errorf("dynamostore list notifications: %w", err)
		}
		pk = gsiNotificationType + typ
	}
	out := []store.Notification{}
	err := s.query(ctx, "list notifications "+strconv.Quote(typ), pk, store.ClampLimit(limit), func(av map[string]types.AttributeValue) error {
		it, err := decodeNoteItem(av)
		if err != nil {
			return fmt.Errorf("decode: %w", err)
		}
		n, err := it.notification()
		if err != nil {
			return err
		}
		out = append(out, n)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func checkKindKey(kind, key string) error {
	if err := store.CheckKind(kind); err != nil {
		return err
	}
	return store.CheckKey("key", key)
}

// Scan reads every live record of kind by scanning the whole table: for
// tests and operator tooling only (it reads every item; the pipeline never
// calls it), so kinds that are not indexed (ListKinds) can still be
// inspected. The order is unspecified.
func (s *Store) Scan(ctx context.Context, kind string) ([]store.Record, error) {
	if err := store.CheckKind(kind); err != nil {
		return nil, fmt.Errorf("dynamostore scan: %w", err)
	}
	out := []store.Record{}
	now := s.now()
	p := dynamodb.NewScanPaginator(s.client, &dynamodb.ScanInput{
		TableName:                 aws.String(s.table),
		ConsistentRead:            aws.Bool(true),
		FilterExpression:          aws.String("begins_with(#pk, :prefix) AND #sk = :state"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrPK, "#sk": AttrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":prefix": &types.AttributeValueMemberS{Value: RecordPK(kind, "")}, ":state": &types.AttributeValueMemberS{Value: SKState}},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("dynamostore scan %s: %w", kind, err)
		}
		for _, av := range page.Items {
			r, err := decodeRecord(av)
			if err != nil {
				return nil, fmt.Errorf("dynamostore scan %s: decode: %w", kind, err)
			}
			if store.Expired(r.ExpiresAt, now) {
				continue
			}
			out = append(out, r)
		}
	}
	return out, nil
}
