package dynamostore

// The compact record layout. DynamoDB bills a write by the item's size in
// whole KB (an UpdateItem by the larger of the two images), counting every
// attribute's name and value, so a record is written with short attribute
// names and its outbox packed (see pack), and the documents of internal
// kinds (PackKinds: the replay archive) packed too: a typical processor
// record with its outbox, and a typical archived envelope, then fit one
// write unit instead of two or three. The documents of every other kind —
// the synced state other applications read: payments, leads, stock — stay
// JSON text in `data`. Items of the previous layout (long
// names, the document as a string, the outbox as a list) are still read, so a
// table written by an older version keeps working; every Put writes the
// compact layout.

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/hookstack/hookstack/shared/store"
)

// Attributes of a record item in the compact layout (besides pk, sk, rev,
// expires_at, gsi1pk and gsi1sk).
const (
	// AttrData is the document of a packed kind (PackKinds), packed (B).
	AttrData = "d"
	// AttrDataText is the document of every other kind, as JSON text (S).
	AttrDataText = "data"
	// AttrOutbox is the pending outbox, packed (B): per event its id and
	// body, each a uvarint length and the bytes.
	AttrOutbox = "o"
	// AttrUpdated is UpdatedAt as Unix nanoseconds (N). A time outside the
	// range of int64 nanoseconds (before 1678, after 2262) is written in
	// the previous layout's updated_at string instead.
	AttrUpdated = "t"
	// AttrRev is the revision (N), the attribute of the conditions.
	AttrRev = "rev"

	// The previous layout's attributes, still read.
	legacyKind    = "kind"
	legacyKey     = "key"
	legacyUpdated = "updated_at"
	legacyOutbox  = "outbox"
)

// Formats of a packed value: its first byte.
const (
	packRaw   byte = 0 // the bytes as they are
	packFlate byte = 1 // DEFLATE (RFC 1951)
	// packDict is DEFLATE with packDictV1 as the preset dictionary.
	packDict byte = 2
)

// packDictV1 is the preset dictionary of packDict: the vocabulary of what
// the processors store — the queue envelope's fields and usual headers, the
// domain events' fields, and keys common in webhook payloads — so that the
// first occurrence of each costs a back-reference instead of its bytes
// (about 100–200 bytes less per small document). Items written with it can
// only be read with the same bytes: never edit it (TestPackDictFrozen); a
// new dictionary takes a new format byte.
const packDictV1 = `"metadata":{},"description":null,"livemode":false,"enabled":true,"currency":"usd","amount":` +
	`"customer":"cus_","payment_intent":"pi_","subscription":"sub_","invoice":"in_","charge":"ch_",` +
	`"status":"succeeded","created_at":"","updated_at":"","email":"","first_name":"","last_name":"","name":"",` +
	`"company":"","phone":"","title":"","url":"https://","html_url":"https://","avatar_url":"https://",` +
	`"node_id":"","login":"","username":"","sku":"","available":,"location_id":,"inventory_item_id":,` +
	`"object":"event","api_version":"","request":{"id":null,"idempotency_key":null},"pending_webhooks":1,` +
	`"source":"","source_event_id":"","version":{"at":"","rank":},"value":,"event_id":"","subject":"",` +
	`"data":{"object":{"id":"","object":"","created":` +
	`{"v":1,"id":"","provider":"","event_id":"","type":"","occurred_at":"2026-01-01T00:00:00.000000000Z",` +
	`"received_at":"2026-01-01T00:00:00.000000000Z","content_type":"application/json; charset=utf-8",` +
	`"headers":{"User-Agent":"","X-Request-Id":""},"queue":"relay","body_json":{"id":"evt_","object":"event","type":"","created":`

// maxUnpacked bounds what unpacking may produce (a corrupt or hostile item
// cannot make a reader allocate without limit).
const maxUnpacked = store.MaxRecordBytes + 64<<10

// errCorrupt: a packed value that cannot be read.
var errCorrupt = errors.New("corrupt packed value")

var flateWriters = sync.Pool{New: func() any {
	w, _ := flate.NewWriterDict(io.Discard, flate.BestCompression, []byte(packDictV1))
	return w
}}

// pack returns b as a packed value: DEFLATE with the dictionary when that is
// smaller, else the bytes as they are; a format byte first.
func pack(b []byte) []byte {
	if len(b) >= 32 {
		var buf bytes.Buffer
		buf.Grow(len(b)/2 + 16)
		buf.WriteByte(packDict)
		w := flateWriters.Get().(*flate.Writer)
		w.Reset(&buf)
		_, werr := w.Write(b)
		cerr := w.Close()
		flateWriters.Put(w)
		if werr == nil && cerr == nil && buf.Len() < len(b)+1 {
			return buf.Bytes()
		}
	}
	out := make([]byte, 0, len(b)+1)
	return append(append(out, packRaw), b...)
}

// unpack reverses pack.
func unpack(p []byte) ([]byte, error) {
	if len(p) == 0 {
		return nil, fmt.Errorf("%w: empty", errCorrupt)
	}
	var r io.ReadCloser
	switch p[0] {
	case packRaw:
		return p[1:], nil
	case packFlate:
		r = flate.NewReader(bytes.NewReader(p[1:]))
	case packDict:
		r = flate.NewReaderDict(bytes.NewReader(p[1:]), []byte(packDictV1))
	default:
		return nil, fmt.Errorf("%w: format %d", errCorrupt, p[0])
	}
	defer r.Close()
	out, err := io.ReadAll(io.LimitReader(r, maxUnpacked+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errCorrupt, err)
	}
	if len(out) > maxUnpacked {
		return nil, fmt.Errorf("%w: more than %d bytes", errCorrupt, maxUnpacked)
	}
	return out, nil
}

// encodeOutbox frames the outbox: per event, uvarint length and id, uvarint
// length and body (bodies are kept byte for byte).
func encodeOutbox(o []store.OutboxEvent) []byte {
	var b []byte
	for _, e := range o {
		b = binary.AppendUvarint(b, uint64(len(e.ID)))
		b = append(b, e.ID...)
		b = binary.AppendUvarint(b, uint64(len(e.Body)))
		b = append(b, e.Body...)
	}
	return b
}

func decodeOutbox(b []byte) ([]store.OutboxEvent, error) {
	var out []store.OutboxEvent
	next := func() ([]byte, error) {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return nil, fmt.Errorf("%w: outbox framing", errCorrupt)
		}
		v := b[k : k+int(n)]
		b = b[k+int(n):]
		return v, nil
	}
	for len(b) > 0 {
		id, err := next()
		if err != nil {
			return nil, err
		}
		body, err := next()
		if err != nil {
			return nil, err
		}
		out = append(out, store.OutboxEvent{ID: string(id), Body: bytes.Clone(body)})
	}
	return out, nil
}

// encodeRecord is r's item in the compact layout at revision rev.
// The document is packed when packed (PackKinds), else JSON text.
func encodeRecord(r store.Record, rev int64, updated time.Time, listed, packed bool) map[string]types.AttributeValue {
	it := map[string]types.AttributeValue{
		AttrPK:  &types.AttributeValueMemberS{Value: RecordPK(r.Kind, r.Key)},
		AttrSK:  &types.AttributeValueMemberS{Value: SKState},
		AttrRev: &types.AttributeValueMemberN{Value: strconv.FormatInt(rev, 10)},
	}
	if packed {
		it[AttrData] = &types.AttributeValueMemberB{Value: pack(r.Data)}
	} else {
		it[AttrDataText] = &types.AttributeValueMemberS{Value: string(r.Data)}
	}
	if ns, ok := unixNano(updated); ok {
		it[AttrUpdated] = &types.AttributeValueMemberN{Value: strconv.FormatInt(ns, 10)}
	} else {
		it[legacyUpdated] = &types.AttributeValueMemberS{Value: store.SortTime(updated)}
	}
	if len(r.Outbox) > 0 {
		it[AttrOutbox] = &types.AttributeValueMemberB{Value: pack(encodeOutbox(r.Outbox))}
	}
	if listed {
		it[AttrGSI1PK] = &types.AttributeValueMemberS{Value: RecordGSI1PK(r.Kind, r.Key)}
		it[AttrGSI1SK] = &types.AttributeValueMemberS{Value: store.SortTime(updated) + "#" + r.Key}
	}
	if !r.ExpiresAt.IsZero() {
		it[AttrExpiresAt] = &types.AttributeValueMemberN{Value: strconv.FormatInt(r.ExpiresAt.Unix(), 10)}
	}
	return it
}

// unixNano is t in Unix nanoseconds when int64 holds it.
func unixNano(t time.Time) (int64, bool) {
	ns := t.UnixNano()
	return ns, time.Unix(0, ns).Equal(t)
}

// decodeRecord reads a record item of either layout.
func decodeRecord(it map[string]types.AttributeValue) (store.Record, error) {
	var r store.Record
	pk := attrS(it, AttrPK)
	kind, key, ok := strings.Cut(pk, "#")
	if k := attrS(it, legacyKind); k != "" { // previous layout
		kind, key, ok = k, attrS(it, legacyKey), true
	}
	if !ok {
		return store.Record{}, fmt.Errorf("%w: record item %q has no kind#key", errCorrupt, pk)
	}
	r.Kind, r.Key = kind, key
	var err error
	if r.Rev, err = attrN(it, AttrRev); err != nil {
		return store.Record{}, err
	}
	exp, err := attrN(it, AttrExpiresAt)
	if err != nil {
		return store.Record{}, err
	}
	r.ExpiresAt = timeOrZero(exp)
	switch v := it[AttrUpdated].(type) {
	case *types.AttributeValueMemberN:
		ns, err := strconv.ParseInt(v.Value, 10, 64)
		if err != nil {
			return store.Record{}, fmt.Errorf("%w: %s %q", errCorrupt, AttrUpdated, v.Value)
		}
		r.UpdatedAt = time.Unix(0, ns).UTC()
	default:
		if r.UpdatedAt, err = store.ParseSortTime(attrS(it, legacyUpdated)); err != nil {
			return store.Record{}, err
		}
	}
	if d, ok := it[AttrData].(*types.AttributeValueMemberB); ok {
		if r.Data, err = unpack(d.Value); err != nil {
			return store.Record{}, fmt.Errorf("record %s %q: data: %w", kind, key, err)
		}
	} else {
		r.Data = []byte(attrS(it, AttrDataText))
	}
	switch o := it[AttrOutbox].(type) {
	case *types.AttributeValueMemberB:
		raw, err := unpack(o.Value)
		if err != nil {
			return store.Record{}, fmt.Errorf("record %s %q: outbox: %w", kind, key, err)
		}
		if r.Outbox, err = decodeOutbox(raw); err != nil {
			return store.Record{}, fmt.Errorf("record %s %q: %w", kind, key, err)
		}
	default:
		if l, ok := it[legacyOutbox].(*types.AttributeValueMemberL); ok {
			for _, e := range l.Value {
				m, ok := e.(*types.AttributeValueMemberM)
				if !ok {
					return store.Record{}, fmt.Errorf("%w: record %s %q: outbox entry", errCorrupt, kind, key)
				}
				r.Outbox = append(r.Outbox, store.OutboxEvent{ID: attrS(m.Value, "id"), Body: []byte(attrS(m.Value, "body"))})
			}
		}
	}
	return r, nil
}

func attrS(it map[string]types.AttributeValue, name string) string {
	if v, ok := it[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// attrN reads an integer attribute (0 when absent).
func attrN(it map[string]types.AttributeValue, name string) (int64, error) {
	v, ok := it[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0, nil
	}
	n, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %s %q", errCorrupt, name, v.Value)
	}
	return n, nil
}
