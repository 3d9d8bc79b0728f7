package domain

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"time"
)

// statusPhase announces every run of "ok" and "bad"; "wait" separates runs.
func statusPhase(v string) (string, string) {
	if v == "wait" {
		return v, ""
	}
	return v, "on_" + v
}

// goodPhase announces runs of "ok"/"fine" (one run key for both).
func goodPhase(v string) (string, string) {
	if v == "ok" || v == "fine" {
		return "good", "became_good"
	}
	return "other", ""
}

// replayTimeline inserts marks in the given order and returns the final
// timeline and the milestones by name, failing on a repeated event id.
func replayTimeline(t *testing.T, marks []Mark) (Timeline, map[string]int) {
	t.Helper()
	var tl Timeline
	counts := map[string]int{}
	ids := map[string]bool{}
	for _, m := range marks {
		// Through JSON, as records are stored.
		b, err := json.Marshal(tl)
		if err != nil {
			t.Fatal(err)
		}
		tl = Timeline{}
		if err := json.Unmarshal(b, &tl); err != nil {
			t.Fatal(err)
		}
		_, out := tl.Insert(m, statusPhase, goodPhase)
		for _, ms := range out {
			id := ms.EventID(ms.Name, "rec:1")
			if ids[id] {
				t.Fatalf("%s announced twice", id)
			}
			ids[id] = true
			counts[ms.Name]++
		}
	}
	return tl, counts
}

func marksOf(spec string) []Mark {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var out []Mark
	for i, v := range strings.Fields(spec) {
		out = append(out, Mark{Version: Version{At: base.Add(time.Duration(i) * time.Minute), EventID: fmt.Sprintf("e%02d", i)}, Value: v})
	}
	return out
}

func TestTimelineAnyOrderAnnouncesAsInOrder(t *testing.T) {
	tests := []struct {
		name string
		spec string // values in version order
		want map[string]int
	}{
		{"lifecycle", "wait bad wait ok", map[string]int{"on_bad": 1, "on_ok": 1, "became_good": 1}},
		{"repeated value is one run", "bad bad ok ok", map[string]int{"on_bad": 1, "on_ok": 1, "became_good": 1}},
		{"cycles", "ok bad ok bad ok", map[string]int{"on_ok": 3, "on_bad": 2, "became_good": 3}},
		{"separated repeats", "bad wait bad wait bad ok", map[string]int{"on_bad": 3, "on_ok": 1, "became_good": 1}},
		{"projection merges values", "ok fine ok bad fine", map[string]int{"on_ok": 2, "on_fine": 2, "on_bad": 1, "became_good": 2}},
		{"nothing to announce", "wait wait", map[string]int{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			marks := marksOf(tt.spec)
			want, counts := replayTimeline(t, marks)
			if !maps.Equal(counts, tt.want) {
				t.Fatalf("in order %v, want %v", counts, tt.want)
			}
			rnd := rand.New(rand.NewSource(int64(len(tt.spec))))
			for i := range 300 {
				perm := make([]Mark, 0, 2*len(marks))
				for _, j := range rnd.Perm(len(marks)) {
					perm = append(perm, marks[j])
					if rnd.Intn(4) == 0 { // a redelivery
						perm = append(perm, marks[j])
					}
				}
				got, gotCounts := replayTimeline(t, perm)
				if !reflect.DeepEqual(got, want) || !maps.Equal(gotCounts, counts) {
					t.Fatalf("perm %d: %v announced %v, want %v; timeline equal %v", i, perm, gotCounts, counts, reflect.DeepEqual(got, want))
				}
				// Replaying everything again announces nothing.
				for _, m := range perm {
					if ins, out := got.Insert(m, statusPhase, goodPhase); ins || len(out) != 0 {
						t.Fatalf("replay of %s: inserted %v announced %v", m.EventID, ins, out)
					}
				}
			}
		})
	}
}

func TestTimelineLate(t *testing.T) {
	m := marksOf("ok wait bad")
	var tl Timeline
	tl.Insert(m[2], statusPhase)
	_, out := tl.Insert(m[0], statusPhase)
	if len(out) != 1 || out[0].Name != "on_ok" || !out[0].Late || out[0].Mark.EventID != "e00" {
		t.Fatalf("late ok: %+v", out)
	}
	e := out[0].Event("x.ok", "rec:1", "p", nil)
	if e.ID != "e00:x.ok:rec:1" || !e.Late || !e.OccurredAt.Equal(m[0].At) || e.SourceEventID != "e00" {
		t.Fatalf("event %+v", e)
	}
	b, _ := json.Marshal(New("x.ok", "rec:1", "p", "e1", m[0].At, nil))
	if strings.Contains(string(b), "late") {
		t.Fatalf("an in-order event carries late: %s", b)
	}
	// A split: ok(e00) bad(e02) known; wait(e01) ... then bad between.
	var sp Timeline
	sp.Insert(m[0], statusPhase)
	ok2 := Mark{Version: Version{At: m[2].At.Add(time.Minute), EventID: "e03"}, Value: "ok"}
	sp.Insert(ok2, statusPhase) // same run as e00
	_, out = sp.Insert(m[2], statusPhase)
	if len(out) != 2 || out[0].Name != "on_bad" || out[1].Name != "on_ok" || out[1].Cause != "e02" || out[1].EventID("x.ok", "rec:1") != "e03/e02:x.ok:rec:1" {
		t.Fatalf("split: %+v", out)
	}
}

func TestTimelineRedeliveryStampedEarlier(t *testing.T) {
	m := marksOf("ok bad")
	early := m[1]
	late := early
	late.At = late.At.Add(30 * time.Second)
	for _, order := range [][]Mark{{m[0], early, late}, {m[0], late, early}, {late, m[0], early}} {
		tl, counts := replayTimeline(t, order)
		if len(tl.Marks) != 2 || !tl.Marks[1].At.Equal(early.At) || !maps.Equal(counts, map[string]int{"on_ok": 1, "on_bad": 1, "became_good": 1}) {
			t.Fatalf("order %v: %+v %v", order, tl.Marks, counts)
		}
	}
}

func TestTimelineBounded(t *testing.T) {
	spec := strings.Repeat("ok bad ", MaxMarks)
	marks := marksOf(spec)
	tl, counts := replayTimeline(t, marks)
	if len(tl.Marks) != MaxMarks || tl.Floor == nil || tl.Floor.EventID != marks[len(marks)-MaxMarks-1].EventID {
		t.Fatalf("%d marks, floor %+v", len(tl.Marks), tl.Floor)
	}
	if counts["on_ok"] != MaxMarks || counts["on_bad"] != MaxMarks {
		t.Fatalf("counts %v", counts)
	}
	// A write older than the floor is ignored; one just above it is kept.
	if ins, out := tl.Insert(Mark{Version: Version{At: marks[0].At.Add(-time.Hour), EventID: "old"}, Value: "bad"}, statusPhase); ins || out != nil {
		t.Fatalf("older than the floor: %v %v", ins, out)
	}
	above := Mark{Version: Version{At: tl.Floor.At.Add(time.Second), EventID: "above"}, Value: "wait"}
	if ins, _ := tl.Insert(above, statusPhase); !ins || len(tl.Marks) != MaxMarks {
		t.Fatalf("above the floor: %v, %d marks", ins, len(tl.Marks))
	}
}
