package metrics

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"
	"time"
)

func TestEMFLineIsAnEMFRecord(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	at := time.UnixMilli(1700000000123)
	log.LogAttrs(t.Context(), slog.LevelInfo, "webhook",
		emfAt(at, "Hookstack", [][]string{{"Provider"}}, map[string]string{"Provider": "stripe"},
			Count("WebhooksReceived", 1), Milliseconds("IngestLatency", 2.5))...)

	var rec struct {
		AWS struct {
			Timestamp         int64 `json:"Timestamp"`
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
		Provider         string
		WebhooksReceived float64
		IngestLatency    float64
	}
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("not JSON: %v: %s", err, buf.String())
	}
	if rec.AWS.Timestamp != 1700000000123 {
		t.Errorf("Timestamp = %d", rec.AWS.Timestamp)
	}
	if len(rec.AWS.CloudWatchMetrics) != 1 || rec.AWS.CloudWatchMetrics[0].Namespace != "Hookstack" {
		t.Fatalf("directive = %+v", rec.AWS.CloudWatchMetrics)
	}
	d := rec.AWS.CloudWatchMetrics[0]
	if len(d.Dimensions) != 1 || d.Dimensions[0][0] != "Provider" {
		t.Errorf("dimensions = %v", d.Dimensions)
	}
	if len(d.Metrics) != 2 || d.Metrics[0].Name != "WebhooksReceived" || d.Metrics[0].Unit != "Count" || d.Metrics[1].Unit != "Milliseconds" {
		t.Errorf("metrics = %+v", d.Metrics)
	}
	if rec.Provider != "stripe" || rec.WebhooksReceived != 1 || rec.IngestLatency != 2.5 {
		t.Errorf("values = %+v", rec)
	}
}
