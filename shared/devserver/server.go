// Package devserver is `hookstack dev`'s HTTP surface: the same ingest
// handler as the Lambda at /webhooks/{provider}, the inspector's JSON API
// under /api/, and the inspector page at /.
package devserver

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/eventlog"
	"github.com/hookstack/hookstack/shared/ingest"
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
	s.mux.HandleFunc("GET /api/events", s.listEvents)
	s.mux.HandleFunc("GET /api/events/{id}", s.getEvent)
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such API route: " + r.Method + " " + r.URL.Path})
	})
	s.mux.HandleFunc("GET /{$}", s.index)
	s.liveRoutes()
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := eventlog.Filter{Provider: q.Get("provider"), Status: q.Get("status"), Type: q.Get("type")}
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
			env := o.Envelopes[i]
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

// Timeouts for the dev server's listener.
const (
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = 30 * time.Second
	WriteTimeout      = 60 * time.Second
)
