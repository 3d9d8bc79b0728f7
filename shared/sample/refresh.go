package sample

import (
	"fmt"
	"io"
	"strconv"
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
//   - github: X-GitHub-Delivery.
//   - shopify: X-Shopify-Event-Id, X-Shopify-Webhook-Id, X-Shopify-Triggered-At.
//   - slack: event_id, event_time and the inner event's ts/event_ts of an
//     event_callback; the challenge of a url_verification.
//   - standard: the webhook-id header (added when absent) and the body's
//     timestamp.
//   - hubspot: every element's eventId and occurredAt.
//   - trello: action.id and action.date.
//   - twilio: I-Twilio-Idempotency-Token (the sids, hence the event id, stay).
//   - zoom: event_ts; the plainToken of an endpoint.url_validation.
//   - salesforce: every Notification Id.
//   - livechat: the thread/event created_at where the payload has one (the
//     event id is a hash of the body, so it changes with it; a payload with
//     no time, such as chat_deactivated, stays the same event).
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
)

var refreshers = map[string]func(*refresher) error{
	"stripe": func(r *refresher) error {
		return r.each(
			r.setJSON("id", r.quoted(r.prefixed("evt_", 24))),
			r.setJSON("created", r.number(r.now.Unix())),
		)
	},
	"github": func(r *refresher) error {
		return r.each(r.header("X-Github-Delivery", r.uuid))
	},
	"shopify": func(r *refresher) error {
		return r.each(
			r.header("X-Shopify-Event-Id", r.uuid),
			r.header("X-Shopify-Webhook-Id", r.uuid),
			r.header("X-Shopify-Triggered-At", func() (string, error) { return r.now.Format(shopifyTime), nil }),
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
		return r.each(r.header("I-Twilio-Idempotency-Token", r.uuid))
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
