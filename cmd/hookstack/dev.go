package main

import (
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/hookstack/hookstack/shared/devserver"
)

func newDevCmd(getenv func(string) string) *cobra.Command {
	var o devserver.Options
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run the whole pipeline locally on the embedded backend (no AWS account needed)",
		Long: `dev serves POST /webhooks/{provider} with the same ingest code as the Lambda, queues
to an embedded file-backed queue in --data, and serves the inspector and its JSON API.

Secrets come from HOOKSTACK_SECRET_<PROVIDER> (comma-separated, newest first); a provider
without one gets a generated secret, kept in --data/secrets.json and printed at start-up.`,
		Example: `  hookstack dev
  hookstack dev --addr 127.0.0.1:9000 --data /tmp/hookstack
  HOOKSTACK_SECRET_STRIPE=whsec_... hookstack dev`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Getenv = getenv
			o.Out = cmd.OutOrStdout()
			o.Log = slog.New(slog.NewJSONHandler(os.Stderr, nil))
			return devserver.Run(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVar(&o.Addr, "addr", "127.0.0.1:8080", "listen address")
	cmd.Flags().StringVar(&o.DataDir, "data", ".hookstack", "folder for the embedded queues, event log and secrets")
	return cmd
}
