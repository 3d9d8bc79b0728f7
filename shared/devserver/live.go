package devserver

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hookstack/hookstack/events"
	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/eventlog"
	"github.com/hookstack/hookstack/shared/ingest"
	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/sample"
)

// Live is what the inspector's live routes need beyond the event log and
// the store: the queue to replay onto, the secrets to sign test events with.
// Without it (Server.WithLive not called) /api/stream still works and the
// replay and send routes answer 503.
type Live struct {
	// Queue receives replayed envelopes (the same queue ingest sends to).
	Queue queue.Queue
	// Secrets are the ingest's secrets; test events are signed with each
	// provider's newest.
	Secrets ingest.SecretSource
	// PublicURL is HOOKSTACK_PUBLIC_URL: the URL providers that sign the
	// URL (trello, hubspot, twilio) are signed for. Empty: the request's host.
	PublicURL string
	// Done ends every open /api/stream when closed (the server is stopping),
	// so that a graceful shutdown does not wait for them.
	Done <-chan struct{}
	// Samples are the "Send test event" samples (default: events.FS).
	Samples fs.FS
}

// WithLive gives the server what its live routes need and returns it.
func (s *Server) WithLive(l Live) *Server {
	if l.Samples == nil {
		l.Samples = events.FS
	}
	s.live = &l
	return s
}

// StreamHeartbeat is how often /api/stream writes a comment to keep
// proxies and idle timeouts from closing it.
var StreamHeartbeat = 15 * time.Second

// liveRoutes registers the inspector's live routes and its static assets.
func (s *Server) liveRoutes() {
	s.mux.HandleFunc("GET /api/stream", s.stream)
	s.mux.HandleFunc("POST /api/events/{id}/replay", s.replay)
	s.mux.HandleFunc("GET /api/samples", s.listSamples)
	s.mux.HandleFunc("POST /api/samples/send", s.sendSample)
	s.mux.HandleFunc("GET /assets/{file}", serveAsset)
}

// streamFilter narrows /api/stream like /api/events: provider, type, status.
type streamFilter struct{ provider, typ, status string }

func (f streamFilter) match(e eventlog.Summary) bool {
	return (f.provider == "" || e.Provider == f.provider) && (f.typ == "" || e.Type == f.typ) &&
		(f.status == "" || e.Status == f.status)
}

// matchDelivery applies the filter to a delivery attempt: type is matched
// against the attempt's event_type (the notification's type: payment.succeeded,
// github.push); with a provider or status filter no delivery is sent, since
// an attempt has neither (it belongs to a notification, not to a received
// request).
func (f streamFilter) matchDelivery(eventType string) bool {
	return f.provider == "" && f.status == "" && (f.typ == "" || eventType == f.typ)
}

// stream is GET /api/stream: Server-Sent Events after a "hello" message
// sent as soon as the subscription is live:
//
//   - "event": an event-log entry was received, or its status changed (data:
//     the summary as in /api/events); once per change, queued first;
//   - "delivery": an outbound delivery attempt was recorded (data: the
//     attempt as an item of /api/deliveries).
func (s *Server) stream(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := streamFilter{provider: q.Get("provider"), typ: q.Get("type"), status: q.Get("status")}
	if msg := checkFilter(f.provider, f.status); msg != "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": msg})
		return
	}
	rc := http.NewResponseController(w)
	// The listener's WriteTimeout would cut a long-lived stream.
	if err := rc.SetWriteDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
		s.log.WarnContext(r.Context(), "stream deadline", "error", err.Error())
	}
	ch, cancel := s.events.Subscribe()
	defer cancel()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	hello, _ := json.Marshal(map[string]any{"time": time.Now().UTC()})
	if writeSSE(w, "hello", hello) != nil || rc.Flush() != nil {
		return
	}
	var done <-chan struct{}
	if s.live != nil {
		done = s.live.Done
	}
	tick := time.NewTicker(StreamHeartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-done:
			return
		case <-tick.C:
			if _, err := io.WriteString(w, ": ping\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		case m, ok := <-ch:
			if !ok {
				return
			}
			var (
				kind string
				data []byte
			)
			switch {
			case m.Summary != nil:
				if !f.match(*m.Summary) {
					continue
				}
				raw, err := json.Marshal(m.Summary)
				if err != nil {
					continue
				}
				kind, data = "event", raw
			case m.Delivery != nil:
				if !f.matchDelivery(m.EventType) {
					continue
				}
				kind, data = "delivery", m.Delivery
			default:
				continue
			}
			if writeSSE(w, kind, data) != nil || rc.Flush() != nil {
				return
			}
		}
	}
}

// writeSSE writes one message; data is JSON, so it has no newlines.
func writeSSE(w io.Writer, event string, data []byte) error {
	_, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, data)
	return err
}

// replayResult is POST /api/events/{id}/replay's answer.
type replayResult struct {
	ID        string `json:"id"` // the envelope id (the event-log entry)
	Provider  string `json:"provider"`
	EventID   string `json:"event_id"`
	Type      string `json:"type"`
	Queue     string `json:"queue"`
	MessageID string `json:"message_id"`
}

// replay is POST /api/events/{id}/replay: send the stored envelope of an
// accepted event (our id or the provider's event id) to its queue again.
// The entry goes back to "queued" and the pipeline updates it as usual.
func (s *Server) replay(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	e, err := s.events.Get(id)
	switch {
	case errors.Is(err, eventlog.ErrNotFound):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no event with id " + strconv.Quote(id)})
		return
	case err != nil:
		s.log.ErrorContext(r.Context(), "replay: get event", "error", err.Error())
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "could not read the event log"})
		return
	}
	if e.Envelope == nil || e.Envelope.Queue == "" {
		what := "it was " + e.Status
		if e.Type == "handshake" {
			what = "it is a handshake the server answered itself"
		}
		writeJSON(w, http.StatusConflict, map[string]string{"error": "event " + e.ID + " has nothing to replay: " + what + " (only accepted events are queued)"})
		return
	}
	if s.live == nil || s.live.Queue == nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "replay is not available on this server"})
		return
	}
	env := *e.Envelope
	raw, err := envelope.Encode(env)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "stored envelope cannot be encoded: " + err.Error()})
		return
	}
	prevStatus, prevReason, prevCount := e.Status, e.Reason, e.ReceiveCount
	// Queued first: the pipeline may finish with the message before Send returns.
	s.setStatus(e.ID, func(x *eventlog.Entry) {
		x.Status, x.Reason, x.ReceiveCount = eventlog.StatusQueued, "", 0
	})
	msgID, err := s.live.Queue.Send(r.Context(), env.Queue, queue.Outgoing{Body: raw})
	if err != nil {
		s.setStatus(e.ID, func(x *eventlog.Entry) {
			if x.Status == eventlog.StatusQueued {
				x.Status, x.Reason, x.ReceiveCount = prevStatus, prevReason, prevCount
			}
		})
		s.log.ErrorContext(r.Context(), "replay: send", "queue", env.Queue, "error", err.Error())
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "could not enqueue onto " + env.Queue + ": " + err.Error()})
		return
	}
	writeJSON(w, http.StatusAccepted, replayResult{
		ID: e.ID, Provider: env.Provider, EventID: env.EventID, Type: env.Type, Queue: env.Queue, MessageID: msgID,
	})
}

func (s *Server) setStatus(id string, fn func(*eventlog.Entry)) {
	err := s.events.Update(id, func(e *eventlog.Entry) {
		fn(e)
		e.UpdatedAt = time.Now().UTC()
	})
	if err != nil {
		s.log.Warn("event status", "id", id, "error", err.Error())
	}
}

// sampleItem is one line of GET /api/samples (as `hookstack trigger --list --json`).
type sampleItem struct {
	Provider string `json:"provider"`
	Event    string `json:"event"`  // what to send (the trigger name)
	Type     string `json:"type"`   // the event type it carries
	Sample   string `json:"sample"` // the file, relative to events/
}

func (s *Server) samplesFS() fs.FS {
	if s.live != nil && s.live.Samples != nil {
		return s.live.Samples
	}
	return events.FS
}

func (s *Server) listSamples(w http.ResponseWriter, r *http.Request) {
	all, err := sample.LoadAll(s.samplesFS())
	if err != nil {
		s.log.ErrorContext(r.Context(), "load samples", "error", err.Error())
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "could not load the samples"})
		return
	}
	items := make([]sampleItem, 0, len(all))
	for _, x := range all {
		items = append(items, sampleItem{Provider: x.Provider, Event: x.Trigger(), Type: x.Type, Sample: x.Path})
	}
	writeJSON(w, http.StatusOK, items)
}

// sendRequest is POST /api/samples/send's body.
type sendRequest struct {
	Provider string `json:"provider"`
	Type     string `json:"type"` // a trigger name or event type, as `hookstack trigger` takes
	// Event is Type under the name GET /api/samples gives it; Type wins
	// when both are set.
	Event string `json:"event"`
}

// sendResult is its answer: what /webhooks/{provider} answered.
type sendResult struct {
	Provider string          `json:"provider"`
	Type     string          `json:"type"`
	Status   int             `json:"status"`
	OK       bool            `json:"ok"`
	ID       string          `json:"id,omitempty"`
	EventID  string          `json:"event_id,omitempty"`
	Response json.RawMessage `json:"response"`
}

// sendSample refreshes a sample (fresh ids and timestamps), signs it with
// the provider's newest secret and serves it to the server's own
// /webhooks/{provider}, in-process, as a provider would send it.
func (s *Server) sendSample(w http.ResponseWriter, r *http.Request) {
	var in sendRequest
	err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&in)
	if in.Type == "" {
		in.Type = in.Event
	}
	if err != nil || in.Provider == "" || in.Type == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": `send {"provider": "...", "event": "..."} (an item of GET /api/samples; "type" works too)`})
		return
	}
	if s.live == nil || s.live.Secrets == nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "sending test events is not available on this server"})
		return
	}
	smp, err := sample.Find(s.samplesFS(), in.Provider, in.Type)
	if err != nil {
		code := http.StatusNotFound
		if !errors.Is(err, sample.ErrNotFound) && !errors.Is(err, sample.ErrUnknownProvider) {
			code = http.StatusInternalServerError
		}
		writeJSON(w, code, map[string]string{"error": err.Error()})
		return
	}
	list, err := s.live.Secrets.Secrets(r.Context(), in.Provider)
	if err != nil || len(list) == 0 {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "no secret configured for " + in.Provider})
		return
	}
	fresh, err := sample.Refresh(smp, time.Now(), rand.Reader)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	base := strings.TrimSuffix(s.live.PublicURL, "/")
	if base == "" {
		base = "http://" + r.Host
	}
	signed, err := sample.Sign(fresh, base+ingest.RoutePrefix+in.Provider, list[0], time.Now())
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	target := ingest.RoutePrefix + in.Provider
	if u, err := url.Parse(signed.URL); err == nil && u.RawQuery != "" {
		target += "?" + u.RawQuery // Twilio's bodySHA256
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, target, bytes.NewReader(signed.Body))
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	req.Header = signed.Header
	req.Host, req.RemoteAddr = r.Host, r.RemoteAddr
	rec := &recorder{header: http.Header{}}
	s.mux.ServeHTTP(rec, req)

	out := sendResult{Provider: in.Provider, Type: fresh.Type, Status: rec.code, OK: rec.code >= 200 && rec.code < 300}
	body := bytes.TrimSpace(rec.body.Bytes())
	if json.Valid(body) && len(body) > 0 {
		out.Response = body
		var ids struct {
			ID      string `json:"id"`
			EventID string `json:"event_id"`
		}
		if json.Unmarshal(body, &ids) == nil {
			out.ID, out.EventID = ids.ID, ids.EventID
		}
	} else {
		out.Response, _ = json.Marshal(string(body))
	}
	writeJSON(w, http.StatusOK, out)
}

// recorder collects an in-process answer.
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}
