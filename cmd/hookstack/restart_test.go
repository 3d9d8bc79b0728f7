package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Nothing acknowledged is lost across a stop and restart of the real
// binary: events accepted while their processor cannot consume (every
// receive of the payments queue fails, by fault injection) are processed
// after a restart on the same data folder.
func TestCLIRestartWithoutLoss(t *testing.T) {
	data := t.TempDir()
	d, stop := startDevIn(t, data, "HOOKSTACK_FAULTS_DEV=queue.receive@payments=1")
	for range 3 {
		if r := hookstack(t, d.env(), "", "trigger", "stripe", "payment_intent.succeeded", "--data", data); r.code != 0 {
			t.Fatalf("trigger: %d %s %s", r.code, r.stdout, r.stderr)
		}
	}
	var ids []string
	for _, e := range d.events(t, "stripe") {
		ids = append(ids, e.ID)
	}
	if len(ids) != 3 {
		t.Fatalf("events before the restart: %v", ids)
	}
	time.Sleep(500 * time.Millisecond)
	for _, id := range ids {
		if s := status(t, d.url, id); s != "queued" {
			t.Fatalf("event %s is %q before the restart, want queued (the processor cannot receive)", id, s)
		}
	}
	stop()

	d2, _ := startDevIn(t, data) // the same folder, no faults
	deadline := time.Now().Add(30 * time.Second)
	for _, id := range ids {
		for {
			s := status(t, d2.url, id)
			if s == "processed" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("event %s is %q after the restart, want processed", id, s)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

func status(t *testing.T, base, id string) string {
	t.Helper()
	resp, err := http.Get(base + "/api/events/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct {
		Status string `json:"status"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
		t.Fatalf("GET /api/events/%s: %v", id, err)
	}
	return strings.TrimSpace(e.Status)
}
