package dynamostore

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/hookstack/hookstack/shared/store"
)

// The dictionary of format packDict can never change: items written with it
// would no longer unpack.
func TestPackDictFrozen(t *testing.T) {
	sum := sha256.Sum256([]byte(packDictV1))
	const want = "474eabbba567a82bf7486bc5dee5465a39bbcec19cd647c4e3bc9f74fe1e9337"
	if got := hex.EncodeToString(sum[:]); got != want {
		t.Fatalf("packDictV1 changed (sha256 %s): add a new format byte instead", got)
	}
}

func TestPackRoundTrip(t *testing.T) {
	envelope := []byte(`{"v":1,"id":"01KB7Q4Z8WJ4Y5N0Q3ZB6M2V9X","provider":"stripe","event_id":"evt_1","type":"payment_intent.succeeded","queue":"payments","body_json":{"id":"evt_1","object":"event","data":{"object":{"id":"pi_1","amount":2000,"currency":"usd","metadata":{}}}}}`)
	cases := []struct {
		name   string
		in     []byte
		format byte
	}{
		{"empty stays raw", []byte{}, packRaw},
		{"short stays raw", []byte(`{"a":1}`), packRaw},
		{"JSON is deflated with the dictionary", bytes.Repeat(envelope, 3), packDict},
		{"incompressible stays raw", func() []byte {
			a, b := sha256.Sum256([]byte("x")), sha256.Sum256([]byte("y"))
			return append(a[:], b[:]...)
		}(), packRaw},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := pack(c.in)
			if p[0] != c.format {
				t.Errorf("format %d, want %d", p[0], c.format)
			}
			if len(p) > len(c.in)+1 {
				t.Errorf("packed %d bytes from %d", len(p), len(c.in))
			}
			got, err := unpack(p)
			if err != nil || !bytes.Equal(got, c.in) {
				t.Errorf("unpack = %q, %v; want %q", got, err, c.in)
			}
		})
	}
}

func TestUnpackRejects(t *testing.T) {
	bomb := pack(bytes.Repeat([]byte("a"), maxUnpacked+10))
	cases := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"unknown format", []byte{9, 1, 2}},
		{"truncated deflate", pack(bytes.Repeat([]byte(`{"x":"yz"}`), 50))[:10]},
		{"over the bound", bomb},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := unpack(c.in); !errors.Is(err, errCorrupt) {
				t.Errorf("err %v, want errCorrupt", err)
			}
		})
	}
}

func TestOutboxFraming(t *testing.T) {
	o := []store.OutboxEvent{{ID: "evt_1:payment.succeeded", Body: []byte(`{ "id" : 1 }`)}, {ID: "x", Body: []byte(`[]`)}}
	got, err := decodeOutbox(encodeOutbox(o))
	if err != nil || len(got) != 2 || got[0].ID != o[0].ID || string(got[0].Body) != string(o[0].Body) || string(got[1].Body) != "[]" {
		t.Fatalf("decodeOutbox = %+v, %v", got, err)
	}
	for _, bad := range [][]byte{{5, 'a'}, {1, 'a', 9}, {0xff}} {
		if _, err := decodeOutbox(bad); !errors.Is(err, errCorrupt) {
			t.Errorf("decodeOutbox(%v) err %v", bad, err)
		}
	}
}

// A record survives encodeRecord/decodeRecord, in both time encodings.
func TestRecordRoundTrip(t *testing.T) {
	cases := []struct {
		name     string
		updated  time.Time
		attr     string
		packed   bool
		dataAttr string
	}{
		{"nanoseconds", time.Date(2026, 1, 6, 12, 0, 0, 123456789, time.UTC), AttrUpdated, false, AttrDataText},
		{"beyond int64 nanoseconds", time.Date(2999, 1, 1, 0, 0, 0, 5, time.UTC), legacyUpdated, false, AttrDataText},
		{"packed kind", time.Date(2026, 1, 6, 12, 0, 0, 0, time.UTC), AttrUpdated, true, AttrData},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := store.Record{Kind: "lead", Key: "a#b@example.com", Data: []byte(`{"email":"a#b@example.com"}`),
				ExpiresAt: time.Unix(1767225601, 0).UTC(), Outbox: []store.OutboxEvent{{ID: "e1", Body: []byte(`{"type":"lead.created"}`)}}}
			it := encodeRecord(r, 3, c.updated, true, c.packed)
			if _, ok := it[c.attr]; !ok {
				t.Errorf("no %s attribute", c.attr)
			}
			if _, ok := it[c.dataAttr]; !ok || len(it) != 9 {
				t.Errorf("no %s attribute, or not 9 attributes: %v", c.dataAttr, it)
			}
			if text, ok := it[AttrDataText].(*types.AttributeValueMemberS); ok && text.Value != string(r.Data) {
				t.Errorf("data = %q, want the document as JSON text", text.Value)
			}
			got, err := decodeRecord(it)
			if err != nil {
				t.Fatal(err)
			}
			if got.Kind != r.Kind || got.Key != r.Key || got.Rev != 3 || string(got.Data) != string(r.Data) ||
				!got.UpdatedAt.Equal(c.updated) || !got.ExpiresAt.Equal(r.ExpiresAt) || len(got.Outbox) != 1 || string(got.Outbox[0].Body) != string(r.Outbox[0].Body) {
				t.Errorf("decoded %+v", got)
			}
		})
	}
}

// An item of the previous layout decodes to the same record.
func TestDecodeLegacyItem(t *testing.T) {
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	it := map[string]types.AttributeValue{
		"pk": s("payment#pi_1"), "sk": s("state"), "kind": s("payment"), "key": s("pi_1"),
		"rev": &types.AttributeValueMemberN{Value: "2"}, "data": s(`{"id":"pi_1"}`),
		"updated_at": s("2026-01-06T12:00:00.000000000Z"),
		"outbox":     &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"id": s("e1"), "body": s(`{"a":1}`)}}}},
	}
	r, err := decodeRecord(it)
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != "payment" || r.Key != "pi_1" || r.Rev != 2 || string(r.Data) != `{"id":"pi_1"}` || len(r.Outbox) != 1 || r.Outbox[0].ID != "e1" ||
		!r.UpdatedAt.Equal(time.Date(2026, 1, 6, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("decoded %+v", r)
	}
}

// FuzzDecodeRecord: stored items are outside input for a reader (another
// version, a hand edit): any bytes give a record or an error, never a panic.
func FuzzDecodeRecord(f *testing.F) {
	f.Add([]byte{packDict, 1, 2, 3}, []byte{1, 'a', 1, 'b'}, "payment#pi_1")
	f.Add(pack([]byte(strings.Repeat(`{"a":"b"}`, 10))), pack(encodeOutbox([]store.OutboxEvent{{ID: "x", Body: []byte("{}")}})), "k#v")
	f.Fuzz(func(t *testing.T, d, o []byte, pk string) {
		it := map[string]types.AttributeValue{
			AttrPK: &types.AttributeValueMemberS{Value: pk}, AttrData: &types.AttributeValueMemberB{Value: d},
			AttrOutbox: &types.AttributeValueMemberB{Value: o}, AttrUpdated: &types.AttributeValueMemberN{Value: "1"},
		}
		_, _ = decodeRecord(it)
	})
}
