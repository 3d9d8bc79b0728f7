package dynamostore

// The hand-written conversions against the attributevalue package they
// replace: the module stays only in this test file, as the reference.

import (
	"encoding/binary"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/hookstack/hookstack/shared/store"
)

func avS(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func avN(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }

// Notification items are written byte for byte as attributevalue.MarshalMap
// wrote them (names, S/N types, omitempty), and read back the same.
func TestNoteItemMatchesAttributeValue(t *testing.T) {
	full := noteItem{
		PK: NotificationPK("evt_1:payment.succeeded"), SK: SKNotification,
		ID: "evt_1:payment.succeeded", Type: "payment.succeeded", Subject: "payment:pi_1",
		CreatedAt: "2026-01-06T12:00:00.000000000Z", Event: `{"id":"evt_1:payment.succeeded","type":"payment.succeeded"}`,
		GSI1PK: gsiNotifications, GSI1SK: "2026-01-06T12:00:00.000000000Z#evt_1:payment.succeeded",
		ExpiresAt: 1767700800,
	}
	byType := full
	byType.SK, byType.GSI1PK = SKNotificationType, gsiNotificationType+full.Type
	bare := full
	bare.Subject, bare.Event, bare.ExpiresAt = "", "", 0
	cases := []struct {
		name string
		it   noteItem
	}{
		{"every attribute", full},
		{"type index copy", byType},
		{"no subject, event or expiry: omitted", bare},
		{"zero item: empty strings kept", noteItem{}},
		{"negative expiry", func() noteItem { it := bare; it.ExpiresAt = -62135596800; return it }()},
		{"unicode and separators", func() noteItem {
			it := full
			it.ID, it.Subject, it.Type = "ïd#1 ☃", "lead:a#b@exämple.com", "shopify.inventory_levels/update"
			return it
		}()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want, err := attributevalue.MarshalMap(c.it)
			if err != nil {
				t.Fatal(err)
			}
			got := c.it.item()
			if !reflect.DeepEqual(got, want) {
				t.Errorf("item() =\n%s\nattributevalue.MarshalMap =\n%s", dumpItem(got), dumpItem(want))
			}
			back, err := decodeNoteItem(got)
			if err != nil || back != c.it {
				t.Errorf("decodeNoteItem = %+v, %v; want %+v", back, err, c.it)
			}
		})
	}
}

// decodeNoteItem reads what attributevalue.UnmarshalMap read, fails where it
// failed, and ignores what it ignored.
func TestDecodeNoteItemMatchesAttributeValue(t *testing.T) {
	base := func(extra map[string]types.AttributeValue) map[string]types.AttributeValue {
		m := noteItem{PK: "notification#n1", SK: "n", ID: "n1", Type: "t", CreatedAt: "2026-01-06T12:00:00.000000000Z",
			GSI1PK: "notification", GSI1SK: "2026-01-06T12:00:00.000000000Z#n1"}.item()
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	cases := []struct {
		name    string
		item    map[string]types.AttributeValue
		wantErr bool
	}{
		{"written item", base(nil), false},
		{"unknown attributes ignored", base(map[string]types.AttributeValue{"rev": avN("3"), "d": &types.AttributeValueMemberB{Value: []byte{1}}}), false},
		{"number in a string field", base(map[string]types.AttributeValue{"subject": avN("12.5")}), false},
		{"NULL empties a field", base(map[string]types.AttributeValue{"type": &types.AttributeValueMemberNULL{Value: true}, "expires_at": &types.AttributeValueMemberNULL{Value: true}}), false},
		{"nil value empties a field", base(map[string]types.AttributeValue{"event": nil}), false},
		{"case-folded names", map[string]types.AttributeValue{"PK": avS("notification#n1"), "Id": avS("n1"), "TYPE": avS("t"), "Expires_At": avN("5")}, false},
		{"exact and folded name: exact wins", base(map[string]types.AttributeValue{"ID": avS("other"), "Created_at": avN("7")}), false},
		{"unicode folding (long s)", map[string]types.AttributeValue{"ſubject": avS("x"), "id": avS("n1")}, false},
		{"expires_at negative", base(map[string]types.AttributeValue{"expires_at": avN("-5")}), false},
		{"expires_at as a string", base(map[string]types.AttributeValue{"expires_at": avS("5")}), true},
		{"expires_at not an integer", base(map[string]types.AttributeValue{"expires_at": avN("1.5e9")}), true},
		{"expires_at overflows", base(map[string]types.AttributeValue{"expires_at": avN("9223372036854775808")}), true},
		{"binary string field", base(map[string]types.AttributeValue{"id": &types.AttributeValueMemberB{Value: []byte("n1")}}), true},
		{"bool string field", base(map[string]types.AttributeValue{"type": &types.AttributeValueMemberBOOL{Value: true}}), true},
		{"list string field", base(map[string]types.AttributeValue{"event": &types.AttributeValueMemberL{}}), true},
		{"map string field", base(map[string]types.AttributeValue{"subject": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}}), true},
		{"string set string field", base(map[string]types.AttributeValue{"sk": &types.AttributeValueMemberSS{Value: []string{"n"}}}), true},
		{"folded duplicate of a bad type still fails", base(map[string]types.AttributeValue{"ID": &types.AttributeValueMemberBOOL{}}), true},
		{"empty item", map[string]types.AttributeValue{}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var want noteItem
			wantErr := attributevalue.UnmarshalMap(c.item, &want)
			if (wantErr != nil) != c.wantErr {
				t.Fatalf("reference: attributevalue error %v, the case expects error %v", wantErr, c.wantErr)
			}
			got, err := decodeNoteItem(c.item)
			if (err != nil) != c.wantErr {
				t.Fatalf("decodeNoteItem error %v, want error %v", err, c.wantErr)
			}
			if err == nil && got != want && !foldCollision(c.item) {
				t.Errorf("decodeNoteItem = %+v\nattributevalue  = %+v", got, want)
			}
		})
	}
	t.Run("exact name wins over a folded one", func(t *testing.T) {
		got, err := decodeNoteItem(base(map[string]types.AttributeValue{"ID": avS("other"), "Id": avS("other2")}))
		if err != nil || got.ID != "n1" {
			t.Errorf("ID = %q, %v; want n1", got.ID, err)
		}
	})
}

// foldCollision: two attribute names select one noteItem field, where
// attributevalue's result depended on map iteration order.
func foldCollision(item map[string]types.AttributeValue) bool {
	seen := map[string]bool{}
	for name := range item {
		for _, f := range noteFields {
			if strings.EqualFold(f, name) {
				if seen[f] {
					return true
				}
				seen[f] = true
			}
		}
	}
	return false
}

// recordItemV1 is the record item of the first layout, as written with
// attributevalue.MarshalMap (before the compact layout of codec.go).
type recordItemV1 struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	Kind      string `dynamodbav:"kind"`
	Key       string `dynamodbav:"key"`
	Rev       int64  `dynamodbav:"rev"`
	Data      string `dynamodbav:"data"`
	UpdatedAt string `dynamodbav:"updated_at"`
	Outbox    []struct {
		ID   string `dynamodbav:"id"`
		Body string `dynamodbav:"body"`
	} `dynamodbav:"outbox,omitempty"`
	GSI1PK    string `dynamodbav:"gsi1pk,omitempty"`
	GSI1SK    string `dynamodbav:"gsi1sk,omitempty"`
	ExpiresAt int64  `dynamodbav:"expires_at,omitempty"`
}

// compactItem mirrors the compact layout (codec.go) as tagged fields: the
// reference for the attribute names and types encodeRecord writes.
type compactItem struct {
	PK          string `dynamodbav:"pk"`
	SK          string `dynamodbav:"sk"`
	Rev         int64  `dynamodbav:"rev"`
	Data        []byte `dynamodbav:"d,omitempty"`
	DataText    string `dynamodbav:"data,omitempty"`
	Updated     int64  `dynamodbav:"t,omitempty"`
	UpdatedText string `dynamodbav:"updated_at,omitempty"`
	Outbox      []byte `dynamodbav:"o,omitempty"`
	GSI1PK      string `dynamodbav:"gsi1pk,omitempty"`
	GSI1SK      string `dynamodbav:"gsi1sk,omitempty"`
	ExpiresAt   int64  `dynamodbav:"expires_at,omitempty"`
}

// Record items: the compact layout has the names and types (S/N/B) of its
// tagged mirror, empty attributes omitted as omitempty did; items of the
// first layout, as attributevalue wrote them, are still read.
func TestRecordItemsMatchAttributeValue(t *testing.T) {
	at := time.Date(2026, 1, 6, 12, 0, 0, 123456789, time.UTC)
	far := time.Date(2999, 1, 1, 0, 0, 0, 5, time.UTC)
	outbox := []store.OutboxEvent{{ID: "evt_1:payment.succeeded", Body: []byte(`{"type":"payment.succeeded"}`)}, {ID: "e2", Body: []byte(`[]`)}}
	doc := []byte(`{"id":"pi_1","amount":2000,"currency":"usd","status":"succeeded","metadata":{}}`)
	cases := []struct {
		name           string
		r              store.Record
		updated        time.Time
		listed, packed bool
	}{
		{"synced record", store.Record{Kind: "payment", Key: "pi_1", Data: doc}, at, false, false},
		{"with outbox and expiry", store.Record{Kind: "payment", Key: "pi_1", Data: doc, Outbox: outbox, ExpiresAt: time.Unix(1767700800, 0)}, at, false, false},
		{"listed", store.Record{Kind: "delivery-attempt", Key: "evt_1:ep_1:3", Data: doc}, at, true, false},
		{"packed kind", store.Record{Kind: "archive", Key: "01KB7Q4Z8WJ4Y5N0Q3ZB6M2V9X", Data: []byte(strings.Repeat(`{"a":"b"}`, 20))}, at, false, true},
		{"time beyond int64 nanoseconds", store.Record{Kind: "lead", Key: "a#b@example.com", Data: doc}, far, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := encodeRecord(c.r, 7, c.updated, c.listed, c.packed)
			mirror := compactItem{PK: RecordPK(c.r.Kind, c.r.Key), SK: SKState, Rev: 7, ExpiresAt: unixOrZero(c.r.ExpiresAt)}
			if c.packed {
				mirror.Data = pack(c.r.Data)
			} else {
				mirror.DataText = string(c.r.Data)
			}
			if ns, ok := unixNano(c.updated); ok {
				mirror.Updated = ns
			} else {
				mirror.UpdatedText = store.SortTime(c.updated)
			}
			if len(c.r.Outbox) > 0 {
				mirror.Outbox = pack(encodeOutbox(c.r.Outbox))
			}
			if c.listed {
				mirror.GSI1PK = RecordGSI1PK(c.r.Kind, c.r.Key)
				mirror.GSI1SK = store.SortTime(c.updated) + "#" + c.r.Key
			}
			want, err := attributevalue.MarshalMap(mirror)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("encodeRecord =\n%s\nattributevalue.MarshalMap of the layout =\n%s", dumpItem(got), dumpItem(want))
			}
		})
	}

	legacy := []struct {
		name string
		it   recordItemV1
	}{
		{"first layout, plain", recordItemV1{PK: "payment#pi_1", SK: "state", Kind: "payment", Key: "pi_1", Rev: 2, Data: `{"id": "pi_1"}`, UpdatedAt: "2026-01-06T12:00:00.123456789Z"}},
		{"first layout, listed, outbox, expiry", func() recordItemV1 {
			it := recordItemV1{PK: "lead#a#b@example.com", SK: "state", Kind: "lead", Key: "a#b@example.com", Rev: 9, Data: `{}`,
				UpdatedAt: "2026-01-06T12:00:00.000000000Z", GSI1PK: "lead", GSI1SK: "2026-01-06T12:00:00.000000000Z#a#b@example.com", ExpiresAt: 1767700800}
			it.Outbox = append(it.Outbox, struct {
				ID   string `dynamodbav:"id"`
				Body string `dynamodbav:"body"`
			}{"e1", `{"a": 1}`})
			return it
		}()},
	}
	for _, c := range legacy {
		t.Run(c.name, func(t *testing.T) {
			av, err := attributevalue.MarshalMap(c.it)
			if err != nil {
				t.Fatal(err)
			}
			r, err := decodeRecord(av)
			if err != nil {
				t.Fatal(err)
			}
			updated, _ := store.ParseSortTime(c.it.UpdatedAt)
			if r.Kind != c.it.Kind || r.Key != c.it.Key || r.Rev != c.it.Rev || string(r.Data) != c.it.Data ||
				!r.UpdatedAt.Equal(updated) || !r.ExpiresAt.Equal(timeOrZero(c.it.ExpiresAt)) || len(r.Outbox) != len(c.it.Outbox) {
				t.Fatalf("decoded %+v from %+v", r, c.it)
			}
			for i, e := range c.it.Outbox {
				if r.Outbox[i].ID != e.ID || string(r.Outbox[i].Body) != e.Body {
					t.Errorf("outbox[%d] = %+v, want %+v", i, r.Outbox[i], e)
				}
			}
		})
	}
}

// Every placeholder an expression uses is defined by its helper, and every
// one defined is used: DynamoDB rejects both a missing and an unused one.
func TestExpressionPlaceholders(t *testing.T) {
	now := time.Unix(1767700800, 0)
	clear := atRev(3, now)
	clear.names["#o"], clear.names["#outbox"] = AttrOutbox, legacyOutbox
	clear.values[":next"] = numberAV(4)
	query := expr{
		names:  map[string]string{"#gsi1pk": AttrGSI1PK, "#exp": AttrExpiresAt},
		values: map[string]types.AttributeValue{":gsi1pk": avS("k#0"), ":now": numberAV(now.Unix())},
	}
	cases := []struct {
		name  string
		exprs []string
		e     expr
	}{
		{"put new", []string{exprAbsent}, absent(now)},
		{"put at revision", []string{exprAtRev}, atRev(3, now)},
		{"clear outbox", []string{exprAtRev, exprClearOutbox}, clear},
		{"query", []string{exprGSI1Key, exprNotExpired}, query},
	}
	placeholder := regexp.MustCompile(`[#:][a-z0-9_]+`)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var used []string
			for _, x := range c.exprs {
				used = append(used, placeholder.FindAllString(x, -1)...)
			}
			slices.Sort(used)
			used = slices.Compact(used)
			var defined []string
			for k := range c.e.names {
				defined = append(defined, k)
			}
			for k := range c.e.values {
				defined = append(defined, k)
			}
			slices.Sort(defined)
			if !slices.Equal(used, defined) {
				t.Errorf("used %v, defined %v", used, defined)
			}
		})
	}
	if got := atRev(3, now).values[":rev"].(*types.AttributeValueMemberN).Value; got != "3" {
		t.Errorf(":rev = %q", got)
	}
	if got := absent(now).values[":now"].(*types.AttributeValueMemberN).Value; got != "1767700800" {
		t.Errorf(":now = %q", got)
	}
}

// FuzzDecodeItem: an item read from the table is outside input. Random
// attribute maps (names near the real ones, every value type) give a record
// or an error, and a notification or an error, never a panic; and the
// notification decoder agrees with attributevalue.UnmarshalMap.
func FuzzDecodeItem(f *testing.F) {
	f.Add([]byte{0, 0, 'n', 'o', 't', 'e', 1, 2, 1, '5', 10, 7})
	f.Add([]byte("\x00\x00payment#pi_1\x00\x0b\x02\x013\x00\x0e\x00\x05{}"))
	f.Add([]byte{3, 4, 'Q', 9, 2, 0xff, 0xff, 8, 6, 0, 5, 1, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		item := fuzzItem(b)
		_, _ = decodeRecord(item)
		got, err := decodeNoteItem(item)
		var want noteItem
		wantErr := attributevalue.UnmarshalMap(item, &want)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("decodeNoteItem error %v, attributevalue error %v\nitem %s", err, wantErr, dumpItem(item))
		}
		if err == nil && got != want && !foldCollision(item) {
			t.Fatalf("decodeNoteItem = %+v\nattributevalue  = %+v\nitem %s", got, want, dumpItem(item))
		}
	})
}

// fuzzNames are the attribute names a fuzzed item picks from (and folded
// variants): both item kinds' and both layouts'.
var fuzzNames = []string{AttrPK, AttrSK, AttrRev, AttrData, AttrDataText, AttrOutbox, AttrUpdated, AttrGSI1PK, AttrGSI1SK,
	AttrExpiresAt, legacyKind, legacyKey, legacyUpdated, legacyOutbox, noteID, noteType, noteSubject, noteCreatedAt, noteEvent,
	"ID", "Expires_At", "ſubject", "body", "x"}

// fuzzItem builds an attribute map from b: per attribute a name byte, a
// type byte and a length-prefixed payload.
func fuzzItem(b []byte) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{}
	next := func() []byte {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			v := b
			b = nil
			return v
		}
		v := b[k : k+int(n)]
		b = b[k+int(n):]
		return v
	}
	for depth := 0; len(b) >= 2 && depth < 32; depth++ {
		name, typ := fuzzNames[int(b[0])%len(fuzzNames)], b[1]
		b = b[2:]
		item[name] = fuzzValue(typ, next())
	}
	return item
}

func fuzzValue(typ byte, p []byte) types.AttributeValue {
	switch typ % 10 {
	case 0:
		return &types.AttributeValueMemberS{Value: string(p)}
	case 1:
		return &types.AttributeValueMemberN{Value: string(p)}
	case 2:
		return &types.AttributeValueMemberB{Value: p}
	case 3:
		return &types.AttributeValueMemberNULL{Value: true}
	case 4:
		return &types.AttributeValueMemberBOOL{Value: len(p) > 0}
	case 5: // a legacy outbox: a list of maps
		var l []types.AttributeValue
		for i := 0; i+1 < len(p) && i < 16; i += 2 {
			l = append(l, &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
				"id": fuzzValue(p[i], p[i+1:i+2]), "body": fuzzValue(p[i+1], p[:i])}})
		}
		return &types.AttributeValueMemberL{Value: l}
	case 6:
		return &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberS{Value: string(p)}}}
	case 7:
		return &types.AttributeValueMemberSS{Value: []string{string(p)}}
	case 8:
		return &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: string(p)}}}
	default:
		return nil
	}
}

func dumpItem(m map[string]types.AttributeValue) string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	var sb strings.Builder
	for _, k := range names {
		sb.WriteString("  " + k + ": ")
		switch v := m[k].(type) {
		case *types.AttributeValueMemberS:
			sb.WriteString("S " + v.Value)
		case *types.AttributeValueMemberN:
			sb.WriteString("N " + v.Value)
		case *types.AttributeValueMemberB:
			sb.WriteString("B " + string(v.Value))
		case nil:
			sb.WriteString("nil")
		default:
			sb.WriteString(reflect.TypeOf(v).String())
		}
		sb.WriteString("\n")
	}
	return sb.String()
}
