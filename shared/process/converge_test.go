package process

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hookstack/hookstack/shared/domain"
	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/store"
	"github.com/hookstack/hookstack/shared/store/dynamostore"
	"github.com/hookstack/hookstack/shared/store/dynamostore/dynamotest"
	"github.com/hookstack/hookstack/shared/store/localstore"
)

var snapshotKinds = []string{KindPayment, KindSubscription, KindInventory, KindLead, KindChat, KindAlias}

// TestShuffledSamplesConverge delivers every events/ sample through the
// handlers in order, then shuffled, duplicated and in random concurrent
// batches (all four queues at once, failed messages redelivered as SQS
// would), and asserts the same live records result, with no outbox left,
// the same domain events announced per payment, subscription and chat (by
// type, each id once), and that replaying the first half again announces
// nothing, on the embedded store and on DynamoDB (emulator).
func TestShuffledSamplesConverge(t *testing.T) {
	stores := []struct {
		name  string
		open  func(t *testing.T) store.Store
		seeds int
	}{
		{"localstore", func(t *testing.T) store.Store {
			s, err := localstore.Open(filepath.Join(t.TempDir(), "store.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			return s
		}, 6},
		// Every kind indexed: the test compares the stores' listings.
		{"dynamostore", func(t *testing.T) store.Store { return dynamotest.Store(t, dynamostore.ListAll()) }, 3},
	}
	all := samples(t)
	var ordered []envelope.Envelope
	for _, name := range slices.Sorted(mapsKeys(all)) {
		ordered = append(ordered, all[name]...)
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			wr := newRigOn(t, st.open(t))
			want := deliver(t, wr, [][]envelope.Envelope{ordered}, 1)
			wantAnn := announced(t, wr)
			for subj, want := range map[string]map[string]int{
				"payment:pi_3RZx5a2eZvKYlo2C0m8kQpLd": {"payment.failed": 1, "payment.succeeded": 1, "payment.refunded": 2, "payment.disputed": 1},
				"subscription:cus_RZx4qT8mWk2LhN":     {"subscription.activated": 1, "subscription.past_due": 1, "subscription.canceled": 1},
			} {
				if !maps.Equal(wantAnn[subj], want) {
					t.Fatalf("in order, %s announced %v, want %v", subj, wantAnn[subj], want)
				}
			}
			if len(want) < 8 {
				t.Fatalf("only %d live records: %v", len(want), slices.Sorted(mapsKeys(want)))
			}
			for seed := range st.seeds {
				t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
					rnd := rand.New(rand.NewPCG(uint64(seed), 42))
					var seq []envelope.Envelope
					for _, e := range ordered {
						for range 1 + rnd.IntN(3) {
							seq = append(seq, e)
						}
					}
					rnd.Shuffle(len(seq), func(i, j int) { seq[i], seq[j] = seq[j], seq[i] })
					gr := newRigOn(t, st.open(t))
					got := deliver(t, gr, [][]envelope.Envelope{seq}, 10)
					gotAnn := announced(t, gr)
					for _, subj := range slices.Sorted(mapsKeys(wantAnn)) {
						if milestoneSubject(subj) && !maps.Equal(gotAnn[subj], wantAnn[subj]) {
							t.Errorf("%s announced %v, in order %v", subj, gotAnn[subj], wantAnn[subj])
						}
					}
					for subj, g := range gotAnn {
						if _, ok := wantAnn[subj]; !ok && milestoneSubject(subj) {
							t.Errorf("%s announced %v, in order nothing", subj, g)
						}
					}
					// Replaying a prefix announces nothing new.
					before := domainIDs(t, gr)
					deliver(t, gr, [][]envelope.Envelope{seq[:len(seq)/2]}, 10)
					if after := domainIDs(t, gr); !maps.Equal(after, before) {
						t.Errorf("replay announced %d new events", len(after)-len(before))
					}
					for _, k := range slices.Sorted(mapsKeys(want)) {
						if got[k] != want[k] {
							t.Errorf("%s:\n got %s\nwant %s", k, got[k], want[k])
						}
					}
					for k := range got {
						if _, ok := want[k]; !ok {
							t.Errorf("extra record %s: %s", k, got[k])
						}
					}
				})
			}
		})
	}
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// deliver sends the envelopes through the handlers, per queue in batches of
// up to maxBatch (random sizes), the queues concurrently, redelivering
// failures, and returns the live records: "kind/key" → data.
func deliver(t *testing.T, r *rig, seqs [][]envelope.Envelope, maxBatch int) map[string]string {
	t.Helper()
	byQueue := map[string][]events.SQSMessage{}
	for _, seq := range seqs {
		for _, e := range seq {
			byQueue[e.Queue] = append(byQueue[e.Queue], msg(t, e))
		}
	}
	var wg sync.WaitGroup
	errs := make(chan string, len(byQueue))
	for name, msgs := range byQueue {
		h := r.handler(name)
		rnd := rand.New(rand.NewPCG(uint64(len(msgs)), 7))
		wg.Add(1)
		go func() {
			defer wg.Done()
			pending := msgs
			for round := 0; len(pending) > 0; round++ {
				if round == 5 {
					errs <- fmt.Sprintf("%s: %d messages still failing after 5 deliveries", name, len(pending))
					return
				}
				var retry []events.SQSMessage
				for len(pending) > 0 {
					n := min(len(pending), 1+rnd.IntN(maxBatch))
					batch := pending[:n]
					pending = pending[n:]
					resp, err := h.Handle(context.Background(), events.SQSEvent{Records: batch})
					if err != nil {
						errs <- err.Error()
						return
					}
					for _, f := range resp.BatchItemFailures {
						for _, m := range batch {
							if m.MessageId == f.ItemIdentifier {
								retry = append(retry, m)
							}
						}
					}
				}
				pending = retry
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("%s\nlogs:\n%s", e, tail(r.logs.String(), 4000))
	}
	for _, name := range Names {
		if dlq := r.sent(name + envelope.DLQSuffix); len(dlq) != 0 {
			t.Errorf("%s: %d messages dead-lettered: %s", name, len(dlq), dlq[0].Attributes["reason"])
		}
	}
	out := map[string]string{}
	for _, kind := range snapshotKinds {
		recs, err := r.base.List(context.Background(), kind, store.MaxLimit)
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range recs {
			if len(rec.Outbox) != 0 {
				t.Errorf("%s/%s: outbox left: %d events", kind, rec.Key, len(rec.Outbox))
			}
			var head struct {
				MergedInto string `json:"merged_into"`
			}
			_ = json.Unmarshal(rec.Data, &head)
			if head.MergedInto != "" {
				continue // a tombstone exists only if the alias was written first
			}
			out[kind+"/"+rec.Key] = string(rec.Data)
		}
	}
	return out
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := len(s) - n
	if j := strings.IndexByte(s[i:], '\n'); j >= 0 {
		i += j + 1
	}
	return s[i:]
}

// milestoneSubject: the records whose announcements do not depend on the
// arrival order (payments, subscriptions, chats: see domain.Timeline). Lead
// and inventory events announce the current state and are not replayed late
// (see the leads and inventory package docs).
func milestoneSubject(subject string) bool {
	for _, p := range []string{"payment:", "subscription:", "chat:"} {
		if strings.HasPrefix(subject, p) {
			return true
		}
	}
	return false
}

// domainIDs is the set of domain event ids sent.
func domainIDs(t *testing.T, r *rig) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, m := range r.sent(envelope.QueueNotifications) {
		var e domain.Event
		if err := json.Unmarshal(m.Body, &e); err != nil {
			t.Fatalf("notification %s: %v", m.Body, err)
		}
		if !e.IsRaw() {
			out[e.ID] = true
		}
	}
	return out
}

// announced counts the domain events sent (raw forwards left out) per
// subject and type, each distinct id once: a notification may be sent
// again (at least once), never under a new id.
func announced(t *testing.T, r *rig) map[string]map[string]int {
	t.Helper()
	out := map[string]map[string]int{}
	seen := map[string]bool{}
	for _, m := range r.sent(envelope.QueueNotifications) {
		var e domain.Event
		if err := json.Unmarshal(m.Body, &e); err != nil {
			t.Fatalf("notification %s: %v", m.Body, err)
		}
		if e.IsRaw() || seen[e.ID] {
			continue
		}
		seen[e.ID] = true
		if out[e.Subject] == nil {
			out[e.Subject] = map[string]int{}
		}
		out[e.Subject][e.Type]++
	}
	return out
}
