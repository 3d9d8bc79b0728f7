package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestTriggerCustomEventsFolder(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "stripe", "price.created.json"), `{"id":"evt_1","object":"event","created":1,"type":"price.created","data":{"object":{"id":"price_1"}}}`)
	writeFile(t, filepath.Join(dir, "github", "deployment.json"), `{"deployment":{"id":1}}`)
	writeFile(t, filepath.Join(dir, "github", "deployment.headers"), "X-GitHub-Event: deployment\nX-GitHub-Delivery: fixed\n")
	srv, got := verifyingServer(t, "whsec_custom", "")

	t.Run("list", func(t *testing.T) {
		stdout, _, err := execute(t, nil, "", "trigger", "--list", "--events", dir, "--json")
		if err != nil {
			t.Fatal(err)
		}
		var items []listed
		if err := json.Unmarshal([]byte(stdout), &items); err != nil {
			t.Fatal(err)
		}
		want := []listed{
			{"stripe", "price.created", "price.created", "stripe/price.created.json"},
			{"github", "deployment", "deployment", "github/deployment.json"},
		}
		if len(items) != len(want) || items[0] != want[0] || items[1] != want[1] {
			t.Fatalf("listed %+v, want %+v", items, want)
		}
	})
	t.Run("stripe gets a fresh id", func(t *testing.T) {
		stdout, stderr, err := execute(t, nil, "", "trigger", "stripe", "price.created", "--events", dir, "--url", srv.URL, "--secret", "whsec_custom")
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		if !strings.Contains(stdout, "(stripe price.created, ") {
			t.Fatalf("stdout %q does not name the event", stdout)
		}
		body := (*got)[len(*got)-1].Body
		if id := gjson.GetBytes(body, "id").String(); id == "evt_1" || !strings.HasPrefix(id, "evt_") {
			t.Fatalf("id %q not refreshed", id)
		}
		if gjson.GetBytes(body, "created").Int() <= 1 {
			t.Fatal("created not refreshed")
		}
	})
	t.Run("github gets a fresh delivery", func(t *testing.T) {
		stdout, stderr, err := execute(t, nil, "", "trigger", "github", "deployment", "--events", dir, "--url", srv.URL, "--secret", "whsec_custom", "--json")
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		var res result
		if err := json.Unmarshal([]byte(stdout), &res); err != nil || res.Type != "deployment" || res.Sample != "github/deployment.json" {
			t.Fatalf("result %+v, %v", res, err)
		}
		h := (*got)[len(*got)-1].Header
		if d := h.Get("X-GitHub-Delivery"); d == "" || d == "fixed" {
			t.Fatalf("X-GitHub-Delivery %q not refreshed", d)
		}
	})
}

func TestTriggerArguments(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"list takes at most a provider", []string{"trigger", "--list", "stripe", "github"}, "accepts at most 1 arg"},
		{"list of an unknown provider", []string{"trigger", "--list", "paypal"}, "unknown provider"},
		{"one argument", []string{"trigger", "stripe"}, "trigger takes <provider> <event-type>"},
		{"events folder missing", []string{"trigger", "stripe", "invoice.paid", "--events", filepath.Join(t.TempDir(), "nope")}, "is not a folder of samples"},
		{"broken sample", []string{"trigger", "--list", "--events", brokenSamples(t)}, "zoom/meeting.started.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := execute(t, nil, "", tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func brokenSamples(t *testing.T) string {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "zoom", "meeting.started.json"), `{"event": `)
	return dir
}

func TestTriggerListTable(t *testing.T) {
	stdout, _, err := execute(t, nil, "", "trigger", "--list", "stripe")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if !strings.HasPrefix(lines[0], "PROVIDER") || !strings.Contains(strings.Join(strings.Fields(stdout), " "), "stripe charge.refunded_partial charge.refunded stripe/charge.refunded_partial.json") ||
		!strings.Contains(stdout, "Send one with: hookstack trigger stripe ") {
		t.Fatalf("table:\n%s", stdout)
	}
	for _, l := range lines[1:] {
		if l != "" && !strings.HasPrefix(l, "stripe ") && !strings.HasPrefix(l, "Send one with") {
			t.Fatalf("non-stripe line %q", l)
		}
	}
}
