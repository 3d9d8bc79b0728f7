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
	"strings"
	"time"

	"github.com/hookstack/hookstack/shared/stack"
	"github.com/spf13/cobra"
)

// devFlags are the flags of the commands that talk to a running dev server.
type devFlags struct {
	url  string
	json bool
}

func (f *devFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.url, "url", "", "the dev server (default $HOOKSTACK_DEV_URL, else "+defaultDevURL+")")
	cmd.Flags().BoolVar(&f.json, "json", false, "print JSON (tail: one object per line)")
}

// devBase is the dev server's base URL: --url, else HOOKSTACK_DEV_URL,
// else the default, without a trailing slash or path.
func devBase(getenv func(string) string, flag string) (string, error) {
	raw, from := flag, "--url"
	if raw == "" {
		raw, from = getenv("HOOKSTACK_DEV_URL"), "HOOKSTACK_DEV_URL"
	}
	if raw == "" {
		raw = defaultDevURL
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%s %q is not an http(s) URL: use e.g. %s", from, raw, defaultDevURL)
	}
	return u.Scheme + "://" + u.Host + strings.TrimRight(u.Path, "/"), nil
}

// noDevServer is the error for a dev server that does not answer.
func noDevServer(base string, err error) error {
	return fmt.Errorf("no dev server answers at %s: start one with `make dev` or `hookstack dev`, or set HOOKSTACK_DEV_URL (or --url) to where it runs: %w", base, err)
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

type tailOptions struct {
	devFlags
	provider, typ string
	since         time.Duration
	stack         string        // follow this deployed stack (CloudWatch Logs) instead of a dev server
	aws           bool          // --aws: the stack named by $HOOKSTACK_STACK, else the default
	poll          time.Duration // how often to read the stack's logs
}

func newTailCmd(getenv func(string) string) *cobra.Command {
	var o tailOptions
	cmd := &cobra.Command{
		Use:   "tail",
		Short: "Follow received webhooks and their processing outcomes as they happen",
		Long: `tail follows a running dev server (hookstack dev) and prints one line per received
request and per status change: time, provider, type, event id, status (queued, processed,
failed, dead or rejected) and the reason of a rejection or failure. --since prints the
requests received in that past window first. Ctrl-C stops it.

With --stack (or --aws) it follows a deployed stack instead: it reads the ingest and
processor functions' log lines from CloudWatch Logs (the stack's LogGroup outputs; needs
logs:FilterLogEvents), polling every --poll. Lines appear once CloudWatch Logs has them,
usually a few seconds after the event.`,
		Example: `  hookstack tail
  hookstack tail --provider stripe --since 10m
  hookstack tail --type push --json | jq .status
  hookstack tail --url http://127.0.0.1:9000
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
			if o.stack != "" || o.aws {
				if o.url != "" {
					return errors.New("--url follows a dev server, --stack and --aws a deployed stack: give one of them")
				}
				if o.poll < 100*time.Millisecond {
					return fmt.Errorf("--poll %s is too short: CloudWatch Logs answers in about a second; use 1s or more", o.poll)
				}
				return runTailStack(cmd, getenv, o)
			}
			return runTail(cmd, getenv, o)
		},
	}
	o.register(cmd)
	cmd.Flags().StringVar(&o.provider, "provider", "", "only this provider's requests")
	cmd.Flags().StringVar(&o.typ, "type", "", "only this event type (as the provider names it, e.g. payment_intent.succeeded)")
	cmd.Flags().DurationVar(&o.since, "since", 0, "first print the requests received this long ago and since (e.g. 10m)")
	cmd.Flags().StringVar(&o.stack, "stack", "", "follow this deployed stack's CloudWatch Logs instead of a dev server")
	cmd.Flags().BoolVar(&o.aws, "aws", false, "follow the deployed stack named by $HOOKSTACK_STACK (else "+stack.DefaultName+")")
	cmd.Flags().DurationVar(&o.poll, "poll", 2*time.Second, "with --stack: how often to read the logs")
	return cmd
}

func runTail(cmd *cobra.Command, getenv func(string) string, o tailOptions) error {
	base, err := devBase(getenv, o.url)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	q := url.Values{}
	if o.provider != "" {
		q.Set("provider", o.provider)
	}
	if o.typ != "" {
		q.Set("type", o.typ)
	}
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
		history, err := tailHistory(ctx, base, q, time.Now().Add(-o.since))
		if err != nil {
			return err
		}
		for _, e := range history {
			p.print(e)
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
		if m.Event != "event" {
			continue
		}
		var e tailEvent
		if err := json.Unmarshal(m.Data, &e); err != nil {
			continue // not a summary: skip rather than stop following
		}
		p.print(e)
	}
}

// tailHistory returns the requests received since from, oldest first.
func tailHistory(ctx context.Context, base string, q url.Values, from time.Time) ([]tailEvent, error) {
	hq := url.Values{"limit": {"1000"}}
	for k, v := range q {
		hq[k] = v
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/events?"+hq.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, noDevServer(base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s/api/events answered %d: %s", base, resp.StatusCode, apiError(resp))
	}
	var list []tailEvent
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return nil, fmt.Errorf("read %s/api/events: %w", base, err)
	}
	var out []tailEvent
	for _, e := range list {
		if !e.ReceivedAt.Before(from) {
			out = append(out, e)
		}
	}
	slices.Reverse(out) // the API lists newest first
	return out, nil
}

// tailPrinter prints one line per event: aligned text, or JSON lines.
type tailPrinter struct {
	w    io.Writer
	json bool
}

func (p *tailPrinter) print(e tailEvent) {
	if p.json {
		b, _ := json.Marshal(e)
		fmt.Fprintf(p.w, "%s\n", b)
		return
	}
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	line := fmt.Sprintf("%s  %-10s  %-30s  %-36s  %s", e.ReceivedAt.Local().Format("15:04:05.000"), dash(e.Provider), dash(e.Type), dash(e.EventID), dash(e.Status))
	if e.Status == "rejected" && e.HTTPStatus != 0 {
		line += fmt.Sprintf(" (%d)", e.HTTPStatus)
	}
	if e.Reason != "" {
		line += "  " + e.Reason
	}
	fmt.Fprintln(p.w, strings.TrimRight(line, " "))
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
