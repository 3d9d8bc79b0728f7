// Package metrics writes CloudWatch metrics in the Embedded Metric Format:
// attributes added to a structured log line, which CloudWatch Logs turns into
// metrics. No PutMetricData call on the hot path.
package metrics

import (
	"encoding/json"
	"log/slog"
	"strconv"
	"time"
)

// Metric is one named value with its unit.
type Metric struct {
	Name  string
	Unit  string
	Value float64
}

// Count is a Count metric.
func Count(name string, v float64) Metric { return Metric{Name: name, Unit: "Count", Value: v} }

// Milliseconds is a Milliseconds metric.
func Milliseconds(name string, v float64) Metric {
	return Metric{Name: name, Unit: "Milliseconds", Value: v}
}

// EMF returns the log attributes that make a JSON log line an EMF record:
// the _aws metadata, the dimension values and one attribute per metric.
// dimensionSets names the dimension keys (e.g. [][]string{{"Provider"}}).
// Names are ASCII identifiers (strconv quoting is JSON-compatible for them).
func EMF(namespace string, dimensionSets [][]string, dims map[string]string, ms ...Metric) []slog.Attr {
	return emfAt(time.Now(), namespace, dimensionSets, dims, ms...)
}

func emfAt(now time.Time, namespace string, dimensionSets [][]string, dims map[string]string, ms ...Metric) []slog.Attr {
	attrs := make([]slog.Attr, 0, 1+len(dims)+len(ms))
	attrs = append(attrs, slog.Any("_aws", json.RawMessage(directive(now, namespace, dimensionSets, ms))))
	for k, v := range dims {
		attrs = append(attrs, slog.String(k, v))
	}
	for _, m := range ms {
		attrs = append(attrs, slog.Float64(m.Name, m.Value))
	}
	return attrs
}

// directive writes the _aws object by hand: it goes on every request's log
// line, and reflection-based encoding of a nested map costs more than the
// rest of the line.
func directive(now time.Time, namespace string, dimensionSets [][]string, ms []Metric) []byte {
	b := make([]byte, 0, 128+32*len(ms))
	b = append(b, `{"Timestamp":`...)
	b = strconv.AppendInt(b, now.UnixMilli(), 10)
	b = append(b, `,"CloudWatchMetrics":[{"Namespace":`...)
	b = strconv.AppendQuote(b, namespace)
	b = append(b, `,"Dimensions":[`...)
	for i, set := range dimensionSets {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		for j, d := range set {
			if j > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendQuote(b, d)
		}
		b = append(b, ']')
	}
	b = append(b, `],"Metrics":[`...)
	for i, m := range ms {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"Name":`...)
		b = strconv.AppendQuote(b, m.Name)
		b = append(b, `,"Unit":`...)
		b = strconv.AppendQuote(b, m.Unit)
		b = append(b, '}')
	}
	return append(b, "]}]}"...)
}
