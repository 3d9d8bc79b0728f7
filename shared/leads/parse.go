package leads

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hookstack/hookstack/shared/domain"
	"github.com/hookstack/hookstack/shared/envelope"
)

// ErrMalformed marks a handled lead event whose payload lacks what the
// processor needs: permanent.
var ErrMalformed = errors.New("malformed lead event")

// Handled event types.
const (
	TypeSalesforceLead        = "lead" // one Outbound Messaging notification of a Lead
	TypeHubSpotCreation       = "contact.creation"
	TypeHubSpotPropertyChange = "contact.propertyChange"
	TypeLeadCreated           = "lead.created" // Standard Webhooks
)

// Fields are the lead fields an event writes ("" = not given).
type Fields struct {
	Email     string
	FirstName string
	LastName  string
	Company   string
	Source    string
	Status    string
}

// Event is one parsed inbound lead event.
type Event struct {
	Provider   string
	ID         string
	Type       string
	OccurredAt time.Time
	Body       []byte
	Handled    bool

	// At versions the fields: Salesforce LastModifiedDate, HubSpot
	// occurredAt, Standard Webhooks timestamp.
	At time.Time
	// SourceKey is "<provider>:<object id>" (salesforce:00Q.., hubspot:512..);
	// "" for Standard Webhooks leads, which carry no object id.
	SourceKey string
	Fields    Fields
}

// EmailKey normalises an email into a lead key.
func EmailKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// Key is the record ev is applied to: its email when it carries one; else
// the lead its SourceKey was linked to (resolve, from the store's alias
// index); else the SourceKey itself.
func (ev Event) Key(resolve func(sourceKey string) (key string, ok bool)) string {
	if ev.Fields.Email != "" {
		return ev.Fields.Email
	}
	if resolve != nil && ev.SourceKey != "" {
		if k, ok := resolve(ev.SourceKey); ok {
			return k
		}
	}
	return ev.SourceKey
}

// Link reports a source object now known by email: the store records
// SourceKey → Email in its alias index and merges any live record stored
// under SourceKey into the email's record before applying ev.
func (ev Event) Link() (sourceKey, email string, ok bool) {
	if ev.SourceKey != "" && ev.Fields.Email != "" {
		return ev.SourceKey, ev.Fields.Email, true
	}
	return "", "", false
}

// FromEnvelope parses an envelope of the leads queue.
func FromEnvelope(env envelope.Envelope) (Event, error) {
	switch env.Provider {
	case "salesforce":
		return ParseSalesforce(env.EventID, env.OccurredAt, env.Body)
	case "hubspot":
		return ParseHubSpot(env.EventID, env.Body)
	case "standard":
		return ParseStandard(env.EventID, env.OccurredAt, env.Body)
	}
	return Event{Provider: env.Provider, ID: env.EventID, Type: env.Type, OccurredAt: env.OccurredAt.UTC(), Body: env.Body}, nil
}

// SalesforceNotification is the JSON the ingest makes of one Notification of
// an Outbound Messaging SOAP message.
type SalesforceNotification struct {
	OrganizationID string            `json:"organization_id"`
	ActionID       string            `json:"action_id"`
	NotificationID string            `json:"notification_id"`
	SObjectType    string            `json:"sobject_type"`
	Fields         map[string]string `json:"fields"`
}

// ParseSalesforce parses one notification; eventID defaults to its
// notification_id. Notifications of other sObject types are forwarded raw.
func ParseSalesforce(eventID string, occurredAt time.Time, body []byte) (Event, error) {
	var n SalesforceNotification
	if err := json.Unmarshal(body, &n); err != nil {
		return Event{}, fmt.Errorf("%w: salesforce: %s", ErrMalformed, domain.DecodeError(err))
	}
	if eventID == "" {
		eventID = n.NotificationID
	}
	ev := Event{Provider: "salesforce", ID: eventID, Type: TypeSalesforceLead, OccurredAt: occurredAt.UTC(), Body: body}
	if !strings.EqualFold(strings.TrimPrefix(n.SObjectType, "sf:"), "Lead") {
		ev.Type = strings.ToLower(strings.TrimPrefix(n.SObjectType, "sf:"))
		return ev, nil
	}
	f := n.Fields
	if eventID == "" || f["Id"] == "" {
		return Event{}, fmt.Errorf("%w: salesforce lead without notification id or Id", ErrMalformed)
	}
	ev.At = occurredAt.UTC()
	if s := f["LastModifiedDate"]; s != "" {
		at, err := time.Parse(time.RFC3339Nano, s)
		if err != nil { // the value stays out of the error (it reaches logs)
			return Event{}, fmt.Errorf("%w: salesforce LastModifiedDate: want an RFC 3339 time", ErrMalformed)
		}
		ev.At = at.UTC()
	}
	if ev.At.IsZero() {
		return Event{}, fmt.Errorf("%w: salesforce lead without LastModifiedDate", ErrMalformed)
	}
	ev.SourceKey = "salesforce:" + f["Id"]
	ev.Fields = Fields{Email: EmailKey(f["Email"]), FirstName: f["FirstName"], LastName: f["LastName"], Company: f["Company"], Source: f["LeadSource"], Status: f["Status"]}
	ev.Handled = true
	return ev, nil
}

// hubspotProperties maps HubSpot contact properties to lead fields.
var hubspotProperties = map[string]func(*Fields, string){
	"email":               func(f *Fields, v string) { f.Email = EmailKey(v) },
	"firstname":           func(f *Fields, v string) { f.FirstName = v },
	"lastname":            func(f *Fields, v string) { f.LastName = v },
	"company":             func(f *Fields, v string) { f.Company = v },
	"hs_lead_status":      func(f *Fields, v string) { f.Status = v },
	"hs_analytics_source": func(f *Fields, v string) { f.Source = v },
}

// ParseHubSpot parses one HubSpot webhook event object (the ingest splits
// HubSpot's array into one envelope per event). eventID defaults to eventId.
func ParseHubSpot(eventID string, body []byte) (Event, error) {
	var p struct {
		EventID          json.Number `json:"eventId"`
		SubscriptionType string      `json:"subscriptionType"`
		ObjectID         json.Number `json:"objectId"`
		OccurredAt       *int64      `json:"occurredAt"`
		PropertyName     string      `json:"propertyName"`
		PropertyValue    *string     `json:"propertyValue"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return Event{}, fmt.Errorf("%w: hubspot: %s", ErrMalformed, domain.DecodeError(err))
	}
	if eventID == "" {
		eventID = p.EventID.String()
	}
	ev := Event{Provider: "hubspot", ID: eventID, Type: p.SubscriptionType, Body: body}
	if p.OccurredAt != nil {
		ev.OccurredAt = time.UnixMilli(*p.OccurredAt).UTC()
	}
	if p.SubscriptionType != TypeHubSpotCreation && p.SubscriptionType != TypeHubSpotPropertyChange {
		return ev, nil
	}
	if _, err := strconv.ParseInt(p.ObjectID.String(), 10, 64); err != nil || eventID == "" || p.OccurredAt == nil {
		return Event{}, fmt.Errorf("%w: hubspot %s without objectId, eventId or occurredAt", ErrMalformed, p.SubscriptionType)
	}
	ev.At = ev.OccurredAt
	ev.SourceKey = "hubspot:" + p.ObjectID.String()
	if p.SubscriptionType == TypeHubSpotPropertyChange {
		if p.PropertyName == "" || p.PropertyValue == nil {
			return Event{}, fmt.Errorf("%w: hubspot propertyChange without propertyName or propertyValue", ErrMalformed)
		}
		if set, ok := hubspotProperties[p.PropertyName]; ok {
			set(&ev.Fields, *p.PropertyValue)
		}
	}
	ev.Handled = true
	return ev, nil
}

// ParseStandard parses a Standard Webhooks body; lead.created needs an email.
func ParseStandard(eventID string, occurredAt time.Time, body []byte) (Event, error) {
	var p struct {
		Type      string      `json:"type"`
		Timestamp domain.Time `json:"timestamp"`
		Data      struct {
			Email     string `json:"email"`
			FirstName string `json:"first_name"`
			LastName  string `json:"last_name"`
			Company   string `json:"company"`
			Source    string `json:"source"`
			Status    string `json:"status"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return Event{}, fmt.Errorf("%w: standard: %s", ErrMalformed, domain.DecodeError(err))
	}
	if occurredAt.IsZero() {
		occurredAt = p.Timestamp.Time
	}
	ev := Event{Provider: "standard", ID: eventID, Type: p.Type, OccurredAt: occurredAt.UTC(), Body: body}
	if p.Type != TypeLeadCreated {
		return ev, nil
	}
	d := p.Data
	if eventID == "" || EmailKey(d.Email) == "" || !strings.Contains(d.Email, "@") {
		return Event{}, fmt.Errorf("%w: lead.created without email or event id", ErrMalformed)
	}
	ev.At = p.Timestamp.UTC()
	if ev.At.IsZero() {
		ev.At = ev.OccurredAt
	}
	ev.Fields = Fields{Email: EmailKey(d.Email), FirstName: d.FirstName, LastName: d.LastName, Company: d.Company, Source: d.Source, Status: d.Status}
	ev.Handled = true
	return ev, nil
}
