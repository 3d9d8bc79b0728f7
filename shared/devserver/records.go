package devserver

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/hookstack/hookstack/shared/leads"
	"github.com/hookstack/hookstack/shared/store"
)

// recordRoutes serves the processors' records read-only, as the contract's
// /api/payments/{id}, /api/subscriptions/{customer}, /api/inventory/{item},
// /api/leads/{email}, /api/chats/{id} and /api/notifications.
func (s *Server) recordRoutes() {
	routes := []struct {
		path, kind, param string
		key               func(string) string
	}{
		{"/api/payments/{id}", "payment", "id", nil},
		{"/api/subscriptions/{customer}", "subscription", "customer", nil},
		{"/api/inventory/{item}", "inventory", "item", nil},
		{"/api/leads/{email}", "lead", "email", leads.EmailKey},
		{"/api/chats/{id}", "chat", "id", nil},
	}
	for _, r := range routes {
		s.mux.HandleFunc("GET "+r.path, func(w http.ResponseWriter, req *http.Request) {
			key := req.PathValue(r.param)
			if r.key != nil {
				key = r.key(key)
			}
			s.getRecord(w, req, r.kind, key)
		})
	}
	s.mux.HandleFunc("GET /api/notifications", s.listNotifications)
}

// mergedInto is the field a merged (alias) record points with.
type mergedInto struct {
	MergedInto string `json:"merged_into"`
}

func (s *Server) getRecord(w http.ResponseWriter, r *http.Request, kind, key string) {
	rec, err := s.store.Get(r.Context(), kind, key)
	if err == nil {
		// A record merged into another (a lead first known by its CRM id, an
		// item first known by its sku) answers with the one it became.
		var m mergedInto
		if json.Unmarshal(rec.Data, &m) == nil && m.MergedInto != "" {
			if target, terr := s.store.Get(r.Context(), kind, m.MergedInto); terr == nil {
				rec = target
			}
		}
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no " + kind + " " + strconv.Quote(key)})
		return
	case err != nil:
		s.log.ErrorContext(r.Context(), "get record", "kind", kind, "error", err.Error())
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "could not read the store"})
		return
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(rec.Data, &doc); err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "stored record is not a JSON object"})
		return
	}
	delete(doc, "versions") // per-field bookkeeping of the ordering rules
	writeJSON(w, http.StatusOK, doc)
}

func (s *Server) listNotifications(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > store.MaxLimit {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "limit must be a number from 1 to " + strconv.Itoa(store.MaxLimit)})
			return
		}
		limit = n
	}
	list, err := s.store.ListNotifications(r.Context(), q.Get("type"), limit)
	if err != nil {
		s.log.ErrorContext(r.Context(), "list notifications", "error", err.Error())
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "could not read the store"})
		return
	}
	if list == nil {
		list = []store.Notification{}
	}
	writeJSON(w, http.StatusOK, list)
}
