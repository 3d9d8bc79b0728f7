package dynamostore

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/hookstack/hookstack/shared/store"
)

// GSI1Shards is how many gsi1 partition keys the records of one listed kind
// are spread over: gsi1pk is <kind>#<shard>, shard = a hash (FNV-1a) of the
// record's key mod GSI1Shards (shardOf, RecordGSI1PK). A DynamoDB partition takes
// about 1000 write units a second, and a throttled GSI throttles the writes
// to the table, so a kind written in bursts (the deliverer's failed
// attempts during a receiver's outage) must not share one index key. List
// queries every shard, and the unsharded <kind> of items written before
// sharding, and merges them.
//
// Never change it, nor the hash, without rewriting the listed items: List
// only queries shards 0..GSI1Shards-1.
const GSI1Shards = 8

// unshardedKind is the one kind whose sharded gsi1pk, <kind>#<shard>, would
// be a notification-type index key ("notification-type#<type>"): its
// records stay under gsi1pk <kind>, unsharded.
const unshardedKind = store.NotificationKind + "-type" // gsiNotificationType without its "#"

// shardOf is the gsi1 shard of a record key: FNV-1a (32-bit) of the key,
// mixed by MurmurHash3's finalizer (fmix32: the low bits of FNV-1a depend
// only on the low bits of the key's bytes, so keys differing elsewhere
// would share a shard), mod GSI1Shards. Stable: stored items carry it.
func shardOf(key string) int {
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= 16777619
	}
	return int(fmix32(h) % GSI1Shards)
}

// fmix32 is MurmurHash3's 32-bit finalizer: every input bit affects every
// output bit.
func fmix32(h uint32) uint32 {
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}

// RecordGSI1PK is the gsi1 partition key of record (kind, key) when its
// kind is listed: <kind>#<shard> (see GSI1Shards).
func RecordGSI1PK(kind, key string) string {
	if kind == unshardedKind {
		return kind
	}
	return kind + "#" + strconv.Itoa(shardOf(key))
}

// listPKs are the gsi1 partition keys List queries for kind: the unsharded
// one of items written before sharding, then every shard.
func listPKs(kind string) []string {
	if kind == unshardedKind {
		return []string{kind}
	}
	pks := make([]string, 0, GSI1Shards+1)
	pks = append(pks, kind)
	for i := range GSI1Shards {
		pks = append(pks, kind+"#"+strconv.Itoa(i))
	}
	return pks
}

// listed is a record read from gsi1 with its sort key.
type listed struct {
	sk string
	r  store.Record
}

// listMerged queries every pk concurrently, up to limit live records each
// (the newest limit of the union are among them), and returns the newest
// limit of all, by gsi1sk descending as one query would.
func (s *Store) listMerged(ctx context.Context, op string, pks []string, limit int) ([]store.Record, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	parts := make([][]listed, len(pks))
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for i, pk := range pks {
		wg.Go(func() {
			err := s.query(ctx, op, pk, limit, func(av map[string]types.AttributeValue) error {
				r, err := decodeRecord(av)
				if err != nil {
					return fmt.Errorf("decode: %w", err)
				}
				parts[i] = append(parts[i], listed{sk: attrS(av, AttrGSI1SK), r: r})
				return nil
			})
			if err != nil {
				mu.Lock()
				if firstErr == nil { // the cause, not the cancellations it leads to
					firstErr = err
					cancel()
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return mergeNewest(parts, limit), nil
}

// mergeNewest merges parts, each in gsi1sk descending order, into the first
// limit records in gsi1sk descending order.
func mergeNewest(parts [][]listed, limit int) []store.Record {
	var all []listed
	for _, p := range parts {
		all = append(all, p...)
	}
	slices.SortStableFunc(all, func(a, b listed) int { return strings.Compare(b.sk, a.sk) })
	out := make([]store.Record, 0, min(limit, len(all)))
	for _, l := range all[:min(limit, len(all))] {
		out = append(out, l.r)
	}
	return out
}
