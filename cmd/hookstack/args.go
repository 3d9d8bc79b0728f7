package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// Backends HOOKSTACK_BACKEND names.
const (
	backendLocal = "local"
	backendAWS   = "aws"
)

// errUnknownBackend: HOOKSTACK_BACKEND is neither local nor aws.
var errUnknownBackend = errors.New("not a backend hookstack knows")

// parseBackend reads HOOKSTACK_BACKEND the one way every command does:
// trimmed and case-insensitive, "" (unset), "local" or "aws"; anything else
// is an error that says what to use.
func parseBackend(getenv func(string) string) (string, error) {
	raw := getenv("HOOKSTACK_BACKEND")
	switch b := strings.ToLower(strings.TrimSpace(raw)); b {
	case "", backendLocal, backendAWS:
		return b, nil
	default:
		return "", fmt.Errorf("HOOKSTACK_BACKEND=%q: use local or aws (or pass --local or --stack): %w", raw, errUnknownBackend)
	}
}

// exactArgs is cobra.ExactArgs with an error that shows the usage line and
// an example: "send takes <provider> <file|->, got 1 argument".
func exactArgs(n int, example string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == n {
			return nil
		}
		return argsError(cmd, args, example)
	}
}

// argsError says which arguments cmd takes, with its usage line and an
// example.
func argsError(cmd *cobra.Command, args []string, example string) error {
	name, wants, _ := strings.Cut(cmd.Use, " ")
	plural := "s"
	if len(args) == 1 {
		plural = ""
	}
	return fmt.Errorf("%s takes %s, got %d argument%s\n  usage:   %s\n  example: %s\n(see %s --help)",
		name, wants, len(args), plural, cmd.UseLine(), example, cmd.CommandPath())
}

// subcommandArgs is the Args of a command that only groups subcommands: an
// unknown subcommand is an error with cobra's suggestions ("Did you mean
// add?").
func subcommandArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2 // cobra's default for the root
	}
	msg := fmt.Sprintf("unknown command %q for %q.", args[0], cmd.CommandPath())
	suggestions := cmd.SuggestionsFor(args[0])
	// A subcommand the word begins is the likelier one ("ad": add, not rm).
	var prefixed []string
	for _, s := range suggestions {
		if strings.HasPrefix(s, strings.ToLower(args[0])) {
			prefixed = append(prefixed, s)
		}
	}
	if len(prefixed) > 0 {
		suggestions = prefixed
	}
	if len(suggestions) > 0 {
		msg += fmt.Sprintf(" Did you mean %s?", strings.Join(suggestions, " or "))
	}
	var names []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	return fmt.Errorf("%s %s has: %s (see %s --help)", msg, cmd.Name(), strings.Join(names, ", "), cmd.CommandPath())
}
