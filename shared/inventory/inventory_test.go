package inventory

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hookstack/hookstack/shared/domain"
	"github.com/hookstack/hookstack/shared/envelope"
)

const (
	itemM = "49148385591586" // HS-TEE-M in the samples
	itemL = "49148385591587" // HS-TEE-L
	locA  = "73525526818"
	locB  = "73525526819"
)

var t0 = time.Date(2026, 1, 5, 14, 0, 0, 0, time.UTC)

func readSample(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../../events", rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// headers reads a sidecar .headers file.
func headers(t testing.TB, rel string) map[string]string {
	h := map[string]string{}
	for _, line := range strings.Split(string(readSample(t, rel)), "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok {
			h[k] = v
		}
	}
	return h
}

func edit(t testing.TB, b []byte, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// level is the Shopify sample with other values; available < 0 means null.
func level(t testing.TB, id, item, loc string, available int, at time.Time) envelope.Envelope {
	body := edit(t, readSample(t, "shopify/inventory_levels_update.json"), func(m map[string]any) {
		m["inventory_item_id"], m["location_id"], m["updated_at"] = json.Number(item), json.Number(loc), at.Format(time.RFC3339)
		m["available"] = any(available)
		if available < 0 {
			m["available"] = nil
		}
	})
	return envelope.Envelope{Provider: "shopify", EventID: id, Type: TopicInventoryLevelsUpdate, OccurredAt: at, Body: body}
}

func adjusted(t testing.TB, id, sku, loc string, available int, at time.Time) envelope.Envelope {
	body := edit(t, readSample(t, "standard/inventory.adjusted.json"), func(m map[string]any) {
		m["data"] = map[string]any{"sku": sku, "location": loc, "available": available, "updated_at": at.Format(time.RFC3339)}
	})
	return envelope.Envelope{Provider: "standard", EventID: id, Type: TypeInventoryAdjusted, OccurredAt: at, Body: body}
}

func product(t testing.TB, id string, at time.Time) envelope.Envelope {
	body := edit(t, readSample(t, "shopify/products_update.json"), func(m map[string]any) { m["updated_at"] = at.Format(time.RFC3339) })
	return envelope.Envelope{Provider: "shopify", EventID: id, Type: TopicProductsUpdate, OccurredAt: at, Body: body}
}

func mustParse(t testing.TB, env envelope.Envelope) Event {
	t.Helper()
	ev, err := FromEnvelope(env)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestParseSamples(t *testing.T) {
	h := headers(t, "shopify/inventory_levels_update.headers")
	at, _ := time.Parse(time.RFC3339, h["X-Shopify-Triggered-At"])
	ev, err := ParseShopify(h["X-Shopify-Topic"], h["X-Shopify-Event-Id"], at, readSample(t, "shopify/inventory_levels_update.json"))
	if err != nil || ev.Kind != KindLevel || ev.ItemID != itemM || ev.Location != locA || *ev.Available != 3 || ev.UpdatedAt.Format(time.RFC3339) != "2026-01-05T14:12:44Z" {
		t.Fatalf("level: %+v %v", ev, err)
	}
	hp := headers(t, "shopify/products_update.headers")
	ev, err = ParseShopify(hp["X-Shopify-Topic"], hp["X-Shopify-Event-Id"], at, readSample(t, "shopify/products_update.json"))
	want := []Variant{{itemM, "HS-TEE-M", "Hookstack Tee - Medium"}, {itemL, "HS-TEE-L", "Hookstack Tee - Large"}}
	if err != nil || ev.Kind != KindProduct || !reflect.DeepEqual(ev.Variants, want) {
		t.Fatalf("product: %+v %v", ev.Variants, err)
	}
	if keys := ev.Keys(nil); !reflect.DeepEqual(keys, []string{itemM, itemL}) {
		t.Fatalf("keys %v", keys)
	}
	ev, err = ParseStandard("msg_1", time.Time{}, readSample(t, "standard/inventory.adjusted.json"))
	if err != nil || ev.Kind != KindAdjusted || ev.SKU != "HS-TEE-M" || ev.Location != "wh-reno" || *ev.Available != 40 || ev.OccurredAt.IsZero() {
		t.Fatalf("adjusted: %+v %v", ev, err)
	}
	resolve := func(sku string) (string, bool) { return map[string]string{"HS-TEE-M": itemM}[sku], sku == "HS-TEE-M" }
	if k := ev.Keys(resolve); !reflect.DeepEqual(k, []string{itemM}) {
		t.Fatalf("resolved keys %v", k)
	}
	if k := ev.Keys(nil); !reflect.DeepEqual(k, []string{"sku:HS-TEE-M"}) {
		t.Fatalf("unresolved keys %v", k)
	}
	ev, err = ParseShopify("orders/create", "e1", at, readSample(t, "shopify/orders_create.json"))
	if err != nil || ev.Handled || ev.Keys(nil) != nil {
		t.Fatalf("orders/create should be raw only: %+v %v", ev, err)
	}
	// Shopify's event id is an unsigned header: the body's hash keys the forward.
	if f := Forward(ev); f.Type != "shopify.orders/create" || f.ID != envelope.BodyHash(ev.Body)+":shopify.orders/create" || f.SourceEventID != "e1" {
		t.Fatalf("forward %+v", f)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, provider, typ, body string
	}{
		{"level not json", "shopify", TopicInventoryLevelsUpdate, `{`},
		{"level without location", "shopify", TopicInventoryLevelsUpdate, `{"inventory_item_id":1,"available":1,"updated_at":"2026-01-01T00:00:00Z"}`},
		{"level with fractional id", "shopify", TopicInventoryLevelsUpdate, `{"inventory_item_id":1.5,"location_id":2,"available":1,"updated_at":"2026-01-01T00:00:00Z"}`},
		{"product without updated_at", "shopify", TopicProductsUpdate, `{"variants":[]}`},
		{"adjusted without available", "standard", TypeInventoryAdjusted, `{"type":"inventory.adjusted","data":{"sku":"A","location":"x","updated_at":"2026-01-01T00:00:00Z"}}`},
		{"adjusted data not an object", "standard", TypeInventoryAdjusted, `{"type":"inventory.adjusted","data":[1]}`},
		{"standard not json", "standard", "", `nope`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := FromEnvelope(envelope.Envelope{Provider: tt.provider, EventID: "e1", Type: tt.typ, Body: []byte(tt.body)})
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestThresholdConfig(t *testing.T) {
	two := int64(2)
	tests := []struct {
		name     string
		cfg      Config
		override *int64
		want     int64
		// events of a level of 3, then of 0, on a new item
		want3, want0 []string
	}{
		{"unset: default 5", Config{}, nil, DefaultLowStock, []string{EventLowStock}, []string{EventOutOfStock}},
		{"HOOKSTACK_LOW_STOCK=0: only out of stock", Config{LowStock: LowStock(0)}, nil, 0, nil, []string{EventOutOfStock}},
		{"HOOKSTACK_LOW_STOCK=7", Config{LowStock: LowStock(7)}, nil, 7, []string{EventLowStock}, []string{EventOutOfStock}},
		{"item override beats 0", Config{LowStock: LowStock(0)}, &two, 2, nil, []string{EventOutOfStock}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it := Item{ItemID: itemM, LowThreshold: tt.override}
			if got := it.Threshold(tt.cfg); got != tt.want {
				t.Fatalf("Threshold = %d, want %d", got, tt.want)
			}
			next, _, out, err := Apply(&it, itemM, mustParse(t, level(t, "e1", itemM, locA, 3, t0)), tt.cfg)
			if err != nil || !slices.Equal(types(out), tt.want3) {
				t.Fatalf("level 3: %v (%v), want %v", types(out), err, tt.want3)
			}
			_, _, out, err = Apply(&next, itemM, mustParse(t, level(t, "e2", itemM, locA, 0, t0.Add(time.Minute))), tt.cfg)
			if err != nil || !slices.Equal(types(out), tt.want0) {
				t.Fatalf("level 0: %v (%v), want %v", types(out), err, tt.want0)
			}
		})
	}
}

func types(evs []domain.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

type step struct {
	env  envelope.Envelope
	want []string // domain events of this step
}

func TestThresholds(t *testing.T) {
	five := int64(5)
	one := int64(1)
	tests := []struct {
		name      string
		override  *int64
		steps     []step
		wantTotal int64
		wantLevel string
	}{
		{"first observation low counts as from above", nil, []step{{level(t, "e1", itemM, locA, 3, t0), []string{EventLowStock}}}, 3, LevelLow},
		{"first observation zero: only out_of_stock", nil, []step{{level(t, "e1", itemM, locA, 0, t0), []string{EventOutOfStock}}}, 0, LevelOut},
		{"first observation high: nothing", nil, []step{{level(t, "e1", itemM, locA, 10, t0), nil}}, 10, LevelOK},
		{"at the threshold is low", &five, []step{{level(t, "e1", itemM, locA, 5, t0), []string{EventLowStock}}}, 5, LevelLow},
		{"full cycle", nil, []step{
			{level(t, "e1", itemM, locA, 10, t0), nil},
			{level(t, "e2", itemM, locA, 3, t0.Add(1*time.Minute)), []string{EventLowStock}},
			{level(t, "e3", itemM, locA, 2, t0.Add(2*time.Minute)), nil},
			{level(t, "e4", itemM, locA, 0, t0.Add(3*time.Minute)), []string{EventOutOfStock}},
			{level(t, "e5", itemM, locA, 2, t0.Add(4*time.Minute)), nil},
			{level(t, "e6", itemM, locA, 8, t0.Add(5*time.Minute)), []string{EventRestocked}},
			{level(t, "e7", itemM, locA, 0, t0.Add(6*time.Minute)), []string{EventOutOfStock}},
		}, 0, LevelOut},
		{"older update never overwrites", nil, []step{
			{level(t, "e2", itemM, locA, 3, t0.Add(time.Minute)), []string{EventLowStock}},
			{level(t, "e1", itemM, locA, 10, t0), nil},
		}, 3, LevelLow},
		{"replay changes nothing", nil, []step{
			{level(t, "e1", itemM, locA, 0, t0), []string{EventOutOfStock}},
			{level(t, "e1", itemM, locA, 0, t0), nil},
		}, 0, LevelOut},
		{"total over locations", nil, []step{
			{level(t, "e1", itemM, locA, 3, t0), []string{EventLowStock}},
			{level(t, "e2", itemM, locB, 4, t0), []string{EventRestocked}},
			{adjusted(t, "m1", "HS-TEE-M", "wh-reno", 0, t0), nil},
		}, 7, LevelOK},
		{"per-item override", &one, []step{{level(t, "e1", itemM, locA, 3, t0), nil}}, 3, LevelOK},
		{"untracked (null) records nothing", nil, []step{{level(t, "e1", itemM, locA, -1, t0), nil}}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var it *Item
			if tt.override != nil {
				it = &Item{ItemID: itemM, LowThreshold: tt.override}
			}
			for i, s := range tt.steps {
				next, changed, out, err := Apply(it, itemM, mustParse(t, s.env), Config{})
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, e := range out {
					got = append(got, e.Type)
					if e.Subject != "inventory:"+itemM || e.ID != s.env.EventID+":"+e.Type+":inventory:"+itemM {
						t.Fatalf("event identity %+v", e)
					}
				}
				if !reflect.DeepEqual(got, s.want) {
					t.Fatalf("step %d emitted %v, want %v", i, got, s.want)
				}
				if changed {
					it = &next
				}
			}
			var total int64
			lvl := ""
			if it != nil {
				total, lvl = it.Available, it.Level
			}
			if total != tt.wantTotal || lvl != tt.wantLevel {
				t.Fatalf("total %d level %q; want %d %q", total, lvl, tt.wantTotal, tt.wantLevel)
			}
		})
	}
}

func TestProductAndMerge(t *testing.T) {
	cfg := Config{LowStock: LowStock(5)}
	// products/update: sku and title, no quantity, no threshold event.
	p := mustParse(t, product(t, "p1", t0))
	it, changed, out, err := Apply(nil, itemM, p, cfg)
	if err != nil || !changed || len(out) != 0 || it.SKU != "HS-TEE-M" || it.Title != "Hookstack Tee - Medium" || it.Level != "" {
		t.Fatalf("product: %+v %v %v %v", it, changed, out, err)
	}
	// The item is low at Shopify...
	it, _, out, _ = Apply(&it, itemM, mustParse(t, level(t, "e1", itemM, locA, 3, t0)), cfg)
	if len(out) != 1 || out[0].Type != EventLowStock {
		t.Fatalf("low: %v", out)
	}
	// ...while the warehouse reported by sku before the mapping was known.
	adj := mustParse(t, adjusted(t, "m1", "HS-TEE-M", "wh-reno", 40, t0))
	alias, _, _, err := Apply(nil, "sku:HS-TEE-M", adj, cfg)
	if err != nil || alias.Available != 40 || alias.SKU != "HS-TEE-M" {
		t.Fatalf("alias %+v %v", alias, err)
	}
	merged, changed, out := Merge(&it, itemM, alias, p, cfg)
	if !changed || merged.Available != 43 || len(merged.Locations) != 2 || len(out) != 1 || out[0].Type != EventRestocked || out[0].ID != "p1/sku:HS-TEE-M:"+EventRestocked+":inventory:"+itemM {
		t.Fatalf("merge: %+v %v", merged, out)
	}
	if again, changed, out := Merge(&merged, itemM, alias, p, cfg); changed || len(out) != 0 || !reflect.DeepEqual(again, merged) {
		t.Fatal("merging twice changed something")
	}
	tomb := Tombstone(alias, itemM)
	_, _, _, err = Apply(&tomb, "sku:HS-TEE-M", adj, cfg)
	var me *MergedError
	if !errors.Is(err, ErrMerged) || !errors.As(err, &me) || me.Into != itemM {
		t.Fatalf("tombstone err = %v", err)
	}
	if _, _, _, err := Apply(&merged, itemL, adj, cfg); !errors.Is(err, ErrWrongRecord) {
		t.Fatalf("wrong record err = %v", err)
	}
	b, _ := json.Marshal(merged)
	for _, k := range []string{`"available":43`, `"locations":{`, `"73525526818":{"available":3,"updated_at":"2026-01-05T14:00:00Z"`, `"wh-reno":{"available":40`} {
		if !strings.Contains(string(b), k) {
			t.Fatalf("json %s lacks %s", b, k)
		}
	}
}

// world simulates the store: records as JSON, a sku index, the alias merge.
type world struct {
	items   map[string][]byte
	skus    map[string]string
	emitted []domain.Event
}

func (w *world) get(t *testing.T, key string) *Item {
	b, ok := w.items[key]
	if !ok {
		return nil
	}
	var it Item
	if err := json.Unmarshal(b, &it); err != nil {
		t.Fatal(err)
	}
	return &it
}

func (w *world) put(key string, it Item) { w.items[key], _ = json.Marshal(it) }

func (w *world) apply(t *testing.T, env envelope.Envelope) {
	cfg := Config{LowStock: LowStock(5)}
	ev := mustParse(t, env)
	resolve := func(sku string) (string, bool) { id, ok := w.skus[sku]; return id, ok }
	for _, key := range ev.Keys(resolve) {
		next, changed, out, err := Apply(w.get(t, key), key, ev, cfg)
		var me *MergedError
		if errors.As(err, &me) { // written to an alias after its merge: redirect
			key = me.Into
			next, changed, out, err = Apply(w.get(t, key), key, ev, cfg)
		}
		if err != nil {
			t.Fatal(err)
		}
		if changed {
			w.put(key, next)
		}
		w.emitted = append(w.emitted, out...)
	}
	for _, v := range ev.Variants {
		if v.SKU == "" {
			continue
		}
		w.skus[v.SKU] = v.ItemID
		aliasKey := SKUKeyPrefix + v.SKU
		alias := w.get(t, aliasKey)
		if alias == nil || alias.MergedInto != "" {
			continue
		}
		merged, changed, out := Merge(w.get(t, v.ItemID), v.ItemID, *alias, ev, cfg)
		if changed {
			w.put(v.ItemID, merged)
		}
		w.put(aliasKey, Tombstone(*alias, v.ItemID))
		w.emitted = append(w.emitted, out...)
	}
	w.emitted = append(w.emitted, Forward(ev))
}

func (w *world) live(t *testing.T) map[string]string {
	out := map[string]string{}
	for k, b := range w.items {
		if w.get(t, k).MergedInto == "" {
			out[k] = string(b)
		}
	}
	return out
}

func TestShuffleDuplicateReplay(t *testing.T) {
	envs := []envelope.Envelope{
		product(t, "p1", t0.Add(-time.Hour)),
		level(t, "e1", itemM, locA, 10, t0),
		level(t, "e2", itemM, locA, 3, t0.Add(1*time.Minute)),
		level(t, "e3", itemM, locB, 2, t0.Add(1*time.Minute)),
		level(t, "e4", itemM, locA, 0, t0.Add(2*time.Minute)),
		level(t, "e5", itemM, locB, 0, t0.Add(3*time.Minute)),
		level(t, "e6", itemM, locA, 12, t0.Add(4*time.Minute)),
		level(t, "e7", itemL, locA, 1, t0.Add(1*time.Minute)),
		level(t, "e8", itemL, locA, 0, t0.Add(1*time.Minute)), // same time as e7: event id decides
		adjusted(t, "m1", "HS-TEE-M", "wh-reno", 40, t0.Add(30*time.Second)),
		adjusted(t, "m2", "HS-TEE-M", "wh-reno", 1, t0.Add(5*time.Minute)),
		adjusted(t, "m3", "HS-MUG", "wh-reno", 4, t0.Add(5*time.Minute)), // never mapped
		{Provider: "shopify", EventID: "o1", Type: "orders/create", OccurredAt: t0, Body: readSample(t, "shopify/orders_create.json")},
	}
	byTime := append([]envelope.Envelope(nil), envs...)
	sort.SliceStable(byTime, func(i, j int) bool { return byTime[i].OccurredAt.Before(byTime[j].OccurredAt) })
	want := &world{items: map[string][]byte{}, skus: map[string]string{}}
	for _, e := range byTime {
		want.apply(t, e)
	}
	wantLive := want.live(t)
	m := want.get(t, itemM)
	if m.Available != 13 || m.Level != LevelOK || m.SKU != "HS-TEE-M" || len(m.Locations) != 3 {
		t.Fatalf("in-order item M %+v", m)
	}
	if mug := want.get(t, "sku:HS-MUG"); mug == nil || mug.Level != LevelLow {
		t.Fatalf("unmapped sku record %+v", mug)
	}

	r := rand.New(rand.NewSource(7))
	for i := range 200 {
		var seq []envelope.Envelope
		for _, j := range r.Perm(len(envs)) {
			seq = append(seq, envs[j])
			if r.Intn(3) == 0 {
				seq = append(seq, envs[j])
			}
		}
		for range 4 {
			seq = append(seq, envs[r.Intn(len(envs))])
		}
		w := &world{items: map[string][]byte{}, skus: map[string]string{}}
		for _, e := range seq {
			w.apply(t, e)
		}
		t.Run(fmt.Sprintf("perm%03d", i), func(t *testing.T) {
			if got := w.live(t); !reflect.DeepEqual(got, wantLive) {
				t.Fatalf("records differ:\n got %v\nwant %v", got, wantLive)
			}
			checkEmissions(t, w, len(envs))
		})
	}
}

// checkEmissions: raw forwards once per delivery with a stable id; domain
// events at most once each; per record the threshold events follow the level
// state machine and end in the record's final level.
func checkEmissions(t *testing.T, w *world, distinct int) {
	rawIDs := map[string]bool{}
	seen := map[string]bool{}
	state := map[string]string{}
	for _, e := range w.emitted {
		if e.IsRaw() {
			rawIDs[e.ID] = true
			continue
		}
		if seen[e.ID] {
			t.Fatalf("domain event %s emitted twice", e.ID)
		}
		seen[e.ID] = true
		s := state[e.Subject]
		switch e.Type {
		case EventLowStock:
			if s != "" && s != LevelOK {
				t.Fatalf("%s low_stock from %s", e.Subject, s)
			}
			state[e.Subject] = LevelLow
		case EventRestocked:
			if s == "" || s == LevelOK {
				t.Fatalf("%s restocked from %q", e.Subject, s)
			}
			state[e.Subject] = LevelOK
		case EventOutOfStock:
			state[e.Subject] = LevelOut
		}
	}
	if len(rawIDs) != distinct {
		t.Fatalf("%d distinct raw forwards, want %d", len(rawIDs), distinct)
	}
	for key := range w.live(t) {
		it := w.get(t, key)
		if s := state[it.Subject()]; (s == "" || s == LevelOK) != (it.Level == LevelOK || it.Level == "") {
			t.Fatalf("%s: events leave it %q but the level is %q", key, s, it.Level)
		}
	}
}

func FuzzParseShopify(f *testing.F) {
	for _, name := range []string{"inventory_levels_update", "products_update", "orders_create"} {
		f.Add(strings.ReplaceAll(name, "_", "/"), readSample(f, "shopify/"+name+".json"))
	}
	f.Add(TopicInventoryLevelsUpdate, []byte(`{"inventory_item_id":"1","location_id":"2","available":-4,"updated_at":"2026-01-01T00:00:00Z"}`))
	f.Fuzz(func(t *testing.T, topic string, body []byte) {
		ev, err := ParseShopify(topic, "e1", t0, body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("not ErrMalformed: %v", err)
			}
			return
		}
		fuzzApply(t, ev)
	})
}

func FuzzParseStandard(f *testing.F) {
	f.Add(readSample(f, "standard/inventory.adjusted.json"))
	f.Add(readSample(f, "standard/lead.created.json"))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := ParseStandard("m1", time.Time{}, body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("not ErrMalformed: %v", err)
			}
			return
		}
		fuzzApply(t, ev)
	})
}

func fuzzApply(t *testing.T, ev Event) {
	for _, key := range ev.Keys(nil) {
		it, changed, _, err := Apply(nil, key, ev, Config{})
		if err != nil {
			t.Fatal(err)
		}
		if !changed {
			continue
		}
		if _, again, out, err := Apply(&it, key, ev, Config{}); err != nil || again || len(out) != 0 {
			t.Fatalf("replay changed state: %v %v %v", again, out, err)
		}
	}
	_ = Forward(ev)
}

// One source event that touches several records, or one record twice,
// emits each announcement under its own id (else the fan-out derives one
// delivery id for two of them and the second is never sent), and the ids
// are the same on every redelivery.
func TestOneSourceEventSeveralAnnouncementsHaveDistinctIDs(t *testing.T) {
	cfg := Config{}
	p := mustParse(t, product(t, "p1", t0))
	lowM, _, _, _ := Apply(nil, "sku:HS-TEE-M", mustParse(t, adjusted(t, "m1", "HS-TEE-M", "wh-reno", 2, t0)), cfg)
	lowL, _, _, _ := Apply(nil, "sku:HS-TEE-L", mustParse(t, adjusted(t, "m2", "HS-TEE-L", "wh-reno", 1, t0)), cfg)
	adj := mustParse(t, adjusted(t, "m3", "HS-TEE-M", "wh-reno", 0, t0.Add(time.Minute)))
	tests := []struct {
		name string
		run  func() []domain.Event
		want []string // types, one event each
	}{
		{"products/update maps two skus to two items", func() []domain.Event {
			_, _, a := Merge(nil, itemM, lowM, p, cfg)
			_, _, b := Merge(nil, itemL, lowL, p, cfg)
			return append(a, b...)
		}, []string{EventLowStock, EventLowStock}},
		{"adjustment by sku, then its sku merged into the item", func() []domain.Event {
			alias, _, a, _ := Apply(&lowM, "sku:HS-TEE-M", adj, cfg)
			_, _, b := Merge(nil, itemM, alias, adj, cfg)
			return append(a, b...)
		}, []string{EventOutOfStock, EventOutOfStock}},
		{"two skus merged into one item by one products/update", func() []domain.Event {
			into, _, a := Merge(nil, itemM, lowM, p, cfg)
			lowL2 := lowL
			lowL2.Locations = map[string]Location{"wh-sparks": {Available: -5, UpdatedAt: t0, EventID: "m2"}}
			_, _, b := Merge(&into, itemM, lowL2, p, cfg)
			return append(a, b...)
		}, []string{EventLowStock, EventOutOfStock}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := tt.run()
			if !slices.Equal(types(out), tt.want) {
				t.Fatalf("types %v, want %v", types(out), tt.want)
			}
			if out[0].ID == out[1].ID {
				t.Fatalf("two announcements share id %q", out[0].ID)
			}
			again := tt.run()
			for i := range out {
				if again[i].ID != out[i].ID {
					t.Fatalf("id not stable: %q then %q", out[i].ID, again[i].ID)
				}
			}
		})
	}
}
