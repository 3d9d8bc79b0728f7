package benchreport

import (
	"maps"
	"slices"
	"sort"
	"strings"
)

// Key names one benchmark: its package's import path and its name without
// the "Benchmark" prefix and the -N suffix.
type Key struct {
	Pkg  string
	Name string
}

// Bench is every repetition of one benchmark.
type Bench struct {
	Key
	units   []string // in order of first appearance
	samples map[string][]float64
}

// Units lists the units the benchmark reported, in order of first appearance.
func (b *Bench) Units() []string { return slices.Clone(b.units) }

// Count is the number of repetitions that reported unit.
func (b *Bench) Count(unit string) int { return len(b.samples[unit]) }

// Median is the median over the repetitions of unit; ok is false when the
// benchmark never reported it.
func (b *Bench) Median(unit string) (m float64, ok bool) {
	return median(b.samples[unit])
}

// Set is the benchmarks of a run grouped by package and name.
type Set struct {
	benches map[Key]*Bench
	order   []Key // first appearance
	data    *Data
}

// Group groups d's samples by package and benchmark name (the -N suffix
// already stripped), keeping every unit's values for the medians.
func Group(d *Data) *Set {
	s := &Set{benches: map[Key]*Bench{}, data: d}
	for _, smp := range d.Samples {
		k := Key{Pkg: smp.Pkg, Name: smp.Name}
		b := s.benches[k]
		if b == nil {
			b = &Bench{Key: k, samples: map[string][]float64{}}
			s.benches[k] = b
			s.order = append(s.order, k)
		}
		for _, v := range smp.Values {
			if _, seen := b.samples[v.Unit]; !seen {
				b.units = append(b.units, v.Unit)
			}
			b.samples[v.Unit] = append(b.samples[v.Unit], v.Value)
		}
	}
	return s
}

// Data is what the set was grouped from.
func (s *Set) Data() *Data { return s.data }

// Benches lists the benchmarks in order of first appearance.
func (s *Set) Benches() []*Bench {
	out := make([]*Bench, 0, len(s.order))
	for _, k := range s.order {
		out = append(out, s.benches[k])
	}
	return out
}

// Packages lists the packages that reported a benchmark, in order of first
// appearance.
func (s *Set) Packages() []string {
	var out []string
	for _, k := range s.order {
		if !slices.Contains(out, k.Pkg) {
			out = append(out, k.Pkg)
		}
	}
	return out
}

// Lookup finds a benchmark by name in the package whose import path is pkg
// or ends in "/"+pkg ("shared/ingest" finds
// github.com/hookstack/hookstack/shared/ingest). When pkg is empty any
// package matches. It returns nil when the run did not measure it.
func (s *Set) Lookup(pkg, name string) *Bench {
	for _, k := range s.order {
		if k.Name == name && pkgMatches(k.Pkg, pkg) {
			return s.benches[k]
		}
	}
	return nil
}

func pkgMatches(path, want string) bool {
	return want == "" || path == want || strings.HasSuffix(path, "/"+want)
}

// median of xs without modifying it; ok is false for no values.
func median(xs []float64) (float64, bool) {
	if len(xs) == 0 {
		return 0, false
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2], true
	}
	return (s[n/2-1] + s[n/2]) / 2, true
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
