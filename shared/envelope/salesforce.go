package envelope

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Salesforce Outbound Messaging namespaces.
const (
	SalesforceOutboundNS = "http://soap.sforce.com/2005/09/outbound"
	xsiNS                = "http://www.w3.org/2001/XMLSchema-instance"
)

// Limits on a Salesforce Outbound Message: Salesforce sends at most 100
// notifications per message; the other bounds keep a hostile body (the
// scheme is authenticated only by an OrganizationId allowlist) cheap.
const (
	maxSalesforceBytes         = 8 << 20
	maxSalesforceNotifications = 100
	maxSalesforceDepth         = 16 // element nesting, from the Envelope down
	maxSalesforceFields        = 1000
)

// salesforceEvent is the JSON Body of one Salesforce notification: the
// message's ids and the sObject fields by their API names (e.g. "Id",
// "Email", "FirstName", "LastModifiedDate"). A field sent with xsi:nil="true"
// is null; a field with child elements is a nested object; every other value
// is the element's text. The message's SessionId is never copied (it is a
// live Salesforce session).
type salesforceEvent struct {
	OrganizationID string         `json:"organization_id"`
	ActionID       string         `json:"action_id"`
	NotificationID string         `json:"notification_id"`
	SObjectType    string         `json:"sobject_type"` // as sent, e.g. "Lead"
	Fields         map[string]any `json:"fields"`
}

// extractSalesforce splits a SOAP Outbound Message
// (Envelope/Body/notifications{OrganizationId, ActionId, SessionId,
// EnterpriseUrl, PartnerUrl, Notification*}) into one Event per
// Notification: id the notification Id, type the sObject's xsi:type without
// prefix, lower-cased ("lead"), time the sObject's LastModifiedDate, else
// receivedAt; Body the notification as JSON (salesforceEvent). DOCTYPE and
// entity declarations are rejected.
func extractSalesforce(_ http.Header, body []byte, receivedAt time.Time) ([]Event, error) {
	if len(body) > maxSalesforceBytes {
		return nil, unparseable(ProviderSalesforce, "body larger than %d bytes", maxSalesforceBytes)
	}
	msg, err := parseSalesforce(body)
	if err != nil {
		return nil, unparseable(ProviderSalesforce, "%s", xmlReason(err))
	}
	evs := make([]Event, 0, len(msg.notes))
	for _, n := range msg.notes {
		occurred := receivedAt
		if s, ok := n.Fields["LastModifiedDate"].(string); ok {
			if t, ok := rfc3339(strings.TrimSpace(s)); ok {
				occurred = t
			}
		}
		n.OrganizationID, n.ActionID = msg.orgID, msg.actionID
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(n); err != nil {
			return nil, unparseable(ProviderSalesforce, "notification %d cannot be encoded as JSON", len(evs)+1)
		}
		evs = append(evs, Event{
			ID:          n.NotificationID,
			Type:        strings.ToLower(n.SObjectType),
			OccurredAt:  occurred,
			Body:        bytes.TrimSuffix(buf.Bytes(), []byte("\n")),
			ContentType: ctJSON,
		})
	}
	return evs, nil
}

type salesforceMessage struct {
	orgID, actionID string
	notes           []salesforceEvent
}

// sfDecoder wraps an xml.Decoder: it rejects directives (DOCTYPE, ENTITY),
// tracks nesting depth and caps it.
type sfDecoder struct {
	d     *xml.Decoder
	depth int
}

func (s *sfDecoder) token() (xml.Token, error) {
	tok, err := s.d.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case xml.Directive:
		return nil, errors.New("DOCTYPE or other directive not allowed")
	case xml.ProcInst:
		if t.Target != "xml" {
			return nil, errors.New("processing instruction not allowed")
		}
	case xml.StartElement:
		s.depth++
		if s.depth > maxSalesforceDepth {
			return nil, fmt.Errorf("elements nested deeper than %d", maxSalesforceDepth)
		}
	case xml.EndElement:
		s.depth--
	}
	return tok, nil
}

// child returns the next child element of the current element, or ok=false
// at the current element's end. Text between children is ignored.
func (s *sfDecoder) child() (xml.StartElement, bool, error) {
	for {
		tok, err := s.token()
		if err != nil {
			return xml.StartElement{}, false, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return t, true, nil
		case xml.EndElement:
			return xml.StartElement{}, false, nil
		}
	}
}

// skip consumes the rest of the current element.
func (s *sfDecoder) skip() error {
	for {
		_, ok, err := s.child()
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		if err := s.skip(); err != nil {
			return err
		}
	}
}

// value reads the rest of the current element: its text, or, when it has
// child elements, an object of them (text between children ignored).
func (s *sfDecoder) value(count *int) (any, error) {
	var text strings.Builder
	var obj map[string]any
	for {
		tok, err := s.token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.CharData:
			if obj == nil {
				text.Write(t)
			}
		case xml.StartElement:
			if obj == nil {
				obj = map[string]any{}
			}
			if *count++; *count > maxSalesforceFields {
				return nil, fmt.Errorf("more than %d fields", maxSalesforceFields)
			}
			v, err := s.field(t, count)
			if err != nil {
				return nil, err
			}
			obj[t.Name.Local] = v
		case xml.EndElement:
			if obj != nil {
				return obj, nil
			}
			return text.String(), nil
		}
	}
}

// field reads one sObject field element (start already consumed).
func (s *sfDecoder) field(start xml.StartElement, count *int) (any, error) {
	if isNil(start) {
		return nil, s.skip()
	}
	return s.value(count)
}

func isNil(e xml.StartElement) bool {
	for _, a := range e.Attr {
		if a.Name.Local == "nil" && (a.Name.Space == xsiNS || a.Name.Space == "xsi") {
			return a.Value == "true" || a.Value == "1"
		}
	}
	return false
}

func xsiType(e xml.StartElement) string {
	for _, a := range e.Attr {
		if a.Name.Local == "type" && (a.Name.Space == xsiNS || a.Name.Space == "xsi") {
			v := a.Value
			if i := strings.LastIndexByte(v, ':'); i >= 0 {
				v = v[i+1:]
			}
			return v
		}
	}
	return ""
}

// text reads an element that must hold only text.
func (s *sfDecoder) text() (string, error) {
	var b strings.Builder
	for {
		tok, err := s.token()
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.CharData:
			b.Write(t)
		case xml.StartElement:
			return "", errors.New("unexpected element in text")
		case xml.EndElement:
			return strings.TrimSpace(b.String()), nil
		}
	}
}

func parseSalesforce(body []byte) (*salesforceMessage, error) {
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true // undefined entities are errors; no Entity map, no external entities
	s := &sfDecoder{d: d}
	// The root: soapenv:Envelope (any SOAP version), then Body, then notifications.
	for {
		tok, err := s.token()
		if err != nil {
			return nil, fmt.Errorf("no SOAP envelope: %w", eofAsError(err))
		}
		if e, ok := tok.(xml.StartElement); ok {
			if e.Name.Local != "Envelope" {
				return nil, errors.New("root element is not a SOAP Envelope")
			}
			break
		}
	}
	if err := s.expectSkippingHeader(); err != nil {
		return nil, err
	}
	n, ok, err := s.child()
	if err != nil {
		return nil, eofAsError(err)
	}
	if !ok || n.Name.Local != "notifications" || n.Name.Space != SalesforceOutboundNS {
		return nil, fmt.Errorf("expected <notifications xmlns=%q>", SalesforceOutboundNS)
	}
	msg := &salesforceMessage{}
	for {
		c, ok, err := s.child()
		if err != nil {
			return nil, eofAsError(err)
		}
		if !ok {
			break
		}
		switch c.Name.Local {
		case "OrganizationId":
			if msg.orgID, err = s.text(); err != nil {
				return nil, eofAsError(err)
			}
		case "ActionId":
			if msg.actionID, err = s.text(); err != nil {
				return nil, eofAsError(err)
			}
		case "Notification":
			if len(msg.notes) == maxSalesforceNotifications {
				return nil, fmt.Errorf("more than %d notifications", maxSalesforceNotifications)
			}
			note, err := s.notification()
			if err != nil {
				return nil, eofAsError(err)
			}
			msg.notes = append(msg.notes, note)
		default: // SessionId (never kept), EnterpriseUrl, PartnerUrl
			if err := s.skip(); err != nil {
				return nil, eofAsError(err)
			}
		}
	}
	// The rest must be well-formed too (and free of directives).
	for {
		if _, err := s.token(); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, err
		}
	}
	if msg.orgID == "" {
		return nil, errors.New("missing OrganizationId")
	}
	if len(msg.notes) == 0 {
		return nil, errors.New("no Notification")
	}
	return msg, nil
}

// expectSkippingHeader moves from the Envelope into its Body, skipping a
// SOAP Header.
func (s *sfDecoder) expectSkippingHeader() error {
	for {
		e, ok, err := s.child()
		if err != nil {
			return eofAsError(err)
		}
		if !ok {
			return errors.New("SOAP Envelope without Body")
		}
		switch e.Name.Local {
		case "Header":
			if err := s.skip(); err != nil {
				return eofAsError(err)
			}
		case "Body":
			return nil
		default:
			return errors.New("unexpected element in SOAP Envelope")
		}
	}
}

func (s *sfDecoder) notification() (salesforceEvent, error) {
	var n salesforceEvent
	count := 0
	for {
		c, ok, err := s.child()
		if err != nil {
			return n, err
		}
		if !ok {
			break
		}
		switch c.Name.Local {
		case "Id":
			if n.NotificationID, err = s.text(); err != nil {
				return n, err
			}
		case "sObject":
			n.SObjectType = xsiType(c)
			v, err := s.value(&count)
			if err != nil {
				return n, err
			}
			if obj, ok := v.(map[string]any); ok {
				n.Fields = obj
			} else {
				n.Fields = map[string]any{}
			}
		default:
			if err := s.skip(); err != nil {
				return n, err
			}
		}
	}
	switch {
	case n.NotificationID == "":
		return n, errors.New("Notification without Id")
	case n.Fields == nil:
		return n, errors.New("a Notification without sObject")
	case n.SObjectType == "":
		return n, errors.New("a Notification's sObject without xsi:type")
	}
	return n, nil
}

func eofAsError(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// SalesforceAck is the SOAP reply Salesforce requires to stop resending an
// Outbound Message.
var SalesforceAck = []byte(`<?xml version="1.0" encoding="UTF-8"?>` +
	`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">` +
	`<soapenv:Body><notificationsResponse xmlns="` + SalesforceOutboundNS + `"><Ack>true</Ack></notificationsResponse>` +
	`</soapenv:Body></soapenv:Envelope>`)

// SalesforceOrganizationID returns the OrganizationId of an Outbound Message,
// parsed with the same limits as Extract (no DOCTYPE or entities, bounded
// size, depth and notification count), for the OrganizationId allowlist
// check. Errors wrap ErrUnparseable.
func SalesforceOrganizationID(body []byte) (string, error) {
	if len(body) > maxSalesforceBytes {
		return "", unparseable(ProviderSalesforce, "body larger than %d bytes", maxSalesforceBytes)
	}
	msg, err := parseSalesforce(body)
	if err != nil {
		return "", unparseable(ProviderSalesforce, "%s", xmlReason(err))
	}
	return msg.orgID, nil
}

// xmlReason describes a parse error without quoting the input: the texts of
// encoding/xml's errors do (an element or entity name, a character), and
// reasons are logged and stored. This package's own errors are fixed texts.
func xmlReason(err error) string {
	var syn *xml.SyntaxError
	var unm *xml.UnmarshalError
	var tag *xml.TagPathError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("XML syntax error on line %d", syn.Line)
	case errors.As(err, &unm), errors.As(err, &tag):
		return "invalid XML"
	}
	return err.Error()
}
