package benchreport

import (
	"math"
	"strconv"
	"strings"
)

// sig3 formats x with three significant digits (no exponent): 2.19, 12.6,
// 68.5, 134, 2663.
func sig3(x float64) string {
	if x == 0 {
		return "0"
	}
	mag := int(math.Floor(math.Log10(math.Abs(x))))
	dec := max(2-mag, 0)
	// Rounding may carry into the next power of ten (9.996 → 10.00).
	if s := strconv.FormatFloat(x, 'f', dec, 64); dec > 0 && len(strings.TrimLeft(strings.ReplaceAll(s, ".", ""), "-0")) > 3 {
		return strconv.FormatFloat(x, 'f', dec-1, 64)
	}
	return strconv.FormatFloat(x, 'f', dec, 64)
}

// grouped formats x rounded to an integer with thousands separators.
func grouped(x float64) string {
	s := strconv.FormatInt(int64(math.Round(math.Abs(x))), 10)
	var b strings.Builder
	if x < 0 && math.Round(math.Abs(x)) != 0 {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// number formats a figure of any unit: integers with separators from 100
// up, three significant digits below.
func number(x float64) string {
	if math.Abs(x) >= 100 {
		return grouped(x)
	}
	return sig3(x)
}

// duration formats nanoseconds as ns, µs, ms or s with three significant
// digits.
func duration(ns float64) string {
	a := math.Abs(ns)
	switch {
	case a < 1e3:
		return sig3(ns) + " ns"
	case a < 1e6:
		return sig3(ns/1e3) + " µs"
	case a < 1e9:
		return sig3(ns/1e6) + " ms"
	default:
		return sig3(ns/1e9) + " s"
	}
}

// ratio formats a ratio: 1.00×, 5.81×, 31.1×, 128×.
func ratio(x float64) string {
	if math.Abs(x) >= 1000 {
		return grouped(x) + "×"
	}
	return sig3(x) + "×"
}

// formatUnit formats a median of the given unit.
func formatUnit(unit string, v float64) string {
	switch unit {
	case UnitTime:
		return duration(v)
	case "B/op", "allocs/op":
		return grouped(v)
	default:
		return number(v)
	}
}

// cell escapes text for a markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	return strings.ReplaceAll(s, "|", `\|`)
}

// code wraps s as inline code, safe for a table cell.
func code(s string) string {
	return "`" + strings.ReplaceAll(cell(s), "`", "'") + "`"
}
