package envelope

import (
	"bytes"
	"net/http"
	"time"

	"github.com/tidwall/gjson"
)

// liveChatSecretField is the body field holding the webhook's shared secret.
const liveChatSecretField = "secret_key"

// liveChatTimePaths are where LiveChat (Text Platform) payloads carry an
// event time, most specific first: incoming_chat (chat.thread), thread and
// event webhooks.
var liveChatTimePaths = []string{
	"payload.chat.thread.created_at",
	"payload.thread.created_at",
	"payload.event.created_at",
	"payload.created_at",
}

// extractLiveChat reads a Text Platform webhook
// ({webhook_id, secret_key, action, organization_id, payload, additional_data}).
//
// The stored Body has the top-level secret_key removed: the secret was only
// needed for verification, which is done, and envelopes are stored and shown.
// Because webhook_id names the registration, not the event, the id is
// BodyHash of that stored Body (so it does not depend on the secret). Type is
// action (incoming_chat, chat_deactivated, ...). Time is the chat thread's or
// event's created_at when present, else receivedAt (chat_deactivated has
// none).
func extractLiveChat(_ http.Header, body []byte, receivedAt time.Time) ([]Event, error) {
	if _, _, err := jsonObject(ProviderLiveChat, body); err != nil {
		return nil, err
	}
	stored := removeTopLevelKey(body, liveChatSecretField)
	typ := str(gjson.GetBytes(stored, "action"))
	if typ == "" {
		return nil, unparseable(ProviderLiveChat, "missing action")
	}
	occurred := receivedAt
	for _, p := range liveChatTimePaths {
		if t, ok := rfc3339(str(gjson.GetBytes(stored, p))); ok {
			occurred = t
			break
		}
	}
	return []Event{{ID: BodyHash(stored), Type: typ, OccurredAt: occurred, Body: stored, ContentType: ctJSON}}, nil
}

// removeTopLevelKey returns a JSON object without any top-level member
// named key; other members keep their exact bytes. body must be a valid JSON
// object. When key is absent, body is returned unchanged.
func removeTopLevelKey(body []byte, key string) []byte {
	obj := gjson.ParseBytes(body)
	found := false
	obj.ForEach(func(k, _ gjson.Result) bool {
		if k.Str == key {
			found = true
			return false
		}
		return true
	})
	if !found {
		return body
	}
	var out bytes.Buffer
	out.Grow(len(body))
	out.WriteByte('{')
	first := true
	obj.ForEach(func(k, v gjson.Result) bool {
		if k.Str == key {
			return true
		}
		if !first {
			out.WriteByte(',')
		}
		first = false
		out.WriteString(k.Raw)
		out.WriteByte(':')
		out.WriteString(v.Raw)
		return true
	})
	out.WriteByte('}')
	return out.Bytes()
}
