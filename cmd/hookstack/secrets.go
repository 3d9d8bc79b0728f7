package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/spf13/cobra"

	"github.com/hookstack/hookstack/shared/secrets"
	"github.com/hookstack/hookstack/shared/stack"
)

// ingestSecretTTL is how long the ingest function caches a secret
// (secrets.NewManager's default TTL, as awsingest.Secrets builds it).
const ingestSecretTTL = "5 minutes"

const backendRule = `Where: --local edits the dev server's <data>/secrets.json (--data, default .hookstack);
--stack NAME or --aws edits the deployed stack's Secrets Manager secret (SecretName<Provider>
output; the stack is --stack, else HOOKSTACK_STACK, else Hookstack). Without either flag:
HOOKSTACK_BACKEND=aws means the stack, unset or local means the local file.`

// secretsFlags are the flags set and retire share.
type secretsFlags struct {
	stack   string
	aws     bool
	local   bool
	dataDir string
	json    bool
}

func (f *secretsFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.stack, "stack", "", "edit this deployed stack's secret (default stack: $HOOKSTACK_STACK, else "+stack.DefaultName+"); implies AWS")
	cmd.Flags().BoolVar(&f.aws, "aws", false, "edit the deployed stack's secret in Secrets Manager (as HOOKSTACK_BACKEND=aws)")
	cmd.Flags().BoolVar(&f.local, "local", false, "edit the dev server's <data>/secrets.json (the default unless HOOKSTACK_BACKEND=aws)")
	cmd.Flags().StringVar(&f.dataDir, "data", ".hookstack", "the dev server's data folder, where its secrets.json is")
	cmd.Flags().BoolVar(&f.json, "json", false, "print the result as JSON")
}

// useAWS applies the backend rule (see backendRule).
func (f *secretsFlags) useAWS(cmd *cobra.Command, getenv func(string) string) (bool, error) {
	remote := f.aws || cmd.Flags().Changed("stack")
	if f.local && remote {
		return false, errors.New("--local edits the dev server's file, --stack/--aws the deployed stack's secret: pass one of them")
	}
	if f.local || remote {
		return remote, nil
	}
	b, err := parseBackend(getenv)
	return b == backendAWS, err
}

// secretsResult is what set and retire print (as JSON with --json). Active
// secrets are masked: no command prints a whole secret.
type secretsResult struct {
	Provider   string   `json:"provider"`
	Action     string   `json:"action"`  // set | retire
	Backend    string   `json:"backend"` // local | aws
	Stack      string   `json:"stack,omitempty"`
	SecretName string   `json:"secret_name,omitempty"`
	File       string   `json:"file,omitempty"`
	Changed    bool     `json:"changed"`
	Active     []string `json:"active"` // masked, newest first
	Retired    int      `json:"retired"`
	Next       string   `json:"next"`
}

func newSecretsCmd(getenv func(string) string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secrets",
		Short: "Set and rotate providers' signing secrets (dev server or deployed stack)",
		Long: `secrets edits a provider's list of active signing secrets, newest first. Rotation takes
two steps: "secrets set" adds the new secret in front and keeps the old ones accepted, so
webhooks signed either way pass while the provider switches over; "secrets retire" then
keeps only the newest.

` + backendRule,
		Example: `  hookstack secrets set stripe whsec_... --stack Hookstack
  hookstack secrets retire stripe --stack Hookstack
  hookstack secrets set github - --local < github-secret.txt`,
		Args: subcommandArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return fmt.Errorf("secrets needs a subcommand: set or retire (see hookstack secrets --help)")
		},
	}
	cmd.AddCommand(newSecretsSetCmd(getenv), newSecretsRetireCmd(getenv))
	return cmd
}

func newSecretsSetCmd(getenv func(string) string) *cobra.Command {
	var f secretsFlags
	cmd := &cobra.Command{
		Use:   "set <provider> <value|->",
		Short: "Add a new active secret for a provider (the old ones stay active until retired)",
		Long: `set puts <value> first in the provider's list of active secrets; the secrets already
there stay accepted (until "hookstack secrets retire"). Pass - to read the value from
standard input, which keeps it out of your shell history. The result shows the active
secrets masked (first 8 characters).

The value is checked where that is cheap: stripe needs whsec_..., standard whsec_ and
base64, salesforce a 15- or 18-character OrganizationId (00D...); API keys and tokens
pasted by mistake (sk_..., xoxb-..., ghp_..., an Account SID) are refused with the reason.
For salesforce the "secret" is an allowed OrganizationId, for livechat the webhook's
secret_key.

In AWS the stored value is a JSON array, newest first; the ingest function caches it for
up to ` + ingestSecretTTL + `. Locally, "hookstack dev" picks up a change of secrets.json while it
runs; a dev server older than this version needs a restart (and HOOKSTACK_SECRET_<PROVIDER>,
when set, wins over the file).

` + backendRule,
		Example: `  hookstack secrets set stripe whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw --stack Hookstack
  pbpaste | hookstack secrets set stripe - --aws
  hookstack secrets set salesforce 00D5g000004SabcEAC --local --data /tmp/hookstack
  hookstack secrets set standard whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD --stack HookstackDev --json`,
		Args: exactArgs(2, "hookstack secrets set stripe whsec_... (or - to read it from standard input)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			provider, value := args[0], args[1]
			if err := checkProvider(provider); err != nil {
				return err
			}
			if value == "-" {
				var err error
				if value, err = readSecretValue(cmd.InOrStdin()); err != nil {
					return err
				}
			}
			if err := secrets.Validate(provider, value); err != nil {
				return err
			}
			return runSecrets(cmd, getenv, &f, "set", provider, value)
		},
	}
	f.register(cmd)
	return cmd
}

func newSecretsRetireCmd(getenv func(string) string) *cobra.Command {
	var f secretsFlags
	cmd := &cobra.Command{
		Use:   "retire <provider>",
		Short: "Keep only a provider's newest secret (finish a rotation)",
		Long: `retire drops every active secret of the provider but the newest, finishing a rotation
started with "hookstack secrets set". Run it once the provider signs with the new secret
only (for Stripe: once the old secret's expiry has passed). In AWS the ingest function stops
accepting the retired secrets within ` + ingestSecretTTL + ` (its cache); locally, "hookstack dev" picks
the change up (one older than this version needs a restart).

` + backendRule,
		Example: `  hookstack secrets retire stripe --stack Hookstack
  hookstack secrets retire github --local --json`,
		Args: exactArgs(1, "hookstack secrets retire stripe --stack Hookstack"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkProvider(args[0]); err != nil {
				return err
			}
			return runSecrets(cmd, getenv, &f, "retire", args[0], "")
		},
	}
	f.register(cmd)
	return cmd
}

// readSecretValue reads a secret from the first line of r.
func readSecretValue(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 64<<10)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the secret from standard input: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no secret on standard input: pipe it in (e.g. pbpaste | hookstack secrets set <provider> -) or pass it as the argument")
	}
	return line, nil
}

func runSecrets(cmd *cobra.Command, getenv func(string) string, f *secretsFlags, action, provider, value string) error {
	remote, err := f.useAWS(cmd, getenv)
	if err != nil {
		return err
	}
	var res *secretsResult
	if remote {
		res, err = editStackSecret(cmd, getenv, f, action, provider, value)
	} else {
		res, err = editLocalSecret(cmd, getenv, f, action, provider, value)
	}
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if f.json {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	where := res.File
	if res.Backend == "aws" {
		where = fmt.Sprintf("Secrets Manager secret %s (stack %s)", res.SecretName, res.Stack)
	}
	switch {
	case !res.Changed && action == "set":
		fmt.Fprintf(out, "%s: that secret is already the newest in %s; nothing changed\n", provider, where)
	case !res.Changed:
		fmt.Fprintf(out, "%s: only one active secret in %s; nothing to retire\n", provider, where)
	case action == "set":
		fmt.Fprintf(out, "%s: added the new secret to %s\n", provider, where)
	default:
		fmt.Fprintf(out, "%s: retired %d secret(s) in %s\n", provider, res.Retired, where)
	}
	fmt.Fprintln(out, "active secrets, newest first:")
	for i, s := range res.Active {
		fmt.Fprintf(out, "  %d. %s\n", i+1, s)
	}
	if res.Next != "" {
		fmt.Fprintln(out, res.Next)
	}
	return nil
}

func editStackSecret(cmd *cobra.Command, getenv func(string) string, f *secretsFlags, action, provider, value string) (*secretsResult, error) {
	ctx := cmd.Context()
	sname := stackName(getenv, f.stack)
	out, cfg, err := loadStack(ctx, sname)
	if err != nil {
		return nil, err
	}
	id, err := out.SecretName(provider)
	if err != nil {
		var enabled []string
		for _, p := range out.Providers {
			enabled = append(enabled, p.Name)
		}
		return nil, fmt.Errorf("%w (enabled: %s): deploy with -c providers=... including %s, or pass --stack for another stack",
			err, strings.Join(enabled, ", "), provider)
	}
	client := secretsmanager.NewFromConfig(cfg)
	var c secrets.Change
	if action == "set" {
		c, err = secrets.SetRemote(ctx, client, id, value)
	} else {
		c, err = secrets.RetireRemote(ctx, client, id)
	}
	switch {
	case errors.Is(err, secrets.ErrNothingActive):
		return nil, fmt.Errorf("%w: nothing to retire; add one with hookstack secrets set %s <value> --stack %s", err, provider, sname)
	case errors.Is(err, secrets.ErrSecretNotFound):
		return nil, fmt.Errorf("%w: the stack's output names a secret that is gone; deploy the stack again (make deploy)", err)
	case err != nil:
		return nil, fmt.Errorf("%w%s", err, awsHint(err, "secretsmanager:GetSecretValue and secretsmanager:PutSecretValue on "+id))
	}
	res := &secretsResult{
		Provider: provider, Action: action, Backend: "aws", Stack: out.StackName, SecretName: id,
		Changed: c.Changed, Active: maskAll(c.After), Retired: len(c.Before) - len(c.After),
	}
	if res.Retired < 0 {
		res.Retired = 0
	}
	stackArg := " --stack " + out.StackName // explicit: without it the default may be the local file
	switch {
	case action == "set" && len(c.After) > 1:
		res.Next = fmt.Sprintf("The ingest function accepts the new secret within %s (its cache) and keeps accepting the older ones.\n"+
			"Once %s signs only with the new secret, run: hookstack secrets retire %s%s", ingestSecretTTL, provider, provider, stackArg)
	case action == "set":
		res.Next = fmt.Sprintf("The ingest function accepts %s webhooks signed with it within %s (its cache).", provider, ingestSecretTTL)
	case c.Changed:
		res.Next = fmt.Sprintf("The ingest function stops accepting the retired secrets within %s (its cache).", ingestSecretTTL)
	}
	return res, nil
}

func editLocalSecret(cmd *cobra.Command, getenv func(string) string, f *secretsFlags, action, provider, value string) (*secretsResult, error) {
	path := filepath.Join(f.dataDir, "secrets.json")
	before, err := readLocalSecrets(path)
	if err != nil {
		return nil, err
	}
	old := before[provider]
	res := &secretsResult{Provider: provider, Action: action, Backend: "local", File: path}
	var after []string
	switch {
	case action == "set" && len(old) > 0 && old[0] == value:
		after = old
	case action == "set":
		if after, err = secrets.SetLocal(path, provider, value); err != nil {
			return nil, fmt.Errorf("update %s: %w", path, err)
		}
		res.Changed = true
	case len(old) == 0:
		return nil, fmt.Errorf("%s: no active %s secret in %s, nothing to retire (add one with hookstack secrets set %s <value> --local, or check --data)",
			secrets.ErrNothingActive, provider, path, provider)
	case len(old) == 1:
		after = old
	default:
		if after, err = secrets.RetireLocal(path, provider); err != nil {
			return nil, fmt.Errorf("update %s: %w", path, err)
		}
		res.Changed, res.Retired = true, len(old)-len(after)
	}
	res.Active = maskAll(after)
	if res.Changed {
		res.Next = fmt.Sprintf("A running hookstack dev picks up the change of %s; a dev server older than this version needs a restart.", path)
		if action == "set" && len(after) > 1 {
			res.Next += fmt.Sprintf("\nOnce every sender uses the new secret, run: hookstack secrets retire %s --local", provider)
			if f.dataDir != ".hookstack" {
				res.Next += " --data " + f.dataDir
			}
		}
	}
	if env := secrets.EnvName(provider); getenv(env) != "" {
		fmt.Fprintf(cmd.ErrOrStderr(), "note: %s is set in this environment; hookstack dev started with it uses that instead of %s\n", env, path)
	}
	return res, nil
}

// readLocalSecrets reads the dev server's secrets file (none yet is fine).
func readLocalSecrets(path string) (map[string][]string, error) {
	m := map[string][]string{}
	raw, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return m, nil
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%s is not the dev server's secrets file (a JSON object of provider → secrets): %w; check --data", path, err)
	}
	return m, nil
}

// maskAll masks each secret: its first 8 characters and "…", or only dots
// when it is too short to show any of it safely. Never the whole secret.
func maskAll(list []string) []string {
	out := make([]string, 0, len(list))
	for _, s := range list {
		if n := utf8.RuneCountInString(s); n <= 10 {
			out = append(out, strings.Repeat("•", n))
		} else {
			out = append(out, string([]rune(s)[:8])+"…")
		}
	}
	return out
}
