package sample

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// Refresh returns a copy of s with fresh ids and timestamps, so that each
// send is a distinct event for the receiver (a new event id, a current event
// time). rnd supplies the randomness (crypto/rand.Reader in the CLI; a fixed
// stream in tests); now is the send time. Every other byte is kept.
//
// Per provider:
//   - stripe: body id (new "evt_…") and created.
//   - github: X-GitHub-Delivery, and the body, which is what identifies a
//     GitHub event here (its delivery header is not signed): a push gets a
//     new head commit sha (after, head_commit, that commit in commits) and
//     times; a pull request a new head sha and updated_at; a ping a new
//     hook id, as when a hook is created.
//   - shopify: X-Shopify-Event-Id, X-Shopify-Webhook-Id, X-Shopify-Triggered-At,
//     and the body's top-level updated_at (in the sample's own UTC offset), which
//     orders inventory levels and products.
//   - slack: event_id, event_time and the inner event's ts/event_ts of an
//     event_callback; the challenge of a url_verification.
//   - standard: the webhook-id header (added when absent), the body's
//     timestamp and its data.updated_at (which orders inventory adjustments).
//   - hubspot: every element's eventId and occurredAt.
//   - trello: action.id and action.date.
//   - twilio: I-Twilio-Idempotency-Token; a new message sid (MessageSid and
//     SmsSid, "SM" and 32 hex digits: the event id is sid:status) and
//     RawDlrDoneDate (YYMMDDhhmm).
//   - zoom: event_ts; the plainToken of an endpoint.url_validation.
//   - salesforce: every Notification Id.
//   - livechat: a new thread id (payload.chat.thread.id with the ids of its
//     events, "<thread>_<n>", or payload.thread_id) in the same chat, and the
//     thread/event created_at where the payload has one. The event id is a
//     hash of the body, so it changes with them; chat_deactivated, which has no
//     time, becomes a new event by its thread id. Each incoming_chat opens a
//     new thread of the chat and each chat_deactivated closes one, at the time
//     sent, so the chat's status follows the triggers in order.
//
// Fields a sample lacks are left out, not added.
func Refresh(s Sample, now time.Time, rnd io.Reader) (Sample, error) {
	out := s.Clone()
	f, ok := refreshers[s.Provider]
	if !ok {
		return Sample{}, fmt.Errorf("refresh %s: %w", s.Provider, ErrUnknownProvider)
	}
	r := &refresher{s: &out, now: now.UTC(), ids: ids{rnd: rnd}}
	if err := f(r); err != nil {
		return Sample{}, fmt.Errorf("refresh %s: %w", s.Path, err)
	}
	return out, nil
}

// Complete fills in the delivery headers a provider always sends but a
// hand-written request may lack (for `hookstack send`): github
// X-GitHub-Delivery; shopify X-Shopify-Webhook-Id, X-Shopify-Event-Id and
// X-Shopify-Triggered-At. Present headers are kept. (Standard Webhooks'
// webhook-id is made by the signer when absent.)
func Complete(s *Sample, now time.Time, rnd io.Reader) error {
	r := &refresher{s: s, now: now.UTC(), ids: ids{rnd: rnd}}
	var missing []func() error
	switch s.Provider {
	case "github":
		missing = []func() error{r.headerIfMissing("X-Github-Delivery", r.uuid)}
	case "shopify":
		missing = []func() error{
			r.headerIfMissing("X-Shopify-Webhook-Id", r.uuid),
			r.headerIfMissing("X-Shopify-Event-Id", r.uuid),
			r.headerIfMissing("X-Shopify-Triggered-At", func() (string, error) { return r.now.Format(shopifyTime), nil }),
		}
	}
	for _, fill := range missing {
		if err := fill(); err != nil {
			return fmt.Errorf("complete %s headers: %w", s.Provider, err)
		}
	}
	return nil
}

type refresher struct {
	s   *Sample
	now time.Time
	ids
}

const (
	shopifyTime  = "2006-01-02T15:04:05.000Z"
	trelloTime   = "2006-01-02T15:04:05.000Z"
	liveChatTime = "2006-01-02T15:04:05.000000Z"
	// twilioDlrTime is RawDlrDoneDate's layout (the carrier's done date).
	twilioDlrTime = "0601021504"
	// liveChatIDLen is the length of a LiveChat chat or thread id (K600PKZON8).
	liveChatIDLen = 10
)

var refreshers = map[string]func(*refresher) error{
	"stripe": func(r *refresher) error {
		return r.each(
			r.setJSON("id", r.quoted(r.prefixed("evt_", 24))),
			r.setJSON("created", r.number(r.now.Unix())),
		)
	},
	"github": func(r *refresher) error {
		// GitHub signs the body only: its delivery id is an unsigned header,
		// so Hookstack keys what must happen once per event by the body's
		// hash (envelope.UnsignedEventID). A trigger must therefore change
		// the body too: a new commit (push), a new head commit (pull
		// request) or a new hook (ping, as when a hook is created).
		sha, err := r.hex(20)
		if err != nil {
			return err
		}
		hook, err := r.digits(9)()
		if err != nil {
			return err
		}
		value := func(v string) func() (string, error) { return func() (string, error) { return v, nil } }
		steps := []func() error{r.header("X-Github-Delivery", r.uuid)}
		if old := gjson.GetBytes(r.s.Body, "after").Str; old != "" {
			steps = append(steps, r.setJSON("after", value(strconv.Quote(sha))))
			for _, p := range []string{"head_commit.id", "commits.#.id"} {
				if p == "commits.#.id" {
					// The commit that was the head is the new sha.
					for i, id := range gjson.GetBytes(r.s.Body, p).Array() {
						if id.Str == old {
							steps = append(steps, r.setJSON("commits."+strconv.Itoa(i)+".id", value(strconv.Quote(sha))),
								r.setTimeLike("commits."+strconv.Itoa(i)+".timestamp"))
						}
					}
					continue
				}
				steps = append(steps, r.setJSON(p, value(strconv.Quote(sha))))
			}
			steps = append(steps, r.setTimeLike("head_commit.timestamp"))
			if gjson.GetBytes(r.s.Body, "repository.pushed_at").Type == gjson.Number {
				steps = append(steps, r.setJSON("repository.pushed_at", r.number(r.now.Unix())))
			}
		}
		steps = append(steps,
			r.setJSON("pull_request.head.sha", value(strconv.Quote(sha))),
			r.setTimeLike("pull_request.updated_at"),
			r.setJSON("hook_id", value(hook)),
			r.setJSON("hook.id", value(hook)),
			r.setTimeLike("hook.created_at"),
			r.setTimeLike("hook.updated_at"),
		)
		return r.each(steps...)
	},
	"shopify": func(r *refresher) error {
		return r.each(
			r.header("X-Shopify-Event-Id", r.uuid),
			r.header("X-Shopify-Webhook-Id", r.uuid),
			r.header("X-Shopify-Triggered-At", func() (string, error) { return r.now.Format(shopifyTime), nil }),
			r.setTimeLike("updated_at"),
		)
	},
	"slack": func(r *refresher) error {
		slackTS := func() (string, error) {
			return strconv.Quote(fmt.Sprintf("%d.%06d", r.now.Unix(), r.now.Nanosecond()/1000)), nil
		}
		return r.each(
			r.setJSON("event_id", r.quoted(r.prefixedUpper("Ev", 10))),
			r.setJSON("event_time", r.number(r.now.Unix())),
			r.setJSON("event.ts", slackTS),
			r.setJSON("event.event_ts", slackTS),
			r.setJSON("challenge", r.quoted(r.prefixed("", 52))),
		)
	},
	"standard": func(r *refresher) error {
		return r.each(
			r.setHeader("Webhook-Id", r.prefixed("msg_", 27)),
			r.setJSON("timestamp", r.quoted(func() (string, error) { return r.now.Format(time.RFC3339), nil })),
			r.setTimeLike("data.updated_at"),
		)
	},
	"hubspot": func(r *refresher) error {
		n := int(gjson.GetBytes(r.s.Body, "#").Int())
		if !gjson.GetBytes(r.s.Body, "#").Exists() { // a single object: a batch of one
			return r.each(
				r.setJSON("eventId", r.digits(10)),
				r.setJSON("occurredAt", r.number(r.now.UnixMilli())),
			)
		}
		var steps []func() error
		for i := range n {
			steps = append(steps,
				r.setJSON(strconv.Itoa(i)+".eventId", r.digits(10)),
				r.setJSON(strconv.Itoa(i)+".occurredAt", r.number(r.now.UnixMilli())),
			)
		}
		return r.each(steps...)
	},
	"trello": func(r *refresher) error {
		return r.each(
			r.setJSON("action.id", r.quoted(r.objectID)),
			r.setJSON("action.date", r.quoted(func() (string, error) { return r.now.Format(trelloTime), nil })),
		)
	},
	"twilio": func(r *refresher) error {
		if err := r.each(r.header("I-Twilio-Idempotency-Token", r.uuid)); err != nil {
			return err
		}
		// One new sid for the message, under every name the form has it.
		values := map[string]string{}
		sid := ""
		for _, key := range []string{"MessageSid", "SmsSid", "SmsMessageSid"} {
			if old, ok := formValue(r.s.Body, key); !ok || !strings.HasPrefix(old, "SM") {
				continue
			}
			if sid == "" {
				h, err := r.hex(16)
				if err != nil {
					return err
				}
				sid = "SM" + h
			}
			values[key] = sid
		}
		if _, ok := formValue(r.s.Body, "RawDlrDoneDate"); ok {
			values["RawDlrDoneDate"] = r.now.Format(twilioDlrTime)
		}
		body, err := setFormValues(r.s.Body, values)
		if err != nil {
			return err
		}
		r.s.Body = body
		return nil
	},
	"zoom": func(r *refresher) error {
		return r.each(
			r.setJSON("event_ts", r.number(r.now.UnixMilli())),
			r.setJSON("payload.plainToken", r.quoted(r.token(16))),
		)
	},
	"salesforce": func(r *refresher) error {
		body, err := replaceNotificationIDs(r.s.Body, func() (string, error) { return r.salesforceID("04l") })
		if err != nil {
			return err
		}
		r.s.Body = body
		return nil
	},
	"livechat": func(r *refresher) error {
		thread, err := r.alnum(liveChatIDLen, upperAlnum)
		if err != nil {
			return err
		}
		if err := r.liveChatThread(thread); err != nil {
			return err
		}
		var steps []func() error
		for _, p := range []string{
			"payload.chat.thread.created_at", "payload.thread.created_at",
			"payload.event.created_at", "payload.created_at",
		} {
			steps = append(steps, r.setJSON(p, r.quoted(func() (string, error) { return r.now.Format(liveChatTime), nil })))
		}
		return r.each(steps...)
	},
}

// liveChatThread gives the payload's thread the id thread: an incoming_chat's
// payload.chat.thread.id and the ids of its events that start with the old
// one ("K600PKZON8_1"), or a thread webhook's payload.thread_id.
func (r *refresher) liveChatThread(thread string) error {
	body := r.s.Body
	if old := gjson.GetBytes(body, "payload.chat.thread.id"); old.Type == gjson.String && old.Str != "" {
		var err error
		if body, _, err = setJSON(body, "payload.chat.thread.id", strconv.Quote(thread)); err != nil {
			return err
		}
		n := int(gjson.GetBytes(body, "payload.chat.thread.events.#").Int())
		for i := range n {
			path := "payload.chat.thread.events." + strconv.Itoa(i) + ".id"
			id := gjson.GetBytes(body, path)
			if id.Type != gjson.String || !strings.HasPrefix(id.Str, old.Str) {
				continue
			}
			if body, _, err = setJSON(body, path, strconv.Quote(thread+strings.TrimPrefix(id.Str, old.Str))); err != nil {
				return err
			}
		}
	}
	if old := gjson.GetBytes(body, "payload.thread_id"); old.Type == gjson.String && old.Str != "" {
		var err error
		if body, _, err = setJSON(body, "payload.thread_id", strconv.Quote(thread)); err != nil {
			return err
		}
	}
	r.s.Body = body
	return nil
}

// setTimeLike sets the JSON string at path, when the body has an RFC 3339
// time there, to now written the same way: the same UTC offset (Shopify
// writes the shop's, 2026-01-05T09:12:44-05:00) and the same number of
// fractional digits.
func (r *refresher) setTimeLike(path string) func() error {
	return func() error {
		old := gjson.GetBytes(r.s.Body, path)
		if old.Type != gjson.String {
			return nil
		}
		t, err := time.Parse(time.RFC3339Nano, old.Str)
		if err != nil {
			return nil // not a time we can imitate: left as it is
		}
		layout := "2006-01-02T15:04:05"
		if i := strings.IndexByte(old.Str, '.'); i >= 0 {
			digits := len(old.Str[i+1:]) - len(strings.TrimLeft(old.Str[i+1:], "0123456789"))
			layout += "." + strings.Repeat("0", digits)
		}
		if strings.HasSuffix(old.Str, "Z") {
			layout += "Z"
		} else {
			layout += "-07:00"
		}
		_, offset := t.Zone()
		now := r.now.In(time.FixedZone("", offset))
		if strings.HasSuffix(old.Str, "Z") {
			now = r.now.UTC()
		}
		return r.setJSON(path, r.quoted(func() (string, error) { return now.Format(layout), nil }))()
	}
}

// each runs the steps in order.
func (r *refresher) each(steps ...func() error) error {
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// setJSON replaces the JSON value at path (a gjson path) with the encoded
// value from gen, when the body has it.
func (r *refresher) setJSON(path string, gen func() (string, error)) func() error {
	return func() error {
		v, err := gen()
		if err != nil {
			return err
		}
		body, _, err := setJSON(r.s.Body, path, v)
		if err != nil {
			return err
		}
		r.s.Body = body
		return nil
	}
}

// header replaces a header the sample has.
func (r *refresher) header(name string, gen func() (string, error)) func() error {
	return func() error {
		if r.s.Header.Get(name) == "" {
			return nil
		}
		v, err := gen()
		if err != nil {
			return err
		}
		r.s.Header.Set(name, v)
		return nil
	}
}

// setHeader sets a header, present or not.
func (r *refresher) setHeader(name string, gen func() (string, error)) func() error {
	return func() error {
		v, err := gen()
		if err != nil {
			return err
		}
		r.s.Header.Set(name, v)
		return nil
	}
}

// headerIfMissing sets a header the sample lacks.
func (r *refresher) headerIfMissing(name string, gen func() (string, error)) func() error {
	return func() error {
		if r.s.Header == nil {
			r.s.Header = make(map[string][]string)
		}
		if r.s.Header.Get(name) != "" {
			return nil
		}
		v, err := gen()
		if err != nil {
			return err
		}
		r.s.Header.Set(name, v)
		return nil
	}
}

func (r *refresher) quoted(gen func() (string, error)) func() (string, error) {
	return func() (string, error) {
		v, err := gen()
		if err != nil {
			return "", err
		}
		return strconv.Quote(v), nil
	}
}

func (r *refresher) number(n int64) func() (string, error) {
	return func() (string, error) { return strconv.FormatInt(n, 10), nil }
}

func (r *refresher) prefixed(prefix string, n int) func() (string, error) {
	return func() (string, error) {
		v, err := r.alnum(n, base62)
		return prefix + v, err
	}
}

func (r *refresher) prefixedUpper(prefix string, n int) func() (string, error) {
	return func() (string, error) {
		v, err := r.alnum(n, upperAlnum)
		return prefix + v, err
	}
}

// objectID is a Trello (MongoDB) id: 4 bytes of seconds, 8 random bytes, hex.
func (r *refresher) objectID() (string, error) {
	rest, err := r.hex(8)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%08x", uint32(r.now.Unix())) + rest, nil
}
