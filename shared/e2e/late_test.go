package e2e

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/tidwall/gjson"

	"github.com/hookstack/hookstack/shared/blob"
	"github.com/hookstack/hookstack/shared/domain"
	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/notify"
	"github.com/hookstack/hookstack/shared/process"
	"github.com/hookstack/hookstack/shared/sample"
	"github.com/hookstack/hookstack/shared/store"
)

// The late round (round 3 of TestPipelineEndToEnd) replays the Stripe and
// LiveChat part of the story for a second customer, payment and chat: the
// same samples with every identifier rewritten (so they are new events on
// new records), sent in a seeded random order in which at least the full
// refund comes before the payment's success and the chat's close before its
// start. HOOKSTACK_E2E_SEED=<n> repeats an order; the seed is logged, and
// the order too when the test fails.

// twin rewrites the story's identifiers into the second customer's: every
// Stripe object id of the account (evt_, pi_, ch_, sub_, in_, price_ ...
// all hold "2eZvKYlo2C"), the customer, the chat and its thread. A LiveChat
// event id is a hash of the body, so it changes with them.
var twin = strings.NewReplacer(
	"2eZvKYlo2C", "2eZvKYlo2T",
	customer, "cus_RZx4qT8mWk2LhT",
	chatID, "PJ0MRSHTDT",
	"K600PKZON8", "K600PKZONT",
)

// milestoneSubjects are the records whose domain events are milestones,
// announced the same (by type) whatever the arrival order.
var milestoneSubjects = []string{"payment:", "subscription:", "chat:"}

// twinStory returns the Stripe and LiveChat samples, in the story's order,
// with their identifiers rewritten by twin.
func twinStory(t *testing.T, samples []sample.Sample) []sample.Sample {
	t.Helper()
	var out []sample.Sample
	for _, s := range samples {
		if s.Provider != "stripe" && s.Provider != "livechat" {
			continue
		}
		c := s.Clone()
		c.Body = []byte(twin.Replace(string(s.Body)))
		if bytes.Equal(c.Body, s.Body) {
			t.Fatalf("%s: no identifier to rewrite", s.Path)
		}
		out = append(out, c)
	}
	return out
}

// lateSeed is $HOOKSTACK_E2E_SEED, or a new seed each run.
func lateSeed(t *testing.T) uint64 {
	t.Helper()
	if v := os.Getenv("HOOKSTACK_E2E_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("HOOKSTACK_E2E_SEED=%q: %v", v, err)
		}
		return n
	}
	return rand.Uint64()
}

// lateOrder shuffles story (seeded) and returns the order as indexes into
// story. It then makes sure of the inversions the round is about: each
// pair {older, newer} of sample names has its newer one sent first.
func lateOrder(t *testing.T, story []sample.Sample, seed uint64, inversions ...[2]string) []int {
	t.Helper()
	perm := rand.New(rand.NewPCG(seed, 0x1a7e)).Perm(len(story))
	pos := func(name string) int {
		for i, j := range perm {
			if story[j].Provider+"/"+story[j].Name == name {
				return i
			}
		}
		t.Fatalf("no sample %s in the late round", name)
		return -1
	}
	for _, inv := range inversions {
		if o, n := pos(inv[0]), pos(inv[1]); o < n {
			perm[o], perm[n] = perm[n], perm[o]
		}
	}
	return perm
}

// milestonesBySubject counts the domain events of each milestone record by
// type (raw forwards and the current-state records' events left out).
func milestonesBySubject(evs []domain.Event) map[string]map[string]int {
	out := map[string]map[string]int{}
	for _, ev := range evs {
		if ev.IsRaw() || !slices.ContainsFunc(milestoneSubjects, func(p string) bool { return strings.HasPrefix(ev.Subject, p) }) {
			continue
		}
		if out[ev.Subject] == nil {
			out[ev.Subject] = map[string]int{}
		}
		out[ev.Subject][ev.Type]++
	}
	return out
}

// sameMilestones compares two runs' milestones per subject, by type.
func sameMilestones(t *testing.T, what string, got, want map[string]map[string]int) {
	t.Helper()
	for _, subj := range slices.Sorted(maps.Keys(want)) {
		if !maps.Equal(got[subj], want[subj]) {
			t.Errorf("%s: %s announced %v, want %v", what, subj, got[subj], want[subj])
		}
	}
	for _, subj := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[subj]; !ok {
			t.Errorf("%s: %s announced %v, want nothing", what, subj, got[subj])
		}
	}
}

// lateRound is what round 3 needs of the test.
type lateRound struct {
	sqs       *sqs.Client
	blobs     blob.Store
	records   map[string]store.Record // before the round
	round1    []domain.Event          // the in-order story's notifications
	httpSink  *sink
	httpEP    notify.Endpoint
	slackSink *sink
}

// lateResult is what round 3 found.
type lateResult struct {
	seed     uint64
	webhooks int
	late     int
	expected []domain.Event // the notifications it must have delivered
}

// runLate sends the twin story shuffled, each webhook through the pipeline
// before the next (the processors then see them in the shuffled order), and
// checks: the records equal the twin story applied in order; the
// notifications are those of the in-process processors given what the
// deployed ones received (checkHTTP/checkSlack, run by the caller on every
// round's notifications, then prove each delivered exactly once); per
// payment, subscription and chat, the delivered domain events by type equal
// round 1's (the story in order, through the same deployment) and the
// in-process in-order run's; every late one says "late": true in the
// delivered payload's data and no other does; the inverted milestones were
// announced late, with their own time.
func (p *pipeline) runLate(t *testing.T, lr lateRound, samples []sample.Sample) lateResult {
	t.Helper()
	story := twinStory(t, samples)
	res := lateResult{seed: lateSeed(t), webhooks: len(story)}
	const (
		refunded    = "stripe/charge.refunded"
		succeeded   = "stripe/payment_intent.succeeded"
		deactivated = "livechat/chat_deactivated"
		incoming    = "livechat/incoming_chat"
	)
	perm := lateOrder(t, story, res.seed, [2]string{succeeded, refunded}, [2]string{incoming, deactivated})
	shuffled := make([]sample.Sample, len(perm))
	names := make([]string, len(perm))
	for i, j := range perm {
		shuffled[i] = story[j]
		names[i] = story[j].Provider + "/" + story[j].Name
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("round 3 (late webhooks): seed %d (HOOKSTACK_E2E_SEED=%d repeats it), order: %s", res.seed, res.seed, strings.Join(names, ", "))
		}
	})

	batchesBefore := map[string]int{}
	for _, name := range process.Names {
		batchesBefore[name] = len(p.recorders[name].events())
	}
	httpBefore, slackBefore := len(lr.httpSink.receipts()), len(lr.slackSink.receipts())
	sent, _ := p.send(t, shuffled, 1, func() { p.drain(t, lr.sqs, p.oneByOne) })
	p.noDeadLetters(t, lr.sqs)

	// The references: as the deployed processors received the envelopes,
	// and in the story's order.
	asReceived := newReference(t, "late-as-received", lr.blobs)
	var received []envelope.Envelope
	for _, name := range process.Names {
		for _, b := range p.recorders[name].events()[batchesBefore[name]:] {
			asReceived.apply(t, name, b)
			for _, m := range b.Records {
				e, err := envelope.Decode([]byte(m.Body))
				if err != nil {
					t.Fatalf("%s received %q: %v", name, m.Body, err)
				}
				received = append(received, e)
			}
		}
	}
	if len(received) != len(sent.order) {
		t.Errorf("round 3: processors received %d events, ingest accepted %d", len(received), len(sent.order))
	}
	storyIndex := func(e envelope.Envelope) int { return perm[sent.order[e.Provider+"/"+e.EventID]] }
	sort.SliceStable(received, func(i, j int) bool {
		a, b := received[i], received[j]
		if ka, kb := storyIndex(a), storyIndex(b); ka != kb {
			return ka < kb
		}
		return a.Part < b.Part
	})
	inOrder := newReference(t, "late-in-order", lr.blobs)
	for _, e := range received {
		inOrder.apply(t, e.Queue, sqsEvent(t, e.Queue, e))
	}

	// Records: the earlier rounds' untouched; the new ones as in order.
	now := snapshot(t, p.store)
	fresh := map[string]store.Record{}
	for k, r := range now {
		old, ok := lr.records[k]
		switch {
		case !ok:
			fresh[k] = r
		case old.Rev != r.Rev || !bytes.Equal(old.Data, r.Data):
			t.Errorf("round 3 changed %s, a record of the first story:\n%s\n→ %s", k, old.Data, r.Data)
		}
	}
	sameRecords(t, "round 3's webhooks applied in the story's order", fresh, snapshot(t, inOrder.store))
	sameRecords(t, "round 3's envelopes applied as the processors received them", fresh, snapshot(t, asReceived.store))

	// What was delivered, by the deployed pipeline, to the http sink.
	res.expected = asReceived.out.all()
	byDelivery := map[string]domain.Event{}
	for _, ev := range res.expected {
		byDelivery[notify.DeliveryID(ev.ID, lr.httpEP.ID)] = ev
	}
	var delivered []domain.Event
	var lateSucceeded, lateStarted bool
	succeededAt := time.Unix(gjson.GetBytes(story[slices.IndexFunc(story, func(s sample.Sample) bool {
		return s.Provider+"/"+s.Name == succeeded
	})].Body, "created").Int(), 0)
	for _, r := range lr.httpSink.receipts()[httpBefore:] {
		ev, ok := byDelivery[r.header.Get(notify.HeaderWebhookID)]
		if !ok {
			continue // checkHTTP reports it
		}
		delivered = append(delivered, ev)
		if late := gjson.GetBytes(r.body, "data.late"); late.Bool() != ev.Late || (late.Exists() && !ev.Late) {
			t.Errorf("round 3: %s (%s %s, late %v) delivered with data.late %s: %s", ev.ID, ev.Type, ev.Subject, ev.Late, late.Raw, r.body)
		}
		if !ev.Late {
			continue
		}
		res.late++
		switch ev.Type {
		case "payment.succeeded":
			lateSucceeded = true
			if ts := gjson.GetBytes(r.body, "timestamp").Time(); !ts.Equal(succeededAt) {
				t.Errorf("round 3: the late payment.succeeded says it occurred at %v, its webhook %v", ts, succeededAt)
			}
		case "support.chat_started":
			lateStarted = true
		}
	}
	if !lateSucceeded || !lateStarted {
		t.Errorf("round 3: late payment.succeeded delivered %v, late support.chat_started %v; want both (the success came after the refund, the start after the close)",
			lateSucceeded, lateStarted)
	}
	for _, ev := range inOrder.out.all() {
		if ev.Late {
			t.Errorf("in the story's order, %s (%s %s) is late", ev.ID, ev.Type, ev.Subject)
		}
	}

	// The milestones per record, by type: as in order.
	got := milestonesBySubject(delivered)
	sameMilestones(t, "round 3 (shuffled) against the same webhooks in order", got, milestonesBySubject(inOrder.out.all()))
	first := map[string]map[string]int{}
	for subj, types := range milestonesBySubject(lr.round1) {
		first[twin.Replace(subj)] = types
	}
	sameMilestones(t, "round 3 (shuffled) against round 1 (the story in order)", got, first)
	if len(got) < 3 {
		t.Errorf("round 3: milestones of %d records delivered, want a payment, a subscription and a chat at least: %v", len(got), got)
	}

	// The Slack endpoint (payment.*) marks its late messages, and only them
	// (checkSlack compares every text with the renderer's).
	marked, want := 0, 0
	for _, ev := range delivered {
		if ev.Late && strings.HasPrefix(ev.Type, "payment.") {
			want++
		}
	}
	for _, r := range lr.slackSink.receipts()[slackBefore:] {
		if strings.HasSuffix(gjson.GetBytes(r.body, "text").String(), " (late)") {
			marked++
		}
	}
	if marked != want || marked == 0 {
		t.Errorf("round 3: %d slack messages marked late, want %d (the late payment.* notifications, the success among them)", marked, want)
	}
	return res
}

func (r lateResult) String() string {
	return fmt.Sprintf("round 3: %d webhooks shuffled (seed %d), %d notifications, %d late", r.webhooks, r.seed, len(r.expected), r.late)
}
