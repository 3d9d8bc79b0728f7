package dynamostore

import (
	"fmt"
	"hash/fnv"
	"strings"
	"testing"

	"github.com/hookstack/hookstack/shared/store"
)

// The shard is FNV-1a 32 of the key, mixed (fmix32), mod GSI1Shards, for
// good: stored items carry it. Pinned values catch a changed hash or shard
// count; keys that differ in any bits spread over every shard.
func TestShardOf(t *testing.T) {
	if GSI1Shards != 8 {
		t.Fatalf("GSI1Shards = %d: stored items are sharded over 8", GSI1Shards)
	}
	for i := range 2000 {
		key := fmt.Sprintf("evt_%d:ep_%d:%d", i, i%7, i%3)
		h := fnv.New32a()
		h.Write([]byte(key))
		if got, want := shardOf(key), int(fmix32(h.Sum32())%GSI1Shards); got != want {
			t.Fatalf("shardOf(%q) = %d, FNV-1a says %d", key, got, want)
		}
	}
	for _, tc := range []struct {
		kind, key, want string
	}{
		{"delivery-attempt", "", "delivery-attempt#3"},
		{"delivery-attempt", "a", "delivery-attempt#3"},
		{"delivery-attempt", "i", "delivery-attempt#6"}, // 'a' and 'i' differ in bit 3 only
		{"delivery-attempt", "q", "delivery-attempt#2"},
		{"endpoint", "ep_01KB7Q4Z8WJ4Y5N0Q3ZB6M2V9X", "endpoint#1"},
		{"notification-type", "a", "notification-type"}, // would be a notification type's index key
	} {
		if got := RecordGSI1PK(tc.kind, tc.key); got != tc.want {
			t.Errorf("RecordGSI1PK(%q, %q) = %q, want %q", tc.kind, tc.key, got, tc.want)
		}
	}
	// Spread: single characters, and delivery-attempt-like keys.
	for _, tc := range []struct {
		name string
		keys func(i int) string
		n    int
		min  int
	}{
		{"single characters", func(i int) string { return string(rune('@' + i)) }, 64, 4},
		{"attempt keys", func(i int) string { return fmt.Sprintf("msg_%026d#%03d", i*7919, i%5) }, 1000, 100},
	} {
		counts := make([]int, GSI1Shards)
		for i := range tc.n {
			counts[shardOf(tc.keys(i))]++
		}
		for shard, c := range counts {
			if c < tc.min {
				t.Errorf("%s: shard %d holds %d of %d keys: %v", tc.name, shard, c, tc.n, counts)
			}
		}
	}
	if got := strings.Join(listPKs("lead"), ","); got != "lead,lead#0,lead#1,lead#2,lead#3,lead#4,lead#5,lead#6,lead#7" {
		t.Errorf("listPKs(lead) = %s", got)
	}
	if got := strings.Join(listPKs(unshardedKind), ","); got != unshardedKind {
		t.Errorf("listPKs(%s) = %s", unshardedKind, got)
	}
}

// mergeNewest: newest gsi1sk first over every part, cut at the limit.
func TestMergeNewest(t *testing.T) {
	part := func(sks ...string) []listed {
		out := make([]listed, len(sks))
		for i, sk := range sks {
			out[i] = listed{sk: sk, r: store.Record{Key: sk}}
		}
		return out
	}
	parts := [][]listed{
		part("2026-01-03#c", "2026-01-01#a"),
		nil,
		part("2026-01-04#d", "2026-01-02#b", "2026-01-02#a"),
		part("2026-01-02#bb"),
	}
	for _, tc := range []struct {
		limit int
		want  string
	}{
		{1, "2026-01-04#d"},
		{3, "2026-01-04#d,2026-01-03#c,2026-01-02#bb"},
		{6, "2026-01-04#d,2026-01-03#c,2026-01-02#bb,2026-01-02#b,2026-01-02#a,2026-01-01#a"},
		{100, "2026-01-04#d,2026-01-03#c,2026-01-02#bb,2026-01-02#b,2026-01-02#a,2026-01-01#a"},
	} {
		t.Run(fmt.Sprint(tc.limit), func(t *testing.T) {
			got := mergeNewest(parts, tc.limit)
			keys := make([]string, len(got))
			for i, r := range got {
				keys[i] = r.Key
			}
			if strings.Join(keys, ",") != tc.want {
				t.Errorf("mergeNewest(%d) = %s, want %s", tc.limit, strings.Join(keys, ","), tc.want)
			}
		})
	}
	if got := mergeNewest(nil, 10); got == nil || len(got) != 0 {
		t.Errorf("mergeNewest of nothing = %#v, want an empty list", got)
	}
}
