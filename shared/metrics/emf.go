// Package metrics writes CloudWatch metrics in the Embedded Metric Format:
// attributes added to a structured log line, which CloudWatch Logs turns into
// metrics. No PutMetricData call on the hot path.
package metrics

import (
	"log/slog"
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
func EMF(namespace string, dimensionSets [][]string, dims map[string]string, ms ...Metric) []slog.Attr {
	return emfAt(time.Now(), namespace, dimensionSets, dims, ms...)
}

type definition struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

type directive struct {
	Namespace  string       `json:"Namespace"`
	Dimensions [][]string   `json:"Dimensions"`
	Metrics    []definition `json:"Metrics"`
}

func emfAt(now time.Time, namespace string, dimensionSets [][]string, dims map[string]string, ms ...Metric) []slog.Attr {
	defs := make([]definition, len(ms))
	attrs := make([]slog.Attr, 0, 1+len(dims)+len(ms))
	for i, m := range ms {
		defs[i] = definition{Name: m.Name, Unit: m.Unit}
	}
	attrs = append(attrs, slog.Any("_aws", map[string]any{
		"Timestamp":         now.UnixMilli(),
		"CloudWatchMetrics": []directive{{Namespace: namespace, Dimensions: dimensionSets, Metrics: defs}},
	}))
	for k, v := range dims {
		attrs = append(attrs, slog.String(k, v))
	}
	for _, m := range ms {
		attrs = append(attrs, slog.Float64(m.Name, m.Value))
	}
	return attrs
}
