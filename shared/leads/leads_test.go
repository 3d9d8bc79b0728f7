package leads

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hookstack/hookstack/shared/domain"
	"github.com/hookstack/hookstack/shared/envelope"
)

func readSample(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../../events", rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// salesforceNotifications turns events/salesforce/lead.xml into the
// per-notification JSON the ingest produces.
func salesforceNotifications(t testing.TB, xmlBody []byte) [][]byte {
	t.Helper()
	var env struct {
		Body struct {
			Notifications struct {
				OrganizationID string `xml:"OrganizationId"`
				ActionID       string `xml:"ActionId"`
				Notification   []struct {
					ID      string `xml:"Id"`
					SObject struct {
						Type   string `xml:"http://www.w3.org/2001/XMLSchema-instance type,attr"`
						Fields []struct {
							XMLName xml.Name
							Value   string `xml:",chardata"`
						} `xml:",any"`
					} `xml:"sObject"`
				} `xml:"Notification"`
			} `xml:"notifications"`
		} `xml:"Body"`
	}
	if err := xml.Unmarshal(xmlBody, &env); err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	n := env.Body.Notifications
	for _, no := range n.Notification {
		fields := map[string]string{}
		for _, f := range no.SObject.Fields {
			fields[f.XMLName.Local] = f.Value
		}
		b, _ := json.Marshal(SalesforceNotification{OrganizationID: n.OrganizationID, ActionID: n.ActionID, NotificationID: no.ID, SObjectType: no.SObject.Type, Fields: fields})
		out = append(out, b)
	}
	return out
}

func sfEnv(id string, body []byte) envelope.Envelope {
	return envelope.Envelope{Provider: "salesforce", EventID: id, Type: TypeSalesforceLead, Body: body}
}

// hubspotEvents splits a HubSpot sample array into single events.
func hubspotEvents(t testing.TB, rel string) []envelope.Envelope {
	var arr []json.RawMessage
	if err := json.Unmarshal(readSample(t, rel), &arr); err != nil {
		t.Fatal(err)
	}
	var out []envelope.Envelope
	for _, b := range arr {
		var m struct {
			EventID          json.Number `json:"eventId"`
			SubscriptionType string      `json:"subscriptionType"`
		}
		_ = json.Unmarshal(b, &m)
		out = append(out, envelope.Envelope{Provider: "hubspot", EventID: m.EventID.String(), Type: m.SubscriptionType, Body: b})
	}
	return out
}

func hubspotChange(t testing.TB, eventID int64, prop, value string, at time.Time) envelope.Envelope {
	b, _ := json.Marshal(map[string]any{"eventId": eventID, "subscriptionId": 2345672, "portalId": 62515123, "appId": 1160452, "occurredAt": at.UnixMilli(),
		"subscriptionType": TypeHubSpotPropertyChange, "attemptNumber": 0, "objectId": 51234567890, "propertyName": prop, "propertyValue": value, "changeSource": "CRM_UI"})
	return envelope.Envelope{Provider: "hubspot", EventID: fmt.Sprint(eventID), Type: TypeHubSpotPropertyChange, Body: b}
}

func mustParse(t testing.TB, env envelope.Envelope) Event {
	t.Helper()
	ev, err := FromEnvelope(env)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestParseSamples(t *testing.T) {
	sf := salesforceNotifications(t, readSample(t, "salesforce/lead.xml"))
	if len(sf) != 2 {
		t.Fatalf("%d notifications", len(sf))
	}
	ev := mustParse(t, sfEnv("", sf[1]))
	want := Fields{Email: "hank.scorpio@globex.example", FirstName: "Hank", LastName: "Scorpio", Company: "Globex Corporation", Source: "Partner Referral", Status: "Working - Contacted"}
	if ev.ID != "04l5e00000Gx7R0AAJ" || ev.SourceKey != "salesforce:00Q5e00000AbCdFEAZ" || ev.Fields != want || ev.At.Format(time.RFC3339) != "2026-01-05T18:03:40Z" {
		t.Fatalf("salesforce %+v", ev)
	}
	hs := hubspotEvents(t, "hubspot/contact.propertyChange.json")
	ev = mustParse(t, hs[0])
	if ev.Key(nil) != "sam.lee@example.com" || ev.SourceKey != "hubspot:51234567890" || ev.ID != "1839201603" {
		t.Fatalf("hubspot %+v", ev)
	}
	if src, email, ok := ev.Link(); !ok || src != "hubspot:51234567890" || email != "sam.lee@example.com" {
		t.Fatal("link missing")
	}
	ev = mustParse(t, hubspotEvents(t, "hubspot/contact.creation.json")[0])
	if ev.Key(nil) != "hubspot:51234567890" || ev.Fields != (Fields{}) {
		t.Fatalf("creation %+v", ev)
	}
	if k := ev.Key(func(string) (string, bool) { return "sam.lee@example.com", true }); k != "sam.lee@example.com" {
		t.Fatalf("resolved key %q", k)
	}
	ev = mustParse(t, envelope.Envelope{Provider: "standard", EventID: "msg_1", Body: readSample(t, "standard/lead.created.json")})
	if ev.Key(nil) != "ada.lovelace@example.com" || ev.Fields.Company != "Analytical Engines Ltd" || ev.Fields.Source != "webinar" || ev.SourceKey != "" {
		t.Fatalf("standard %+v", ev)
	}
	other := mustParse(t, sfEnv("n1", []byte(`{"notification_id":"n1","sobject_type":"sf:Contact","fields":{"Id":"003"}}`)))
	if other.Handled || other.Type != "contact" || Forward(other).Type != "salesforce.contact" {
		t.Fatalf("non-lead sobject %+v", other)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		env  envelope.Envelope
	}{
		{"salesforce not json", sfEnv("n", []byte(`<xml/>`))},
		{"salesforce lead without Id", sfEnv("n", []byte(`{"sobject_type":"sf:Lead","fields":{"Email":"a@b.c"}}`))},
		{"salesforce bad date", sfEnv("n", []byte(`{"sobject_type":"sf:Lead","fields":{"Id":"00Q","LastModifiedDate":"yesterday"}}`))},
		{"hubspot array (not split)", envelope.Envelope{Provider: "hubspot", Body: readSample(t, "hubspot/contact.creation.json")}},
		{"hubspot without objectId", envelope.Envelope{Provider: "hubspot", Body: []byte(`{"eventId":1,"subscriptionType":"contact.creation","occurredAt":1}`)}},
		{"hubspot change without value", envelope.Envelope{Provider: "hubspot", Body: []byte(`{"eventId":1,"subscriptionType":"contact.propertyChange","objectId":5,"occurredAt":1,"propertyName":"email"}`)}},
		{"standard lead without email", envelope.Envelope{Provider: "standard", EventID: "m", Body: []byte(`{"type":"lead.created","timestamp":"2026-01-01T00:00:00Z","data":{"first_name":"A"}}`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := FromEnvelope(tt.env); !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestApply(t *testing.T) {
	at := time.Date(2026, 1, 5, 15, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		steps []envelope.Envelope
		want  Fields
		emit  []string // by the last step
	}{
		{"created", []envelope.Envelope{hubspotChange(t, 1, "email", "A@B.example", at)}, Fields{Email: "a@b.example"}, []string{EventLeadCreated}},
		{"real change", []envelope.Envelope{hubspotChange(t, 1, "email", "a@b.example", at), hubspotChange(t, 2, "firstname", "Ann", at.Add(time.Second))}, Fields{Email: "a@b.example", FirstName: "Ann"}, []string{EventLeadUpdated}},
		{"same value newer: no event", []envelope.Envelope{hubspotChange(t, 1, "firstname", "Ann", at), hubspotChange(t, 2, "firstname", "Ann", at.Add(time.Second))}, Fields{FirstName: "Ann"}, nil},
		{"older change does not overwrite", []envelope.Envelope{hubspotChange(t, 2, "firstname", "Ann", at.Add(time.Second)), hubspotChange(t, 1, "firstname", "Anne", at)}, Fields{FirstName: "Ann"}, nil},
		{"replay", []envelope.Envelope{hubspotChange(t, 1, "company", "X", at), hubspotChange(t, 1, "company", "X", at)}, Fields{Company: "X"}, nil},
		{"unmapped property", []envelope.Envelope{hubspotChange(t, 1, "company", "X", at), hubspotChange(t, 2, "phone", "555", at.Add(time.Second))}, Fields{Company: "X"}, nil},
		{"status and source", []envelope.Envelope{hubspotChange(t, 1, "hs_lead_status", "NEW", at), hubspotChange(t, 2, "hs_analytics_source", "ORGANIC_SEARCH", at)}, Fields{Status: "NEW", Source: "ORGANIC_SEARCH"}, []string{EventLeadUpdated}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l *Lead
			var emit []string
			for _, env := range tt.steps {
				ev := mustParse(t, env)
				key := "hubspot:51234567890"
				if ev.Fields.Email != "" {
					key = ev.Fields.Email
				} else if l != nil {
					key = l.Key
				}
				next, changed, out, err := Apply(l, key, ev)
				if err != nil {
					t.Fatal(err)
				}
				if changed {
					l = &next
				}
				emit = nil
				for _, e := range out {
					emit = append(emit, e.Type)
				}
			}
			if l.visible() != tt.want || !reflect.DeepEqual(emit, tt.emit) {
				t.Fatalf("fields %+v emitted %v", l.visible(), emit)
			}
		})
	}
}

func TestMergeAndTombstone(t *testing.T) {
	creation := mustParse(t, hubspotEvents(t, "hubspot/contact.creation.json")[0])
	alias, _, out, _ := Apply(nil, creation.Key(nil), creation)
	if len(out) != 1 || out[0].Type != EventLeadCreated || out[0].Subject != "lead:hubspot:51234567890" {
		t.Fatalf("alias creation emitted %+v", out)
	}
	link := mustParse(t, hubspotEvents(t, "hubspot/contact.propertyChange.json")[0])
	merged, changed, out := Merge(nil, "sam.lee@example.com", alias, link)
	if !changed || len(out) != 0 || merged.Sources["hubspot:51234567890"].EventID != creation.ID {
		t.Fatalf("merge into nothing: %+v %v", merged, out)
	}
	merged, _, out, err := Apply(&merged, "sam.lee@example.com", link)
	if err != nil || len(out) != 1 || out[0].Type != EventLeadUpdated || merged.Email != "sam.lee@example.com" {
		t.Fatalf("apply after merge: %+v %v %v", merged, out, err)
	}
	tomb := Tombstone(alias, "sam.lee@example.com")
	var me *MergedError
	if _, _, _, err := Apply(&tomb, "hubspot:51234567890", creation); !errors.As(err, &me) || me.Into != "sam.lee@example.com" {
		t.Fatalf("tombstone err %v", err)
	}
	if _, _, _, err := Apply(&merged, "other@example.com", link); !errors.Is(err, ErrWrongRecord) {
		t.Fatalf("wrong record err %v", err)
	}
	b, _ := json.Marshal(merged)
	for _, k := range []string{`"email":"sam.lee@example.com"`, `"first_name":`, `"last_name":`, `"company":`, `"source":`, `"status":`} {
		if !strings.Contains(string(b), k) {
			t.Fatalf("%s lacks %s", b, k)
		}
	}
}

type world struct {
	leads   map[string][]byte
	aliases map[string]string
	emitted []domain.Event
}

func (w *world) get(t *testing.T, k string) *Lead {
	b, ok := w.leads[k]
	if !ok {
		return nil
	}
	var l Lead
	if err := json.Unmarshal(b, &l); err != nil {
		t.Fatal(err)
	}
	return &l
}

func (w *world) put(k string, l Lead) { w.leads[k], _ = json.Marshal(l) }

func (w *world) apply(t *testing.T, env envelope.Envelope) {
	ev := mustParse(t, env)
	if src, email, ok := ev.Link(); ok {
		w.aliases[src] = email
		if alias := w.get(t, src); alias != nil && alias.MergedInto == "" {
			merged, changed, out := Merge(w.get(t, email), email, *alias, ev)
			if changed {
				w.put(email, merged)
			}
			w.put(src, Tombstone(*alias, email))
			w.emitted = append(w.emitted, out...)
		}
	}
	if ev.Handled {
		key := ev.Key(func(s string) (string, bool) { k, ok := w.aliases[s]; return k, ok })
		next, changed, out, err := Apply(w.get(t, key), key, ev)
		var me *MergedError
		if errors.As(err, &me) {
			key = me.Into
			next, changed, out, err = Apply(w.get(t, key), key, ev)
		}
		if err != nil {
			t.Fatal(err)
		}
		if changed {
			w.put(key, next)
		}
		w.emitted = append(w.emitted, out...)
	}
	w.emitted = append(w.emitted, Forward(ev))
}

func (w *world) live(t *testing.T) map[string]string {
	out := map[string]string{}
	for k, b := range w.leads {
		if w.get(t, k).MergedInto == "" {
			out[k] = string(b)
		}
	}
	return out
}

func TestShuffleDuplicateReplay(t *testing.T) {
	sf := salesforceNotifications(t, readSample(t, "salesforce/lead.xml"))
	olderSam := strings.Replace(strings.Replace(string(sf[0]), "2026-01-05T18:02:11.000Z", "2026-01-04T09:00:00.000Z", 1), "Open - Not Contacted", "Open", 1)
	envs := []envelope.Envelope{
		sfEnv("04l5e00000Gx7QzAAJ", sf[0]),
		sfEnv("04l5e00000Gx7R0AAJ", sf[1]),
		sfEnv("04l5e00000Gx7OLDAA", []byte(olderSam)),
		{Provider: "standard", EventID: "msg_2zWq1", Type: TypeLeadCreated, Body: readSample(t, "standard/lead.created.json")},
		hubspotChange(t, 1839209001, "firstname", "Samuel", time.Date(2026, 1, 5, 18, 10, 0, 0, time.UTC)),
		hubspotChange(t, 1839209002, "lastname", "Lee-Old", time.Date(2026, 1, 5, 15, 0, 0, 0, time.UTC)),
		hubspotChange(t, 1839209003, "phone", "+1 555 0100", time.Date(2026, 1, 5, 15, 30, 0, 0, time.UTC)),
	}
	envs = append(envs, hubspotEvents(t, "hubspot/contact.creation.json")...)
	envs = append(envs, hubspotEvents(t, "hubspot/contact.propertyChange.json")...)

	want := &world{leads: map[string][]byte{}, aliases: map[string]string{}}
	for _, e := range envs { // arrival order of the list (creation before email change)
		want.apply(t, e)
	}
	wantLive := want.live(t)
	sam := want.get(t, "sam.lee@example.com")
	if sam == nil || sam.FirstName != "Samuel" || sam.LastName != "Lee" || sam.Company != "Initech" || sam.Status != "Open - Not Contacted" || sam.Source != "Web" || len(sam.Sources) != 2 {
		t.Fatalf("sam %+v", sam)
	}
	if len(wantLive) != 3 {
		t.Fatalf("live leads %v", wantLive)
	}

	r := rand.New(rand.NewSource(42))
	for i := range 200 {
		var seq []envelope.Envelope
		for _, j := range r.Perm(len(envs)) {
			seq = append(seq, envs[j])
			if r.Intn(3) == 0 {
				seq = append(seq, envs[j])
			}
		}
		for range 4 {
			seq = append(seq, envs[r.Intn(len(envs))])
		}
		w := &world{leads: map[string][]byte{}, aliases: map[string]string{}}
		for _, e := range seq {
			w.apply(t, e)
		}
		t.Run(fmt.Sprintf("perm%03d", i), func(t *testing.T) {
			if got := w.live(t); !reflect.DeepEqual(got, wantLive) {
				t.Fatalf("leads differ:\n got %v\nwant %v", got, wantLive)
			}
			seen := map[string]bool{}
			created := map[string]int{}
			nCreated := 0
			for _, e := range w.emitted {
				if e.IsRaw() {
					continue
				}
				if seen[e.ID] {
					t.Fatalf("%s emitted twice", e.ID)
				}
				seen[e.ID] = true
				if e.Type == EventLeadCreated {
					created[e.Subject]++
					nCreated++
					if created[e.Subject] > 1 {
						t.Fatalf("lead.created twice for %s", e.Subject)
					}
				}
			}
			// Four source objects (two Salesforce leads, one HubSpot contact,
			// one Standard lead) make at most four creations, three leads at least.
			if nCreated < 3 || nCreated > 4 {
				t.Fatalf("%d lead.created", nCreated)
			}
		})
	}
}

func FuzzParseSalesforce(f *testing.F) {
	for _, b := range salesforceNotifications(f, readSample(f, "salesforce/lead.xml")) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) { fuzzOne(t, sfEnv("", body)) })
}

func FuzzParseHubSpot(f *testing.F) {
	for _, e := range append(hubspotEvents(f, "hubspot/contact.creation.json"), hubspotEvents(f, "hubspot/contact.propertyChange.json")...) {
		f.Add(e.Body)
	}
	f.Fuzz(func(t *testing.T, body []byte) { fuzzOne(t, envelope.Envelope{Provider: "hubspot", Body: body}) })
}

func FuzzParseStandardLead(f *testing.F) {
	f.Add(readSample(f, "standard/lead.created.json"))
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzOne(t, envelope.Envelope{Provider: "standard", EventID: "m1", Body: body})
	})
}

func fuzzOne(t *testing.T, env envelope.Envelope) {
	ev, err := FromEnvelope(env)
	if err != nil {
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("not ErrMalformed: %v", err)
		}
		return
	}
	_ = Forward(ev)
	if !ev.Handled {
		return
	}
	key := ev.Key(nil)
	l, changed, _, err := Apply(nil, key, ev)
	if err != nil || !changed {
		t.Fatalf("first apply: %v %v", changed, err)
	}
	if _, again, out, err := Apply(&l, key, ev); err != nil || again || len(out) != 0 {
		t.Fatalf("replay changed state: %v %v %v", again, out, err)
	}
}

// One lead event may announce lead.updated twice for one lead (the merge
// of its source record, then its own fields) or once each for two leads:
// every announcement has its own id, stable across redeliveries, else the
// fan-out's delivery ids collide and the later, current fields are never
// delivered.
func TestOneLeadEventSeveralUpdatesHaveDistinctIDs(t *testing.T) {
	creation := mustParse(t, hubspotEvents(t, "hubspot/contact.creation.json")[0])
	link := mustParse(t, hubspotEvents(t, "hubspot/contact.propertyChange.json")[0])
	const email = "sam.lee@example.com"
	run := func() []domain.Event {
		alias, _, _, _ := Apply(nil, creation.Key(nil), creation)
		alias, _, _, _ = Apply(&alias, alias.Key, mustParse(t, hubspotChange(t, 77, "firstname", "Sam", link.At.Add(-time.Minute))))
		existing := Lead{Key: email, Company: "Old Co", Versions: Versions{Company: domain.Version{At: time.Unix(1, 0), EventID: "sf_0"}}}
		merged, _, a := Merge(&existing, email, alias, link)
		_, _, b, err := Apply(&merged, email, link)
		if err != nil {
			t.Fatal(err)
		}
		return append(a, b...)
	}
	out := run()
	if len(out) != 2 || out[0].Type != EventLeadUpdated || out[1].Type != EventLeadUpdated || out[0].Subject != out[1].Subject {
		t.Fatalf("want two lead.updated for one lead, got %+v", out)
	}
	if out[0].ID == out[1].ID {
		t.Fatalf("both announcements have id %q", out[0].ID)
	}
	for i, e := range run() {
		if e.ID != out[i].ID {
			t.Fatalf("id not stable: %q then %q", out[i].ID, e.ID)
		}
	}
}
