package load

import (
	"io"
	"maps"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/tidwall/gjson"

	"github.com/hookstack/hookstack/shared/signature"
)

// Sink is a local receiver of outbound deliveries: it verifies each
// request's Standard Webhooks signature with its endpoint's secret and
// counts the successful deliveries per webhook-id. It answers 503 to its
// first FailFirst requests (an endpoint that fails, then recovers).
type Sink struct {
	Name      string
	Patterns  []string
	FailFirst int

	mu         sync.Mutex
	secret     string
	endpointID string
	calls      int
	failed     int // answered 5xx on purpose
	badSig     int
	ok         map[string]int      // webhook-id → successful deliveries
	got        map[string]Received // webhook-id → the first successful one
	srv        *http.Server
	url        string
}

var standardVerifier, _, _ = signature.For("standard", signature.Options{})

// Start listens on a free loopback port.
func (s *Sink) Start() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	s.ok, s.got = map[string]int{}, map[string]Received{}
	s.url = "http://" + ln.Addr().String() + "/hooks/" + s.Name
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return nil
}

// URL is where the endpoint delivers.
func (s *Sink) URL() string { return s.url }

// Close stops the sink.
func (s *Sink) Close() error {
	if s.srv == nil {
		return nil
	}
	return s.srv.Close()
}

func (s *Sink) setEndpoint(id, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.endpointID, s.secret = id, secret
}

// ServeHTTP receives one delivery.
func (s *Sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.calls++
	if s.calls <= s.FailFirst {
		s.failed++
		s.mu.Unlock()
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	secret := s.secret
	s.mu.Unlock()
	req := &signature.Request{Method: r.Method, Header: r.Header, Body: body}
	if secret == "" || standardVerifier.Verify(req, []string{secret}, time.Now()) != nil {
		s.mu.Lock()
		s.badSig++
		s.mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	id := r.Header.Get("Webhook-Id")
	s.mu.Lock()
	s.ok[id]++
	if _, ok := s.got[id]; !ok {
		s.got[id] = Received{Type: gjson.GetBytes(body, "type").String(), ID: gjson.GetBytes(body, "data.id").String(),
			Late: gjson.GetBytes(body, "data.late").Bool()}
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// Received is what a delivery said: its payload's type, data.id (a
// payment's id for payment.*) and data.late.
type Received struct {
	Type, ID string
	Late     bool
}

// SinkStats is a snapshot of a sink.
type SinkStats struct {
	Calls, Failed, BadSignature int
	Delivered                   map[string]int
	Received                    map[string]Received // by webhook-id
}

// Stats returns a snapshot.
func (s *Sink) Stats() SinkStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := make(map[string]int, len(s.ok))
	for k, v := range s.ok {
		d[k] = v
	}
	return SinkStats{Calls: s.calls, Failed: s.failed, BadSignature: s.badSig, Delivered: d, Received: maps.Clone(s.got)}
}

// missing counts the expected deliveries not arrived yet: the ids in
// expected, and extra more whose ids are not known in advance (delivered
// under ids not in expected).
func (s *Sink) missing(expected map[string]bool, extra int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, others := 0, 0
	for id := range expected {
		if s.ok[id] == 0 {
			n++
		}
	}
	for id := range s.ok {
		if !expected[id] {
			others++
		}
	}
	return n + max(0, extra-others)
}
