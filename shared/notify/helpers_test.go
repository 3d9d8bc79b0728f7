package notify

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/hookstack/hookstack/shared/domain"
)

// fixedNow is the clock of the tests that do not need real time.
var fixedNow = time.Date(2026, 11, 29, 18, 0, 0, 0, time.UTC)

// loopbackClient reaches httptest servers (127.0.0.1): the dev-server guard.
func loopbackClient() *http.Client {
	return NewClient(&Guard{AllowLoopback: true}, nil)
}

// testDeliverer is a Deliverer for httptest servers with a fixed jitter.
func testDeliverer(t *testing.T) *Deliverer {
	t.Helper()
	return &Deliverer{
		Client:    loopbackClient(),
		Timeout:   2 * time.Second,
		BodyWait:  500 * time.Millisecond,
		UserAgent: "Hookstack/test",
		Rand:      func() float64 { return 0.5 }, // no jitter: ×1.0
	}
}

func server(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

func event(t *testing.T, typ string, data any) domain.Event {
	t.Helper()
	return domain.New(typ, "test:1", "stripe", "evt_1", fixedNow.Add(-time.Minute), data)
}

func httpEndpoint(url string, secrets ...string) Endpoint {
	return Endpoint{ID: "ep_http", Type: TypeHTTP, URL: url, Events: []string{"*"}, Enabled: true, Secrets: secrets}
}

func delivery(ev domain.Event, ep Endpoint, attempt int) Delivery {
	d := FanOut(ev, []Endpoint{ep})[0]
	d.Attempt = attempt
	d.FirstAttemptAt = fixedNow
	return d
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }
