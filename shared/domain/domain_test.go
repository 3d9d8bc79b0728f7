package domain

import (
	"encoding/json"
	"math/rand"
	"testing"
	"time"
)

func TestRaw(t *testing.T) {
	at := time.Date(2026, 1, 5, 9, 0, 0, 0, time.FixedZone("EST", -5*3600))
	tests := []struct {
		name     string
		provider string
		typ      string
		body     []byte
		wantID   string
		wantType string
		wantData string
	}{
		// github and shopify ids are unsigned headers: the body's hash keys the forward.
		{"json body kept as is", "github", "push", []byte(`{"ref":"refs/heads/main"}`), "sha256:090ba1b9ca860d37bb4ca7492549a8a347caac3490f763399e6498622c9b47f9:github.push", "github.push", `{"ref":"refs/heads/main"}`},
		{"form body as json string", "twilio", "message.status", []byte("MessageStatus=delivered&To=%2B1"), "d1:twilio.message.status", "twilio.message.status", `"MessageStatus=delivered\u0026To=%2B1"`},
		{"slash in type kept", "shopify", "orders/create", []byte(`{}`), "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a:shopify.orders/create", "shopify.orders/create", `{}`},
		{"signed id kept", "stripe", "charge.refunded", []byte(`{}`), "d1:stripe.charge.refunded", "stripe.charge.refunded", `{}`},
		{"empty body", "zoom", "meeting.started", nil, "d1:zoom.meeting.started", "zoom.meeting.started", ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := Raw(tt.provider, "d1", tt.typ, at, tt.body)
			if e.ID != tt.wantID || e.Type != tt.wantType {
				t.Fatalf("id/type = %q/%q, want %q/%q", e.ID, e.Type, tt.wantID, tt.wantType)
			}
			if string(e.Data) != tt.wantData {
				t.Fatalf("data = %s, want %s", e.Data, tt.wantData)
			}
			if !e.IsRaw() || e.Source != tt.provider || e.SourceEventID != "d1" {
				t.Fatalf("raw flags wrong: %+v", e)
			}
			if e.OccurredAt.Location() != time.UTC || !e.OccurredAt.Equal(at) {
				t.Fatalf("occurred_at = %v", e.OccurredAt)
			}
			if e.Subject != tt.provider+":d1" || e.WithSubject("payment:pi_1").Subject != "payment:pi_1" || e.WithSubject("").Subject != e.Subject {
				t.Fatalf("subject handling wrong: %q", e.Subject)
			}
			if again := Raw(tt.provider, "d1", tt.typ, at, tt.body); again.ID != e.ID {
				t.Fatal("raw id not deterministic")
			}
		})
	}
}

func TestNew(t *testing.T) {
	e := New("payment.succeeded", "payment:pi_1", "stripe", "evt_1", time.Unix(10, 0), map[string]int{"amount": 5})
	if e.ID != "evt_1:payment.succeeded:payment:pi_1" || e.IsRaw() {
		t.Fatalf("bad event %+v", e)
	}
	var m map[string]int
	if err := json.Unmarshal(e.Data, &m); err != nil || m["amount"] != 5 {
		t.Fatalf("data = %s (%v)", e.Data, err)
	}
	if bad := New("x", "s", "p", "e", time.Time{}, func() {}); bad.Data != nil {
		t.Fatal("unmarshalable data should be dropped")
	}
}

func TestVersionOrder(t *testing.T) {
	t0 := time.Unix(100, 0)
	tests := []struct {
		name string
		a, b Version
		want bool
	}{
		{"later time wins over rank", Version{At: t0.Add(time.Second), Rank: 0, EventID: "a"}, Version{At: t0, Rank: 9, EventID: "z"}, true},
		{"equal time higher rank", Version{At: t0, Rank: 2, EventID: "a"}, Version{At: t0, Rank: 1, EventID: "z"}, true},
		{"equal time and rank, event id", Version{At: t0, Rank: 1, EventID: "b"}, Version{At: t0, Rank: 1, EventID: "a"}, true},
		{"identical is not after", Version{At: t0, Rank: 1, EventID: "a"}, Version{At: t0, Rank: 1, EventID: "a"}, false},
		{"anything beats zero", Version{At: time.Unix(0, 0), EventID: "a"}, Version{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.After(tt.b); got != tt.want {
				t.Fatalf("After = %v, want %v", got, tt.want)
			}
			if tt.want && tt.b.After(tt.a) {
				t.Fatal("After is not antisymmetric")
			}
			if tt.want && Max(tt.b, tt.a) != tt.a {
				t.Fatal("Max picked the older")
			}
		})
	}
}

func TestFieldOrderIndependent(t *testing.T) {
	type w struct {
		v   string
		ver Version
	}
	t0 := time.Unix(1000, 0)
	writes := []w{
		{"processing", Version{At: t0, Rank: 1, EventID: "e1"}},
		{"succeeded", Version{At: t0.Add(time.Minute), Rank: 4, EventID: "e2"}},
		{"refunded", Version{At: t0.Add(time.Minute), Rank: 6, EventID: "e3"}},
		{"failed", Version{At: t0.Add(-time.Minute), Rank: 3, EventID: "e0"}},
	}
	var want Field[string]
	for _, x := range writes {
		want.Set(x.v, x.ver)
	}
	if want.Value != "refunded" {
		t.Fatalf("in-order value = %q", want.Value)
	}
	r := rand.New(rand.NewSource(1))
	for i := range 100 {
		var f Field[string]
		for _, j := range r.Perm(len(writes)) {
			f.Set(writes[j].v, writes[j].ver)
			if r.Intn(2) == 0 && f.Set(writes[j].v, writes[j].ver) {
				t.Fatalf("perm %d: replay changed the value", i)
			}
		}
		if f != want {
			t.Fatalf("perm %d: got %+v, want %+v", i, f, want)
		}
		var merged Field[string]
		merged.Merge(f)
		merged.Merge(Field[string]{})
		if merged != want {
			t.Fatalf("merge got %+v", merged)
		}
	}
}

func TestSet(t *testing.T) {
	var (
		val string
		ver Version
	)
	v1 := Version{At: time.Unix(1, 0), EventID: "a"}
	v2 := Version{At: time.Unix(2, 0), EventID: "b"}
	tests := []struct {
		name              string
		nv                string
		v                 Version
		advanced, changed bool
		want              string
	}{
		{"first write", "x", v1, true, true, "x"},
		{"replay", "x", v1, false, false, "x"},
		{"newer same value", "x", v2, true, false, "x"},
		{"older different value", "y", v1, false, false, "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, c := Set(&val, &ver, tt.nv, tt.v)
			if a != tt.advanced || c != tt.changed || val != tt.want {
				t.Fatalf("Set = %v,%v val %q; want %v,%v %q", a, c, val, tt.advanced, tt.changed, tt.want)
			}
		})
	}
}

// TestRawUnsignedIDReplay: a captured GitHub or Shopify request sent again
// with a fresh id header (the header is not signed) is the same forward, so
// downstream deduplication drops it; a provider whose id is signed keeps
// its ids, and different bodies never share one.
func TestRawUnsignedIDReplay(t *testing.T) {
	at := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	body := []byte(`{"ref":"refs/heads/main","after":"6dcb09b5"}`)
	other := []byte(`{"ref":"refs/heads/main","after":"a10867b1"}`)
	for _, tc := range []struct {
		name          string
		a, b          Event
		wantSame      bool
		wantSourceIDs [2]string
	}{
		{"github replay with a fresh delivery id", Raw("github", "d1", "push", at, body), Raw("github", "d2", "push", at, body), true, [2]string{"d1", "d2"}},
		{"shopify replay with a fresh webhook id", Raw("shopify", "w1", "products/update", at, body), Raw("shopify", "w2", "products/update", at, body), true, [2]string{"w1", "w2"}},
		{"github, two pushes", Raw("github", "d1", "push", at, body), Raw("github", "d2", "push", at, other), false, [2]string{"d1", "d2"}},
		{"stripe ids are signed", Raw("stripe", "evt_1", "charge.refunded", at, body), Raw("stripe", "evt_2", "charge.refunded", at, body), false, [2]string{"evt_1", "evt_2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if same := tc.a.ID == tc.b.ID; same != tc.wantSame {
				t.Errorf("ids %q and %q: same = %v, want %v", tc.a.ID, tc.b.ID, same, tc.wantSame)
			}
			if tc.a.SourceEventID != tc.wantSourceIDs[0] || tc.b.SourceEventID != tc.wantSourceIDs[1] {
				t.Errorf("source event ids %q, %q: the provider's ids are kept for correlation", tc.a.SourceEventID, tc.b.SourceEventID)
			}
		})
	}
}
