// Package leads is the pure core of the leads processor: Salesforce Outbound
// Messaging Lead notifications, HubSpot contact.creation/propertyChange and
// Standard Webhooks lead.created in; lead records and lead.created /
// lead.updated out. No I/O.
//
// Keys and merging. A lead is keyed by its lower-cased email. An event that
// carries no email (a HubSpot contact.creation, a property change of another
// field, a Salesforce lead without Email) goes to the lead its source object
// is linked to, or, when none is known yet, to a record keyed by the source
// object ("hubspot:<objectId>", "salesforce:<Id>"). When an event reveals the
// source object's email (Event.Link), the store records source → email in its
// alias index, merges the source-keyed record into the email's record (Merge,
// before applying the event) and leaves a tombstone (Tombstone) whose
// MergedInto redirects late writes (Apply returns ErrMerged).
//
// Order safety: each field is last-writer-wins by the provider's time for
// that write (Salesforce LastModifiedDate, HubSpot occurredAt, Standard
// Webhooks timestamp), so an older propertyChange never overwrites a newer
// one, and merging is the same field-wise join, so the result does not depend
// on arrival order. An email change in HubSpot starts a lead under the new
// email; the old record stays (it is a different key).
//
// Announcements are not milestones replayed late, by design: lead.updated
// announces the lead's current state (its data is the whole lead) when a
// visible field changes, and a late older write that every field's newer
// write supersedes changes nothing, so it announces nothing — a late
// lead.updated would carry no change, and its own values are stale. The
// number of lead.updated notifications therefore depends on the arrival
// order; the last state announced does not. lead.created is announced once
// per record key, when the record comes into existence, whichever event
// comes first; which keys exist (the email's, a source key's later merged
// into it) depends on when the identity link arrives, and two records
// created before a link are two announcements that cannot be taken back.
package leads

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/hookstack/hookstack/shared/domain"
)

// Domain event types.
const (
	EventLeadCreated = "lead.created"
	EventLeadUpdated = "lead.updated"
)

var (
	// ErrMerged means the record was merged into another: see MergedError.
	ErrMerged = errors.New("lead record merged")
	// ErrWrongRecord means Apply was given a record the event is not about.
	ErrWrongRecord = errors.New("event does not concern this record")
)

// MergedError carries the key a tombstone points to; errors.Is(err, ErrMerged).
type MergedError struct{ Into string }

func (e *MergedError) Error() string { return fmt.Sprintf("%v into %s", ErrMerged, e.Into) }
func (e *MergedError) Unwrap() error { return ErrMerged }

// Lead is the record of one lead (`GET /api/leads/{email}`).
type Lead struct {
	Key       string `json:"key"` // the email, or the source key until one is known
	Email     string `json:"email"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Company   string `json:"company"`
	Source    string `json:"source"`
	Status    string `json:"status"`
	// Sources are the provider objects known to be this lead, each with the
	// newest version seen from it.
	Sources     map[string]domain.Version `json:"sources,omitempty"`
	MergedInto  string                    `json:"merged_into,omitempty"`
	UpdatedAt   time.Time                 `json:"updated_at"`
	LastEventID string                    `json:"last_event_id"`
	Versions    Versions                  `json:"versions"`
}

// Versions is the version of the last write of each field.
type Versions struct {
	Email     domain.Version `json:"email,omitzero"`
	FirstName domain.Version `json:"first_name,omitzero"`
	LastName  domain.Version `json:"last_name,omitzero"`
	Company   domain.Version `json:"company,omitzero"`
	Source    domain.Version `json:"source,omitzero"`
	Status    domain.Version `json:"status,omitzero"`
}

// Subject names the record in domain events.
func (l Lead) Subject() string { return "lead:" + l.Key }

func (l Lead) visible() Fields {
	return Fields{Email: l.Email, FirstName: l.FirstName, LastName: l.LastName, Company: l.Company, Source: l.Source, Status: l.Status}
}

// fields pairs each value with its version for the field-wise join.
func (l *Lead) fields() []struct {
	val *string
	ver *domain.Version
} {
	return []struct {
		val *string
		ver *domain.Version
	}{
		{&l.Email, &l.Versions.Email}, {&l.FirstName, &l.Versions.FirstName}, {&l.LastName, &l.Versions.LastName},
		{&l.Company, &l.Versions.Company}, {&l.Source, &l.Versions.Source}, {&l.Status, &l.Versions.Status},
	}
}

func (f Fields) values() []string {
	return []string{f.Email, f.FirstName, f.LastName, f.Company, f.Source, f.Status}
}

func clone(l Lead) Lead {
	l.Sources = maps.Clone(l.Sources)
	return l
}

func addSource(l *Lead, key string, v domain.Version) bool {
	if key == "" {
		return false
	}
	if cur, ok := l.Sources[key]; ok && !v.After(cur) {
		return false
	}
	if l.Sources == nil {
		l.Sources = map[string]domain.Version{}
	}
	l.Sources[key] = v
	return true
}

// Apply applies ev to the record stored under key = ev.Key(...) (old nil when
// none). It emits lead.created when it creates the record and lead.updated
// when a visible field (email, names, company, source, status) changes.
func Apply(old *Lead, key string, ev Event) (next Lead, changed bool, emitted []domain.Event, err error) {
	if old != nil {
		if old.MergedInto != "" {
			return *old, false, nil, &MergedError{Into: old.MergedInto}
		}
		if old.Key != key {
			return *old, false, nil, fmt.Errorf("apply %s to lead %s: %w", ev.ID, old.Key, ErrWrongRecord)
		}
		next = clone(*old)
	} else {
		next = Lead{Key: key}
	}
	if !ev.Handled {
		return next, false, nil, nil
	}
	v := domain.Version{At: ev.At, EventID: ev.ID}
	changed = addSource(&next, ev.SourceKey, v)
	for i, nv := range ev.Fields.values() {
		if nv == "" {
			continue
		}
		f := next.fields()[i]
		if a, _ := domain.Set(f.val, f.ver, nv, v); a {
			changed = true
		}
	}
	if old == nil {
		changed = true // the record comes into existence
	}
	if !changed {
		return next, false, nil, nil
	}
	return next, true, finish(&next, old, ev), nil
}

// Merge folds the source-keyed record from into the record into (nil when the
// email has no record yet) stored under key, on behalf of ev (the event that
// linked them). Merging into no record creates it from the alias without a
// lead.created: the lead was announced under its source key already. Its
// events' ids name from (domain.Event.Via): applying ev to the lead next
// may announce lead.updated for it again, with the fields after both.
func Merge(into *Lead, key string, from Lead, ev Event) (next Lead, changed bool, emitted []domain.Event) {
	if into != nil {
		next = clone(*into)
	} else {
		next = Lead{Key: key}
	}
	for s, v := range from.Sources {
		changed = addSource(&next, s, v) || changed
	}
	src := from.fields()
	for i, f := range next.fields() {
		if a, _ := domain.Set(f.val, f.ver, *src[i].val, *src[i].ver); a {
			changed = true
		}
	}
	if !changed && into != nil {
		return next, false, nil
	}
	out := finish(&next, into, ev)
	if into == nil {
		out = nil
	}
	for i := range out { // ev's own write to the lead may announce too
		out[i] = out[i].Via(from.Key)
	}
	return next, true, out
}

// Tombstone turns a merged source-keyed record into a pointer to the lead.
func Tombstone(l Lead, into string) Lead {
	l.MergedInto = into
	return l
}

func finish(l *Lead, old *Lead, ev Event) []domain.Event {
	var v domain.Version
	for _, f := range l.fields() {
		v = domain.Max(v, *f.ver)
	}
	for _, s := range slices.Sorted(maps.Keys(l.Sources)) {
		v = domain.Max(v, l.Sources[s])
	}
	l.UpdatedAt, l.LastEventID = v.At, v.EventID
	data := eventData{Key: l.Key, Email: l.Email, FirstName: l.FirstName, LastName: l.LastName, Company: l.Company, Source: l.Source, Status: l.Status, Provider: ev.Provider}
	switch {
	case old == nil:
		return []domain.Event{domain.New(EventLeadCreated, l.Subject(), ev.Provider, ev.ID, ev.OccurredAt, data)}
	case old.visible() != l.visible():
		return []domain.Event{domain.New(EventLeadUpdated, l.Subject(), ev.Provider, ev.ID, ev.OccurredAt, data)}
	}
	return nil
}

type eventData struct {
	Key       string `json:"key"`
	Email     string `json:"email,omitempty"`
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	Company   string `json:"company,omitempty"`
	Source    string `json:"source,omitempty"`
	Status    string `json:"status,omitempty"`
	Provider  string `json:"provider"`
}

// Forward is the raw forward of ev, naming its lead when it has a key.
func Forward(ev Event) domain.Event {
	raw := domain.Raw(ev.Provider, ev.ID, ev.Type, ev.OccurredAt, ev.Body)
	if k := ev.Key(nil); k != "" {
		return raw.WithSubject("lead:" + k)
	}
	return raw
}
