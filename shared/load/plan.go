package load

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"sort"
	"strconv"
	"time"

	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/sample"
)

// Families of the mix, with their shares (per 20 webhooks: 8 payments, 5
// inventory, 4 leads, 3 relay = 40/25/20/15 %).
const (
	FamilyPayments  = "payments"
	FamilyInventory = "inventory"
	FamilyLeads     = "leads"
	FamilyRelay     = "relay"
)

// Families in mix order.
var Families = []string{FamilyPayments, FamilyInventory, FamilyLeads, FamilyRelay}

// mixSlots is the family of each of 20 consecutive slots.
var mixSlots = func() []string {
	var out []string
	for _, f := range []struct {
		name string
		n    int
	}{{FamilyPayments, 8}, {FamilyInventory, 5}, {FamilyLeads, 4}, {FamilyRelay, 3}} {
		for range f.n {
			out = append(out, f.name)
		}
	}
	return out
}()

// Webhook is one planned delivery: a refreshed sample with its own record
// keys, and what it must produce.
type Webhook struct {
	Seq    int
	Family string
	Sample sample.Sample // refreshed and edited; signed at each send
	// Events are the events the ingest extracts, filled in from the signed
	// request at its first send (the signer may edit the body).
	Events   []envelope.Event
	Expected []Expectation // record checks this webhook contributes to
	// Delay holds the webhook back: it is sent Delay webhooks of its
	// family later than planned (a refund-first intent's success).
	Delay int
}

// Expectation is one record the webhook touches, as the dev API serves it.
type Expectation struct {
	Path   string         // e.g. /api/inventory/80000000000001
	Fields map[string]any // JSON field → value (numbers as float64)
}

// Planner builds the webhooks of a run.
type Planner struct {
	samples map[string]sample.Sample // by provider/trigger
	rnd     *rand.Rand
	seedSrc *rand.ChaCha8
	now     func() time.Time
}

// sampleNames are the samples the mix uses.
var sampleNames = [][2]string{
	{"stripe", "payment_intent.processing"}, {"stripe", "payment_intent.succeeded"}, {"stripe", "charge.refunded"},
	{"shopify", "inventory_levels/update"}, {"standard", "inventory.adjusted"},
	{"standard", "lead.created"}, {"hubspot", "contact.creation"}, {"salesforce", "lead"},
	{"livechat", "incoming_chat"}, {"trello", "updateCard"}, {"github", "push"},
}

// NewPlanner loads the samples the mix uses from fsys (events.FS).
func NewPlanner(fsys fs.FS, seed uint64) (*Planner, error) {
	p := &Planner{
		samples: map[string]sample.Sample{},
		rnd:     rand.New(rand.NewPCG(seed, seed+1)),
		now:     time.Now,
	}
	var key [32]byte
	copy(key[:], strconv.FormatUint(seed, 10))
	p.seedSrc = rand.NewChaCha8(key)
	for _, n := range sampleNames {
		s, err := sample.Find(fsys, n[0], n[1])
		if err != nil {
			return nil, fmt.Errorf("load plan: %w", err)
		}
		p.samples[n[0]+"/"+n[1]] = s
	}
	return p, nil
}

// SetClock makes the planner's send times come from now instead of the
// wall clock, so that a plan's bodies are the same in every run (the cost
// measurement bills item sizes, and a time's digits change its length).
func (p *Planner) SetClock(now func() time.Time) { p.now = now }

// ErrSampleChanged: a sample no longer holds the value the planner edits.
var ErrSampleChanged = errors.New("sample does not hold the value to vary")

// edit replaces every occurrence of each old value; each must be present.
func edit(s sample.Sample, pairs ...string) (sample.Sample, error) {
	for i := 0; i+1 < len(pairs); i += 2 {
		if !bytes.Contains(s.Body, []byte(pairs[i])) {
			return sample.Sample{}, fmt.Errorf("%w: %s has no %q", ErrSampleChanged, s.Path, pairs[i])
		}
		s.Body = bytes.ReplaceAll(s.Body, []byte(pairs[i]), []byte(pairs[i+1]))
	}
	return s, nil
}

// Plan returns n webhooks in send order: the 40/25/20/15 mix, each a
// distinct event with its own record keys. Payments come as pairs on one
// PaymentIntent for every other intent, so records see concurrent, possibly
// reordered events: processing then succeeded, or (one intent in four) a
// full refund sent first and the success, a minute older, sent
// RefundFirstDelay payment webhooks later, so that the success arrives late
// and is announced late.
func (p *Planner) Plan(n int) ([]Webhook, error) {
	// The family of each position, then each family's webhooks in order.
	slots := make([]string, n)
	want := map[string]int{}
	for i := range slots {
		slots[i] = mixSlots[i%len(mixSlots)]
		want[slots[i]]++
	}
	lists := map[string][]Webhook{}
	for _, fam := range Families {
		for k := 0; len(lists[fam]) < want[fam]; k++ {
			var list []Webhook
			var err error
			switch fam {
			case FamilyPayments:
				list, err = p.payment(k, want[fam]-len(lists[fam]))
			case FamilyInventory:
				list, err = p.inventory(k)
			case FamilyLeads:
				list, err = p.lead(k)
			default:
				list, err = p.relay(k)
			}
			if err != nil {
				return nil, err
			}
			lists[fam] = append(lists[fam], list...)
		}
	}
	for fam, list := range lists {
		lists[fam] = held(list[:want[fam]])
	}
	out := make([]Webhook, 0, n)
	next := map[string]int{}
	for _, fam := range slots {
		w := lists[fam][next[fam]]
		next[fam]++
		w.Seq, w.Family = len(out), fam
		out = append(out, w)
	}
	return out, nil
}

// held moves each webhook with a Delay that many places later (at most to
// the end), the others keeping their order.
func held(list []Webhook) []Webhook {
	type slot struct {
		at float64
		w  Webhook
	}
	slots := make([]slot, len(list))
	for i, w := range list {
		slots[i] = slot{float64(i), w}
		if w.Delay > 0 {
			slots[i].at += float64(w.Delay) + 0.5
		}
	}
	sort.SliceStable(slots, func(i, j int) bool { return slots[i].at < slots[j].at })
	out := make([]Webhook, len(list))
	for i, s := range slots {
		out[i] = s.w
	}
	return out
}

func (p *Planner) fresh(name string, pairs ...string) (Webhook, error) {
	return p.freshAt(name, p.now(), pairs...)
}

// freshAt is fresh with the event time at.
func (p *Planner) freshAt(name string, at time.Time, pairs ...string) (Webhook, error) {
	s, err := edit(p.samples[name].Clone(), pairs...)
	if err != nil {
		return Webhook{}, err
	}
	s, err = sample.Refresh(s, at, p.seedSrc)
	if err != nil {
		return Webhook{}, err
	}
	return Webhook{Sample: s}, nil
}

// RefundFirstDelay is how many payment webhooks (some 2.5 times as many in
// all) after its refund a refund-first intent's success is sent.
const RefundFirstDelay = 20

// payment plans intent k. When k is even and room remains, a pair: for
// k%4 == 0 processing then succeeded (same event second); for k%4 == 2 the
// full refund (charge.refunded) first, and the success, whose event time is
// a minute earlier, held back RefundFirstDelay payment webhooks. Else a
// single succeeded.
func (p *Planner) payment(k, room int) ([]Webhook, error) {
	pi := fmt.Sprintf("pi_load%017d", k)
	cus := fmt.Sprintf("cus_load%08d", k)
	ids := []string{"pi_3RZx5a2eZvKYlo2C0m8kQpLd", pi, "cus_RZx4qT8mWk2LhN", cus}
	if k%4 == 2 && room >= 2 {
		now := p.now()
		refund, err := p.freshAt("stripe/charge.refunded", now, ids...)
		if err != nil {
			return nil, err
		}
		success, err := p.freshAt("stripe/payment_intent.succeeded", now.Add(-time.Minute), ids...)
		if err != nil {
			return nil, err
		}
		success.Delay = RefundFirstDelay
		return []Webhook{refund, success}, nil
	}
	names := []string{"stripe/payment_intent.succeeded"}
	if k%2 == 0 && room >= 2 {
		names = []string{"stripe/payment_intent.processing", "stripe/payment_intent.succeeded"}
	}
	var out []Webhook
	for _, name := range names {
		w, err := p.fresh(name, ids...)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, nil
}

func (p *Planner) inventory(k int) ([]Webhook, error) {
	avail := 3 + p.rnd.IntN(60) // some low (≤5), most not
	if k%2 == 0 {
		item := strconv.Itoa(80000000000000 + k)
		w, err := p.fresh("shopify/inventory_levels/update",
			"49148385591586", item, `"available":3`, `"available":`+strconv.Itoa(avail))
		if err != nil {
			return nil, err
		}
		w.Expected = []Expectation{{Path: "/api/inventory/" + item, Fields: map[string]any{"available": float64(avail)}}}
		return []Webhook{w}, nil
	}
	sku := fmt.Sprintf("LOAD-SKU-%d", k)
	w, err := p.fresh("standard/inventory.adjusted",
		"HS-TEE-M", sku, `"available": 40`, `"available": `+strconv.Itoa(avail))
	if err != nil {
		return nil, err
	}
	w.Expected = []Expectation{{Path: "/api/inventory/sku:" + sku, Fields: map[string]any{"available": float64(avail)}}}
	return []Webhook{w}, nil
}

func (p *Planner) lead(k int) ([]Webhook, error) {
	switch k % 3 {
	case 0:
		email := fmt.Sprintf("load-%d@example.com", k)
		w, err := p.fresh("standard/lead.created", "Ada.Lovelace@Example.com", email)
		if err != nil {
			return nil, err
		}
		w.Expected = []Expectation{{Path: "/api/leads/" + email, Fields: map[string]any{"email": email, "first_name": "Ada", "last_name": "Lovelace"}}}
		return []Webhook{w}, nil
	case 1:
		a, b := fmt.Sprintf("sf-a-%d@example.com", k), fmt.Sprintf("sf-b-%d@example.com", k)
		w, err := p.fresh("salesforce/lead",
			"sam.lee@example.com", a, "Hank.Scorpio@Globex.example", b,
			"00Q5e00000AbCdEEAZ", fmt.Sprintf("00QLA%013d", k), "00Q5e00000AbCdFEAZ", fmt.Sprintf("00QLB%013d", k))
		if err != nil {
			return nil, err
		}
		w.Expected = []Expectation{
			{Path: "/api/leads/" + a, Fields: map[string]any{"email": a, "first_name": "Sam"}},
			{Path: "/api/leads/" + b, Fields: map[string]any{"email": b, "first_name": "Hank"}},
		}
		return []Webhook{w}, nil
	}
	w, err := p.fresh("hubspot/contact.creation", "51234567890", strconv.Itoa(70000000000+k))
	return []Webhook{w}, err
}

func (p *Planner) relay(k int) ([]Webhook, error) {
	switch k % 3 {
	case 0:
		chat := fmt.Sprintf("LC%08d", k)
		w, err := p.fresh("livechat/incoming_chat", "PJ0MRSHTDG", chat, "K600PKZON8", fmt.Sprintf("LT%08d", k))
		if err != nil {
			return nil, err
		}
		w.Expected = []Expectation{{Path: "/api/chats/" + chat, Fields: map[string]any{"chat_id": chat, "status": "open"}}}
		return []Webhook{w}, nil
	case 1:
		w, err := p.fresh("trello/updateCard")
		return []Webhook{w}, err
	}
	w, err := p.fresh("github/push")
	return []Webhook{w}, err
}
