// Package relay is the pure core of the relay processor: every event that no
// other processor owns. LiveChat incoming_chat / chat_deactivated keep a chat
// record and emit support.chat_started / support.chat_closed; a Trello card
// moved into a "done" list emits task.completed; every event is forwarded raw
// as "<provider>.<type>". No I/O.
//
// Chat state is order-safe: the record keeps each thread's opening time
// (thread.created_at) and closing time (the first chat_deactivated seen for
// it), both joins that do not depend on arrival order. The chat's current
// thread is the one with the latest activity; the chat is closed when that
// thread is. A thread that was closed stays closed when its incoming_chat
// arrives late.
//
// support.chat_started and support.chat_closed are milestones: the chat keeps
// its open/closed writes in time order (History, a domain.Timeline), and each
// run of opens or of closes is announced exactly once, whatever the arrival
// order — what in-order processing announces (a start or a close each time
// the chat's state changes). A late incoming_chat for a chat already closed
// still announces support.chat_started, with its own time, late=true and the
// data of its thread. task.completed is stateless (one per card move).
package relay

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/hookstack/hookstack/shared/domain"
	"github.com/hookstack/hookstack/shared/envelope"
)

// ErrMalformed marks a handled event whose payload lacks what the processor
// needs: permanent.
var ErrMalformed = errors.New("malformed relay event")

// ErrWrongRecord means ApplyChat was given a chat the event is not about.
var ErrWrongRecord = errors.New("event does not concern this record")

// Handled types.
const (
	TypeIncomingChat    = "incoming_chat"
	TypeChatDeactivated = "chat_deactivated"
	TypeUpdateCard      = "updateCard"
)

// Domain event types.
const (
	EventChatStarted   = "support.chat_started"
	EventChatClosed    = "support.chat_closed"
	EventTaskCompleted = "task.completed"
)

// Chat statuses.
const (
	StatusOpen   = "open"
	StatusClosed = "closed"
)

// DefaultDoneLists are the Trello list names that mean done.
var DefaultDoneLists = []string{"Done", "Completed"}

// Config is the processor's configuration.
type Config struct {
	DoneLists []string // nil: DefaultDoneLists
}

// ParseDoneLists reads HOOKSTACK_TRELLO_DONE_LISTS ("Done,Completed").
func ParseDoneLists(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return DefaultDoneLists
	}
	return out
}

func (c Config) isDone(name string) bool {
	lists := c.DoneLists
	if lists == nil {
		lists = DefaultDoneLists
	}
	for _, l := range lists {
		if strings.EqualFold(strings.TrimSpace(name), l) {
			return true
		}
	}
	return false
}

// Customer is the chat's customer as LiveChat describes the user.
type Customer struct {
	ID    string `json:"id"`
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
}

// Thread is one thread of a chat.
type Thread struct {
	OpenedAt     time.Time `json:"opened_at,omitzero"`
	OpenEventID  string    `json:"open_event_id,omitempty"`
	ClosedAt     time.Time `json:"closed_at,omitzero"`
	CloseEventID string    `json:"close_event_id,omitempty"`
}

func (t Thread) activity() time.Time {
	if !t.OpenedAt.IsZero() {
		return t.OpenedAt
	}
	return t.ClosedAt
}

// Timestamps are the current thread's times.
type Timestamps struct {
	StartedAt time.Time `json:"started_at,omitzero"`
	ClosedAt  time.Time `json:"closed_at,omitzero"`
}

// Chat is the record of one LiveChat chat (`GET /api/chats/{chat_id}`).
type Chat struct {
	ChatID          string            `json:"chat_id"`
	Status          string            `json:"status"`
	Customer        Customer          `json:"customer"`
	Timestamps      Timestamps        `json:"timestamps"`
	ThreadID        string            `json:"thread_id"`
	Threads         map[string]Thread `json:"threads"`
	UpdatedAt       time.Time         `json:"updated_at"`
	LastEventID     string            `json:"last_event_id"`
	CustomerVersion domain.Version    `json:"customer_version,omitzero"`
	// History is the chat's open/closed writes in time order: which
	// support.chat_started / chat_closed the chat has announced.
	History domain.Timeline `json:"history,omitzero"`
}

// Subject names the record in domain events.
func (c Chat) Subject() string { return "chat:" + c.ChatID }

// Card is the Trello card an updateCard concerns.
type Card struct {
	ID, Name, BoardID, BoardName, ListBefore, ListAfter string
}

// Event is one parsed inbound relay event.
type Event struct {
	Provider   string
	ID         string
	Type       string
	OccurredAt time.Time
	Body       []byte
	Handled    bool

	ChatID   string    // LiveChat
	ThreadID string    // LiveChat
	Customer *Customer // incoming_chat
	Card     *Card     // Trello updateCard with a list move
}

// Parse reads an envelope of the relay queue. Only LiveChat chat events and
// Trello updateCard are inspected; everything else is forwarded raw.
func Parse(env envelope.Envelope) (Event, error) {
	ev := Event{Provider: env.Provider, ID: env.EventID, Type: env.Type, OccurredAt: env.OccurredAt.UTC(), Body: env.Body}
	switch env.Provider {
	case "livechat":
		return parseLiveChat(ev)
	case "trello":
		return parseTrello(ev)
	}
	return ev, nil
}

func parseLiveChat(ev Event) (Event, error) {
	var p struct {
		Action  string          `json:"action"`
		Payload json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(ev.Body, &p); err != nil {
		return Event{}, fmt.Errorf("%w: livechat: %s", ErrMalformed, domain.DecodeError(err))
	}
	if p.Action != "" {
		ev.Type = p.Action
	}
	switch ev.Type {
	case TypeIncomingChat:
		var pl struct {
			Chat struct {
				ID    string `json:"id"`
				Users []struct {
					ID    string `json:"id"`
					Type  string `json:"type"`
					Name  string `json:"name"`
					Email string `json:"email"`
				} `json:"users"`
				Thread struct {
					ID        string      `json:"id"`
					CreatedAt domain.Time `json:"created_at"`
				} `json:"thread"`
			} `json:"chat"`
		}
		if err := json.Unmarshal(p.Payload, &pl); err != nil {
			return Event{}, fmt.Errorf("%w: livechat %s: %s", ErrMalformed, ev.Type, domain.DecodeError(err))
		}
		c := pl.Chat
		if c.ID == "" || c.Thread.ID == "" || c.Thread.CreatedAt.IsZero() {
			return Event{}, fmt.Errorf("%w: livechat %s: missing chat.id, thread.id or thread.created_at", ErrMalformed, ev.Type)
		}
		ev.ChatID, ev.ThreadID, ev.OccurredAt = c.ID, c.Thread.ID, c.Thread.CreatedAt.UTC()
		for _, u := range c.Users {
			if u.Type == "customer" {
				ev.Customer = &Customer{ID: u.ID, Name: u.Name, Email: u.Email}
				break
			}
		}
	case TypeChatDeactivated:
		var pl struct {
			ChatID   string `json:"chat_id"`
			ThreadID string `json:"thread_id"`
		}
		if err := json.Unmarshal(p.Payload, &pl); err != nil {
			return Event{}, fmt.Errorf("%w: livechat %s: %s", ErrMalformed, ev.Type, domain.DecodeError(err))
		}
		if pl.ChatID == "" || pl.ThreadID == "" || ev.OccurredAt.IsZero() {
			return Event{}, fmt.Errorf("%w: livechat %s: missing chat_id, thread_id or time", ErrMalformed, ev.Type)
		}
		ev.ChatID, ev.ThreadID = pl.ChatID, pl.ThreadID
	default:
		return ev, nil
	}
	if ev.ID == "" {
		return Event{}, fmt.Errorf("%w: livechat %s: no event id", ErrMalformed, ev.Type)
	}
	ev.Handled = true
	return ev, nil
}

func parseTrello(ev Event) (Event, error) {
	if len(bytes.TrimSpace(ev.Body)) == 0 { // HEAD/empty probes carry nothing
		return ev, nil
	}
	var p struct {
		Action struct {
			ID   string      `json:"id"`
			Type string      `json:"type"`
			Date domain.Time `json:"date"`
			Data struct {
				Card struct {
					ID   string `json:"id"`
					Name string `json:"name"`
				} `json:"card"`
				Board struct {
					ID   string `json:"id"`
					Name string `json:"name"`
				} `json:"board"`
				ListBefore *struct {
					Name string `json:"name"`
				} `json:"listBefore"`
				ListAfter *struct {
					Name string `json:"name"`
				} `json:"listAfter"`
			} `json:"data"`
		} `json:"action"`
	}
	if err := json.Unmarshal(ev.Body, &p); err != nil {
		return Event{}, fmt.Errorf("%w: trello: %s", ErrMalformed, domain.DecodeError(err))
	}
	a := p.Action
	if a.Type != "" {
		ev.Type = a.Type
	}
	if ev.ID == "" {
		ev.ID = a.ID
	}
	if !a.Date.IsZero() {
		ev.OccurredAt = a.Date.UTC()
	}
	if a.Type != TypeUpdateCard || a.Data.ListAfter == nil || a.Data.ListBefore == nil {
		return ev, nil // not a list move: raw forward only
	}
	if a.ID == "" || a.Data.Card.ID == "" {
		return Event{}, fmt.Errorf("%w: trello updateCard without action.id or card.id", ErrMalformed)
	}
	ev.Card = &Card{ID: a.Data.Card.ID, Name: a.Data.Card.Name, BoardID: a.Data.Board.ID, BoardName: a.Data.Board.Name,
		ListBefore: a.Data.ListBefore.Name, ListAfter: a.Data.ListAfter.Name}
	ev.Handled = true
	return ev, nil
}

// ApplyChat applies a LiveChat event to the chat record (old nil when none).
// In order, support.chat_started is emitted when the chat's status becomes
// open, support.chat_closed when it becomes closed (also for a chat first
// seen closed); out of order, the runs a late event reveals (see the package
// doc).
func ApplyChat(old *Chat, ev Event) (next Chat, changed bool, emitted []domain.Event, err error) {
	if old != nil {
		if old.ChatID != ev.ChatID {
			return *old, false, nil, fmt.Errorf("apply %s to chat %s: %w", ev.ID, old.ChatID, ErrWrongRecord)
		}
		next = *old
		next.Threads = maps.Clone(old.Threads)
	}
	if !ev.Handled || ev.ChatID == "" {
		return next, false, nil, nil
	}
	next.ChatID = ev.ChatID
	if next.Threads == nil {
		next.Threads = map[string]Thread{}
	}
	th := next.Threads[ev.ThreadID]
	v := domain.Version{At: ev.OccurredAt, EventID: ev.ID}
	// Both times keep the earliest write (by time, then event id): a join.
	earlier := func(curAt time.Time, curID string) bool {
		return curID == "" || (domain.Version{At: curAt, EventID: curID}).After(v)
	}
	var milestones []domain.Milestone
	mark := func(value string, rank int) {
		ins, ms := next.History.Insert(domain.Mark{Version: domain.Version{At: ev.OccurredAt, Rank: rank, EventID: ev.ID}, Value: value, Ref: ev.ThreadID}, chatPhase)
		changed = changed || ins
		milestones = ms
	}
	switch ev.Type {
	case TypeIncomingChat:
		mark(StatusOpen, 1)
		if earlier(th.OpenedAt, th.OpenEventID) {
			th.OpenedAt, th.OpenEventID = ev.OccurredAt, ev.ID
			changed = true
		}
		if ev.Customer != nil {
			if a, _ := domain.Set(&next.Customer, &next.CustomerVersion, *ev.Customer, v); a {
				changed = true
			}
		}
	case TypeChatDeactivated:
		mark(StatusClosed, 2)
		if earlier(th.ClosedAt, th.CloseEventID) {
			th.ClosedAt, th.CloseEventID = ev.OccurredAt, ev.ID
			changed = true
		}
	}
	if !changed {
		if old == nil {
			return Chat{}, false, nil, nil
		}
		return next, false, nil, nil
	}
	next.Threads[ev.ThreadID] = th
	finish(&next)
	for _, m := range milestones {
		d := chatData{ChatID: next.ChatID, ThreadID: next.ThreadID, Status: next.Status, Customer: next.Customer, Timestamps: next.Timestamps}
		if m.Late {
			t := next.Threads[m.Mark.Ref]
			d.ThreadID, d.Status, d.Late = m.Mark.Ref, m.Mark.Value, true
			d.Timestamps = Timestamps{StartedAt: t.OpenedAt, ClosedAt: t.ClosedAt}
		}
		emitted = append(emitted, m.Event(m.Name, next.Subject(), ev.Provider, d))
	}
	return next, true, emitted, nil
}

// chatPhase: a run of opens announces support.chat_started, a run of
// closes support.chat_closed.
func chatPhase(status string) (run, milestone string) {
	if status == StatusClosed {
		return status, EventChatClosed
	}
	return status, EventChatStarted
}

func finish(c *Chat) {
	var cur string
	var curT Thread
	v := c.CustomerVersion
	for id, t := range c.Threads {
		if cur == "" || t.activity().After(curT.activity()) || (t.activity().Equal(curT.activity()) && id > cur) {
			cur, curT = id, t
		}
		if t.OpenEventID != "" {
			v = domain.Max(v, domain.Version{At: t.OpenedAt, EventID: t.OpenEventID})
		}
		if t.CloseEventID != "" {
			v = domain.Max(v, domain.Version{At: t.ClosedAt, EventID: t.CloseEventID})
		}
	}
	c.ThreadID = cur
	c.Status = StatusOpen
	if curT.CloseEventID != "" {
		c.Status = StatusClosed
	}
	c.Timestamps = Timestamps{StartedAt: curT.OpenedAt, ClosedAt: curT.ClosedAt}
	c.UpdatedAt, c.LastEventID = v.At, v.EventID
}

type chatData struct {
	ChatID     string     `json:"chat_id"`
	ThreadID   string     `json:"thread_id"`
	Status     string     `json:"status"`
	Customer   Customer   `json:"customer"`
	Timestamps Timestamps `json:"timestamps"`
	Late       bool       `json:"late,omitempty"` // see domain.Event.Late
}

// Tasks returns task.completed when ev moved a Trello card from a list that
// is not done into one that is (one per move: the id is the action's).
func Tasks(ev Event, cfg Config) []domain.Event {
	c := ev.Card
	if !ev.Handled || c == nil || !cfg.isDone(c.ListAfter) || cfg.isDone(c.ListBefore) {
		return nil
	}
	return []domain.Event{domain.New(EventTaskCompleted, "task:"+c.ID, ev.Provider, ev.ID, ev.OccurredAt, map[string]string{
		"card_id": c.ID, "card_name": c.Name, "board_id": c.BoardID, "board_name": c.BoardName, "list_before": c.ListBefore, "list_after": c.ListAfter,
	})}
}

// Forward is the raw forward of ev. A LiveChat body's secret_key (the
// shared secret that authenticates LiveChat) is removed first: subscribers
// must never receive it.
func Forward(ev Event) domain.Event {
	body := ev.Body
	if ev.Provider == "livechat" {
		body = redactSecret(body)
	}
	raw := domain.Raw(ev.Provider, ev.ID, ev.Type, ev.OccurredAt, body)
	switch {
	case ev.ChatID != "":
		return raw.WithSubject("chat:" + ev.ChatID)
	case ev.Card != nil:
		return raw.WithSubject("task:" + ev.Card.ID)
	}
	return raw
}

func redactSecret(body []byte) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return nil // not an object: forward nothing rather than risk the secret
	}
	if _, ok := m["secret_key"]; !ok {
		return body
	}
	delete(m, "secret_key")
	out, err := json.Marshal(m)
	if err != nil {
		return nil
	}
	return out
}

// Result is the outcome of Process.
type Result struct {
	Chat        *Chat // nil unless the event concerns a chat
	ChatChanged bool
	Emitted     []domain.Event // domain events, then the raw forward (last)
}

// Process handles one relay event given the current chat record of
// ev.ChatID (nil when none or when the event is not a chat event).
func Process(ev Event, chat *Chat, cfg Config) (Result, error) {
	var r Result
	if ev.ChatID != "" {
		c, changed, out, err := ApplyChat(chat, ev)
		if err != nil {
			return Result{}, err
		}
		if changed || chat != nil {
			r.Chat = &c
		}
		r.ChatChanged = changed
		r.Emitted = append(r.Emitted, out...)
	}
	r.Emitted = append(r.Emitted, Tasks(ev, cfg)...)
	r.Emitted = append(r.Emitted, Forward(ev))
	return r, nil
}
