package sample

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	mrand "math/rand/v2"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/hookstack/hookstack/events"
	"github.com/hookstack/hookstack/shared/envelope"
)

var testNow = time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.UTC)

func seeded(seed byte) io.Reader { return mrand.NewChaCha8([32]byte{seed}) }

// eventIDs is what the ingest would record as the events' ids.
func eventIDs(t *testing.T, s Sample) []string {
	t.Helper()
	h := s.Header.Clone()
	if s.Provider == "standard" && h.Get("Webhook-Id") == "" {
		h.Set("Webhook-Id", "msg_original") // set at send time
	}
	evs, err := envelope.Extract(s.Provider, h, s.Body, testNow)
	if err != nil {
		t.Fatalf("extract %s: %v", s.Path, err)
	}
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

func validBody(t *testing.T, s Sample) {
	t.Helper()
	switch {
	case strings.HasSuffix(s.Path, ".json"):
		if !json.Valid(s.Body) {
			t.Fatalf("%s: refreshed body is not valid JSON:\n%s", s.Path, s.Body)
		}
	case strings.HasSuffix(s.Path, ".xml"):
		dec := xml.NewDecoder(bytes.NewReader(s.Body))
		for {
			_, err := dec.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: refreshed body is not valid XML: %v", s.Path, err)
			}
		}
	case strings.HasSuffix(s.Path, ".form"):
		if _, err := url.ParseQuery(string(s.Body)); err != nil {
			t.Fatalf("%s: refreshed body is not a valid form: %v", s.Path, err)
		}
	default:
		t.Fatalf("unexpected sample file %s", s.Path)
	}
}

func TestRefreshEverySample(t *testing.T) {
	for _, s := range loadAll(t) {
		t.Run(s.Path, func(t *testing.T) {
			orig := s.Clone()
			a, err := Refresh(s, testNow, seeded(1))
			if err != nil {
				t.Fatal(err)
			}
			b, err := Refresh(s, testNow.Add(time.Second), seeded(2))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(s.Body, orig.Body) || len(s.Header) != len(orig.Header) {
				t.Fatal("Refresh modified its input")
			}
			for _, r := range []Sample{a, b} {
				validBody(t, r)
				typ, err := DetectType(r.Provider, r.Header, r.Body)
				if err != nil || typ != s.Type {
					t.Fatalf("type after refresh = %q, %v; want %q", typ, err, s.Type)
				}
			}
			before, idsA, idsB := eventIDs(t, s), eventIDs(t, a), eventIDs(t, b)
			if len(idsA) != len(before) || len(idsB) != len(before) {
				t.Fatalf("event count changed: %d → %d, %d", len(before), len(idsA), len(idsB))
			}
			// Every sample becomes a new event each time (no exceptions: a
			// trigger that repeats an event id is dropped as a duplicate).
			for i := range before {
				if idsA[i] == before[i] || idsB[i] == before[i] || idsA[i] == idsB[i] {
					t.Fatalf("event %d id not refreshed: original %s, refreshed %s and %s", i, before[i], idsA[i], idsB[i])
				}
			}
			if bytes.Equal(a.Body, s.Body) || bytes.Equal(a.Body, b.Body) {
				t.Fatal("body unchanged")
			}
			again, err := Refresh(s, testNow, seeded(1))
			if err != nil || !bytes.Equal(again.Body, a.Body) {
				t.Fatal("Refresh is not a function of (sample, now, randomness)")
			}
		})
	}
}

func find(t *testing.T, provider, trigger string) Sample {
	t.Helper()
	s, err := Find(events.FS, provider, trigger)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Refresh(s, testNow, seeded(7))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var (
	liveChatIDRE = regexp.MustCompile(`^[0-9A-Z]{10}$`)
	uuidRE       = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	stripeRE     = regexp.MustCompile(`^evt_[0-9A-Za-z]{24}$`)
)

// TestRefreshFields checks, per provider, the exact fields refreshed and
// that the rest of the body is kept byte for byte.
func TestRefreshFields(t *testing.T) {
	nowS, nowMS := strconv.FormatInt(testNow.Unix(), 10), strconv.FormatInt(testNow.UnixMilli(), 10)
	get := func(s Sample, path string) string { return gjson.GetBytes(s.Body, path).String() }
	kept := func(t *testing.T, provider, trigger, path string) {
		t.Helper()
		orig, _ := Find(events.FS, provider, trigger)
		r := find(t, provider, trigger)
		if a, b := gjson.GetBytes(orig.Body, path).Raw, gjson.GetBytes(r.Body, path).Raw; a == "" || a != b {
			t.Fatalf("%s changed or missing: %q → %q", path, a, b)
		}
	}
	tests := []struct {
		provider, trigger string
		check             func(t *testing.T, s Sample)
	}{
		{"stripe", "payment_intent.succeeded", func(t *testing.T, s Sample) {
			if !stripeRE.MatchString(get(s, "id")) || get(s, "created") != nowS {
				t.Fatalf("id %q created %q", get(s, "id"), get(s, "created"))
			}
			kept(t, "stripe", "payment_intent.succeeded", "data")
		}},
		{"github", "push", func(t *testing.T, s Sample) {
			if !uuidRE.MatchString(s.Header.Get("X-GitHub-Delivery")) || s.Header.Get("X-GitHub-Event") != "push" {
				t.Fatalf("headers %v", s.Header)
			}
			// The body identifies a GitHub event (its delivery header is not signed).
			after := get(s, "after")
			if !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(after) || after == "6dcb09b5b57875f334f61aebed695e2e4193db5e" ||
				get(s, "head_commit.id") != after || get(s, "commits.0.id") != after || get(s, "before") != "a10867b14bb761a232cd80139fbd4c0d33264240" {
				t.Fatalf("push commits: after %s, head %s, commits.0 %s", after, get(s, "head_commit.id"), get(s, "commits.0.id"))
			}
			if get(s, "head_commit.timestamp") != testNow.UTC().Format(time.RFC3339) || get(s, "repository.pushed_at") != nowS {
				t.Fatalf("push times %s, %s", get(s, "head_commit.timestamp"), get(s, "repository.pushed_at"))
			}
		}},
		{"github", "ping", func(t *testing.T, s Sample) {
			if id := get(s, "hook_id"); id == "512345678" || id != get(s, "hook.id") || len(id) != 9 {
				t.Fatalf("ping hook ids %s, %s", id, get(s, "hook.id"))
			}
		}},
		{"github", "pull_request", func(t *testing.T, s Sample) {
			if sha := get(s, "pull_request.head.sha"); sha == "6dcb09b5b57875f334f61aebed695e2e4193db5e" || len(sha) != 40 || get(s, "pull_request.updated_at") != testNow.UTC().Format(time.RFC3339) {
				t.Fatalf("pull request head %s updated %s", sha, get(s, "pull_request.updated_at"))
			}
		}},
		{"shopify", "inventory_levels/update", func(t *testing.T, s Sample) {
			if !uuidRE.MatchString(s.Header.Get("X-Shopify-Event-Id")) || !uuidRE.MatchString(s.Header.Get("X-Shopify-Webhook-Id")) ||
				s.Header.Get("X-Shopify-Triggered-At") != "2026-03-14T15:09:26.535Z" {
				t.Fatalf("headers %v", s.Header)
			}
		}},
		{"slack", "app_mention", func(t *testing.T, s Sample) {
			if !regexp.MustCompile(`^Ev[0-9A-Z]{10}$`).MatchString(get(s, "event_id")) || get(s, "event_time") != nowS ||
				get(s, "event.ts") != nowS+".535897" || get(s, "event.event_ts") != nowS+".535897" {
				t.Fatalf("event_id %q event_time %q ts %q", get(s, "event_id"), get(s, "event_time"), get(s, "event.ts"))
			}
			kept(t, "slack", "app_mention", "event.blocks")
		}},
		{"slack", "url_verification", func(t *testing.T, s Sample) {
			if len(get(s, "challenge")) != 52 || get(s, "challenge") == "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" {
				t.Fatalf("challenge %q", get(s, "challenge"))
			}
		}},
		{"standard", "lead.created", func(t *testing.T, s Sample) {
			orig, _ := Find(events.FS, "standard", "lead.created")
			id := s.Header.Get("Webhook-Id")
			if !regexp.MustCompile(`^msg_[0-9A-Za-z]{27}$`).MatchString(id) || id == orig.Header.Get("Webhook-Id") ||
				get(s, "timestamp") != "2026-03-14T15:09:26Z" {
				t.Fatalf("webhook-id %q timestamp %q", s.Header.Get("Webhook-Id"), get(s, "timestamp"))
			}
			kept(t, "standard", "lead.created", "data")
		}},
		{"hubspot", "contact.propertyChange", func(t *testing.T, s Sample) {
			a, b := get(s, "0.eventId"), get(s, "1.eventId")
			if len(a) != 10 || len(b) != 10 || a == b || get(s, "0.occurredAt") != nowMS || get(s, "1.occurredAt") != nowMS {
				t.Fatalf("eventIds %s %s occurredAt %s", a, b, get(s, "0.occurredAt"))
			}
			kept(t, "hubspot", "contact.propertyChange", "1.propertyValue")
		}},
		{"trello", "updateCard", func(t *testing.T, s Sample) {
			id := get(s, "action.id")
			if !regexp.MustCompile(`^[0-9a-f]{24}$`).MatchString(id) || id[:8] != strconv.FormatInt(testNow.Unix(), 16) ||
				get(s, "action.date") != "2026-03-14T15:09:26.535Z" {
				t.Fatalf("action.id %q date %q", id, get(s, "action.date"))
			}
			kept(t, "trello", "updateCard", "model")
		}},
		{"twilio", "message.status", func(t *testing.T, s Sample) {
			if !uuidRE.MatchString(s.Header.Get("I-Twilio-Idempotency-Token")) {
				t.Fatalf("token %q", s.Header.Get("I-Twilio-Idempotency-Token"))
			}
			form, err := url.ParseQuery(string(s.Body))
			if err != nil {
				t.Fatal(err)
			}
			sid := form.Get("MessageSid")
			if !regexp.MustCompile(`^SM[0-9a-f]{32}$`).MatchString(sid) || sid == "SM1f0e8ae6ade43cb3c0ce4525424e404f" || form.Get("SmsSid") != sid {
				t.Fatalf("MessageSid %q SmsSid %q", sid, form.Get("SmsSid"))
			}
			if form.Get("RawDlrDoneDate") != "2603141509" || form.Get("MessageStatus") != "delivered" ||
				form.Get("AccountSid") != "AC1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d" || form.Get("To") != "+15558675310" {
				t.Fatalf("form %v", form)
			}
			// The order of the parameters is kept (only values change).
			var keys []string
			for _, pair := range strings.Split(string(s.Body), "&") {
				k, _, _ := strings.Cut(pair, "=")
				keys = append(keys, k)
			}
			if strings.Join(keys, ",") != "SmsSid,SmsStatus,MessageStatus,To,MessagingServiceSid,MessageSid,AccountSid,From,ApiVersion,RawDlrDoneDate" {
				t.Fatalf("parameters %v", keys)
			}
		}},
		{"shopify", "inventory_levels/update", func(t *testing.T, s Sample) {
			// The shop's offset is kept; the time is the send time.
			if get(s, "updated_at") != "2026-03-14T10:09:26-05:00" {
				t.Fatalf("updated_at %q", get(s, "updated_at"))
			}
			kept(t, "shopify", "inventory_levels/update", "inventory_item_id")
			kept(t, "shopify", "inventory_levels/update", "available")
		}},
		{"shopify", "products/update", func(t *testing.T, s Sample) {
			if get(s, "updated_at") != "2026-03-14T10:09:26-05:00" {
				t.Fatalf("updated_at %q", get(s, "updated_at"))
			}
			kept(t, "shopify", "products/update", "variants")
		}},
		{"standard", "inventory.adjusted", func(t *testing.T, s Sample) {
			if get(s, "timestamp") != "2026-03-14T15:09:26Z" || get(s, "data.updated_at") != "2026-03-14T15:09:26Z" {
				t.Fatalf("timestamp %q data.updated_at %q", get(s, "timestamp"), get(s, "data.updated_at"))
			}
			kept(t, "standard", "inventory.adjusted", "data.sku")
			kept(t, "standard", "inventory.adjusted", "data.available")
		}},
		{"livechat", "chat_deactivated", func(t *testing.T, s Sample) {
			if th := get(s, "payload.thread_id"); !liveChatIDRE.MatchString(th) || th == "K600PKZON8" {
				t.Fatalf("thread_id %q", th)
			}
			kept(t, "livechat", "chat_deactivated", "payload.chat_id")
			kept(t, "livechat", "chat_deactivated", "payload.user_id")
		}},
		{"zoom", "meeting.started", func(t *testing.T, s Sample) {
			if get(s, "event_ts") != nowMS {
				t.Fatalf("event_ts %q", get(s, "event_ts"))
			}
			kept(t, "zoom", "meeting.started", "payload")
		}},
		{"zoom", "endpoint.url_validation", func(t *testing.T, s Sample) {
			if p := get(s, "payload.plainToken"); len(p) != 22 || p == "qgg8vlvZRS6UYooatFL8Aw" {
				t.Fatalf("plainToken %q", p)
			}
		}},
		{"livechat", "incoming_chat", func(t *testing.T, s Sample) {
			if get(s, "payload.chat.thread.created_at") != "2026-03-14T15:09:26.535897Z" || get(s, "secret_key") != "REPLACE_ME" {
				t.Fatalf("created_at %q", get(s, "payload.chat.thread.created_at"))
			}
			th := get(s, "payload.chat.thread.id")
			if !liveChatIDRE.MatchString(th) || th == "K600PKZON8" || get(s, "payload.chat.thread.events.0.id") != th+"_1" {
				t.Fatalf("thread id %q, its event %q", th, get(s, "payload.chat.thread.events.0.id"))
			}
			kept(t, "livechat", "incoming_chat", "payload.chat.id")
			kept(t, "livechat", "incoming_chat", "payload.chat.users")
		}},
		{"salesforce", "lead", func(t *testing.T, s Sample) {
			ids := regexp.MustCompile(`<Notification>\s*<Id>([^<]*)</Id>`).FindAllSubmatch(s.Body, -1)
			if len(ids) != 2 || bytes.Equal(ids[0][1], ids[1][1]) {
				t.Fatalf("notification ids %q", ids)
			}
			for _, m := range ids {
				id := string(m[1])
				if len(id) != 18 || !strings.HasPrefix(id, "04l") || salesforceSuffix(id[:15]) != id[15:] || id == "04l5e00000Gx7QzAAJ" {
					t.Fatalf("notification id %q", id)
				}
			}
			if !bytes.Contains(s.Body, []byte("<OrganizationId>00D5e000000KQ2eEAG</OrganizationId>")) {
				t.Fatal("OrganizationId changed")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.provider+"/"+tt.trigger, func(t *testing.T) { tt.check(t, find(t, tt.provider, tt.trigger)) })
	}
}

func TestSalesforceSuffix(t *testing.T) {
	// Ids as Salesforce prints them (15 + their 18-character form).
	for _, id := range []string{"00D5e000000KQ2eEAG", "04l5e00000Gx7QzAAJ", "0015000000Gv7qJAAR", "001000000000000AAA"} {
		if got := salesforceSuffix(id[:15]); got != id[15:] {
			t.Errorf("suffix of %s = %s, want %s", id[:15], got, id[15:])
		}
	}
}

func TestRefreshErrors(t *testing.T) {
	stripe, err := Find(events.FS, "stripe", "invoice.paid")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		s       Sample
		rnd     io.Reader
		wantErr error
	}{
		{"randomness fails", stripe, iotestErr{}, errRandom},
		{"unknown provider", Sample{Provider: "paypal"}, seeded(1), ErrUnknownProvider},
		{"body not JSON", Sample{Provider: "stripe", Path: "stripe/x.json", Body: []byte("id=1")}, seeded(1), ErrEdit},
		{"salesforce body not XML", Sample{Provider: "salesforce", Path: "salesforce/x.xml", Body: []byte("<a>")}, seeded(1), ErrEdit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Refresh(tt.s, testNow, tt.rnd); !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

var errRandom = errors.New("no entropy")

type iotestErr struct{}

func (iotestErr) Read([]byte) (int, error) { return 0, errRandom }

func TestComplete(t *testing.T) {
	tests := []struct {
		name      string
		s         Sample
		want      []string // headers that must be set afterwards
		keep      map[string]string
		unchanged bool
	}{
		{"github fills delivery", Sample{Provider: "github", Header: headerOf("X-GitHub-Event", "push")},
			[]string{"X-GitHub-Delivery"}, map[string]string{"X-GitHub-Event": "push"}, false},
		{"github keeps delivery", Sample{Provider: "github", Header: headerOf("X-GitHub-Delivery", "given")},
			nil, map[string]string{"X-GitHub-Delivery": "given"}, false},
		{"shopify fills ids and time", Sample{Provider: "shopify", Header: headerOf("X-Shopify-Topic", "orders/create")},
			[]string{"X-Shopify-Webhook-Id", "X-Shopify-Event-Id", "X-Shopify-Triggered-At"}, nil, false},
		{"stripe untouched", Sample{Provider: "stripe", Header: headerOf("Content-Type", "application/json")}, nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(tt.s.Header)
			if err := Complete(&tt.s, testNow, seeded(3)); err != nil {
				t.Fatal(err)
			}
			for _, name := range tt.want {
				if tt.s.Header.Get(name) == "" {
					t.Errorf("%s not set", name)
				}
			}
			for name, v := range tt.keep {
				if tt.s.Header.Get(name) != v {
					t.Errorf("%s = %q, want %q", name, tt.s.Header.Get(name), v)
				}
			}
			if tt.unchanged && len(tt.s.Header) != before {
				t.Errorf("headers changed: %v", tt.s.Header)
			}
		})
	}
}

func headerOf(kv ...string) map[string][]string {
	h := map[string][]string{}
	for i := 0; i < len(kv); i += 2 {
		h[canonical(kv[i])] = []string{kv[i+1]}
	}
	return h
}

func canonical(name string) string {
	n, _, _ := ParseHeader(name + ": x")
	return n
}

func TestSetJSON(t *testing.T) {
	tests := []struct {
		name, body, path, raw, want string
		found                       bool
	}{
		{"top level", `{"id": "evt_1", "n": 1}`, "id", `"evt_2"`, `{"id": "evt_2", "n": 1}`, true},
		{"nested keeps spacing", "{\n  \"a\": {\"b\" :  5 }\n}", "a.b", "66", "{\n  \"a\": {\"b\" :  66 }\n}", true},
		{"array element", `[{"e":1},{"e":2}]`, "1.e", "3", `[{"e":1},{"e":3}]`, true},
		{"absent", `{"a":1}`, "b", "2", `{"a":1}`, false},
		{"escaped key", `{"a.b":1}`, `a\.b`, "2", `{"a.b":2}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, found, err := setJSON([]byte(tt.body), tt.path, tt.raw)
			if err != nil || found != tt.found || string(got) != tt.want {
				t.Fatalf("setJSON = %s, %v, %v; want %s, %v", got, found, err, tt.want, tt.found)
			}
		})
	}
	if _, _, err := setJSON([]byte(`{"a":`), "a", "1"); !errors.Is(err, ErrEdit) {
		t.Fatalf("invalid JSON: err = %v, want ErrEdit", err)
	}
	if _, _, err := setJSON([]byte(`[{"a":1},{"a":2}]`), "#.a", "1"); !errors.Is(err, ErrEdit) {
		t.Fatalf("query path: err = %v, want ErrEdit", err)
	}
}

func FuzzSetJSON(f *testing.F) {
	f.Add([]byte(`{"id":"evt_1","data":{"object":{"id":"pi_1"}}}`), "data.object.id", `"x"`)
	f.Add([]byte(`[{"eventId":1}]`), "0.eventId", "2")
	f.Add([]byte(`{"a":[1,2,3]}`), "a.#", "1")
	f.Add([]byte(`{"a":{"b":1}}`), "a|@reverse", "1")
	f.Fuzz(func(t *testing.T, body []byte, path, raw string) {
		out, found, err := setJSON(body, path, raw)
		if err != nil {
			if !errors.Is(err, ErrEdit) {
				t.Fatalf("error %v does not wrap ErrEdit", err)
			}
			return
		}
		if !found {
			if !bytes.Equal(out, body) {
				t.Fatal("body changed though the path was not found")
			}
			return
		}
		if json.Valid([]byte(raw)) && !json.Valid(out) {
			t.Fatalf("replacing %q in %q with %q gave invalid JSON %q", path, body, raw, out)
		}
	})
}

func FuzzReplaceNotificationIDs(f *testing.F) {
	f.Add([]byte(`<n xmlns="http://soap.sforce.com/2005/09/outbound"><Notification><Id>04l1</Id></Notification></n>`))
	f.Add([]byte(`<Notification><Id/></Notification>`))
	f.Add([]byte(`<Notification><Id>a&amp;b</Id><Id>x</Id></Notification>`))
	f.Add([]byte(`<a>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		out, err := replaceNotificationIDs(body, func() (string, error) { return "NEWID", nil })
		if err != nil {
			if !errors.Is(err, ErrEdit) {
				t.Fatalf("error %v does not wrap ErrEdit", err)
			}
			return
		}
		// A well-formed document stays well-formed.
		dec := xml.NewDecoder(bytes.NewReader(out))
		dec.Strict = true
		for {
			_, err := dec.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("output of %q is not well-formed: %v\n%q", body, err, out)
			}
		}
	})
}

// TestRefreshTimesFollowNow: the times that order records (Shopify's and
// Standard's updated_at, Twilio's done date, LiveChat's thread time) are the
// send time of each refresh, not the sample's, so two sends in a row are
// ordered as sent.
func TestRefreshTimesFollowNow(t *testing.T) {
	tests := []struct {
		provider, trigger, path, layout string
		precision                       time.Duration // of the written time
	}{
		{"shopify", "inventory_levels/update", "updated_at", time.RFC3339, time.Second},
		{"shopify", "products/update", "updated_at", time.RFC3339, time.Second},
		{"standard", "inventory.adjusted", "data.updated_at", time.RFC3339, time.Second},
		{"livechat", "incoming_chat", "payload.chat.thread.created_at", time.RFC3339Nano, time.Microsecond},
		{"twilio", "message.status", "RawDlrDoneDate", twilioDlrTime, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.provider+"/"+tt.trigger, func(t *testing.T) {
			s, err := Find(events.FS, tt.provider, tt.trigger)
			if err != nil {
				t.Fatal(err)
			}
			value := func(r Sample) time.Time {
				t.Helper()
				raw := gjson.GetBytes(r.Body, tt.path).String()
				if tt.provider == "twilio" {
					form, _ := url.ParseQuery(string(r.Body))
					raw = form.Get(tt.path)
				}
				at, err := time.Parse(tt.layout, raw)
				if err != nil {
					t.Fatalf("%s = %q: %v", tt.path, raw, err)
				}
				return at
			}
			first, second := testNow, testNow.Add(90*time.Minute)
			a, err := Refresh(s, first, seeded(1))
			if err != nil {
				t.Fatal(err)
			}
			b, err := Refresh(s, second, seeded(1))
			if err != nil {
				t.Fatal(err)
			}
			if !value(a).Equal(first.Truncate(tt.precision)) || !value(b).Equal(second.Truncate(tt.precision)) {
				t.Fatalf("%s = %v then %v, want %v then %v", tt.path, value(a), value(b), first, second)
			}
		})
	}
}

func TestFormValues(t *testing.T) {
	tests := []struct {
		name, body string
		values     map[string]string
		want       string
	}{
		{"replaces in place", "A=1&B=2&C=3", map[string]string{"B": "x y"}, "A=1&B=x+y&C=3"},
		{"every pair of the key", "A=1&A=2", map[string]string{"A": "+1"}, "A=%2B1&A=%2B1"},
		{"escaped key", "To%20X=1&B=2", map[string]string{"To X": "3"}, "To%20X=3&B=2"},
		{"absent key not added", "A=1", map[string]string{"Z": "9"}, "A=1"},
		{"nothing to set", "A=%zz", nil, "A=%zz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := setFormValues([]byte(tt.body), tt.values)
			if err != nil || string(got) != tt.want {
				t.Fatalf("setFormValues = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	if _, err := setFormValues([]byte("A=%zz"), map[string]string{"A": "1"}); !errors.Is(err, ErrEdit) {
		t.Fatalf("bad form: err = %v, want ErrEdit", err)
	}
	if v, ok := formValue([]byte("A=1&B=%2B2&B=3"), "B"); !ok || v != "+2" {
		t.Fatalf("formValue = %q, %v", v, ok)
	}
	if _, ok := formValue([]byte("A=1"), "B"); ok {
		t.Fatal("formValue found an absent key")
	}
}

func FuzzSetFormValues(f *testing.F) {
	f.Add([]byte("SmsSid=SM1&MessageSid=SM1&To=%2B1"), "MessageSid", "SM2")
	f.Add([]byte("a=1&&b"), "b", "x&y=z")
	f.Add([]byte("=&=="), "", "1")
	f.Fuzz(func(t *testing.T, body []byte, key, value string) {
		out, err := setFormValues(body, map[string]string{key: value})
		if err != nil {
			if !errors.Is(err, ErrEdit) {
				t.Fatalf("error %v does not wrap ErrEdit", err)
			}
			return
		}
		before, _ := url.ParseQuery(string(body))
		after, err := url.ParseQuery(string(out))
		if err != nil {
			t.Fatalf("output %q of %q is not a form: %v", out, body, err)
		}
		for k, vs := range before {
			if k == key {
				for _, v := range after[k] {
					if v != value {
						t.Fatalf("%q = %q, want %q", k, v, value)
					}
				}
				continue
			}
			if strings.Join(after[k], "\x00") != strings.Join(vs, "\x00") {
				t.Fatalf("%q changed: %q → %q", k, vs, after[k])
			}
		}
	})
}
