package envelope

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"
)

var receivedAt = time.Date(2024, 8, 28, 20, 0, 0, 0, time.UTC)

// signatureHeaders are added to every request in TestExtract: none of them
// may reach Event.Headers.
var signatureHeaders = map[string]string{
	"Stripe-Signature":       "t=1724851200,v1=deadbeef",
	"X-Hub-Signature-256":    "sha256=deadbeef",
	"X-Hub-Signature":        "sha1=deadbeef",
	"X-Shopify-Hmac-Sha256":  "3q2+7w==",
	"X-Slack-Signature":      "v0=deadbeef",
	"Webhook-Signature":      "v1,3q2+7w==",
	"Svix-Signature":         "v1,3q2+7w==",
	"X-Trello-Webhook":       "3q2+7w==",
	"X-HubSpot-Signature-v3": "3q2+7w==",
	"X-Twilio-Signature":     "3q2+7w==",
	"x-zm-signature":         "v0=deadbeef",
	"Authorization":          "Bearer secret",
	"Cookie":                 "session=secret",
}

type wantEvent struct {
	id, typ string
	at      time.Time // zero: receivedAt
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestExtract(t *testing.T) {
	tests := []struct {
		name     string
		provider string
		file     string
		want     []wantEvent
		check    func(t *testing.T, h http.Header, body []byte, evs []Event)
	}{
		{
			name: "stripe payment_intent.succeeded", provider: "stripe", file: "payment_intent.succeeded.json",
			want: []wantEvent{{"evt_3PtHm2LkdIwHu7ix0Yk3R9aB", "payment_intent.succeeded", time.Unix(1724851200, 0)}},
			check: func(t *testing.T, _ http.Header, body []byte, evs []Event) {
				assertBodyIsRequest(t, body, evs[0], ctJSON)
			},
		},
		{
			name: "stripe charge.refunded", provider: "stripe", file: "charge.refunded.json",
			want: []wantEvent{{"evt_3PtJq8LkdIwHu7ix1RfNd0Zz", "charge.refunded", time.Unix(1724855000, 0)}},
		},
		{
			name: "stripe v2 thin event with RFC 3339 created", provider: "stripe", file: "v2.thin_event.json",
			want: []wantEvent{{"evt_test_65R9Ijk8Z0lKXhQ8lq3SVpu0WCYOK8ka4SbM3YvE0rY",
				"v1.billing.meter.error_report_triggered", mustTime("2024-09-17T06:20:52.246Z")}},
		},
		{
			name: "github push (JSON)", provider: "github", file: "push.json",
			want: []wantEvent{{"72d3162e-cc78-11e3-81ab-4c9367dc0958", "push", time.Time{}}},
			check: func(t *testing.T, _ http.Header, body []byte, evs []Event) {
				assertBodyIsRequest(t, body, evs[0], ctJSON)
				assertHeader(t, evs[0], "X-GitHub-Hook-ID", "292430182")
				assertHeader(t, evs[0], "X-GitHub-Hook-Installation-Target-Type", "repository")
				assertHeader(t, evs[0], "User-Agent", "GitHub-Hookshot/044aadd")
			},
		},
		{
			name: "github ping (form-encoded payload)", provider: "github", file: "ping.form",
			want: []wantEvent{{"4f2c6a10-6598-11ef-8c4e-7e1d5b0f3a21", "ping", time.Time{}}},
			check: func(t *testing.T, _ http.Header, _ []byte, evs []Event) {
				if evs[0].ContentType != ctJSON {
					t.Errorf("ContentType = %q, want %q", evs[0].ContentType, ctJSON)
				}
				if got := gjson.GetBytes(evs[0].Body, "zen").String(); got != "Design for failure." {
					t.Errorf("Body zen = %q; Body is not the decoded payload JSON", got)
				}
				assertHeader(t, evs[0], "Content-Type", ctForm)
			},
		},
		{
			name: "shopify inventory_levels/update", provider: "shopify", file: "inventory_levels_update.json",
			want: []wantEvent{{"98880550-7158-44d4-b7cd-2c97c8a091b5", "inventory_levels/update",
				mustTime("2024-08-28T19:04:11.483624812Z")}},
			check: func(t *testing.T, _ http.Header, body []byte, evs []Event) {
				assertBodyIsRequest(t, body, evs[0], ctJSON)
				assertHeader(t, evs[0], "X-Shopify-Shop-Domain", "hookstack-demo.myshopify.com")
				assertHeader(t, evs[0], "X-Shopify-Webhook-Id", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043")
			},
		},
		{
			name: "shopify products/update: webhook id and updated_at fallbacks", provider: "shopify", file: "products_update.json",
			want: []wantEvent{{"0b4b7ef8-3ee5-4a5e-9a59-7c0a4e8f2d11", "products/update", mustTime("2024-08-28T15:01:00-04:00")}},
		},
		{
			name: "slack app_mention", provider: "slack", file: "app_mention.json",
			want: []wantEvent{{"Ev123ABC456", "app_mention", time.Unix(1515449522, 0)}},
			check: func(t *testing.T, _ http.Header, body []byte, evs []Event) {
				// the request minus its verification token member, every other byte kept
				assertBodyIsRequest(t, []byte(strings.Replace(string(body), `"token": "ZZZZZZWSxiZZZ2yIvs3peJ",
    `, "", 1)), evs[0], ctJSON)
				assertHeader(t, evs[0], "X-Slack-Retry-Num", "1")
				assertHeader(t, evs[0], "X-Slack-Retry-Reason", "http_timeout")
			},
		},
		{
			name: "slack reaction_added", provider: "slack", file: "reaction_added.json",
			want: []wantEvent{{"Ev0PV52K25", "reaction_added", time.Unix(1360782804, 0)}},
		},
		{
			name: "slack url_verification", provider: "slack", file: "url_verification.json",
			want: []wantEvent{{"", "url_verification", time.Time{}}},
			check: func(t *testing.T, _ http.Header, body []byte, evs []Event) {
				stored := strings.Replace(string(body), `"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl",
    `, "", 1)
				assertID(t, evs[0], BodyHash([]byte(stored)))
				assertBodyIsRequest(t, []byte(stored), evs[0], ctJSON)
			},
		},
		{
			name: "slack slash command", provider: "slack", file: "slash_command.form",
			want: []wantEvent{{"398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c", "slash_command", time.Time{}}},
			check: func(t *testing.T, _ http.Header, body []byte, evs []Event) {
				assertBodyIsRequest(t, []byte(strings.Replace(string(body), "token=xyzz0WbapA4vBCDEFasx0q6G&", "", 1)), evs[0], ctForm)
			},
		},
		{
			name: "slack block_actions", provider: "slack", file: "block_actions.form",
			want: []wantEvent{{"12321423423.333649436676.d8c1bb837935619ccad0f624c448ffb3", "interactive.block_actions", time.Time{}}},
			check: func(t *testing.T, _ http.Header, _ []byte, evs []Event) {
				if evs[0].ContentType != ctJSON || gjson.GetBytes(evs[0].Body, "actions.0.action_id").String() != "approve" {
					t.Errorf("Body is not the interactive payload JSON: %s", evs[0].Body)
				}
				if gjson.GetBytes(evs[0].Body, "token").Exists() || strings.Contains(string(evs[0].Body), "9s8d9as89d8as9d8as989") {
					t.Errorf("Body keeps the verification token: %s", evs[0].Body)
				}
				if !strings.Contains(string(evs[0].Body), `"api_app_id":"A123ABC456","container":{`) {
					t.Errorf("Body is not the payload minus the token member: %s", evs[0].Body)
				}
			},
		},
		{
			name: "slack ssl check", provider: "slack", file: "ssl_check.form",
			want: []wantEvent{{"", "ssl_check", time.Time{}}},
			check: func(t *testing.T, _ http.Header, _ []byte, evs []Event) {
				if string(evs[0].Body) != "ssl_check=1" {
					t.Errorf("Body = %q, want the form without its token", evs[0].Body)
				}
			},
		},
		{
			name: "standard inventory.adjusted (webhook-*)", provider: "standard", file: "inventory.adjusted.json",
			want: []wantEvent{{"msg_2lCzpRYKXcnFs3bkjTGiDbh1WkT", "inventory.adjusted", mustTime("2024-08-28T19:10:00.125Z")}},
			check: func(t *testing.T, _ http.Header, body []byte, evs []Event) {
				assertBodyIsRequest(t, body, evs[0], ctJSON)
				assertHeader(t, evs[0], "webhook-id", "msg_2lCzpRYKXcnFs3bkjTGiDbh1WkT")
				assertHeader(t, evs[0], "webhook-timestamp", "1724872200")
			},
		},
		{
			name: "standard lead.created (svix-*, header timestamp)", provider: "standard", file: "lead.created.json",
			want: []wantEvent{{"msg_2lD0Tx9b6bJ1vR1q9n7fQyCx0aZ", "lead.created", time.Unix(1724872800, 0)}},
		},
		{
			name: "livechat incoming_chat", provider: "livechat", file: "incoming_chat.json",
			want: []wantEvent{{"", "incoming_chat", mustTime("2024-08-28T19:20:00.123Z")}},
			check: func(t *testing.T, _ http.Header, body []byte, evs []Event) {
				assertNoLiveChatSecret(t, evs[0])
				assertID(t, evs[0], BodyHash(evs[0].Body))
				if BodyHash(evs[0].Body) == BodyHash(body) {
					t.Error("id hashes the body with its secret")
				}
				for _, path := range []string{"webhook_id", "organization_id", "payload.chat.id", "additional_data.chat_presence_user_ids.1"} {
					if gjson.GetBytes(evs[0].Body, path).Raw != gjson.GetBytes(body, path).Raw {
						t.Errorf("stored body changed %s", path)
					}
				}
			},
		},
		{
			name: "livechat chat_deactivated", provider: "livechat", file: "chat_deactivated.json",
			want: []wantEvent{{"", "chat_deactivated", time.Time{}}},
			check: func(t *testing.T, _ http.Header, _ []byte, evs []Event) {
				assertNoLiveChatSecret(t, evs[0])
				if got := gjson.GetBytes(evs[0].Body, "payload.chat_id").String(); got != "PJ0MRSHTDG" {
					t.Errorf("payload.chat_id = %q", got)
				}
			},
		},
		{
			name: "trello updateCard", provider: "trello", file: "updateCard.json",
			want: []wantEvent{{"66cf7a0b9b1c2d0012a3b4c5", "updateCard", mustTime("2024-08-28T19:30:15.386Z")}},
		},
		{
			name: "hubspot batch of 3", provider: "hubspot", file: "contact_batch.json",
			want: []wantEvent{
				{"1001", "contact.creation", time.UnixMilli(1724873400000)},
				{"1002", "contact.propertyChange", time.UnixMilli(1724873401000)},
				{"9007199254740993", "contact.propertyChange", time.UnixMilli(1724873402000)}, // > 2^53: digits kept
			},
			check: func(t *testing.T, _ http.Header, body []byte, evs []Event) {
				elems := gjson.ParseBytes(body).Array()
				for i, ev := range evs {
					var want bytes.Buffer
					if err := json.Compact(&want, []byte(elems[i].Raw)); err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(ev.Body, want.Bytes()) {
						t.Errorf("event %d Body = %s, want %s", i, ev.Body, want.Bytes())
					}
					assertHeader(t, ev, "X-HubSpot-Request-Timestamp", "1724873402500")
				}
			},
		},
		{
			name: "twilio message status", provider: "twilio", file: "message_status.form",
			want: []wantEvent{{"SM1f0e8ae6ade43cb3c0ce4525424e404f:delivered", "message.status", time.Time{}}},
			check: func(t *testing.T, _ http.Header, body []byte, evs []Event) {
				assertBodyIsRequest(t, body, evs[0], ctForm)
				assertHeader(t, evs[0], "I-Twilio-Idempotency-Token", "1b3bd7f1-2c4a-4f3e-9b7d-6a5c4e3d2b1a")
			},
		},
		{
			name: "twilio inbound message", provider: "twilio", file: "inbound_message.form",
			want: []wantEvent{{"SMc1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6:received", "message.received", time.Time{}}},
		},
		{
			name: "twilio call status", provider: "twilio", file: "call_status.form",
			want: []wantEvent{{"CA5f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c:completed:3", "call.status", mustTime("2024-08-28T19:40:12Z")}},
		},
		{
			name: "zoom meeting.started", provider: "zoom", file: "meeting.started.json",
			want: []wantEvent{{"", "meeting.started", time.UnixMilli(1724874000123)}},
			check: func(t *testing.T, _ http.Header, body []byte, evs []Event) {
				assertID(t, evs[0], BodyHash(body))
				assertBodyIsRequest(t, body, evs[0], ctJSON)
				assertHeader(t, evs[0], "x-zm-trackingid", "v=2.0;clid=aw1;rid=1b9c7f3e")
			},
		},
		{
			name: "zoom url validation", provider: "zoom", file: "endpoint.url_validation.json",
			want: []wantEvent{{"", "endpoint.url_validation", time.UnixMilli(1654503849680)}},
		},
		{
			name: "salesforce 2 lead notifications", provider: "salesforce", file: "lead_notifications.xml",
			want: []wantEvent{
				{"04l5e000001A1b2AAC", "lead", mustTime("2024-08-28T19:50:00Z")},
				{"04l5e000001A1b3AAC", "lead", time.Time{}},
			},
			check: func(t *testing.T, _ http.Header, _ []byte, evs []Event) {
				var got salesforceEvent
				if err := json.Unmarshal(evs[0].Body, &got); err != nil {
					t.Fatalf("Body is not JSON: %v", err)
				}
				want := salesforceEvent{
					OrganizationID: "00D5e000000AbCdEAK", ActionID: "04k5e000000XyZaAAC",
					NotificationID: "04l5e000001A1b2AAC", SObjectType: "Lead",
					Fields: map[string]any{
						"Id": "00Q5e00000ABCDeEAF", "Company": "Analytical Engines & Co", "Email": "ada@example.com",
						"FirstName": "Ada", "LastName": "Lovelace", "LastModifiedDate": "2024-08-28T19:50:00.000Z",
						"LeadSource": "Web", "Phone": nil, "Status": "Open - Not Contacted",
					},
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("Body = %+v\nwant   %+v", got, want)
				}
				for _, ev := range evs {
					if bytes.Contains(ev.Body, []byte("Session")) || bytes.Contains(ev.Body, []byte("FakeSessionToken")) {
						t.Errorf("Body carries the SessionId: %s", ev.Body)
					}
					if ev.ContentType != ctJSON {
						t.Errorf("ContentType = %q", ev.ContentType)
					}
					assertHeader(t, ev, "SOAPAction", `""`)
				}
				if gjson.GetBytes(evs[1].Body, "fields.Email").String() != "grace@example.com" {
					t.Errorf("second notification Body = %s", evs[1].Body)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, body := loadSample(t, filepath.Join("testdata", tt.provider, tt.file))
			for k, v := range signatureHeaders {
				h.Set(k, v)
			}
			orig := bytes.Clone(body)
			evs, err := Extract(tt.provider, h, body, receivedAt)
			if err != nil {
				t.Fatalf("Extract: %v", err)
			}
			if !bytes.Equal(body, orig) {
				t.Error("Extract modified the request body")
			}
			if len(evs) != len(tt.want) {
				t.Fatalf("got %d events, want %d", len(evs), len(tt.want))
			}
			for i, w := range tt.want {
				ev := evs[i]
				if w.id != "" && ev.ID != w.id {
					t.Errorf("event %d ID = %q, want %q", i, ev.ID, w.id)
				}
				if ev.ID == "" {
					t.Errorf("event %d has no ID", i)
				}
				if ev.Type != w.typ {
					t.Errorf("event %d Type = %q, want %q", i, ev.Type, w.typ)
				}
				wantAt := w.at
				if wantAt.IsZero() {
					wantAt = receivedAt
				}
				if !ev.OccurredAt.Equal(wantAt) {
					t.Errorf("event %d OccurredAt = %v, want %v", i, ev.OccurredAt, wantAt)
				}
				if len(ev.Body) == 0 || ev.ContentType == "" {
					t.Errorf("event %d: Body %d bytes, ContentType %q", i, len(ev.Body), ev.ContentType)
				}
				for k, v := range ev.Headers {
					if IsSecretHeader(k) {
						t.Errorf("event %d kept secret header %s", i, k)
					}
					for _, secret := range signatureHeaders {
						if v == secret {
							t.Errorf("event %d header %s carries a signature value", i, k)
						}
					}
				}
			}
			if tt.check != nil {
				tt.check(t, h, body, evs)
			}
		})
	}
}

func assertBodyIsRequest(t *testing.T, body []byte, ev Event, ct string) {
	t.Helper()
	if !bytes.Equal(ev.Body, body) {
		t.Errorf("Body differs from the request body")
	}
	if ev.ContentType != ct {
		t.Errorf("ContentType = %q, want %q", ev.ContentType, ct)
	}
}

func assertHeader(t *testing.T, ev Event, name, want string) {
	t.Helper()
	if got := ev.Headers[name]; got != want {
		t.Errorf("Headers[%q] = %q, want %q", name, got, want)
	}
}

func assertID(t *testing.T, ev Event, want string) {
	t.Helper()
	if ev.ID != want {
		t.Errorf("ID = %q, want %q", ev.ID, want)
	}
}

func assertNoLiveChatSecret(t *testing.T, ev Event) {
	t.Helper()
	if !gjson.ValidBytes(ev.Body) {
		t.Fatalf("stored body is not valid JSON: %s", ev.Body)
	}
	if gjson.GetBytes(ev.Body, "secret_key").Exists() || bytes.Contains(ev.Body, []byte("laudhkjb35iu3h5b3k5b3iu5")) {
		t.Errorf("stored body keeps the secret: %s", ev.Body)
	}
}

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestExtractUnparseable(t *testing.T) {
	ghHeaders := hdr("X-GitHub-Event", "push", "X-GitHub-Delivery", "d-1")
	tests := []struct {
		name, provider string
		h              http.Header
		body           string
	}{
		{"stripe empty", "stripe", nil, ""},
		{"stripe not JSON", "stripe", nil, "id=evt_1&type=x"},
		{"stripe truncated", "stripe", nil, `{"id":"evt_1","type":"x"`},
		{"stripe trailing garbage", "stripe", nil, `{"id":"evt_1","type":"x"} {}`},
		{"stripe array", "stripe", nil, `[{"id":"evt_1","type":"x"}]`},
		{"stripe missing id", "stripe", nil, `{"type":"customer.created","created":1}`},
		{"stripe numeric id", "stripe", nil, `{"id":1,"type":"customer.created"}`},
		{"stripe missing type", "stripe", nil, `{"id":"evt_1"}`},
		{"github missing delivery", "github", hdr("X-GitHub-Event", "push"), `{}`},
		{"github missing event", "github", hdr("X-GitHub-Delivery", "d-1"), `{}`},
		{"github form without payload", "github", ghHeaders, "zen=x"},
		{"github form payload not JSON", "github", ghHeaders, "payload=nope"},
		{"github bad form escape", "github", ghHeaders, "payload=%zz"},
		{"shopify no id headers", "shopify", hdr("X-Shopify-Topic", "orders/create"), `{}`},
		{"shopify no topic", "shopify", hdr("X-Shopify-Event-Id", "e-1"), `{}`},
		{"shopify XML body", "shopify", hdr("X-Shopify-Topic", "orders/create", "X-Shopify-Event-Id", "e-1"), `<order/>`},
		{"slack callback without event_id", "slack", nil, `{"type":"event_callback","event":{"type":"message"}}`},
		{"slack callback without event.type", "slack", nil, `{"type":"event_callback","event_id":"Ev1","event":{}}`},
		{"slack JSON without type", "slack", nil, `{"event_id":"Ev1"}`},
		{"slack unknown form", "slack", nil, "foo=bar"},
		{"slack slash command without trigger_id", "slack", nil, "command=%2Fweather&text=x"},
		{"slack interactive payload not JSON", "slack", nil, "payload=nope"},
		{"slack interactive payload without type", "slack", nil, "payload=%7B%7D"},
		{"standard no id header", "standard", nil, `{"type":"lead.created"}`},
		{"standard no type", "standard", hdr("webhook-id", "msg_1"), `{"data":{}}`},
		{"livechat no action", "livechat", nil, `{"webhook_id":"w","secret_key":"s","payload":{}}`},
		{"livechat not JSON", "livechat", nil, `secret_key=s`},
		{"trello no action", "trello", nil, `{"model":{}}`},
		{"trello action not object", "trello", nil, `{"action":"updateCard"}`},
		{"trello action without id", "trello", nil, `{"action":{"type":"updateCard"}}`},
		{"trello action without type", "trello", nil, `{"action":{"id":"a1"}}`},
		{"hubspot empty batch", "hubspot", nil, `[]`},
		{"hubspot element not object", "hubspot", nil, `[1]`},
		{"hubspot element without eventId", "hubspot", nil, `[{"eventId":1,"subscriptionType":"contact.creation"},{"subscriptionType":"contact.creation"}]`},
		{"hubspot element without subscriptionType", "hubspot", nil, `[{"eventId":1}]`},
		{"hubspot string", "hubspot", nil, `"x"`},
		{"twilio JSON body", "twilio", nil, `{"MessageSid":"SM1"}`},
		{"twilio no sid", "twilio", nil, "AccountSid=AC1&From=%2B1"},
		{"twilio message without status or body", "twilio", nil, "MessageSid=SM1"},
		{"twilio call without status", "twilio", nil, "CallSid=CA1"},
		{"twilio recording without status", "twilio", nil, "RecordingSid=RE1&CallSid=CA1"},
		{"twilio bad form", "twilio", nil, "MessageSid=%zz"},
		{"zoom no event", "zoom", nil, `{"event_ts":1,"payload":{}}`},
		{"zoom not JSON", "zoom", nil, `event=meeting.started`},
		{"salesforce not XML", "salesforce", nil, `{"notifications":[]}`},
		{"salesforce empty", "salesforce", nil, ``},
		{"salesforce DOCTYPE with entities", "salesforce", nil, `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>` + sfEnvelope(1, "")},
		{"salesforce external entity", "salesforce", nil, `<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>` + strings.Replace(sfEnvelope(1, ""), "Acme", "&xxe;", 1)},
		{"salesforce undefined entity", "salesforce", nil, strings.Replace(sfEnvelope(1, ""), "Acme", "&xxe;", 1)},
		{"salesforce directive after root", "salesforce", nil, sfEnvelope(1, "") + `<!DOCTYPE x>`},
		{"salesforce processing instruction", "salesforce", nil, `<?php echo 1; ?>` + sfEnvelope(1, "")},
		{"salesforce wrong namespace", "salesforce", nil, strings.Replace(sfEnvelope(1, ""), SalesforceOutboundNS, "urn:other", 1)},
		{"salesforce not SOAP", "salesforce", nil, `<notifications xmlns="` + SalesforceOutboundNS + `"/>`},
		{"salesforce no OrganizationId", "salesforce", nil, strings.Replace(sfEnvelope(1, ""), "<OrganizationId>00D000000000001AAA</OrganizationId>", "", 1)},
		{"salesforce no notifications", "salesforce", nil, sfEnvelope(0, "")},
		{"salesforce notification without Id", "salesforce", nil, strings.Replace(sfEnvelope(1, ""), fmt.Sprintf("<Id>04l%015dAAA</Id>", 0), "", 1)},
		{"salesforce sObject without xsi:type", "salesforce", nil, strings.Replace(sfEnvelope(1, ""), `xsi:type="sf:Lead"`, "", 1)},
		{"salesforce 101 notifications", "salesforce", nil, sfEnvelope(101, "")},
		{"salesforce nesting bomb", "salesforce", nil, sfEnvelope(1, strings.Repeat("<sf:a>", 40)+strings.Repeat("</sf:a>", 40))},
		{"salesforce truncated", "salesforce", nil, sfEnvelope(2, "")[:400]},
		{"salesforce mismatched tags", "salesforce", nil, strings.Replace(sfEnvelope(1, ""), "</sf:Email>", "</sf:Mail>", 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.h
			if h == nil {
				h = http.Header{}
			}
			evs, err := Extract(tt.provider, h, []byte(tt.body), receivedAt)
			if !errors.Is(err, ErrUnparseable) {
				t.Fatalf("Extract = %d events, err %v; want ErrUnparseable", len(evs), err)
			}
			if !strings.Contains(err.Error(), tt.provider) {
				t.Errorf("error %q does not name the provider", err)
			}
		})
	}
}

func TestExtractUnknownProvider(t *testing.T) {
	_, err := Extract("paypal", http.Header{}, []byte(`{}`), receivedAt)
	if !errors.Is(err, ErrUnknownProvider) || errors.Is(err, ErrUnparseable) {
		t.Fatalf("err = %v, want ErrUnknownProvider only", err)
	}
	for _, p := range Providers {
		if !Known(p) {
			t.Errorf("Known(%q) = false", p)
		}
	}
}

// sfEnvelope builds an Outbound Message with n Lead notifications; extra is
// inserted into the first sObject.
func sfEnvelope(n int, extra string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><notifications xmlns="` + SalesforceOutboundNS + `"><OrganizationId>00D000000000001AAA</OrganizationId><ActionId>04k000000000001AAA</ActionId><SessionId xsi:nil="true"/>`)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `<Notification><Id>04l%015dAAA</Id><sObject xsi:type="sf:Lead" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>00Q%015dAAA</sf:Id><sf:Company>Acme</sf:Company><sf:Email>lead%d@example.com</sf:Email>`, i, i, i)
		if i == 0 {
			b.WriteString(extra)
		}
		b.WriteString(`</sObject></Notification>`)
	}
	b.WriteString(`</notifications></soapenv:Body></soapenv:Envelope>`)
	return b.String()
}

func TestExtractSalesforce100Notifications(t *testing.T) {
	evs, err := Extract("salesforce", http.Header{}, []byte(sfEnvelope(100, "")), receivedAt)
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	if len(evs) != 100 {
		t.Fatalf("got %d events, want 100", len(evs))
	}
	seen := map[string]bool{}
	for i, ev := range evs {
		if want := fmt.Sprintf("04l%015dAAA", i); ev.ID != want {
			t.Errorf("event %d ID = %q, want %q (order kept)", i, ev.ID, want)
		}
		if seen[ev.ID] {
			t.Errorf("duplicate id %s", ev.ID)
		}
		seen[ev.ID] = true
		if got := gjson.GetBytes(ev.Body, "fields.Email").String(); got != fmt.Sprintf("lead%d@example.com", i) {
			t.Errorf("event %d Email = %q", i, got)
		}
		if ev.Type != "lead" || !ev.OccurredAt.Equal(receivedAt) {
			t.Errorf("event %d: type %q at %v", i, ev.Type, ev.OccurredAt)
		}
	}
	// Each event owns its Headers map.
	evs[0].Headers["X"] = "y"
	if _, ok := evs[1].Headers["X"]; ok {
		t.Error("batch events share one Headers map")
	}
}

func TestExtractSalesforceNestedAndCustomObject(t *testing.T) {
	body := strings.NewReplacer(
		`xsi:type="sf:Lead"`, `xsi:type="sf:Design_Registration__c"`,
		"<sf:Company>Acme</sf:Company>", "<sf:Owner><sf:Email>owner@example.com</sf:Email><sf:Name>Owner</sf:Name></sf:Owner>",
	).Replace(sfEnvelope(1, "<!-- a comment --><sf:Note>  spaced  </sf:Note>"))
	evs, err := Extract("salesforce", http.Header{}, []byte(body), receivedAt)
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	if evs[0].Type != "design_registration__c" {
		t.Errorf("Type = %q", evs[0].Type)
	}
	if got := gjson.GetBytes(evs[0].Body, "fields.Owner.Email").String(); got != "owner@example.com" {
		t.Errorf("nested field = %q in %s", got, evs[0].Body)
	}
	if got := gjson.GetBytes(evs[0].Body, "fields.Note").String(); got != "  spaced  " {
		t.Errorf("text field = %q (field text is kept as sent)", got)
	}
}

func TestExtractTimeFallbacks(t *testing.T) {
	tests := []struct {
		name, provider string
		h              http.Header
		body           string
		want           time.Time
	}{
		{"stripe created not a number", "stripe", nil, `{"id":"evt_1","type":"x","created":"yesterday"}`, receivedAt},
		{"stripe created negative", "stripe", nil, `{"id":"evt_1","type":"x","created":-5}`, receivedAt},
		{"stripe created absurd", "stripe", nil, `{"id":"evt_1","type":"x","created":1e300}`, receivedAt},
		{"slack event_time in microseconds", "slack", nil, `{"type":"event_callback","event_id":"Ev1","event":{"type":"message"},"event_time":1515449522000016}`, receivedAt},
		{"shopify bad Triggered-At uses updated_at", "shopify",
			hdr("X-Shopify-Topic", "orders/updated", "X-Shopify-Event-Id", "e1", "X-Shopify-Triggered-At", "soon"),
			`{"updated_at":"2024-01-02T03:04:05Z"}`, mustTime("2024-01-02T03:04:05Z")},
		{"standard bad timestamp header", "standard", hdr("webhook-id", "m1", "webhook-timestamp", "12ab"), `{"type":"x"}`, receivedAt},
		{"trello bad date", "trello", nil, `{"action":{"id":"a","type":"t","date":"2024-13-45"}}`, receivedAt},
		{"hubspot occurredAt string", "hubspot", nil, `[{"eventId":1,"subscriptionType":"x","occurredAt":"1724873400000"}]`, receivedAt},
		{"twilio bad Timestamp", "twilio", nil, "CallSid=CA1&CallStatus=ringing&Timestamp=now", receivedAt},
		{"zoom event_ts seconds-looking still ms", "zoom", nil, `{"event":"x","event_ts":1724874000}`, time.UnixMilli(1724874000)},
		{"livechat event created_at", "livechat", nil, `{"action":"incoming_event","payload":{"chat_id":"C","event":{"created_at":"2024-08-28T19:21:00.000000Z"}}}`, mustTime("2024-08-28T19:21:00Z")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.h
			if h == nil {
				h = http.Header{}
			}
			evs, err := Extract(tt.provider, h, []byte(tt.body), receivedAt)
			if err != nil {
				t.Fatalf("Extract: %v", err)
			}
			if !evs[0].OccurredAt.Equal(tt.want) {
				t.Errorf("OccurredAt = %v, want %v", evs[0].OccurredAt, tt.want)
			}
		})
	}
}

// API Gateway lower-cases header names; an adapter may store them as they are.
func TestExtractNonCanonicalHeaderKeys(t *testing.T) {
	h := http.Header{
		"x-github-delivery": {"d-42"},
		"x-github-event":    {"issues"},
		"content-type":      {"application/json"},
	}
	evs, err := Extract("github", h, []byte(`{"action":"opened"}`), receivedAt)
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	if evs[0].ID != "d-42" || evs[0].Type != "issues" {
		t.Errorf("got %q %q", evs[0].ID, evs[0].Type)
	}
	assertHeader(t, evs[0], "X-GitHub-Delivery", "d-42")
	assertHeader(t, evs[0], "Content-Type", "application/json")
}

func TestKeptHeadersAreNotSecret(t *testing.T) {
	for _, name := range commonHeaders {
		if IsSecretHeader(name) {
			t.Errorf("common header %s is secret", name)
		}
	}
	for p, names := range providerHeaders {
		if !Known(p) {
			t.Errorf("headers listed for unknown provider %q", p)
		}
		for _, name := range names {
			if IsSecretHeader(name) {
				t.Errorf("%s keeps secret header %s", p, name)
			}
		}
	}
}

func TestBodyHash(t *testing.T) {
	// sha256("") and sha256("abc"), FIPS 180-2 vectors.
	if got := BodyHash(nil); got != "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Errorf("BodyHash(nil) = %s", got)
	}
	if got := BodyHash([]byte("abc")); got != "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("BodyHash(abc) = %s", got)
	}
}

func TestRemoveTopLevelKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"a":1,"secret_key":"s","b":{"secret_key":"nested"}}`, `{"a":1,"b":{"secret_key":"nested"}}`},
		{`{"secret_key":"s"}`, `{}`},
		{`{ "secret_key" : "s" , "x" : [1, 2] }`, `{"x":[1, 2]}`},
		{`{"secret_key":"a","secret_key":"b","y":null}`, `{"y":null}`},
		{`{"a":1}`, `{"a":1}`},
	}
	for _, tt := range tests {
		if got := string(removeTopLevelKey([]byte(tt.in), "secret_key")); got != tt.want {
			t.Errorf("removeTopLevelKey(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestUnparseable(t *testing.T) {
	h := hdr("Content-Type", "application/json", "X-Slack-Signature", "v0=x", "User-Agent", "ua")
	tests := []struct {
		name, provider, body string
		gone                 []string
	}{
		{"livechat valid JSON without action", "livechat", `{"secret_key":"topsecret","payload":{}}`, []string{"topsecret", "secret_key"}},
		{"livechat broken JSON", "livechat", `{"secret_key":"topsecret","payload":`, []string{"topsecret"}},
		{"salesforce broken XML", "salesforce", `<Envelope><SessionId>00D!livesession</SessionId><notifications>`, []string{"livesession"}},
		{"slack body kept", "slack", `{"type":`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Extract(tt.provider, h, []byte(tt.body), receivedAt); !errors.Is(err, ErrUnparseable) {
				t.Fatalf("test body is parseable: %v", err)
			}
			ev := Unparseable(tt.provider, h, []byte(tt.body), receivedAt)
			if ev.Type != TypeUnparseable || ev.ID != BodyHash(ev.Body) || !ev.OccurredAt.Equal(receivedAt) {
				t.Errorf("event %+v", ev)
			}
			for _, s := range tt.gone {
				if bytes.Contains(ev.Body, []byte(s)) {
					t.Errorf("stored body keeps %q: %s", s, ev.Body)
				}
			}
			if tt.gone == nil && string(ev.Body) != tt.body {
				t.Errorf("body changed: %s", ev.Body)
			}
			if ev.ContentType != "application/json" || ev.Headers["User-Agent"] != "ua" || len(ev.Headers) != 2 {
				t.Errorf("content type %q headers %v", ev.ContentType, ev.Headers)
			}
		})
	}
}

func TestSalesforceOrganizationID(t *testing.T) {
	id, err := SalesforceOrganizationID(readTestdata(t, "salesforce", "lead_notifications.xml"))
	if err != nil || id != "00D5e000000AbCdEAK" {
		t.Errorf("got %q, %v", id, err)
	}
	if _, err := SalesforceOrganizationID([]byte(`<!DOCTYPE x>` + sfEnvelope(1, ""))); !errors.Is(err, ErrUnparseable) {
		t.Errorf("DOCTYPE accepted: %v", err)
	}
}

func TestExtractSalesforceSOAPHeader(t *testing.T) {
	body := strings.Replace(sfEnvelope(1, ""), "<soapenv:Body>", "<soapenv:Header><x:Trace xmlns:x=\"urn:x\"><x:Id>1</x:Id></x:Trace></soapenv:Header><soapenv:Body>", 1)
	evs, err := Extract("salesforce", http.Header{}, []byte(body), receivedAt)
	if err != nil || len(evs) != 1 {
		t.Fatalf("%d events, err %v", len(evs), err)
	}
	bad := strings.Replace(sfEnvelope(1, ""), "<soapenv:Body>", "<soapenv:Other/><soapenv:Body>", 1)
	if _, err := Extract("salesforce", http.Header{}, []byte(bad), receivedAt); !errors.Is(err, ErrUnparseable) {
		t.Errorf("unexpected element before Body accepted: %v", err)
	}
}
