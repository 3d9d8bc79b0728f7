// Package devserver is `hookstack dev`'s HTTP surface: the same ingest
// handler as the Lambda at /webhooks/{provider}, the inspector's JSON API
// under /api/, and the inspector page at /.
package devserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/eventlog"
	"github.com/hookstack/hookstack/shared/ingest"
	"github.com/hookstack/hookstack/shared/signature"
	"github.com/hookstack/hookstack/shared/store"
	"github.com/hookstack/hookstack/shared/ulidgen"
)

// Server routes the dev server's requests.
type Server struct {
	ingest *ingest.Handler
	events *eventlog.Log
	store  store.Store
	log    *slog.Logger
	mux    *http.ServeMux
	live   *Live // set by WithLive (live.go)
	// outbound is set by WithOutbound (outbound.go).
	outbound *Outbound
	// listenHost is --addr's host, accepted as a Host of the API (guard.go).
	listenHost string
}

// WithOutbound serves the outbound routes (endpoints, deliveries, DLQ) on o.
func (s *Server) WithOutbound(o *Outbound) *Server {
	s.outbound = o
	return s
}

// New builds the server. The ingest handler must have been built with
// Recorder(events, logger) as its observer for /api/events to list requests.
func New(h *ingest.Handler, events *eventlog.Log, st store.Store, log *slog.Logger) *Server {
	s := &Server{ingest: h, events: events, store: st, log: log, mux: http.NewServeMux()}
	s.recordRoutes()
	s.outboundRoutes()
	s.mux.Handle("/webhooks/{provider}", h)
	// Anything else under /webhooks (a trailing slash, an extra segment, no
	// provider) is not a webhook route: answered and recorded as such, so
	// the inspector shows why the provider's deliveries fail.
	s.mux.HandleFunc("/webhooks/", s.unknownWebhookPath)
	s.mux.HandleFunc("/webhooks", s.unknownWebhookPath)
	s.mux.HandleFunc("GET /api/events", s.listEvents)
	s.mux.HandleFunc("GET /api/events/{id}", s.getEvent)
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such API route: " + r.Method + " " + r.URL.Path})
	})
	s.mux.HandleFunc("GET /{$}", s.index)
	s.liveRoutes()
	return s
}

// ServeHTTP routes r; the API refuses cross-site and rebinding requests first (guard.go).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/api/") && !s.guardAPI(w, r) {
		return
	}
	s.mux.ServeHTTP(w, r)
}

// unknownWebhookPath answers a path under /webhooks that names no provider
// route with the contract's JSON 404 and records it as rejected.
func (s *Server) unknownWebhookPath(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	provider := ""
	if rest, ok := strings.CutPrefix(r.URL.Path, ingest.RoutePrefix); ok {
		if p, _, _ := strings.Cut(rest, "/"); slices.Contains(signature.Providers, p) {
			provider = p
		}
	}
	limit := int64(1 << 20)
	if s.ingest != nil {
		limit = s.ingest.MaxBodyBytes()
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, limit))
	const reason = "unknown path (trailing slash?)"
	Recorder{Events: s.events, Log: s.log}.Observe(r.Context(), ingest.Outcome{
		Provider: provider, Status: http.StatusNotFound, Reason: reason,
		Header: r.Header, Body: body, ReceivedAt: start.UTC(), Duration: time.Since(start),
	})
	msg := "no webhook route " + strconv.Quote(r.URL.Path) + ": post to " + ingest.RoutePrefix + "{provider}, without a trailing slash"
	if provider != "" {
		msg = "no webhook route " + strconv.Quote(r.URL.Path) + ": post to " + ingest.RoutePrefix + provider + " (no trailing slash)"
	}
	writeJSON(w, http.StatusNotFound, map[string]string{"error": msg})
}

// checkFilter validates the provider and status of a list or stream filter.
func checkFilter(provider, status string) string {
	if provider != "" && !slices.Contains(signature.Providers, provider) {
		return "unknown provider " + strconv.Quote(provider) + "; providers: " + strings.Join(signature.Providers, ", ")
	}
	if status != "" && !slices.Contains(eventlog.Statuses, status) {
		return "unknown status " + strconv.Quote(status) + "; statuses: " + strings.Join(eventlog.Statuses, ", ")
	}
	return ""
}

func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := eventlog.Filter{Provider: q.Get("provider"), Status: q.Get("status"), Type: q.Get("type")}
	if msg := checkFilter(f.Provider, f.Status); msg != "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": msg})
		return
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > 1000 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "limit must be a number from 1 to 1000"})
			return
		}
		f.Limit = n
	}
	list, err := s.events.List(f)
	if err != nil {
		s.log.ErrorContext(r.Context(), "list events", "error", err.Error())
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "could not read the event log"})
		return
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) getEvent(w http.ResponseWriter, r *http.Request) {
	e, err := s.events.Get(r.PathValue("id"))
	if errors.Is(err, eventlog.ErrNotFound) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no event with id " + strconv.Quote(r.PathValue("id"))})
		return
	}
	if err != nil {
		s.log.ErrorContext(r.Context(), "get event", "error", err.Error())
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "could not read the event log"})
		return
	}
	writeJSON(w, http.StatusOK, e)
}

func (s *Server) index(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(indexHTML)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// Recorder is the ingest observer that writes every outcome to the event
// log, with signature headers and secret fields redacted.
type Recorder struct {
	Events *eventlog.Log
	Log    *slog.Logger
}

// Observe implements ingest.Observer.
func (rec Recorder) Observe(ctx context.Context, o ingest.Outcome) {
	header, body := envelope.Redact(o.Provider, o.Header, o.Body)
	base := eventlog.Entry{
		Summary: eventlog.Summary{
			Provider: o.Provider, ReceivedAt: o.ReceivedAt, HTTPStatus: o.Status, Reason: o.Reason,
		},
		Headers: header, Body: string(body), UpdatedAt: o.ReceivedAt.Add(o.Duration),
	}
	var entries []eventlog.Entry
	switch {
	case len(o.Envelopes) == 0 || o.Status >= 300:
		e := base
		e.ID = ulidgen.Make(o.ReceivedAt)
		e.Status = eventlog.StatusRejected
		if o.Status < 300 {
			e.Status, e.Type = eventlog.StatusProcessed, "handshake"
		}
		if len(o.Envelopes) > 0 {
			e.EventID, e.Type, e.Queue = o.Envelopes[0].EventID, o.Envelopes[0].Type, o.Envelopes[0].Queue
		}
		entries = append(entries, e)
	default:
		for i := range o.Envelopes {
			env := redactedEnvelope(o.Envelopes[i])
			e := base
			e.ID, e.EventID, e.Type, e.Queue = env.ID, env.EventID, env.Type, env.Queue
			e.Envelope = &env
			e.Status = eventlog.StatusQueued
			if env.Invalid != "" {
				e.Status = eventlog.StatusDead
			}
			entries = append(entries, e)
		}
	}
	if err := rec.Events.Put(entries...); err != nil && rec.Log != nil {
		rec.Log.ErrorContext(ctx, "record event", "provider", o.Provider, "error", err.Error())
	}
}

// compile-time check.
var _ ingest.Observer = Recorder{}

// redactedEnvelope is env with its body redacted as the entry's body is
// (envelope.Redact: Slack's token, LiveChat's secret_key, Salesforce's
// SessionId): the inspector serves the stored envelope, and replay sends it
// (no processor reads those fields).
func redactedEnvelope(env envelope.Envelope) envelope.Envelope {
	if len(env.Body) == 0 {
		return env
	}
	_, body := envelope.Redact(env.Provider, nil, env.Body)
	if !bytes.Equal(body, env.Body) {
		// Still JSON when it was, but no longer checked embeddable: the wire
		// form carries it as text.
		env.Body, env.BodyJSON = body, false
	}
	return env
}

// Timeouts for the dev server's listener.
const (
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = 30 * time.Second
	WriteTimeout      = 60 * time.Second
)
