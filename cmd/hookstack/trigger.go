package main

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookstack/hookstack/events"
	"github.com/hookstack/hookstack/shared/sample"
	"github.com/hookstack/hookstack/shared/signature"
)

func newTriggerCmd(getenv func(string) string) *cobra.Command {
	var (
		f         deliveryFlags
		list      bool
		eventsDir string
	)
	cmd := &cobra.Command{
		Use:   "trigger (<provider> <event-type> | --list [provider])",
		Short: "Send a realistic sample event with fresh ids and timestamps",
		Long: `trigger sends one of the sample deliveries built into hookstack (the events/ folder of
the repository) as the provider would: fresh event ids and timestamps, so each trigger is a
new event, signed like "hookstack send" (same --dev-url, --url, --secret and --data rules).
It exits non-zero when the answer is not 2xx.

Event types are named as the provider names them (shopify inventory_levels/update,
github push, hubspot contact.propertyChange); variants of a type go by their file name
(stripe charge.refunded_partial). --list shows them all; --events DIR uses your own
samples laid out the same way (DIR/<provider>/<type>.<json|xml|form> and .headers).`,
		Example: `  hookstack trigger stripe payment_intent.succeeded
  hookstack trigger shopify inventory_levels/update --dev-url http://127.0.0.1:9000
  hookstack trigger stripe invoice.paid --data ../app/.hookstack
  hookstack trigger --list
  hookstack trigger --list stripe --json
  hookstack trigger github push --events ./my-samples --json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if list {
				return cobra.MaximumNArgs(1)(cmd, args)
			}
			if len(args) != 2 {
				return fmt.Errorf("trigger takes <provider> <event-type> (see hookstack trigger --list), got %d argument(s)\n  usage:   %s\n  example: hookstack trigger stripe payment_intent.succeeded",
					len(args), cmd.UseLine())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			fsys := events.FS
			if eventsDir != "" {
				if st, err := os.Stat(eventsDir); err != nil || !st.IsDir() {
					return fmt.Errorf("--events %s is not a folder of samples", eventsDir)
				}
				fsys = os.DirFS(eventsDir)
			}
			if list {
				return runTriggerList(cmd, fsys, f.json, args)
			}
			return runTrigger(cmd, getenv, f, fsys, args[0], args[1])
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&list, "list", false, "list the event types that can be triggered (optionally of one provider)")
	cmd.Flags().StringVar(&eventsDir, "events", "", "read samples from this folder instead of the built-in ones")
	return cmd
}

func runTrigger(cmd *cobra.Command, getenv func(string) string, f deliveryFlags, fsys fs.FS, provider, eventType string) error {
	if err := checkProvider(provider); err != nil {
		return err
	}
	s, err := sample.Find(fsys, provider, eventType)
	if err != nil {
		return fmt.Errorf("%w (hookstack trigger --list shows them all)", err)
	}
	fresh, err := sample.Refresh(s, time.Now(), rand.Reader)
	if err != nil {
		return err
	}
	res, err := deliver(cmd, getenv, f, fresh)
	if err != nil {
		return err
	}
	res.Type, res.Sample = s.Type, s.Path
	return report(cmd, f, res)
}

// listed is one line of trigger --list.
type listed struct {
	Provider string `json:"provider"`
	Event    string `json:"event"`  // what to pass to trigger
	Type     string `json:"type"`   // the event type sent
	Sample   string `json:"sample"` // the file, relative to events/
}

func runTriggerList(cmd *cobra.Command, fsys fs.FS, asJSON bool, args []string) error {
	providers := signature.Providers
	if len(args) == 1 {
		if err := checkProvider(args[0]); err != nil {
			return err
		}
		providers = args[:1]
	}
	items := []listed{}
	for _, p := range providers {
		samples, err := sample.LoadProvider(fsys, p)
		if err != nil {
			return err
		}
		for _, s := range samples {
			items = append(items, listed{Provider: p, Event: s.Trigger(), Type: s.Type, Sample: s.Path})
		}
	}
	out := cmd.OutOrStdout()
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(items)
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PROVIDER\tEVENT\tTYPE SENT\tSAMPLE")
	for _, it := range items {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", it.Provider, it.Event, it.Type, it.Sample)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(items) > 0 {
		fmt.Fprintf(out, "\nSend one with: hookstack trigger %s %s\n", items[0].Provider, items[0].Event)
	}
	return nil
}
