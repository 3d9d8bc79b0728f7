package relay

import (
	"encoding/json"
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

var t0 = time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)

func readSample(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../../events", rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func edit(t testing.TB, b []byte, f func(m map[string]any)) []byte {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	out, _ := json.Marshal(m)
	return out
}

func incoming(t testing.TB, id, thread string, at time.Time) envelope.Envelope {
	body := edit(t, readSample(t, "livechat/incoming_chat.json"), func(m map[string]any) {
		th := m["payload"].(map[string]any)["chat"].(map[string]any)["thread"].(map[string]any)
		th["id"], th["created_at"] = thread, at.Format(time.RFC3339Nano)
	})
	return envelope.Envelope{Provider: "livechat", EventID: id, Type: TypeIncomingChat, OccurredAt: at.Add(time.Second), Body: body}
}

func deactivated(t testing.TB, id, thread string, at time.Time) envelope.Envelope {
	body := edit(t, readSample(t, "livechat/chat_deactivated.json"), func(m map[string]any) {
		m["payload"].(map[string]any)["thread_id"] = thread
	})
	return envelope.Envelope{Provider: "livechat", EventID: id, Type: TypeChatDeactivated, OccurredAt: at, Body: body}
}

func moved(t testing.TB, actionID, before, after string) envelope.Envelope {
	body := edit(t, readSample(t, "trello/updateCard.json"), func(m map[string]any) {
		a := m["action"].(map[string]any)
		a["id"] = actionID
		d := a["data"].(map[string]any)
		d["listBefore"].(map[string]any)["name"] = before
		d["listAfter"].(map[string]any)["name"] = after
	})
	return envelope.Envelope{Provider: "trello", EventID: actionID, Type: TypeUpdateCard, OccurredAt: t0, Body: body}
}

func mustParse(t testing.TB, env envelope.Envelope) Event {
	t.Helper()
	ev, err := Parse(env)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestParseSamples(t *testing.T) {
	tests := []struct {
		provider, file, typ string
		handled             bool
		subject             string
	}{
		{"livechat", "livechat/incoming_chat.json", TypeIncomingChat, true, "chat:PJ0MRSHTDG"},
		{"livechat", "livechat/chat_deactivated.json", TypeChatDeactivated, true, "chat:PJ0MRSHTDG"},
		{"trello", "trello/updateCard.json", TypeUpdateCard, true, "task:6612a3b4c5d6e7f8a9b0c1d2"},
		{"github", "github/push.json", "push", false, "github:d1"},
		{"github", "github/ping.json", "ping", false, "github:d1"},
		{"slack", "slack/app_mention.json", "event_callback", false, "slack:d1"},
		{"zoom", "zoom/meeting.started.json", "meeting.started", false, "zoom:d1"},
		{"twilio", "twilio/message.status.form", "message.status", false, "twilio:d1"},
		{"shopify", "shopify/orders_create.json", "orders/create", false, "shopify:d1"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			env := envelope.Envelope{Provider: tt.provider, EventID: "d1", Type: tt.typ, OccurredAt: t0, Body: readSample(t, tt.file)}
			ev := mustParse(t, env)
			if ev.Handled != tt.handled || ev.Type != tt.typ {
				t.Fatalf("handled %v type %q", ev.Handled, ev.Type)
			}
			f := Forward(ev)
			idSource := "d1"
			if envelope.UnsignedEventID(tt.provider) {
				idSource = envelope.BodyHash(ev.Body)
			}
			if f.Type != tt.provider+"."+tt.typ || f.ID != idSource+":"+f.Type || f.Subject != tt.subject || len(f.Data) == 0 {
				t.Fatalf("forward %+v", f)
			}
			if strings.Contains(string(f.Data), "secret_key") || strings.Contains(string(f.Data), "REPLACE_ME") {
				t.Fatal("livechat secret forwarded")
			}
		})
	}
	ev := mustParse(t, envelope.Envelope{Provider: "livechat", EventID: "d1", OccurredAt: t0, Body: readSample(t, "livechat/incoming_chat.json")})
	want := Customer{ID: "b7eff798-f8df-4364-8059-649c35c9ed0c", Name: "Jenny Rosen", Email: "jenny.rosen@example.com"}
	if ev.ChatID != "PJ0MRSHTDG" || ev.ThreadID != "K600PKZON8" || *ev.Customer != want || !ev.OccurredAt.Equal(time.Date(2026, 1, 5, 15, 10, 2, 0, time.UTC)) {
		t.Fatalf("incoming_chat %+v", ev)
	}
	tr := mustParse(t, envelope.Envelope{Provider: "trello", Body: readSample(t, "trello/updateCard.json")})
	if tr.ID != "6781a2b3c4d5e6f7a8b9c0d1" || tr.Card.ListBefore != "Doing" || tr.Card.ListAfter != "Done" {
		t.Fatalf("trello %+v %+v", tr, tr.Card)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		env  envelope.Envelope
	}{
		{"livechat not json", envelope.Envelope{Provider: "livechat", EventID: "d", Body: []byte(`{`)}},
		{"incoming without thread", envelope.Envelope{Provider: "livechat", EventID: "d", Body: []byte(`{"action":"incoming_chat","payload":{"chat":{"id":"C"}}}`)}},
		{"deactivated without thread", envelope.Envelope{Provider: "livechat", EventID: "d", OccurredAt: t0, Body: []byte(`{"action":"chat_deactivated","payload":{"chat_id":"C"}}`)}},
		{"deactivated without time", envelope.Envelope{Provider: "livechat", EventID: "d", Body: []byte(`{"action":"chat_deactivated","payload":{"chat_id":"C","thread_id":"T"}}`)}},
		{"trello not json", envelope.Envelope{Provider: "trello", Body: []byte(`nope`)}},
		{"trello move without card", envelope.Envelope{Provider: "trello", Body: []byte(`{"action":{"id":"a","type":"updateCard","data":{"listBefore":{"name":"A"},"listAfter":{"name":"Done"}}}}`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse(tt.env); !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v", err)
			}
		})
	}
	if ev, err := Parse(envelope.Envelope{Provider: "trello", EventID: "h"}); err != nil || ev.Handled {
		t.Fatalf("empty trello body: %v", err)
	}
}

func TestApplyChat(t *testing.T) {
	tests := []struct {
		name       string
		steps      []envelope.Envelope
		wantStatus string
		wantThread string
		wantEmit   []string // by the last step
	}{
		{"started", []envelope.Envelope{incoming(t, "i1", "T1", t0)}, StatusOpen, "T1", []string{EventChatStarted}},
		{"closed", []envelope.Envelope{incoming(t, "i1", "T1", t0), deactivated(t, "d1", "T1", t0.Add(30*time.Minute))}, StatusClosed, "T1", []string{EventChatClosed}},
		// The chat stays closed; its start, never announced, is announced late.
		{"late incoming for a closed thread stays closed", []envelope.Envelope{deactivated(t, "d1", "T1", t0.Add(30*time.Minute)), incoming(t, "i1", "T1", t0)}, StatusClosed, "T1", []string{EventChatStarted}},
		{"first seen closed", []envelope.Envelope{deactivated(t, "d1", "T1", t0)}, StatusClosed, "T1", []string{EventChatClosed}},
		{"new thread reopens", []envelope.Envelope{incoming(t, "i1", "T1", t0), deactivated(t, "d1", "T1", t0.Add(time.Minute)), incoming(t, "i2", "T2", t0.Add(time.Hour))}, StatusOpen, "T2", []string{EventChatStarted}},
		{"late close of an old thread", []envelope.Envelope{incoming(t, "i2", "T2", t0.Add(time.Hour)), deactivated(t, "d1", "T1", t0.Add(time.Minute))}, StatusOpen, "T2", []string{EventChatClosed}},
		{"late close between two opens", []envelope.Envelope{incoming(t, "i1", "T1", t0), incoming(t, "i2", "T2", t0.Add(time.Hour)), deactivated(t, "d1", "T1", t0.Add(time.Minute))}, StatusOpen, "T2", []string{EventChatClosed, EventChatStarted}},
		{"redelivered close stamped earlier", []envelope.Envelope{incoming(t, "i1", "T1", t0), deactivated(t, "d1", "T1", t0.Add(31*time.Minute)), deactivated(t, "d1", "T1", t0.Add(30*time.Minute))}, StatusClosed, "T1", nil},
		{"replay", []envelope.Envelope{incoming(t, "i1", "T1", t0), incoming(t, "i1", "T1", t0)}, StatusOpen, "T1", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c *Chat
			var emit []string
			for _, env := range tt.steps {
				next, changed, out, err := ApplyChat(c, mustParse(t, env))
				if err != nil {
					t.Fatal(err)
				}
				if changed {
					c = &next
				}
				emit = nil
				for _, e := range out {
					emit = append(emit, e.Type)
				}
			}
			if c.Status != tt.wantStatus || c.ThreadID != tt.wantThread || !reflect.DeepEqual(emit, tt.wantEmit) {
				t.Fatalf("status %q thread %q emitted %v", c.Status, c.ThreadID, emit)
			}
		})
	}
	c, _, _, _ := ApplyChat(nil, mustParse(t, incoming(t, "i1", "T1", t0)))
	if _, _, _, err := ApplyChat(&Chat{ChatID: "other"}, mustParse(t, incoming(t, "i1", "T1", t0))); !errors.Is(err, ErrWrongRecord) {
		t.Fatalf("err %v", err)
	}
	b, _ := json.Marshal(c)
	for _, k := range []string{`"chat_id":"PJ0MRSHTDG"`, `"status":"open"`, `"customer":{"id":"b7eff798`, `"timestamps":{"started_at":"2026-01-05T10:00:00Z"}`} {
		if !strings.Contains(string(b), k) {
			t.Fatalf("%s lacks %s", b, k)
		}
	}
}

func TestTasks(t *testing.T) {
	tests := []struct {
		name          string
		before, after string
		cfg           Config
		want          bool
	}{
		{"into Done", "Doing", "Done", Config{}, true},
		{"into Completed, any case", "Review", " completed ", Config{}, true},
		{"Done to Completed is not a new completion", "Done", "Completed", Config{}, false},
		{"into another list", "Doing", "Review", Config{}, false},
		{"configured list", "Doing", "Shipped", Config{DoneLists: ParseDoneLists("Shipped, Live")}, true},
		{"configured lists replace the defaults", "Doing", "Done", Config{DoneLists: ParseDoneLists("Shipped")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := Tasks(mustParse(t, moved(t, "a1", tt.before, tt.after)), tt.cfg)
			if (len(out) == 1) != tt.want {
				t.Fatalf("emitted %v", out)
			}
			if tt.want && (out[0].ID != "a1:task.completed:task:6612a3b4c5d6e7f8a9b0c1d2" || out[0].Subject != "task:6612a3b4c5d6e7f8a9b0c1d2") {
				t.Fatalf("event %+v", out[0])
			}
		})
	}
	if got := ParseDoneLists(" , "); !reflect.DeepEqual(got, DefaultDoneLists) {
		t.Fatalf("empty config → %v", got)
	}
	// A card comment or rename is an updateCard without a list move.
	body := edit(t, readSample(t, "trello/updateCard.json"), func(m map[string]any) {
		d := m["action"].(map[string]any)["data"].(map[string]any)
		delete(d, "listBefore")
		delete(d, "listAfter")
	})
	if out := Tasks(mustParse(t, envelope.Envelope{Provider: "trello", Body: body}), Config{}); len(out) != 0 {
		t.Fatalf("rename emitted %v", out)
	}
}

func TestShuffleDuplicateReplay(t *testing.T) {
	envs := []envelope.Envelope{
		incoming(t, "i1", "T1", t0),
		deactivated(t, "d1", "T1", t0.Add(30*time.Minute)),
		incoming(t, "i2", "T2", t0.Add(time.Hour)),
		deactivated(t, "d2", "T2", t0.Add(80*time.Minute)),
		incoming(t, "i3", "T3", t0.Add(2*time.Hour)),
		deactivated(t, "d1", "T1", t0.Add(31*time.Minute)), // redelivery, received later
		moved(t, "a1", "Doing", "Done"),
		moved(t, "a2", "Done", "Completed"),
		{Provider: "github", EventID: "g1", Type: "push", OccurredAt: t0, Body: readSample(t, "github/push.json")},
	}
	run := func(seq []envelope.Envelope) (*Chat, []domain.Event) {
		var stored []byte
		var all []domain.Event
		for _, env := range seq {
			ev := mustParse(t, env)
			var c *Chat
			if stored != nil && ev.ChatID != "" {
				c = new(Chat)
				if err := json.Unmarshal(stored, c); err != nil {
					t.Fatal(err)
				}
			}
			r, err := Process(ev, c, Config{})
			if err != nil {
				t.Fatal(err)
			}
			if r.ChatChanged {
				stored, _ = json.Marshal(r.Chat)
			}
			all = append(all, r.Emitted...)
		}
		var c Chat
		_ = json.Unmarshal(stored, &c)
		return &c, all
	}
	want, inOrder := run(envs)
	wantChats := map[string]int{}
	for _, e := range inOrder {
		if e.Type == EventChatStarted || e.Type == EventChatClosed {
			wantChats[e.Type]++
		}
	}
	if !reflect.DeepEqual(wantChats, map[string]int{EventChatStarted: 3, EventChatClosed: 2}) {
		t.Fatalf("in order: %v", wantChats)
	}
	if want.Status != StatusOpen || want.ThreadID != "T3" || len(want.Threads) != 3 || !want.Threads["T1"].ClosedAt.Equal(t0.Add(30*time.Minute)) {
		t.Fatalf("in-order chat %+v", want)
	}
	r := rand.New(rand.NewSource(3))
	for i := range 200 {
		var seq []envelope.Envelope
		for _, j := range r.Perm(len(envs)) {
			seq = append(seq, envs[j])
			if r.Intn(3) == 0 {
				seq = append(seq, envs[j])
			}
		}
		for range 3 {
			seq = append(seq, envs[r.Intn(len(envs))])
		}
		got, emitted := run(seq)
		t.Run(fmt.Sprintf("perm%03d", i), func(t *testing.T) {
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("chat differs:\n got %+v\nwant %+v", got, want)
			}
			// Every run of opens and closes is announced once, as in
			// order: started ×3 (T1, T2, T3), closed ×2 (T1, T2).
			seen := map[string]bool{}
			chats := map[string]int{}
			tasks := map[string]bool{}
			for _, e := range emitted {
				switch e.Type {
				case EventChatStarted, EventChatClosed:
					if seen[e.ID] {
						t.Fatalf("%s announced twice", e.ID)
					}
					seen[e.ID] = true
					chats[e.Type]++
				case EventTaskCompleted:
					tasks[e.ID] = true // redeliveries repeat the same id: deduplicated downstream
				}
			}
			if !reflect.DeepEqual(chats, wantChats) {
				t.Fatalf("chat events %v, want %v (in order)", chats, wantChats)
			}
			if len(tasks) != 1 || !tasks["a1:task.completed:task:6612a3b4c5d6e7f8a9b0c1d2"] {
				t.Fatalf("tasks %v", tasks)
			}
		})
	}
}

func FuzzParseLiveChat(f *testing.F) {
	f.Add(readSample(f, "livechat/incoming_chat.json"))
	f.Add(readSample(f, "livechat/chat_deactivated.json"))
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzOne(t, envelope.Envelope{Provider: "livechat", EventID: "d1", OccurredAt: t0, Body: body})
	})
}

func FuzzParseTrello(f *testing.F) {
	f.Add(readSample(f, "trello/updateCard.json"))
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzOne(t, envelope.Envelope{Provider: "trello", OccurredAt: t0, Body: body})
	})
}

func fuzzOne(t *testing.T, env envelope.Envelope) {
	ev, err := Parse(env)
	if err != nil {
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("not ErrMalformed: %v", err)
		}
		return
	}
	r, err := Process(ev, nil, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if f := r.Emitted[len(r.Emitted)-1]; env.Provider == "livechat" && len(f.Data) > 0 {
		var top map[string]json.RawMessage
		if json.Unmarshal(f.Data, &top) != nil {
			t.Fatalf("forwarded livechat data is not an object: %s", f.Data)
		}
		if _, ok := top["secret_key"]; ok {
			t.Fatal("secret forwarded")
		}
	}
	if r.Chat != nil {
		r2, err := Process(ev, r.Chat, Config{})
		if err != nil || r2.ChatChanged || len(r2.Emitted) != 1+len(Tasks(ev, Config{})) {
			t.Fatalf("replay changed state: %+v %v", r2, err)
		}
	}
}
