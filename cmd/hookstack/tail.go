package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// noDevServer is the error for a dev server that does not answer.
func noDevServer(base string, err error) error {
	return fmt.Errorf("no dev server answers at %s: start one with `make dev` or `hookstack dev`, or set HOOKSTACK_DEV_URL (or --dev-url) to where it runs: %w", base, err)
}

// apiError reads a dev server's {"error": ...} answer.
func apiError(resp *http.Response) string {
	var e struct {
		Error string `json:"error"`
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(b, &e) == nil && e.Error != "" {
		return e.Error
	}
	return strings.TrimSpace(string(b))
}

// tailEvent is one event-log summary, as /api/events and /api/stream give it.
type tailEvent struct {
	ID         string    `json:"id"`
	Provider   string    `json:"provider"`
	EventID    string    `json:"event_id"`
	Type       string    `json:"type"`
	Queue      string    `json:"queue"`
	ReceivedAt time.Time `json:"received_at"`
	Status     string    `json:"status"`
	Reason     string    `json:"reason,omitempty"`
	HTTPStatus int       `json:"http_status"`
}

// tailDelivery is one outbound delivery attempt: an item of the dev server's
// GET /api/deliveries and the data of its stream's "delivery" messages
// (notify.Attempt), or what the deployed deliverer logs of one.
type tailDelivery struct {
	DeliveryID     string    `json:"delivery_id"`
	NotificationID string    `json:"notification_id,omitempty"`
	EventType      string    `json:"event_type,omitempty"`
	EndpointID     string    `json:"endpoint_id"`
	Attempt        int       `json:"attempt,omitempty"`
	Outcome        string    `json:"outcome"` // delivered, retry, disabled, failed, dropped
	StatusCode     int       `json:"status_code,omitempty"`
	DurationMS     int64     `json:"duration_ms,omitempty"`
	Reason         string    `json:"reason,omitempty"`
	Error          string    `json:"error,omitempty"`
	AttemptedAt    time.Time `json:"attempted_at"`
	NextAttemptAt  time.Time `json:"next_attempt_at,omitzero"`
}

// Kinds of tail's lines (the "kind" field of --json).
const (
	kindEvent    = "event"
	kindDelivery = "delivery"
)

// tailLine is one line tail prints: a received event (or its status
// change) or a delivery attempt. raw, when set, is the object as the dev
// server sent it (--json prints it whole, with "kind" added).
type tailLine struct {
	event    *tailEvent
	delivery *tailDelivery
	raw      json.RawMessage
}

func (l tailLine) at() time.Time {
	if l.delivery != nil {
		return l.delivery.AttemptedAt
	}
	return l.event.ReceivedAt
}

// tailFilter is --provider and --type: events by their provider and type;
// deliveries by their event_type, and none at all with --provider (a
// delivery carries a domain event, of no one provider).
type tailFilter struct{ provider, typ string }

func (f tailFilter) keep(l tailLine) bool {
	if l.delivery != nil {
		return f.provider == "" && (f.typ == "" || l.delivery.EventType == f.typ)
	}
	return (f.provider == "" || l.event.Provider == f.provider) && (f.typ == "" || l.event.Type == f.typ)
}

type tailOptions struct {
	mgmtFlags
	provider, typ string
	since         time.Duration
	poll          time.Duration // how often to read the stack's logs
}

func newTailCmd(getenv func(string) string) *cobra.Command {
	var o tailOptions
	cmd := &cobra.Command{
		Use:   "tail",
		Short: "Follow received webhooks, their processing outcomes and outbound deliveries as they happen",
		Long: `tail follows a running dev server (hookstack dev) and prints one line per received
request and per status change: time, provider, type, event id, status (queued, processed,
failed, dead or rejected) and the reason of a rejection or failure; and one line per
outbound delivery attempt: time, "delivery", event type, endpoint id, outcome (delivered,
retry, disabled, failed or dropped) with the HTTP status, the attempt number, the time of
the next attempt of a retry, and the reason. --type applies to events and deliveries (a
delivery's type is its outbound event type, e.g. payment.succeeded); --provider shows that
provider's requests only, and no deliveries. --since prints what happened in that past
window first. --json prints one JSON object per line, with "kind": "event" or "delivery".
Ctrl-C stops it.

With --stack (or --aws) it follows a deployed stack instead: it reads the ingest,
processor and deliverer functions' log lines from CloudWatch Logs (the stack's LogGroup
outputs; needs logs:FilterLogEvents), polling every --poll. Lines appear once CloudWatch
Logs has them, usually a few seconds after the event.

` + mgmtRule,
		Example: `  hookstack tail
  hookstack tail --provider stripe --since 10m
  hookstack tail --type payment.succeeded
  hookstack tail --json | jq 'select(.kind == "delivery") | .outcome'
  hookstack tail --dev-url http://127.0.0.1:9000
  hookstack tail --stack Hookstack --since 1h --provider github`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.provider != "" {
				if err := checkProvider(o.provider); err != nil {
					return err
				}
			}
			if o.since < 0 {
				return fmt.Errorf("--since %s is negative: give a past window such as 10m or 2h", o.since)
			}
			t, err := o.target(cmd, getenv)
			if err != nil {
				return err
			}
			if t.aws {
				if o.poll < 100*time.Millisecond {
					return fmt.Errorf("--poll %s is too short: CloudWatch Logs answers in about a second; use 1s or more", o.poll)
				}
				return runTailStack(cmd, t.stack, o)
			}
			return runTail(cmd, t.devURL, o)
		},
	}
	o.register(cmd, false)
	o.registerURLAlias(cmd)
	cmd.Flags().BoolVar(&o.json, "json", false, `print one JSON object per line: events ("kind": "event") and delivery attempts ("kind": "delivery")`)
	cmd.Flags().StringVar(&o.provider, "provider", "", "only this provider's requests (and no deliveries)")
	cmd.Flags().StringVar(&o.typ, "type", "", "only this event type: a request's as the provider names it (payment_intent.succeeded), a delivery's outbound type (payment.succeeded)")
	cmd.Flags().DurationVar(&o.since, "since", 0, "first print what happened this long ago and since (e.g. 10m)")
	cmd.Flags().DurationVar(&o.poll, "poll", 2*time.Second, "with --stack: how often to read the logs")
	return cmd
}

func runTail(cmd *cobra.Command, base string, o tailOptions) error {
	ctx := cmd.Context()
	filter := tailFilter{provider: o.provider, typ: o.typ}
	q := url.Values{}
	if o.provider != "" {
		q.Set("provider", o.provider)
	}
	// --type is not sent: the server filters its events by it, and would
	// not know it also names deliveries' types; filter applies it here.
	// Subscribe first, so nothing falls between the history and the stream.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/stream?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return noDevServer(base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return fmt.Errorf("%s/api/stream answered %d %s: is it a hookstack dev server of this version? %s", base, resp.StatusCode, resp.Header.Get("Content-Type"), apiError(resp))
	}
	out := cmd.OutOrStdout()
	p := &tailPrinter{w: out, json: o.json}
	if o.since > 0 {
		history, err := tailHistory(ctx, cmd.ErrOrStderr(), base, q, filter, time.Now().Add(-o.since))
		if err != nil {
			return err
		}
		for _, l := range history {
			p.print(l)
		}
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "following %s (Ctrl-C to stop)\n", base)

	sse := newSSEReader(resp.Body)
	for {
		m, err := sse.next()
		if err != nil {
			if ctx.Err() != nil {
				return nil // Ctrl-C
			}
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return fmt.Errorf("the dev server at %s closed the stream (stopped?): start it again and rerun hookstack tail", base)
			}
			return fmt.Errorf("read the stream from %s: %w", base, err)
		}
		l, ok := tailLineOf(m)
		if ok && filter.keep(l) {
			p.print(l)
		}
	}
}

// tailLineOf reads a stream message: "event" (an event summary) or
// "delivery" (a delivery attempt); false for anything else, which is
// skipped rather than stopping the follow.
func tailLineOf(m sseMessage) (tailLine, bool) {
	switch m.Event {
	case kindEvent:
		var e tailEvent
		if json.Unmarshal(m.Data, &e) != nil {
			return tailLine{}, false
		}
		return tailLine{event: &e}, true
	case kindDelivery:
		var d tailDelivery
		if json.Unmarshal(m.Data, &d) != nil || d.DeliveryID == "" {
			return tailLine{}, false
		}
		return tailLine{delivery: &d, raw: m.Data}, true
	}
	return tailLine{}, false
}

// tailHistory returns the requests received and the delivery attempts made
// since from, oldest first. A dev server without GET /api/deliveries gives
// the requests only (with a note on stderr).
func tailHistory(ctx context.Context, stderr io.Writer, base string, q url.Values, filter tailFilter, from time.Time) ([]tailLine, error) {
	hq := url.Values{"limit": {"1000"}}
	for k, v := range q {
		hq[k] = v
	}
	if filter.typ != "" {
		hq.Set("type", filter.typ)
	}
	var events []tailEvent
	if err := getJSON(ctx, base, "/api/events?"+hq.Encode(), &events); err != nil {
		return nil, err
	}
	var out []tailLine
	for _, e := range events {
		l := tailLine{event: &e}
		if !e.ReceivedAt.Before(from) && filter.keep(l) {
			out = append(out, l)
		}
	}
	if filter.provider == "" {
		var raws []json.RawMessage
		if err := getJSON(ctx, base, "/api/deliveries", &raws); err != nil {
			fmt.Fprintf(stderr, "note: no delivery history (%v)\n", err)
		}
		for _, raw := range raws {
			l, ok := tailLineOf(sseMessage{Event: kindDelivery, Data: raw})
			if ok && !l.delivery.AttemptedAt.Before(from) && filter.keep(l) {
				out = append(out, l)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b tailLine) int { return a.at().Compare(b.at()) })
	return out, nil
}

// getJSON decodes the dev server's 200 answer to GET base+path into v.
func getJSON(ctx context.Context, base, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return noDevServer(base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s%s answered %d: %s", base, path, resp.StatusCode, apiError(resp))
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("read %s%s: %w", base, path, err)
	}
	return nil
}

// tailPrinter prints one line per event or delivery attempt: aligned text,
// or JSON lines with a "kind".
type tailPrinter struct {
	w    io.Writer
	json bool
}

func (p *tailPrinter) print(l tailLine) {
	if p.json {
		kind, raw := kindEvent, l.raw
		if l.delivery != nil {
			kind = kindDelivery
		}
		if raw == nil {
			if l.delivery != nil {
				raw, _ = json.Marshal(l.delivery)
			} else {
				raw, _ = json.Marshal(l.event)
			}
		}
		fmt.Fprintf(p.w, "%s\n", withKind(kind, raw))
		return
	}
	if l.delivery != nil {
		fmt.Fprintln(p.w, deliveryText(*l.delivery))
		return
	}
	e := l.event
	line := fmt.Sprintf("%s  %-10s  %-30s  %-36s  %s", e.ReceivedAt.Local().Format(tailTime), orDash(e.Provider), orDash(e.Type), orDash(e.EventID), orDash(e.Status))
	if e.Status == "rejected" && e.HTTPStatus != 0 {
		line += fmt.Sprintf(" (%d)", e.HTTPStatus)
	}
	if e.Reason != "" {
		line += "  " + e.Reason
	}
	fmt.Fprintln(p.w, strings.TrimRight(line, " "))
}

// tailTime is the layout of the time column.
const tailTime = "15:04:05.000"

// deliveryText is a delivery attempt's line, in the columns of the event
// lines: time, "delivery", event type, endpoint id, then the outcome with
// the HTTP status, the attempt, the next attempt and the reason.
func deliveryText(d tailDelivery) string {
	line := fmt.Sprintf("%s  %-10s  %-30s  %-36s  %s", d.AttemptedAt.Local().Format(tailTime), kindDelivery, orDash(d.EventType), orDash(d.EndpointID), orDash(d.Outcome))
	if d.StatusCode != 0 {
		line += fmt.Sprintf(" (%d)", d.StatusCode)
	}
	if d.Attempt > 0 {
		line += fmt.Sprintf("  attempt %d", d.Attempt)
	}
	if !d.NextAttemptAt.IsZero() {
		line += "  next " + d.NextAttemptAt.Local().Format("15:04:05")
	}
	if why := oneLine(joinNonEmpty(d.Reason, d.Error)); why != "" {
		line += "  " + why
	}
	return strings.TrimRight(line, " ")
}

func joinNonEmpty(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "" || a == b:
		return a
	}
	return a + ": " + b
}

// withKind returns the JSON object raw, compacted, with "kind" first. A
// value that is not an object is wrapped: {"kind":..., "data": raw}.
func withKind(kind string, raw []byte) []byte {
	var buf bytes.Buffer
	if json.Compact(&buf, raw) != nil || buf.Len() < 2 || buf.Bytes()[0] != '{' {
		b, _ := json.Marshal(struct {
			Kind string          `json:"kind"`
			Data json.RawMessage `json:"data,omitempty"`
		}{kind, json.RawMessage(buf.Bytes())})
		return b
	}
	obj := buf.Bytes()
	var peek map[string]json.RawMessage
	if json.Unmarshal(obj, &peek) == nil {
		if _, has := peek["kind"]; has {
			return obj // the server's own kind wins
		}
	}
	out := []byte(`{"kind":` + strconv.Quote(kind))
	if rest := obj[1:]; rest[0] != '}' {
		out = append(out, ',')
		out = append(out, rest...)
	} else {
		out = append(out, '}')
	}
	return out
}

// sseMessage is one Server-Sent Events message.
type sseMessage struct {
	Event string
	Data  []byte
}

// sseReader parses a text/event-stream (the subset the dev server writes,
// read leniently: comments, id and retry fields are skipped, multi-line data
// is joined with "\n", CRLF line ends are accepted).
type sseReader struct {
	r *bufio.Reader
}

// maxSSELine bounds one line, so a broken server cannot exhaust memory.
const maxSSELine = 1 << 20

func newSSEReader(r io.Reader) *sseReader { return &sseReader{r: bufio.NewReaderSize(r, 64<<10)} }

// next returns the next message with data; io.EOF at the end of the stream.
func (s *sseReader) next() (sseMessage, error) {
	var m sseMessage
	var data [][]byte
	hasData := false
	for {
		line, err := s.readLine()
		if err != nil {
			if errors.Is(err, io.EOF) && hasData {
				err = io.ErrUnexpectedEOF // a message cut short is not dispatched
			}
			return sseMessage{}, err
		}
		if len(line) == 0 {
			if hasData {
				m.Data = bytes.Join(data, []byte("\n"))
				if m.Event == "" {
					m.Event = "message"
				}
				return m, nil
			}
			m = sseMessage{}
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "event":
			m.Event = string(value)
		case "data":
			data = append(data, bytes.Clone(value))
			hasData = true
		}
	}
}

func (s *sseReader) readLine() ([]byte, error) {
	var line []byte
	for {
		chunk, isPrefix, err := s.r.ReadLine()
		if err != nil {
			return nil, err
		}
		line = append(line, chunk...)
		if len(line) > maxSSELine {
			return nil, fmt.Errorf("stream line longer than %d bytes", maxSSELine)
		}
		if !isPrefix {
			return line, nil
		}
	}
}
