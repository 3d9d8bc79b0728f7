package benchreport

import (
	"math"
	"reflect"
	"testing"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []float64
		want float64
		ok   bool
	}{
		{"none", nil, 0, false},
		{"one", []float64{7}, 7, true},
		{"odd, unsorted", []float64{9, 1, 5}, 5, true},
		{"even: mean of the middle two", []float64{4, 1, 3, 2}, 2.5, true},
		{"an outlier does not move it", []float64{10, 11, 12, 1e9, 13, 9}, 11.5, true},
		{"repeated values", []float64{2, 2, 2, 8}, 2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := append([]float64(nil), tc.in...)
			got, ok := median(in)
			if got != tc.want || ok != tc.ok {
				t.Errorf("median(%v) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
			}
			if !reflect.DeepEqual(in, tc.in) && tc.in != nil {
				t.Errorf("input modified: %v", in)
			}
		})
	}
}

const sixRuns = `pkg: example.com/m/shared/ingest
BenchmarkFloor-2   100   10 ns/op   512 B/op   6 allocs/op
BenchmarkCore-2    100   52 ns/op   3696 B/op  12 allocs/op
BenchmarkFloor-2   100   12 ns/op   512 B/op   6 allocs/op
BenchmarkCore-2    100   48 ns/op   3700 B/op  12 allocs/op
BenchmarkFloor-2   100   11 ns/op   512 B/op   6 allocs/op
BenchmarkCore-2    100   500 ns/op  3698 B/op  12 allocs/op
BenchmarkSlow-2    100   330 ns/op
BenchmarkSlow-2    100   0 ns/op
BenchmarkZero-2    100   0 ns/op
pkg: example.com/m/shared/store/dynamostore
BenchmarkPut-2     10    1000 ns/op   7 msgs/s
pkg: example.com/m/shared/store
BenchmarkPut-2     10    9 ns/op
`

func TestGroup(t *testing.T) {
	set := Group(mustParse(t, sixRuns))
	for _, tc := range []struct {
		pkg, name, unit string
		want            float64
		count           int
	}{
		{"shared/ingest", "Floor", "ns/op", 11, 3},
		{"shared/ingest", "Core", "ns/op", 52, 3},
		{"shared/ingest", "Core", "B/op", 3698, 3},
		{"shared/ingest", "Slow", "ns/op", 165, 2},
		{"shared/store/dynamostore", "Put", "msgs/s", 7, 1},
		{"example.com/m/shared/store", "Put", "ns/op", 9, 1}, // full path
		{"store", "Put", "ns/op", 9, 1},                      // suffix at a path element, not "dynamostore"
		{"", "Floor", "ns/op", 11, 3},                        // any package
	} {
		t.Run(tc.pkg+"/"+tc.name+"/"+tc.unit, func(t *testing.T) {
			b := set.Lookup(tc.pkg, tc.name)
			if b == nil {
				t.Fatal("not found")
			}
			got, ok := b.Median(tc.unit)
			if !ok || got != tc.want || b.Count(tc.unit) != tc.count {
				t.Errorf("median %v (ok %v, n %d), want %v (n %d)", got, ok, b.Count(tc.unit), tc.want, tc.count)
			}
		})
	}
	for _, tc := range []struct{ pkg, name string }{
		{"shared/ingest", "Put"},
		{"ingest", "Nope"},
		{"m/shared/ingest/x", "Floor"},
		{"est", "Floor"}, // a suffix inside an element does not match
	} {
		if set.Lookup(tc.pkg, tc.name) != nil {
			t.Errorf("Lookup(%q, %q) found something", tc.pkg, tc.name)
		}
	}
	if _, ok := set.Lookup("ingest", "Floor").Median("MB/s"); ok {
		t.Error("median of a unit never reported")
	}
}

func TestRatio(t *testing.T) {
	set := Group(mustParse(t, sixRuns))
	ing := func(n string) Ref { return Ref{Package: "shared/ingest", Name: n} }
	for _, tc := range []struct {
		name string
		a, b Ref
		unit string
		want float64
		ok   bool
	}{
		{"core over floor", ing("Core"), ing("Floor"), "ns/op", 52.0 / 11, true},
		{"the reference itself", ing("Floor"), ing("Floor"), "ns/op", 1, true},
		{"across packages", Ref{"shared/store/dynamostore", "Put"}, ing("Floor"), "ns/op", 1000.0 / 11, true},
		{"of another unit", ing("Core"), ing("Floor"), "B/op", 3698.0 / 512, true},
		{"missing numerator", ing("Gone"), ing("Floor"), "ns/op", 0, false},
		{"missing reference", ing("Core"), ing("Gone"), "ns/op", 0, false},
		{"unit missing on one side", Ref{"shared/store/dynamostore", "Put"}, ing("Floor"), "msgs/s", 0, false},
		{"zero reference", ing("Core"), ing("Zero"), "ns/op", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := set.Ratio(tc.a, tc.b, tc.unit)
			if ok != tc.ok || math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("Ratio = %v, %v; want %v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestAimCheck(t *testing.T) {
	set := Group(mustParse(t, sixRuns))
	tbl := Table{Package: "shared/ingest", Rows: []Row{{Name: "Floor"}, {Name: "Core"}, {Name: "Slow"}, {Name: "Gone"}}}
	floor := Ref{Name: "Floor"}
	for _, tc := range []struct {
		name string
		aim  Aim
		want []AimResult
	}{
		{
			name: "at most, not met",
			aim:  Aim{Rows: []string{"Core"}, Against: floor, AtMost: 3},
			want: []AimResult{{Row: "Core", Ratio: 52.0 / 11, Measured: true}},
		},
		{
			name: "at most, met",
			aim:  Aim{Rows: []string{"Core"}, Against: floor, AtMost: 5},
			want: []AimResult{{Row: "Core", Ratio: 52.0 / 11, Measured: true, Met: true}},
		},
		{
			name: "at most, met on the boundary",
			aim:  Aim{Rows: []string{"Floor"}, Against: floor, AtMost: 1},
			want: []AimResult{{Row: "Floor", Ratio: 1, Measured: true, Met: true}},
		},
		{
			name: "faster by, met",
			aim:  Aim{Rows: []string{"Floor"}, Against: Ref{Name: "Slow"}, FasterBy: 15},
			want: []AimResult{{Row: "Floor", Ratio: 15, Measured: true, Met: true}},
		},
		{
			name: "faster by, not met",
			aim:  Aim{Rows: []string{"Core"}, Against: Ref{Name: "Slow"}, FasterBy: 3.5},
			want: []AimResult{{Row: "Core", Ratio: 165.0 / 52, Measured: true}},
		},
		{
			name: "missing benchmark is not measured, never met",
			aim:  Aim{Rows: []string{"Gone"}, Against: floor, AtMost: 1e9},
			want: []AimResult{{Row: "Gone"}},
		},
		{
			name: "missing reference",
			aim:  Aim{Rows: []string{"Core"}, Against: Ref{Name: "Gone"}, AtMost: 1e9},
			want: []AimResult{{Row: "Core"}},
		},
		{
			name: "no rows: every row but the reference",
			aim:  Aim{Against: floor, AtMost: 10},
			want: []AimResult{
				{Row: "Core", Ratio: 52.0 / 11, Measured: true, Met: true},
				{Row: "Slow", Ratio: 15, Measured: true, Met: false},
				{Row: "Gone"},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.aim.Check(set, tbl)
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				g, w := got[i], tc.want[i]
				if g.Row != w.Row || g.Met != w.Met || g.Measured != w.Measured || math.Abs(g.Ratio-w.Ratio) > 1e-12 {
					t.Errorf("[%d] got %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

func TestDerived(t *testing.T) {
	set := Group(mustParse(t, sixRuns))
	tbl := Table{Package: "shared/ingest"}
	floor := Ref{Name: "Floor"}
	for _, tc := range []struct {
		name string
		d    Derived
		want float64
		ok   bool
	}{
		{"plain ratio", Derived{Num: Ref{Name: "Core"}, Den: floor}, 52.0 / 11, true},
		{"minus a share of both", Derived{Num: Ref{Name: "Slow"}, Den: Ref{Name: "Core"}, Minus: &floor}, (165.0 - 11) / (52 - 11), true},
		{"denominator not positive", Derived{Num: Ref{Name: "Core"}, Den: floor, Minus: &floor}, 0, false},
		{"missing part", Derived{Num: Ref{Name: "Core"}, Den: floor, Minus: &Ref{Name: "Gone"}}, 0, false},
		{"other unit", Derived{Num: Ref{Name: "Core"}, Den: floor, Unit: "allocs/op"}, 2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.d.Value(set, tbl)
			if ok != tc.ok || math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("Value = %v, %v; want %v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  string
		want string
	}{
		{"sig3 small", sig3(2.1934), "2.19"},
		{"sig3 tens", sig3(12.64), "12.6"},
		{"sig3 hundreds", sig3(133.6), "134"},
		{"sig3 thousands", sig3(2663), "2663"},
		{"sig3 carry", sig3(9.996), "10.0"},
		{"sig3 carry tens", sig3(99.96), "100"},
		{"sig3 tiny", sig3(0.0012345), "0.00123"},
		{"sig3 negative", sig3(-1.234), "-1.23"},
		{"sig3 zero", sig3(0), "0"},
		{"grouped", grouped(1234567.4), "1,234,567"},
		{"grouped small", grouped(512), "512"},
		{"grouped negative", grouped(-1234), "-1,234"},
		{"number large", number(2663), "2,663"},
		{"number small", number(5.996), "6.00"},
		{"ns", duration(999), "999 ns"},
		{"µs", duration(2193), "2.19 µs"},
		{"ms", duration(86_400_000), "86.4 ms"},
		{"s", duration(1.5e9), "1.50 s"},
		{"ratio", ratio(31.07), "31.1×"},
		{"ratio one", ratio(1), "1.00×"},
		{"ratio huge", ratio(12345), "12,345×"},
		{"unit B/op", formatUnit("B/op", 3696.5), "3,697"},
		{"unit custom", formatUnit("init-ms", 8.7), "8.70"},
		{"cell pipe", cell("a|b\nc"), `a\|b c`},
		{"code backtick", code("a`b"), "`a'b`"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}

func TestPairedRatio(t *testing.T) {
	set := Group(mustParse(t, "pkg: example.com/m/shared/e2e\n"+
		"BenchmarkHello 1 1 ns/op 4 init-ms\n"+
		"BenchmarkFn 1 1 ns/op 6 init-ms 1.2 init-x-hello\n"+
		"BenchmarkFn 1 1 ns/op 6 init-ms 1.4 init-x-hello\n"+
		"BenchmarkOld 1 1 ns/op 5 init-ms\n"+
		"BenchmarkZero 1 1 ns/op 5 init-ms 0 init-x-hello\n"+
		"BenchmarkLone 1 1 ns/op 5 init-ms 1.1 init-x-hello\n"))
	ref := func(n string) Ref { return Ref{Package: "shared/e2e", Name: n} }
	for _, tc := range []struct {
		name         string
		row, against string
		paired       string
		want, faster float64
		isPaired, ok bool
	}{
		{name: "median of the paired ratios", row: "Fn", against: "Hello", paired: "init-x-hello", want: 1.3, faster: 1 / 1.3, isPaired: true, ok: true},
		{name: "no paired unit asked for", row: "Fn", against: "Hello", want: 1.5, faster: 4.0 / 6, ok: true},
		{name: "not reported: the quotient of the medians", row: "Old", against: "Hello", paired: "init-x-hello", want: 1.25, faster: 0.8, ok: true},
		{name: "a non-positive paired ratio is not used", row: "Zero", against: "Hello", paired: "init-x-hello", want: 1.25, faster: 0.8, ok: true},
		{name: "paired needs no benchmark of the reference", row: "Lone", against: "Gone", paired: "init-x-hello", want: 1.1, faster: 1 / 1.1, isPaired: true, ok: true},
		{name: "neither paired nor a reference", row: "Old", against: "Gone", paired: "init-x-hello"},
		{name: "the row missing", row: "Gone", against: "Hello", paired: "init-x-hello"},
		{name: "the reference itself", row: "Hello", against: "Hello", paired: "init-x-hello", want: 1, faster: 1, ok: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, isPaired, ok := set.PairedRatio(ref(tc.row), ref(tc.against), "init-ms", tc.paired)
			if ok != tc.ok || isPaired != tc.isPaired || math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("PairedRatio = %v, %v, %v; want %v, %v, %v", got, isPaired, ok, tc.want, tc.isPaired, tc.ok)
			}
			got, isPaired, ok = set.fasterRatio(ref(tc.row), ref(tc.against), "init-ms", tc.paired)
			if ok != tc.ok || isPaired != tc.isPaired || math.Abs(got-tc.faster) > 1e-12 {
				t.Errorf("fasterRatio = %v, %v, %v; want %v, %v, %v", got, isPaired, ok, tc.faster, tc.isPaired, tc.ok)
			}
			aim := Aim{Rows: []string{tc.row}, Against: Ref{Name: tc.against}, AtMost: 1.3, Paired: tc.paired}
			res := aim.Check(set, Table{Package: "shared/e2e", Unit: "init-ms"})
			want := AimResult{Row: tc.row, Ratio: tc.want, Measured: tc.ok, Met: tc.ok && tc.want <= 1.3, Paired: tc.isPaired}
			if len(res) != 1 || res[0].Row != want.Row || res[0].Measured != want.Measured || res[0].Met != want.Met ||
				res[0].Paired != want.Paired || math.Abs(res[0].Ratio-want.Ratio) > 1e-12 {
				t.Errorf("Check = %+v, want %+v", res, want)
			}
		})
	}
}
