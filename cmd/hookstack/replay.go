package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/spf13/cobra"
)

// replayResult is POST /api/events/{id}/replay's answer.
type replayResult struct {
	ID        string `json:"id"`
	Provider  string `json:"provider"`
	EventID   string `json:"event_id"`
	Type      string `json:"type"`
	Queue     string `json:"queue"`
	MessageID string `json:"message_id"`
}

func newReplayCmd(getenv func(string) string) *cobra.Command {
	var f devFlags
	cmd := &cobra.Command{
		Use:   "replay <event-id>",
		Short: "Send a received event through the pipeline again (local dev server only for now)",
		Long: `replay sends the stored envelope of an accepted event back onto its queue, so the
pipeline processes it again, and prints the new queue message id. <event-id> is our id
(as the inspector and "hookstack tail --json" show it) or the provider's event id
(evt_... for Stripe). The processors are idempotent: an event already applied changes
nothing again; replay is for events that failed or went dead, or after a processor fix.
Rejected requests and handshakes were never queued and cannot be replayed.

Local dev server only for now: replaying from the AWS archive is not available yet.`,
		Example: `  hookstack replay evt_3RZx5a2eZvKYlo2C0sU3cC03
  hookstack replay 01JD8X5R6Q3N9W2YV7T4K1M0ZB --json
  hookstack replay evt_1 --url http://127.0.0.1:9000`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 || args[0] == "" {
				return fmt.Errorf("replay takes one event id (see hookstack tail --since 1h, or the inspector), got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReplay(cmd, getenv, f, args[0])
		},
	}
	f.register(cmd)
	return cmd
}

func runReplay(cmd *cobra.Command, getenv func(string) string, f devFlags, id string) error {
	base, err := devBase(getenv, f.url)
	if err != nil {
		return err
	}
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
			return fmt.Errorf("%s does not know replay (is it hookstack dev?): check --url / HOOKSTACK_DEV_URL", base)
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
	if f.json {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	fmt.Fprintf(out, "replayed %s %s %s (id %s) onto %s: message %s\n", res.Provider, res.Type, res.EventID, res.ID, res.Queue, res.MessageID)
	fmt.Fprintln(out, "follow it with: hookstack tail --provider "+res.Provider)
	return nil
}
