package main

import (
	"errors"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/hookstack/hookstack/shared/devserver"
)

func newDevCmd(getenv func(string) string) *cobra.Command {
	var (
		o          devserver.Options
		awsBackend bool
		local      bool
	)
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run the whole pipeline in one process, on the embedded backend (no AWS account needed) or on AWS",
		Long: `dev serves POST /webhooks/{provider} with the same ingest code as the Lambda, runs every
processor, the fan-out and the deliverer in the same process, and serves the inspector and
its JSON API.

Backends (the pipeline code is the same for both):
  local (default)  embedded file-backed queues, store and blobs in --data.
  aws              --aws (or HOOKSTACK_BACKEND=aws): SQS, DynamoDB and S3 through the AWS SDK.
                   Where the queues, table and claim bucket come from, first match wins:
                   --stack NAME   a deployed stack's outputs (implies --aws);
                   HOOKSTACK_QUEUE_URL_<NAME> for every queue and DLQ, HOOKSTACK_TABLE and
                                  HOOKSTACK_CLAIM_BUCKET (e.g. a real account's);
                   AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_SQS, _DYNAMODB, _S3) pointing at
                                  emulators: the queues (with their DLQs and the same
                                  maxReceiveCount as the local backend), the table and the
                                  bucket are created there, named --aws-prefix + name
                                  (hookstack-dev-payments, hookstack-dev-table,
                                  hookstack-dev-claims), and kept across restarts.
                   It needs AWS_REGION and credentials (AWS_PROFILE, or AWS_ACCESS_KEY_ID and
                   AWS_SECRET_ACCESS_KEY; any values for emulators). Against a deployed stack
                   its Lambda functions consume the same queues: each message goes to
                   whichever receives it first.
--local forces the embedded backend whatever HOOKSTACK_BACKEND says. The event log (what the
inspector lists) and the secrets stay in --data with either backend; the backend in use and
its resources are printed at start-up.

Secrets come from HOOKSTACK_SECRET_<PROVIDER> (comma-separated, newest first); a provider
without one gets a generated secret, kept in --data/secrets.json and printed at start-up.`,
		Example: `  hookstack dev
  hookstack dev --addr 127.0.0.1:9000 --data /tmp/hookstack
  HOOKSTACK_SECRET_STRIPE=whsec_... hookstack dev
  AWS_ENDPOINT_URL=http://127.0.0.1:4566 AWS_REGION=us-east-1 hookstack dev --aws
  AWS_PROFILE=dev AWS_REGION=eu-west-1 hookstack dev --stack Hookstack`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			remote := awsBackend || cmd.Flags().Changed("stack")
			switch {
			case local && remote:
				return errors.New("--local and --aws/--stack exclude each other: pick one backend")
			case local:
				o.Backend = devserver.BackendLocal
			case remote:
				o.Backend = devserver.BackendAWS
			default:
				// HOOKSTACK_BACKEND, read as every command reads it.
				b, err := parseBackend(getenv)
				if err != nil {
					return err
				}
				switch b {
				case backendAWS:
					o.Backend = devserver.BackendAWS
				case backendLocal:
					o.Backend = devserver.BackendLocal
				}
			}
			if cmd.Flags().Changed("stack") && o.Stack == "" {
				return errors.New("--stack needs the stack's name (e.g. --stack Hookstack)")
			}
			o.Getenv = getenv
			o.Out = cmd.OutOrStdout()
			o.Log = slog.New(slog.NewJSONHandler(os.Stderr, nil))
			return devserver.Run(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVar(&o.Addr, "addr", "127.0.0.1:8080", "listen address")
	cmd.Flags().StringVar(&o.DataDir, "data", ".hookstack", "folder for the embedded queues, event log and secrets")
	cmd.Flags().BoolVar(&awsBackend, "aws", false, "use SQS, DynamoDB and S3 through the AWS SDK (as "+devserver.EnvBackend+"=aws)")
	cmd.Flags().BoolVar(&local, "local", false, "use the embedded backend even if "+devserver.EnvBackend+"=aws")
	cmd.Flags().StringVar(&o.Stack, "stack", "", "with --aws: take the queues, table and bucket from this deployed stack's outputs (implies --aws)")
	cmd.Flags().StringVar(&o.AWSPrefix, "aws-prefix", "", "with --aws on emulators: name prefix of the created queues, table and bucket (default $"+devserver.EnvAWSPrefix+", else "+devserver.DefaultAWSPrefix+")")
	return cmd
}
