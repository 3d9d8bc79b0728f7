package envelope

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestSampleEvents runs Extract over the repository's sample payloads
// (events/<provider>/<type>.<ext> with optional .headers sidecars): each must
// give at least one event with an id and a type.
func TestSampleEvents(t *testing.T) {
	root := filepath.Join("..", "..", "events")
	dirs, err := os.ReadDir(root)
	if os.IsNotExist(err) {
		t.Skip("no events/ folder")
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		provider := d.Name()
		if !Known(provider) {
			t.Logf("events/%s: not an inbound provider, skipped", provider)
			continue
		}
		for _, path := range sampleFiles(t, root, provider) {
			t.Run(provider+"/"+filepath.Base(path), func(t *testing.T) {
				h, body := loadSample(t, path)
				addSendTimeHeaders(provider, h, body)
				evs, err := Extract(provider, h, body, time.Now().UTC())
				if err != nil {
					t.Fatalf("Extract: %v", err)
				}
				if len(evs) == 0 {
					t.Fatal("no events")
				}
				for i, ev := range evs {
					if ev.ID == "" || ev.Type == "" {
						t.Errorf("event %d: id %q type %q", i, ev.ID, ev.Type)
					}
				}
			})
		}
	}
}

// addSendTimeHeaders adds what the signing tooling adds when it sends a
// sample: Standard Webhooks' webhook-id and webhook-timestamp belong to the
// signature scheme (the signed content is "{id}.{ts}.{body}"), so sidecars
// need not carry them.
func addSendTimeHeaders(provider string, h http.Header, body []byte) {
	if provider == ProviderStandard && h.Get("webhook-id") == "" && h.Get("svix-id") == "" {
		h.Set("webhook-id", "msg_"+BodyHash(body)[7:31])
		h.Set("webhook-timestamp", "1767632400")
	}
}
