package benchreport

import (
	"path"
	"slices"
	"strings"
)

// UnitTime is the unit `go test` reports the time per operation in.
const UnitTime = "ns/op"

// Section is one part of the report: a heading, a short explanation and the
// tables that hold the figures. Sections are data (see DefaultSections); the
// prose in them carries no figures — every number comes from the run.
type Section struct {
	Title string
	// Intro is a short paragraph explaining what is measured (no figures).
	Intro string
	// Rerun is the command that re-runs only this section's benchmarks.
	Rerun  string
	Tables []Table
}

// Table is one table of benchmarks compared with one another.
type Table struct {
	// Caption is an optional line printed above the table.
	Caption string
	// Package is the default package of the rows and references: an import
	// path or its suffix ("shared/ingest").
	Package string
	// Unit is the figure the medians and ratios are taken of; "" is ns/op.
	Unit string
	// UnitLabel is the header of the median column ("INIT"); "" derives one.
	UnitLabel string
	// Optional tables are left out when none of their benchmarks ran.
	Optional bool
	Rows     []Row
	// Ratios are the ratio columns; the first is "ratio to the baseline".
	Ratios []Ratio
	// Hide lists units not to show as columns (MB/s is always hidden:
	// it restates the time per operation).
	Hide []string
	// Labels renames unit columns ("MiB" → "binary (MiB)").
	Labels map[string]string
	// SizeFromFile names the unit that holds a binary's size in MiB; rows
	// that did not report it get the size of the file the report was given
	// (Report.BinarySizes, keyed by the last element of the row's name).
	SizeFromFile string
	Aims         []Aim
	Derived      []Derived
}

// Row is one benchmark of a table.
type Row struct {
	Name    string // without "Benchmark" and -N: "IngestStripe2KB", "ColdStart/hello"
	Package string // "" is the table's
	What    string // what it does, in a few words
}

// Ref names a benchmark; an empty Package is the table's.
type Ref struct {
	Package string
	Name    string
}

// Ratio is a ratio column: each row's median over the reference's, or the
// reference's over the row's when Faster is set ("× faster than").
type Ratio struct {
	Against Ref
	// PerRow gives rows their own reference (row name → reference) in
	// place of Against; a row it does not name gets no ratio. Label names
	// the column.
	PerRow map[string]Ref
	Unit   string // "" is the table's unit
	Faster bool
	Label  string // column header; "" derives "ratio to `Name`"
	// Paired is the unit of a ratio the row's benchmark measured itself,
	// row over reference within each of its iterations ("init-x-hello"):
	// where the row reported it, the column shows its median in place of
	// the quotient of two medians; elsewhere it falls back to that
	// quotient. A paired unit is never shown as a column of its own.
	Paired string
}

// Aim is a target from the issue, checked against the run's figures.
type Aim struct {
	// Rows are the benchmarks checked; empty means every row of the table
	// except the reference.
	Rows    []string
	Against Ref
	Unit    string // "" is the table's unit
	// AtMost: met when row / against ≤ AtMost.
	AtMost float64
	// FasterBy: met when against / row ≥ FasterBy.
	FasterBy float64
	// What says in words what is compared ("ingest core vs the HMAC floor").
	What   string
	Source string // where the aim comes from ("issue 7")
	// Paired is the unit of the row's own per-iteration ratio to Against,
	// used where the row reported it (see Ratio.Paired).
	Paired string
}

// AimResult is an aim checked for one benchmark.
type AimResult struct {
	Row      string
	Ratio    float64 // row/against, or against/row for FasterBy
	Measured bool    // both medians present, or the paired ratio
	Met      bool
	Paired   bool // Ratio is the median of the row's paired ratio
}

// Derived is a figure computed from three benchmarks of the run:
// (Num − Minus) / (Den − Minus), or Num / Den without Minus.
type Derived struct {
	Label    string
	Num, Den Ref
	Minus    *Ref
	Unit     string // "" is ns/op
}

func (t Table) unit() string {
	if t.Unit == "" {
		return UnitTime
	}
	return t.Unit
}

func (t Table) ref(r Ref) Ref {
	if r.Package == "" {
		r.Package = t.Package
	}
	return r
}

func (t Table) rowRef(r Row) Ref { return t.ref(Ref{Package: r.Package, Name: r.Name}) }

// against is the reference of row's ratio in this column; ok is false when
// the column has none for it.
func (rt Ratio) against(row string) (Ref, bool) {
	if rt.PerRow == nil {
		return rt.Against, true
	}
	r, ok := rt.PerRow[row]
	return r, ok
}

// refs are every reference of the column, in a fixed order.
func (rt Ratio) refs() []Ref {
	if rt.PerRow == nil {
		return []Ref{rt.Against}
	}
	var out []Ref
	for _, r := range rt.PerRow {
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b Ref) int { return strings.Compare(a.Package+" "+a.Name, b.Package+" "+b.Name) })
	return out
}

// Median of the referenced benchmark's unit; ok is false when the run did
// not measure it.
func (s *Set) Median(r Ref, unit string) (float64, bool) {
	b := s.Lookup(r.Package, r.Name)
	if b == nil {
		return 0, false
	}
	return b.Median(unit)
}

// Ratio is a's median over b's, both of unit and of this run; ok is false
// when either is missing or b's median is zero.
func (s *Set) Ratio(a, b Ref, unit string) (float64, bool) {
	x, ok1 := s.Median(a, unit)
	y, ok2 := s.Median(b, unit)
	if !ok1 || !ok2 || y == 0 {
		return 0, false
	}
	return x / y, true
}

// PairedRatio is row's ratio to against in unit: the median of row's own
// per-iteration ratio (the unit paired, see Ratio.Paired) when it reported
// a positive one, else the quotient of the two medians (Ratio). paired says
// which; ok is false when neither is available.
func (s *Set) PairedRatio(row, against Ref, unit, paired string) (x float64, isPaired, ok bool) {
	if paired != "" {
		if v, found := s.Median(row, paired); found && v > 0 {
			return v, true, true
		}
	}
	x, ok = s.Ratio(row, against, unit)
	return x, false, ok
}

// fasterRatio is against over row ("× faster than"): the inverse of row's
// paired ratio when it reported one, else the quotient of the medians.
func (s *Set) fasterRatio(row, against Ref, unit, paired string) (x float64, isPaired, ok bool) {
	if v, p, found := s.PairedRatio(row, against, unit, paired); found && p {
		return 1 / v, true, true
	}
	x, ok = s.Ratio(against, row, unit)
	return x, false, ok
}

// Check evaluates the aim for each of its rows in table t.
func (a Aim) Check(s *Set, t Table) []AimResult {
	unit := a.Unit
	if unit == "" {
		unit = t.unit()
	}
	against := t.ref(a.Against)
	rows := a.Rows
	if len(rows) == 0 {
		for _, r := range t.Rows {
			if rr := t.rowRef(r); !(rr.Name == against.Name && samePkg(rr.Package, against.Package)) {
				rows = append(rows, r.Name)
			}
		}
	}
	out := make([]AimResult, 0, len(rows))
	for _, name := range rows {
		row := t.ref(Ref{Name: name})
		for _, r := range t.Rows {
			if r.Name == name {
				row = t.rowRef(r)
			}
		}
		res := AimResult{Row: name}
		if a.FasterBy > 0 {
			res.Ratio, res.Paired, res.Measured = s.fasterRatio(row, against, unit, a.Paired)
			res.Met = res.Measured && res.Ratio >= a.FasterBy
		} else {
			res.Ratio, res.Paired, res.Measured = s.PairedRatio(row, against, unit, a.Paired)
			res.Met = res.Measured && res.Ratio <= a.AtMost
		}
		out = append(out, res)
	}
	return out
}

// Value computes the derived figure; ok is false when a benchmark is
// missing or the denominator is not positive.
func (d Derived) Value(s *Set, t Table) (float64, bool) {
	unit := d.Unit
	if unit == "" {
		unit = UnitTime
	}
	num, ok1 := s.Median(t.ref(d.Num), unit)
	den, ok2 := s.Median(t.ref(d.Den), unit)
	if !ok1 || !ok2 {
		return 0, false
	}
	if d.Minus != nil {
		m, ok := s.Median(t.ref(*d.Minus), unit)
		if !ok {
			return 0, false
		}
		num, den = num-m, den-m
	}
	if den <= 0 {
		return 0, false
	}
	return num / den, true
}

func samePkg(a, b string) bool {
	return a == b || pkgMatches(a, b) || pkgMatches(b, a)
}

// baseName is the last element of a benchmark name ("ColdStart/hello" →
// "hello").
func baseName(name string) string { return path.Base(name) }
