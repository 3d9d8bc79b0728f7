package envelope

import (
	"net/http"
	"net/url"
	"time"
)

// Twilio event types (Twilio's form-encoded webhooks carry none; these are
// ours).
const (
	// TwilioTypeMessageStatus: an outbound message's status callback
	// (MessageStatus queued, sent, delivered, undelivered, failed, read, ...).
	TwilioTypeMessageStatus = "message.status"
	// TwilioTypeMessageReceived: an inbound message (SmsStatus/MessageStatus
	// "received", or a Body with no status).
	TwilioTypeMessageReceived = "message.received"
	// TwilioTypeCallStatus: a voice request or status callback (CallStatus
	// ringing, in-progress, completed, ...).
	TwilioTypeCallStatus = "call.status"
	// TwilioTypeRecordingStatus: a recording status callback.
	TwilioTypeRecordingStatus = "recording.status"
)

// extractTwilio reads a form-encoded Twilio webhook. Twilio has no event id;
// a sid plus the status it reports identifies one delivery (a retry repeats
// both):
//   - messages: "<MessageSid>:<status>" with status MessageStatus, else
//     SmsStatus (else "received" when the form has a Body): type
//     message.received for "received", else message.status. SmsSid stands in
//     for MessageSid on old API versions.
//   - recordings (RecordingSid): "<RecordingSid>:<RecordingStatus>", recording.status.
//   - calls: "<CallSid>:<CallStatus>", plus ":<SequenceNumber>" when Twilio
//     numbers the status callbacks: call.status.
//
// Time: the Timestamp parameter (RFC 2822, voice status callbacks), else
// receivedAt. The I-Twilio-Idempotency-Token header is kept in Headers.
func extractTwilio(_ http.Header, body []byte, receivedAt time.Time) ([]Event, error) {
	if looksJSON(body) {
		return nil, unparseable(ProviderTwilio, "expected a form-encoded body")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, unparseable(ProviderTwilio, "invalid form encoding")
	}
	occurred := receivedAt
	if t, ok := twilioTime(form.Get("Timestamp")); ok {
		occurred = t
	}
	event := func(id, typ string) []Event {
		return []Event{{ID: id, Type: typ, OccurredAt: occurred, Body: body, ContentType: ctForm}}
	}
	if sid := firstOf(form, "MessageSid", "SmsSid", "SmsMessageSid"); sid != "" {
		status := firstOf(form, "MessageStatus", "SmsStatus")
		if status == "" && form.Has("Body") {
			status = "received"
		}
		if status == "" {
			return nil, unparseable(ProviderTwilio, "message without MessageStatus, SmsStatus or Body")
		}
		typ := TwilioTypeMessageStatus
		if status == "received" {
			typ = TwilioTypeMessageReceived
		}
		return event(sid+":"+status, typ), nil
	}
	if sid := form.Get("RecordingSid"); sid != "" {
		status := form.Get("RecordingStatus")
		if status == "" {
			return nil, unparseable(ProviderTwilio, "recording without RecordingStatus")
		}
		return event(sid+":"+status, TwilioTypeRecordingStatus), nil
	}
	if sid := form.Get("CallSid"); sid != "" {
		status := form.Get("CallStatus")
		if status == "" {
			return nil, unparseable(ProviderTwilio, "call without CallStatus")
		}
		id := sid + ":" + status
		if seq := form.Get("SequenceNumber"); seq != "" {
			id += ":" + seq
		}
		return event(id, TwilioTypeCallStatus), nil
	}
	return nil, unparseable(ProviderTwilio, "no MessageSid, RecordingSid or CallSid")
}

func firstOf(form url.Values, names ...string) string {
	for _, n := range names {
		if v := form.Get(n); v != "" {
			return v
		}
	}
	return ""
}

// twilioTime parses Twilio's RFC 2822 Timestamp ("Tue, 14 Nov 2023 10:00:00 +0000").
func twilioTime(v string) (time.Time, bool) {
	if v == "" {
		return time.Time{}, false
	}
	for _, layout := range []string{time.RFC1123Z, time.RFC1123, "Mon, 2 Jan 2006 15:04:05 -0700"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
