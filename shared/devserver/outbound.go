package devserver

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/notify"
	"github.com/hookstack/hookstack/shared/notify/notifystore"
	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/store"
)

// Outbound is the dev server's outbound state: endpoints, the delivery log
// and the queues' DLQs.
type Outbound struct {
	Endpoints  *notifystore.Endpoints
	Deliveries DeliveryLister // *notifystore.DeliveryLog
	Queues     DeadLetters
}

// DeliveryLister lists delivery attempts (notifystore.DeliveryLog.List).
type DeliveryLister interface {
	List(ctx context.Context, notificationID, endpointID string, limit int) ([]notify.Attempt, error)
}

// errDeliveriesNeedNotification answers GET /api/deliveries without a
// notification id where the backend cannot list delivered attempts.
const errDeliveriesNeedNotification = "notification_id is required on this backend: successful deliveries are found by notification"

// DeadLetters lists and redrives dead-letter queues.
type DeadLetters interface {
	queue.Redriver
	Peek(name string, limit int) ([]queue.Message, error)
}

// DeliveryReceives is the local deliveries queue's maxReceiveCount for a
// schedule, as in the stack: the deliverer dead-letters a delivery itself
// after its last attempt, so the queue's own limit sits above it.
func DeliveryReceives(s notify.Schedule) int { return len(s) + 1 + 5 }

func (s *Server) outboundRoutes() {
	s.mux.HandleFunc("GET /api/endpoints", s.listEndpoints)
	s.mux.HandleFunc("POST /api/endpoints", s.addEndpoint)
	s.mux.HandleFunc("GET /api/endpoints/{id}", s.getEndpoint)
	s.mux.HandleFunc("DELETE /api/endpoints/{id}", s.removeEndpoint)
	s.mux.HandleFunc("POST /api/endpoints/{id}/rotate-secret", s.rotateEndpointSecret)
	s.mux.HandleFunc("POST /api/endpoints/{id}/disable", s.setEndpointEnabled(false))
	s.mux.HandleFunc("POST /api/endpoints/{id}/enable", s.setEndpointEnabled(true))
	s.mux.HandleFunc("GET /api/deliveries", s.listDeliveries)
	s.mux.HandleFunc("GET /api/dlq", s.listDLQ)
	s.mux.HandleFunc("POST /api/dlq/redrive", s.redriveDLQ)
}

func (s *Server) outboundReady(w http.ResponseWriter) bool {
	if s.outbound == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "outbound delivery is not configured"})
		return false
	}
	return true
}

func (s *Server) listEndpoints(w http.ResponseWriter, r *http.Request) {
	if !s.outboundReady(w) {
		return
	}
	list, err := s.outbound.Endpoints.List(r.Context())
	if err != nil {
		s.internal(w, r, "list endpoints", err)
		return
	}
	out := make([]notify.Endpoint, 0, len(list))
	for _, ep := range list {
		out = append(out, ep.Redacted())
	}
	writeJSON(w, http.StatusOK, out)
}

// endpointRequest is the body of POST /api/endpoints.
type endpointRequest struct {
	Type        string   `json:"type"`
	URL         string   `json:"url"`
	Events      []string `json:"events"`
	Description string   `json:"description"`
	ListID      string   `json:"list_id"`
	APIKey      string   `json:"api_key"`
}

func (s *Server) addEndpoint(w http.ResponseWriter, r *http.Request) {
	if !s.outboundReady(w) {
		return
	}
	var req endpointRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "want a JSON object {type, url, events, description, list_id, api_key}: " + err.Error()})
		return
	}
	if req.Type == "" {
		req.Type = "http"
	}
	if len(req.Events) == 0 {
		req.Events = []string{"*"}
	}
	ep := notify.Endpoint{Type: req.Type, URL: req.URL, Events: req.Events, Description: req.Description, Enabled: true}
	if req.Type == notify.TypeMailchimp {
		ep.Mailchimp = notify.MailchimpSettings{ListID: req.ListID, APIKey: req.APIKey}
	}
	added, err := s.outbound.Endpoints.Add(r.Context(), ep)
	if err != nil {
		if errors.Is(err, store.ErrUnavailable) {
			s.internal(w, r, "add endpoint", err)
			return
		}
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	// The secret is shown once, on creation.
	writeJSON(w, http.StatusCreated, added)
}

func (s *Server) getEndpoint(w http.ResponseWriter, r *http.Request) {
	if !s.outboundReady(w) {
		return
	}
	ep, err := s.outbound.Endpoints.Get(r.Context(), r.PathValue("id"))
	if s.endpointError(w, r, err) {
		return
	}
	writeJSON(w, http.StatusOK, ep.Redacted())
}

func (s *Server) removeEndpoint(w http.ResponseWriter, r *http.Request) {
	if !s.outboundReady(w) {
		return
	}
	if s.endpointError(w, r, s.outbound.Endpoints.Remove(r.Context(), r.PathValue("id"))) {
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) rotateEndpointSecret(w http.ResponseWriter, r *http.Request) {
	if !s.outboundReady(w) {
		return
	}
	secret, err := s.outbound.Endpoints.RotateSecret(r.Context(), r.PathValue("id"))
	if s.endpointError(w, r, err) {
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"id": r.PathValue("id"), "secret": secret})
}

func (s *Server) setEndpointEnabled(enabled bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.outboundReady(w) {
			return
		}
		id := r.PathValue("id")
		var err error
		if enabled {
			err = s.outbound.Endpoints.Enable(r.Context(), id)
		} else {
			err = s.outbound.Endpoints.Disable(r.Context(), id, "disabled by an operator")
		}
		if s.endpointError(w, r, err) {
			return
		}
		ep, err := s.outbound.Endpoints.Get(r.Context(), id)
		if s.endpointError(w, r, err) {
			return
		}
		writeJSON(w, http.StatusOK, ep.Redacted())
	}
}

func (s *Server) endpointError(w http.ResponseWriter, r *http.Request, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, notify.ErrEndpointNotFound) || errors.Is(err, store.ErrNotFound):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no endpoint " + strconv.Quote(r.PathValue("id"))})
	default:
		s.internal(w, r, "endpoint", err)
	}
	return true
}

func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request) {
	if !s.outboundReady(w) {
		return
	}
	q := r.URL.Query()
	list, err := s.outbound.Deliveries.List(r.Context(), q.Get("notification_id"), q.Get("endpoint_id"), 200)
	if errors.Is(err, store.ErrNotListable) {
		// DynamoDB: delivered attempts are not indexed, only found by key.
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": errDeliveriesNeedNotification})
		return
	}
	if err != nil {
		s.internal(w, r, "list deliveries", err)
		return
	}
	if list == nil {
		list = []notify.Attempt{}
	}
	writeJSON(w, http.StatusOK, list)
}

// DeadMessage is one entry of GET /api/dlq.
type DeadMessage struct {
	Queue      string    `json:"queue"`
	Source     string    `json:"source"`
	MessageID  string    `json:"message_id"`
	Reason     string    `json:"reason"`
	EventType  string    `json:"event_type,omitempty"`
	EventID    string    `json:"event_id,omitempty"`
	EndpointID string    `json:"endpoint_id,omitempty"`
	SentAt     time.Time `json:"sent_at"`
	AgeSeconds int64     `json:"age_seconds"`
	Body       string    `json:"body"`
}

func (s *Server) listDLQ(w http.ResponseWriter, r *http.Request) {
	if !s.outboundReady(w) {
		return
	}
	names, ok := dlqNames(w, r.URL.Query().Get("queue"))
	if !ok {
		return
	}
	out := []DeadMessage{}
	now := time.Now()
	for _, name := range names {
		msgs, err := s.outbound.Queues.Peek(name, 200)
		if err != nil {
			s.internal(w, r, "list "+name, err)
			return
		}
		for _, m := range msgs {
			d := DescribeDead(name, m, now)
			out = append(out, d)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// DescribeDead describes a message of a dead-letter queue: its reason, and
// the event (and endpoint) it concerns, from its attributes or, when they do
// not say, its body (an envelope, a notification or a delivery).
func DescribeDead(dlq string, m queue.Message, now time.Time) DeadMessage {
	d := DeadMessage{
		Queue: dlq, Source: strings.TrimSuffix(dlq, envelope.DLQSuffix), MessageID: m.ID,
		Reason: m.Attributes[queue.AttrReason], SentAt: m.SentAt,
		EventType: m.Attributes[notify.AttrEventType], EventID: m.Attributes[notify.AttrEventID],
		EndpointID: m.Attributes[notify.AttrEndpointID], Body: string(m.Body),
	}
	if !m.SentAt.IsZero() {
		d.AgeSeconds = int64(now.Sub(m.SentAt).Seconds())
	}
	if d.Reason == "" {
		d.Reason = "exceeded maxReceiveCount (failed on every receive)"
	}
	if d.EventType != "" && d.EventID != "" {
		return d
	}
	if e, err := envelope.Decode(m.Body); err == nil {
		d.EventType, d.EventID = e.Provider+"."+e.Type, e.EventID
		return d
	}
	var b struct {
		ID         string `json:"id"`
		Type       string `json:"type"`
		EndpointID string `json:"endpoint_id"`
		Event      *struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		} `json:"event"`
	}
	if json.Unmarshal(m.Body, &b) != nil {
		return d
	}
	if b.Event != nil { // a delivery
		d.EventType, d.EventID = b.Event.Type, b.Event.ID
		if d.EndpointID == "" {
			d.EndpointID = b.EndpointID
		}
		return d
	}
	d.EventType, d.EventID = b.Type, b.ID // a notification
	return d
}

func (s *Server) redriveDLQ(w http.ResponseWriter, r *http.Request) {
	if !s.outboundReady(w) {
		return
	}
	var req struct {
		Queue string `json:"queue"`
	}
	if r.ContentLength != 0 {
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10)).Decode(&req); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": `want {"queue": "<name or name-dlq>"} or no body for every DLQ`})
			return
		}
	}
	if req.Queue == "" {
		req.Queue = r.URL.Query().Get("queue")
	}
	names, ok := dlqNames(w, req.Queue)
	if !ok {
		return
	}
	moved := map[string]int{}
	total := 0
	for _, dlq := range names {
		n, err := s.outbound.Queues.Redrive(r.Context(), dlq, strings.TrimSuffix(dlq, envelope.DLQSuffix))
		if err != nil {
			s.internal(w, r, "redrive "+dlq, err)
			return
		}
		moved[dlq] = n
		total += n
	}
	writeJSON(w, http.StatusOK, map[string]any{"moved": total, "queues": moved})
}

// dlqNames resolves ?queue= ("payments" or "payments-dlq"; empty: all).
func dlqNames(w http.ResponseWriter, q string) ([]string, bool) {
	if q == "" {
		names := make([]string, 0, len(envelope.AllQueues))
		for _, n := range envelope.AllQueues {
			names = append(names, queue.DLQ(n))
		}
		return names, true
	}
	src := strings.TrimSuffix(q, envelope.DLQSuffix)
	for _, n := range envelope.AllQueues {
		if n == src {
			return []string{queue.DLQ(n)}, true
		}
	}
	writeJSON(w, http.StatusNotFound, map[string]string{"error": "no queue " + strconv.Quote(q) + "; queues: " + strings.Join(envelope.AllQueues, ", ")})
	return nil, false
}

func (s *Server) internal(w http.ResponseWriter, r *http.Request, what string, err error) {
	s.log.ErrorContext(r.Context(), what, "error", err.Error())
	writeJSON(w, http.StatusInternalServerError, map[string]string{"error": what + " failed; see the dev server's log"})
}
