package main

import (
	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func newRoot(getenv func(string) string) *cobra.Command {
	root := &cobra.Command{
		Use:   "hookstack",
		Short: "Serverless webhook handling on AWS: verify, queue, sync and fan out provider webhooks",
		Long: `hookstack runs the Hookstack pipeline locally (hookstack dev) and helps you send,
inspect and operate webhooks, locally and against a deployed stack.`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newDevCmd(getenv))
	root.AddCommand(newSendCmd(getenv))
	root.AddCommand(newTriggerCmd(getenv))
	root.AddCommand(newTailCmd(getenv))
	root.AddCommand(newReplayCmd(getenv))
	root.AddCommand(newURLsCmd(getenv))
	root.AddCommand(newSecretsCmd(getenv))
	root.AddCommand(newEndpointsCmd(getenv))
	root.AddCommand(newDLQCmd(getenv))
	return root
}
