package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/spf13/cobra"

	"github.com/hookstack/hookstack/shared/process"
	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/queue/sqsq"
	"github.com/hookstack/hookstack/shared/stack"
	"github.com/hookstack/hookstack/shared/store/dynamostore"
)

// replayResult is POST /api/events/{id}/replay's answer.
type replayResult struct {
	ID        string `json:"id"`
	Provider  string `json:"provider"`
	EventID   string `json:"event_id"`
	Type      string `json:"type"`
	Queue     string `json:"queue"`
	MessageID string `json:"message_id"`
	// ArchivedUntil is when the stack's archive drops the event (AWS only).
	ArchivedUntil *time.Time `json:"archived_until,omitempty"`
}

func newReplayCmd(getenv func(string) string) *cobra.Command {
	var f mgmtFlags
	cmd := &cobra.Command{
		Use:   "replay <event-id>",
		Short: "Send a received event through the pipeline again (dev server, or a deployed stack's archive)",
		Long: `replay sends the stored envelope of an accepted event back onto its queue, so the
pipeline processes it again, and prints the new queue message id. <event-id> is our id
(as the inspector and "hookstack tail --json" show it) or the provider's event id
(evt_... for Stripe). The processors are idempotent: an event already applied changes
nothing again; replay is for events that failed or went dead, or after a processor fix.
Rejected requests and handshakes were never queued and cannot be replayed.

On the dev server it replays from the event log. On a deployed stack it replays from the
archive: the processors keep every envelope they handled successfully in the stack's
table for HOOKSTACK_ARCHIVE_TTL (default 7 days); replay reads it (dynamodb:GetItem) and
sends it to its queue (sqs:SendMessage). If the same provider event id was archived for
several providers, give it as provider:event-id. Events that went dead are not archived:
redrive them with "hookstack dlq redrive".

` + mgmtRule,
		Example: `  hookstack replay evt_3RZx5a2eZvKYlo2C0sU3cC03
  hookstack replay 01JD8X5R6Q3N9W2YV7T4K1M0ZB --json
  hookstack replay evt_1 --dev-url http://127.0.0.1:9000
  hookstack replay evt_3RZx5a2eZvKYlo2C0sU3cC03 --stack Hookstack
  hookstack replay stripe:evt_3RZx5a2eZvKYlo2C0sU3cC03 --aws`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 || args[0] == "" {
				return fmt.Errorf("replay takes one event id (see hookstack tail --since 1h, or the inspector), got %d argument(s)\n  usage:   %s\n  example: hookstack replay evt_3RZx5a2eZvKYlo2C0sU3cC03",
					len(args), cmd.UseLine())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := f.target(cmd, getenv)
			if err != nil {
				return err
			}
			if t.aws {
				return runReplayAWS(cmd, t.stack, f.json, args[0])
			}
			return runReplay(cmd, t.devURL, f.json, args[0])
		},
	}
	f.register(cmd, false)
	f.registerURLAlias(cmd)
	cmd.Flags().BoolVar(&f.json, "json", false, "print the replayed event (id, provider, event id, type, queue, message id) as a JSON object")
	return cmd
}

// runReplayAWS finds id in the stack's archive (our id, the provider's
// event id, or provider:event-id) and sends the envelope as it was queued
// to its queue again.
func runReplayAWS(cmd *cobra.Command, name string, asJSON bool, id string) error {
	ctx := cmd.Context()
	out, cfg, err := loadStack(ctx, name)
	if err != nil {
		return err
	}
	if out.TableName == "" {
		return fmt.Errorf("stack %s has no %s output: deploy it again with `make deploy`, or pass --stack for another stack", out.StackName, stack.KeyTableName)
	}
	a, err := process.FindArchived(ctx, dynamostore.New(dynamodb.NewFromConfig(cfg), out.TableName), id)
	switch {
	case errors.Is(err, process.ErrNotArchived):
		return fmt.Errorf("%w in stack %s: the archive keeps the events the processors handled successfully, for %s (default %s); "+
			"give our id or the provider's event id; an event that went dead is replayed with `hookstack dlq redrive --stack %s`",
			err, out.StackName, process.EnvArchiveTTL, process.DefaultArchiveTTL, out.StackName)
	case errors.Is(err, process.ErrAmbiguous):
		return fmt.Errorf("%w (or provider:event-id, e.g. stripe:%s)", err, id)
	case err != nil:
		return fmt.Errorf("%w%s", err, awsHint(err, "dynamodb:GetItem on the stack's table "+out.TableName))
	}
	env := a.Envelope
	qurl := out.Queues[env.Queue]
	if env.Queue == "" || qurl == "" {
		return fmt.Errorf("stack %s has no queue URL output for %q (%s%s): deploy it again with `make deploy`",
			out.StackName, env.Queue, stack.KeyQueueUrl, stack.Title(env.Queue))
	}
	q := sqsq.New(sqs.NewFromConfig(cfg), map[string]string{env.Queue: qurl})
	msgID, err := q.Send(ctx, env.Queue, queue.Outgoing{Body: a.Raw})
	if err != nil {
		return fmt.Errorf("send %s to %s: %w%s", env.ID, env.Queue, err, awsHint(err, "sqs:SendMessage on "+qurl))
	}
	res := replayResult{ID: env.ID, Provider: env.Provider, EventID: env.EventID, Type: env.Type, Queue: env.Queue, MessageID: msgID}
	if !a.ExpiresAt.IsZero() {
		until := a.ExpiresAt.UTC()
		res.ArchivedUntil = &until
	}
	w := cmd.OutOrStdout()
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	fmt.Fprintf(w, "replayed %s %s %s (id %s) onto %s of stack %s: message %s\n",
		res.Provider, res.Type, res.EventID, res.ID, res.Queue, out.StackName, res.MessageID)
	fmt.Fprintf(w, "follow it in the %s processor's CloudWatch logs (event_id %s)\n", res.Queue, res.EventID)
	return nil
}

func runReplay(cmd *cobra.Command, base string, asJSON bool, id string) error {
	target := base + "/api/events/" + url.PathEscape(id) + "/replay"
	req, err := http.NewRequestWithContext(cmd.Context(), http.MethodPost, target, nil)
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return noDevServer(base, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		msg := apiError(resp)
		if msg == "" || msg == "404 page not found" {
			return fmt.Errorf("%s does not know replay (is it hookstack dev?): check --dev-url / HOOKSTACK_DEV_URL", base)
		}
		return fmt.Errorf("%s: give our id or the provider's event id of a request this dev server received (hookstack tail --since 1h lists them)", msg)
	case resp.StatusCode == http.StatusConflict:
		return fmt.Errorf("%s", apiError(resp))
	case resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusOK:
		return fmt.Errorf("%s answered %d: %s (look at the dev server's log)", target, resp.StatusCode, apiError(resp))
	}
	var res replayResult
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		return fmt.Errorf("read the answer of %s: %w", target, err)
	}
	out := cmd.OutOrStdout()
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	fmt.Fprintf(out, "replayed %s %s %s (id %s) onto %s: message %s\n", res.Provider, res.Type, res.EventID, res.ID, res.Queue, res.MessageID)
	fmt.Fprintln(out, "follow it with: hookstack tail --provider "+res.Provider)
	return nil
}
