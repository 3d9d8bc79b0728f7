package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/spf13/cobra"

	"github.com/hookstack/hookstack/shared/devserver"
	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/queue/sqsq"
	"github.com/hookstack/hookstack/shared/stack"
)

// dlqPeekHide is how long `dlq list` hides the messages it reads from a
// deployed DLQ while it collects them; it makes them visible again right
// after (or SQS does, after this long, if the command is killed).
const dlqPeekHide = 30 * time.Second

// dlqDefaultLimit caps the messages `dlq list` reads per queue.
const dlqDefaultLimit = 100

// dlqMaxLimit is the largest --limit.
const dlqMaxLimit = 1000

const dlqPeekNote = `In a deployed stack, listing reads each message (SQS has no peek): the messages are
hidden for a moment, made visible again at once, and their receive count goes up by one.
A DLQ has no redrive policy of its own, so this moves nothing; the redriven message starts
with a fresh receive count either way.`

// dlqNamesFor resolves --queue ("payments" or "payments-dlq"; empty: every
// DLQ) to DLQ names.
func dlqNamesFor(flag string) ([]string, error) {
	if flag == "" {
		names := make([]string, 0, len(envelope.AllQueues))
		for _, n := range envelope.AllQueues {
			names = append(names, queue.DLQ(n))
		}
		return names, nil
	}
	src := strings.TrimSuffix(flag, envelope.DLQSuffix)
	if !slices.Contains(envelope.AllQueues, src) {
		return nil, fmt.Errorf("--queue %q: no such queue: use one of %s (with or without %s)", flag, strings.Join(envelope.AllQueues, ", "), envelope.DLQSuffix)
	}
	return []string{queue.DLQ(src)}, nil
}

// dlqSource is the queue a DLQ's messages came from.
func dlqSource(dlq string) string { return strings.TrimSuffix(dlq, envelope.DLQSuffix) }

// deadLetters lists and redrives the target's DLQs.
type deadLetters interface {
	list(ctx context.Context, dlqs []string, limit int) ([]devserver.DeadMessage, error)
	redrive(ctx context.Context, dlq string) (int, error)
}

// devDeadLetters use the dev server's JSON API.
type devDeadLetters struct {
	base string
	all  bool // every DLQ was asked for: one request
}

func (d devDeadLetters) list(ctx context.Context, dlqs []string, limit int) ([]devserver.DeadMessage, error) {
	var out []devserver.DeadMessage
	paths := []string{"/api/dlq"}
	if !d.all {
		paths = paths[:0]
		for _, q := range dlqs {
			paths = append(paths, "/api/dlq?queue="+url.QueryEscape(q))
		}
	}
	for _, p := range paths {
		var page []devserver.DeadMessage
		if err := mgmtCall(ctx, d.base, http.MethodGet, p, nil, &page); err != nil {
			return nil, err
		}
		perQueue := map[string]int{}
		for _, m := range page {
			if perQueue[m.Queue] < limit {
				out = append(out, m)
			}
			perQueue[m.Queue]++
		}
	}
	return out, nil
}

func (d devDeadLetters) redrive(ctx context.Context, dlq string) (int, error) {
	var out struct {
		Moved int `json:"moved"`
	}
	err := mgmtCall(ctx, d.base, http.MethodPost, "/api/dlq/redrive", map[string]string{"queue": dlq}, &out)
	return out.Moved, err
}

// sqsDeadLetters work on the deployed stack's queues.
type sqsDeadLetters struct{ q *sqsq.Queue }

func (a sqsDeadLetters) list(ctx context.Context, dlqs []string, limit int) ([]devserver.DeadMessage, error) {
	results := make([][]devserver.DeadMessage, len(dlqs))
	errs := make([]error, len(dlqs))
	var wg sync.WaitGroup
	for i, name := range dlqs {
		wg.Go(func() {
			msgs, err := a.q.Peek(ctx, name, limit, dlqPeekHide)
			now := time.Now()
			for _, m := range msgs {
				results[i] = append(results[i], devserver.DescribeDead(name, m, now))
			}
			errs[i] = err
		})
	}
	wg.Wait()
	var out []devserver.DeadMessage
	for i := range dlqs {
		if errs[i] != nil {
			return nil, fmt.Errorf("%w%s", errs[i], awsHint(errs[i], "sqs:ReceiveMessage and sqs:ChangeMessageVisibility on the stack's DLQs"))
		}
		out = append(out, results[i]...)
	}
	return out, nil
}

func (a sqsDeadLetters) redrive(ctx context.Context, dlq string) (int, error) {
	n, err := a.q.Redrive(ctx, dlq, dlqSource(dlq))
	if err != nil {
		return n, fmt.Errorf("%w%s", err, awsHint(err, "sqs:StartMessageMoveTask, sqs:ListMessageMoveTasks, sqs:GetQueueAttributes on the DLQ and its queue (and sqs:ReceiveMessage, sqs:DeleteMessage on the DLQ, sqs:SendMessage on the queue)"))
	}
	return n, nil
}

// openDeadLetters connects to the target's DLQs. For a stack it keeps the
// DLQs (of dlqs) whose URLs the outputs give, with their source queues;
// explicit says the user named the queue (a missing one is an error then,
// else a note on stderr).
func openDeadLetters(cmd *cobra.Command, t mgmtTarget, dlqs []string, explicit bool) (deadLetters, []string, error) {
	if !t.aws {
		return devDeadLetters{base: t.devURL, all: !explicit}, dlqs, nil
	}
	out, cfg, err := loadStack(cmd.Context(), t.stack)
	if err != nil {
		return nil, nil, err
	}
	urls := map[string]string{}
	var have, missing []string
	for _, dlq := range dlqs {
		du, su := out.Queues[dlq], out.Queues[dlqSource(dlq)]
		if du == "" || su == "" {
			missing = append(missing, stack.KeyQueueUrl+stack.Title(dlq))
			continue
		}
		urls[dlq], urls[dlqSource(dlq)] = du, su
		have = append(have, dlq)
	}
	switch {
	case len(missing) > 0 && (explicit || len(have) == 0):
		return nil, nil, fmt.Errorf("stack %s lacks the queue outputs %s (and their source queues'): deploy it again with `make deploy`, or pass --stack for another stack",
			out.StackName, strings.Join(missing, ", "))
	case len(missing) > 0:
		fmt.Fprintf(cmd.ErrOrStderr(), "note: stack %s has no %s output; skipping those queues\n", out.StackName, strings.Join(missing, ", "))
	}
	return sqsDeadLetters{q: sqsq.New(sqs.NewFromConfig(cfg), urls)}, have, nil
}

func newDLQCmd(getenv func(string) string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dlq",
		Short: "List dead-lettered messages and move them back to their queues",
		Long: `dlq shows what the pipeline gave up on, with why, and moves it back once the cause is
fixed. Every queue (` + strings.Join(envelope.AllQueues, ", ") + `) has its own DLQ, named
<queue>` + envelope.DLQSuffix + `.

` + mgmtRule,
		Example: `  hookstack dlq list
  hookstack dlq list --queue deliveries --json
  hookstack dlq redrive --queue deliveries
  hookstack dlq redrive --stack Hookstack`,
		Args: subcommandArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return errors.New("dlq needs a subcommand: list or redrive (see hookstack dlq --help)")
		},
	}
	cmd.AddCommand(newDLQListCmd(getenv), newDLQRedriveCmd(getenv))
	return cmd
}

func newDLQListCmd(getenv func(string) string) *cobra.Command {
	var (
		f     mgmtFlags
		qname string
		limit int
	)
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "Show each dead message: queue, event, endpoint, reason, age",
		Long: `list shows each message in the DLQs (or the one --queue names), newest first per queue:
its queue, the event type and id it concerns, the endpoint (for deliveries), the reason it
was dead-lettered and its age. --json adds the message id, sent time and body.

` + dlqPeekNote + `

` + mgmtRule,
		Example: `  hookstack dlq list
  hookstack dlq list --queue payments
  hookstack dlq list --stack Hookstack --json | jq '.[] | {queue, reason}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 1 || limit > dlqMaxLimit {
				return fmt.Errorf("--limit %d: use 1..%d", limit, dlqMaxLimit)
			}
			dlqs, err := dlqNamesFor(qname)
			if err != nil {
				return err
			}
			t, err := f.target(cmd, getenv)
			if err != nil {
				return err
			}
			dl, dlqs, err := openDeadLetters(cmd, t, dlqs, qname != "")
			if err != nil {
				return err
			}
			list, err := dl.list(cmd.Context(), dlqs, limit)
			if err != nil {
				return err
			}
			if list == nil {
				list = []devserver.DeadMessage{}
			}
			out := cmd.OutOrStdout()
			if f.json {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(list)
			}
			printDeadMessages(out, t, qname, list)
			return nil
		},
	}
	f.register(cmd, true)
	cmd.Flags().StringVar(&qname, "queue", "", "only this queue's DLQ ("+strings.Join(envelope.AllQueues, ", ")+"; with or without "+envelope.DLQSuffix+")")
	cmd.Flags().IntVar(&limit, "limit", dlqDefaultLimit, "read at most this many messages per queue")
	return cmd
}

func printDeadMessages(w io.Writer, t mgmtTarget, qname string, list []devserver.DeadMessage) {
	where := "the DLQs"
	if qname != "" {
		where = queue.DLQ(dlqSource(qname))
	}
	if len(list) == 0 {
		fmt.Fprintf(w, "No dead messages in %s (%s).\n", where, t)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "QUEUE\tAGE\tEVENT\tEVENT ID\tENDPOINT\tREASON")
	for _, m := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.Queue, humanAge(time.Duration(m.AgeSeconds)*time.Second),
			orDash(m.EventType), orDash(m.EventID), orDash(m.EndpointID), clip(oneLine(m.Reason), 120))
	}
	_ = tw.Flush()
	queueArg := ""
	if qname != "" {
		queueArg = " --queue " + dlqSource(qname)
	}
	fmt.Fprintf(w, "\n%d dead message(s). Once the cause is fixed, move them back with: hookstack dlq redrive%s%s\n", len(list), queueArg, t.flagHint())
}

// humanAge is a short age: 45s, 3m, 2h, 5d.
func humanAge(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	}
	return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// clip shortens s to n runes.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// redriveResult is `dlq redrive --json`.
type redriveResult struct {
	Target string         `json:"target"`
	Moved  int            `json:"moved"`
	Queues map[string]int `json:"queues"`
}

func newDLQRedriveCmd(getenv func(string) string) *cobra.Command {
	var (
		f     mgmtFlags
		qname string
	)
	cmd := &cobra.Command{
		Use:   "redrive",
		Short: "Move dead messages back to their source queues",
		Long: `redrive moves every message of the DLQs (or the one --queue names) back to its source
queue, where it is processed again as a new message: a redriven delivery starts a fresh
retry schedule. Fix the cause first (hookstack dlq list shows the reasons), or the messages
dead-letter again.

In a deployed stack this is SQS's message move task (StartMessageMoveTask, waiting until it
finishes); where the endpoint lacks it (emulators) the messages are received, sent to the
source queue and deleted, one by one (a failure half-way may duplicate one, never lose one).

` + mgmtRule,
		Example: `  hookstack dlq redrive
  hookstack dlq redrive --queue deliveries
  hookstack dlq redrive --stack Hookstack --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dlqs, err := dlqNamesFor(qname)
			if err != nil {
				return err
			}
			t, err := f.target(cmd, getenv)
			if err != nil {
				return err
			}
			dl, dlqs, err := openDeadLetters(cmd, t, dlqs, qname != "")
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			progress := out
			if f.json {
				progress = cmd.ErrOrStderr()
			}
			res := redriveResult{Target: t.String(), Queues: map[string]int{}}
			for _, dlq := range dlqs {
				n, err := dl.redrive(cmd.Context(), dlq)
				res.Moved += n
				res.Queues[dlq] = n
				if err != nil {
					// Only the error: no half-written progress line before it.
					if res.Moved == 0 {
						return fmt.Errorf("redrive %s: %w", dlq, err)
					}
					return fmt.Errorf("redrive %s: %w (moved %d message(s) so far; run the command again to continue)", dlq, err, res.Moved)
				}
				fmt.Fprintf(progress, "%s → %s: %d moved\n", dlq, dlqSource(dlq), n)
			}
			if f.json {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(res)
			}
			fmt.Fprintf(out, "Moved %d message(s) back to their queues (%s).\n", res.Moved, t)
			if res.Moved > 0 {
				fmt.Fprintf(out, "Watch them with: hookstack dlq list%s (one that shows up there again failed again)\n", t.flagHint())
			}
			return nil
		},
	}
	f.register(cmd, true)
	cmd.Flags().StringVar(&qname, "queue", "", "only this queue's DLQ ("+strings.Join(envelope.AllQueues, ", ")+"; with or without "+envelope.DLQSuffix+")")
	return cmd
}
