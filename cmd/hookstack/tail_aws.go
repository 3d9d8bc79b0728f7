package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/spf13/cobra"

	"github.com/hookstack/hookstack/shared/process"
	"github.com/hookstack/hookstack/shared/stack"
)

// Following a deployed stack: its functions log one JSON line per webhook
// (ingest, message "webhook"), per processed message (the processors,
// message "event"), each with the event id, and per delivery attempt (the
// deliverer, see deliveryMessages); tail reads them from the stack's log
// groups (its LogGroup<Function> outputs) with FilterLogEvents, polling, and
// prints them as it does for the dev server.

// logEventsFilterer is the part of the CloudWatch Logs client tail uses.
type logEventsFilterer interface {
	FilterLogEvents(ctx context.Context, in *cloudwatchlogs.FilterLogEventsInput, opts ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error)
}

// tailLateness is how far back each poll looks again: CloudWatch Logs can
// make an event searchable some seconds after its timestamp. Events seen
// already are skipped by id.
const tailLateness = 30 * time.Second

// logSource is one log group and the filter of the lines tail reads there.
type logSource struct {
	function string // "ingest", "payments", ...
	group    string
	pattern  string
}

// delivererFunction is the deliverer's name in the stack outputs
// (LogGroupDeliverer).
const delivererFunction = "deliverer"

// deliveryMessages are the messages of the deliverer's line per attempt
// (shared/notify DeliverHandler) and the outcome each stands for.
var deliveryMessages = map[string]string{
	"delivered":         "delivered",
	"retry scheduled":   "retry",
	"endpoint disabled": "disabled",
	"delivery failed":   "failed",
	"delivery dropped":  "dropped",
}

// logSources are the ingest, processor and deliverer log groups of out,
// with filter patterns for the lines tail prints (and the --provider/--type
// filters: --provider leaves the deliverer out, --type is a delivery's
// event_type). A stack without the deliverer's output is followed without
// it; note says so.
func logSources(out *stack.Outputs, provider, typ string) (srcs []logSource, note string, err error) {
	extra := ""
	if provider != "" {
		extra += fmt.Sprintf(` && $.provider = %s`, strconv.Quote(provider))
	}
	if typ != "" {
		extra += fmt.Sprintf(` && $.type = %s`, strconv.Quote(typ))
	}
	var missing []string
	for _, fn := range append([]string{"ingest"}, process.Names...) {
		group := out.LogGroups[fn]
		if group == "" {
			missing = append(missing, stack.KeyLogGroup+stack.Title(fn))
			continue
		}
		msg := "event"
		if fn == "ingest" {
			msg = "webhook"
		}
		srcs = append(srcs, logSource{function: fn, group: group, pattern: fmt.Sprintf(`{ $.message = %q%s }`, msg, extra)})
	}
	if len(missing) > 0 {
		return nil, "", fmt.Errorf("stack %s has no %s output: deploy it again with `make deploy` (outputs added in this version)",
			out.StackName, strings.Join(missing, ", "))
	}
	if provider != "" {
		return srcs, "", nil // deliveries belong to no provider
	}
	group := out.LogGroups[delivererFunction]
	if group == "" {
		return srcs, fmt.Sprintf("stack %s has no %s output: delivery attempts are not shown (deploy it again with `make deploy`)",
			out.StackName, stack.KeyLogGroup+stack.Title(delivererFunction)), nil
	}
	msgs := make([]string, 0, len(deliveryMessages))
	for m := range deliveryMessages {
		msgs = append(msgs, fmt.Sprintf("$.message = %q", m))
	}
	slices.Sort(msgs)
	pattern := "{ (" + strings.Join(msgs, " || ") + ")"
	if typ != "" {
		pattern += fmt.Sprintf(` && $.event_type = %s`, strconv.Quote(typ))
	}
	srcs = append(srcs, logSource{function: delivererFunction, group: group, pattern: pattern + " }"})
	return srcs, "", nil
}

// logLine is what tail reads of a function's JSON log line.
type logLine struct {
	Message  string          `json:"message"`
	Provider string          `json:"provider"`
	Status   json.RawMessage `json:"status"` // ingest: the HTTP status; processors: processed/failed/dead
	EventID  string          `json:"event_id"`
	ID       string          `json:"id"`
	Type     string          `json:"type"`
	Queue    string          `json:"queue"`
	Reason   string          `json:"reason"`
	Error    string          `json:"error"`
}

// tailEventFromLog turns one log line of function fn at time at into the
// line tail prints; false for a line that is not one of those.
func tailEventFromLog(fn string, at time.Time, raw string) (tailEvent, bool) {
	var l logLine
	if err := json.Unmarshal([]byte(raw), &l); err != nil {
		return tailEvent{}, false
	}
	e := tailEvent{ID: l.ID, Provider: l.Provider, EventID: l.EventID, Type: l.Type, Queue: l.Queue, ReceivedAt: at}
	switch {
	case fn == "ingest" && l.Message == "webhook":
		code, err := strconv.Atoi(string(l.Status))
		if err != nil {
			return tailEvent{}, false
		}
		e.HTTPStatus, e.Reason = code, l.Reason
		switch {
		case code < 300:
			e.Status = "queued"
		case code < 500:
			e.Status = "rejected"
		default:
			e.Status = "failed"
		}
	case fn != "ingest" && l.Message == "event":
		var st string
		if err := json.Unmarshal(l.Status, &st); err != nil || st == "" {
			return tailEvent{}, false
		}
		e.Status, e.Reason, e.Queue = st, l.Error, fn
	default:
		return tailEvent{}, false
	}
	return e, true
}

// deliveryLogLine is what tail reads of the deliverer's line per attempt.
type deliveryLogLine struct {
	Message    string `json:"message"`
	DeliveryID string `json:"delivery_id"`
	EndpointID string `json:"endpoint_id"`
	EventType  string `json:"event_type"`
	Attempt    int    `json:"attempt"`
	Status     int    `json:"status"` // the HTTP status of a delivered attempt
	DurationMS int64  `json:"duration_ms"`
	Reason     string `json:"reason"`
	Delay      string `json:"delay"` // of a retry: the next attempt comes this long after
}

// tailDeliveryFromLog turns one deliverer log line at time at into the
// delivery line tail prints; false for a line that is not an attempt.
func tailDeliveryFromLog(at time.Time, raw string) (tailDelivery, bool) {
	var l deliveryLogLine
	if err := json.Unmarshal([]byte(raw), &l); err != nil {
		return tailDelivery{}, false
	}
	outcome, ok := deliveryMessages[l.Message]
	if !ok || l.DeliveryID == "" {
		return tailDelivery{}, false
	}
	d := tailDelivery{
		DeliveryID: l.DeliveryID, EventType: l.EventType, EndpointID: l.EndpointID, Attempt: l.Attempt,
		Outcome: outcome, StatusCode: l.Status, DurationMS: l.DurationMS, Reason: l.Reason, AttemptedAt: at,
	}
	if delay, err := time.ParseDuration(l.Delay); err == nil && outcome == "retry" {
		d.NextAttemptAt = at.Add(delay)
	}
	return d, true
}

// awsTail follows the stack's log groups until ctx ends.
type awsTail struct {
	logs    logEventsFilterer
	sources []logSource
	poll    time.Duration
	seen    map[string]time.Time // CloudWatch event id → its time (pruned)
}

// pollOnce reads every source's lines from `from` on and returns the unseen
// ones, oldest first.
func (a *awsTail) pollOnce(ctx context.Context, from time.Time) ([]tailLine, time.Time, error) {
	type found struct {
		at time.Time
		l  tailLine
	}
	var got []found
	newest := from
	for _, src := range a.sources {
		in := &cloudwatchlogs.FilterLogEventsInput{
			LogGroupName:  aws.String(src.group),
			StartTime:     aws.Int64(from.UnixMilli()),
			FilterPattern: aws.String(src.pattern),
		}
		for page := 0; page < 100; page++ {
			out, err := a.logs.FilterLogEvents(ctx, in)
			if err != nil {
				return nil, from, fmt.Errorf("read the %s log group %s: %w%s", src.function, src.group, err,
					awsHint(err, "logs:FilterLogEvents on the stack's log groups"))
			}
			for _, ev := range out.Events {
				id := aws.ToString(ev.EventId)
				at := time.UnixMilli(aws.ToInt64(ev.Timestamp))
				if at.After(newest) {
					newest = at
				}
				if _, dup := a.seen[id]; dup || id == "" {
					continue
				}
				a.seen[id] = at
				msg := aws.ToString(ev.Message)
				if src.function == delivererFunction {
					if d, ok := tailDeliveryFromLog(at, msg); ok {
						got = append(got, found{at, tailLine{delivery: &d}})
					}
				} else if e, ok := tailEventFromLog(src.function, at, msg); ok {
					got = append(got, found{at, tailLine{event: &e}})
				}
			}
			if out.NextToken == nil || aws.ToString(out.NextToken) == aws.ToString(in.NextToken) {
				break
			}
			in.NextToken = out.NextToken
		}
	}
	slices.SortStableFunc(got, func(x, y found) int { return x.at.Compare(y.at) })
	lines := make([]tailLine, len(got))
	for i, f := range got {
		lines[i] = f.l
	}
	// Forget ids too old to come back in a later poll.
	for id, at := range a.seen {
		if at.Before(newest.Add(-2 * tailLateness)) {
			delete(a.seen, id)
		}
	}
	return lines, newest, nil
}

// run prints the lines from since ago (or from now) and follows.
func (a *awsTail) run(ctx context.Context, p *tailPrinter, since time.Duration) error {
	from := time.Now().Add(-since)
	if since == 0 {
		from = time.Now()
	}
	a.seen = map[string]time.Time{}
	for {
		lines, newest, err := a.pollOnce(ctx, from)
		if err != nil {
			if ctx.Err() != nil {
				return nil // Ctrl-C
			}
			return err
		}
		for _, l := range lines {
			p.print(l)
		}
		if late := newest.Add(-tailLateness); late.After(from) {
			from = late
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(a.poll):
		}
	}
}

// runTailStack is `hookstack tail --stack`.
func runTailStack(cmd *cobra.Command, name string, o tailOptions) error {
	out, cfg, err := loadStack(cmd.Context(), name)
	if err != nil {
		return err
	}
	sources, note, err := logSources(out, o.provider, o.typ)
	if err != nil {
		return err
	}
	if note != "" {
		fmt.Fprintln(cmd.ErrOrStderr(), "note: "+note)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "following stack %s: %d log groups, polled every %s (Ctrl-C to stop)\n", out.StackName, len(sources), o.poll)
	t := &awsTail{logs: cloudwatchlogs.NewFromConfig(cfg), sources: sources, poll: o.poll}
	return t.run(cmd.Context(), &tailPrinter{w: cmd.OutOrStdout(), json: o.json}, o.since)
}
