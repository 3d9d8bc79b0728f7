package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/spf13/cobra"

	"github.com/hookstack/hookstack/shared/notify"
	"github.com/hookstack/hookstack/shared/notify/notifystore"
	"github.com/hookstack/hookstack/shared/stack"
	"github.com/hookstack/hookstack/shared/store/dynamostore"
)

// mgmtRule says how the commands that work on either the dev server or a
// deployed stack (endpoints, dlq, replay, tail) pick one.
const mgmtRule = `Where: --local talks to a running dev server (hookstack dev) at --dev-url, else
$HOOKSTACK_DEV_URL, else ` + defaultDevURL + `. --stack NAME (or --aws) works on the deployed
stack directly with the AWS SDK (its table and queues, found from the stack's outputs; the
stack is --stack, else $HOOKSTACK_STACK, else ` + stack.DefaultName + `). Without either flag: a set
HOOKSTACK_DEV_URL, or HOOKSTACK_BACKEND unset or local, means the dev server;
HOOKSTACK_BACKEND=aws means the stack, unless a dev server answers at ` + defaultDevURL + `.`

// mgmtFlags are the target flags of the commands that work on either the
// dev server or a deployed stack.
type mgmtFlags struct {
	local  bool
	aws    bool
	stack  string
	devURL string
	json   bool
	// legacyURL is --url, the former name of --dev-url on tail and replay
	// (hidden; see registerURLAlias).
	legacyURL string
}

// devURLUsage is --dev-url's help on every command that has it.
const devURLUsage = "the dev server's base URL (default $HOOKSTACK_DEV_URL, else " + defaultDevURL + ")"

func (f *mgmtFlags) register(cmd *cobra.Command, jsonFlag bool) {
	cmd.Flags().BoolVar(&f.local, "local", false, "use the dev server (the default unless HOOKSTACK_BACKEND=aws)")
	cmd.Flags().BoolVar(&f.aws, "aws", false, "use the deployed stack through the AWS SDK (as HOOKSTACK_BACKEND=aws)")
	cmd.Flags().StringVar(&f.stack, "stack", "", "the deployed stack to use (default $HOOKSTACK_STACK, else "+stack.DefaultName+"); implies AWS")
	cmd.Flags().StringVar(&f.devURL, "dev-url", "", devURLUsage+"; implies --local")
	if jsonFlag {
		cmd.Flags().BoolVar(&f.json, "json", false, "print the result as JSON")
	}
}

// registerURLAlias keeps --url, the former name of --dev-url on tail and
// replay, working: hidden, with a notice when used.
func (f *mgmtFlags) registerURLAlias(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.legacyURL, "url", "", "deprecated: use --dev-url")
	_ = cmd.Flags().MarkHidden("url")
}

// mgmtTarget is what a command manages: the dev server at devURL, or the
// deployed stack named stack.
type mgmtTarget struct {
	aws    bool
	devURL string
	stack  string
}

// mgmtProbeURL is where a running dev server is looked for when
// HOOKSTACK_BACKEND=aws (a variable so tests can aim it elsewhere).
var mgmtProbeURL = defaultDevURL

// target applies mgmtRule.
func (f *mgmtFlags) target(cmd *cobra.Command, getenv func(string) string) (mgmtTarget, error) {
	devFlag, devFrom := f.devURL, "--dev-url"
	if f.legacyURL != "" {
		if f.devURL != "" {
			return mgmtTarget{}, errors.New("--url is the old name of --dev-url: give --dev-url only")
		}
		fmt.Fprintln(cmd.ErrOrStderr(), "note: --url is deprecated here: use --dev-url (the dev server's address on every command)")
		devFlag, devFrom = f.legacyURL, "--url"
	}
	remote := f.aws || cmd.Flags().Changed("stack")
	local := f.local || devFlag != "" || cmd.Flags().Changed("dev-url")
	if local && remote {
		return mgmtTarget{}, errors.New("--local/--dev-url use the dev server, --stack/--aws the deployed stack: pass one of them")
	}
	if remote {
		return mgmtTarget{aws: true, stack: stackName(getenv, f.stack)}, nil
	}
	devURL, err := mgmtDevURL(getenv, devFlag, devFrom)
	if err != nil {
		return mgmtTarget{}, err
	}
	if local {
		return mgmtTarget{devURL: devURL}, nil
	}
	backend, err := parseBackend(getenv)
	if err != nil {
		return mgmtTarget{}, err
	}
	if backend != backendAWS || getenv("HOOKSTACK_DEV_URL") != "" {
		return mgmtTarget{devURL: devURL}, nil
	}
	if mgmtDevAnswers(cmd.Context(), mgmtProbeURL) {
		fmt.Fprintf(cmd.ErrOrStderr(), "a dev server answers at %s: using it (pass --stack to use the deployed stack)\n", mgmtProbeURL)
		return mgmtTarget{devURL: mgmtProbeURL}, nil
	}
	return mgmtTarget{aws: true, stack: stackName(getenv, f.stack)}, nil
}

// mgmtDevURL is the flag's value (named from), else HOOKSTACK_DEV_URL, else
// the default, with no trailing slash.
func mgmtDevURL(getenv func(string) string, flag, from string) (string, error) {
	raw := flag
	if raw == "" {
		raw, from = getenv("HOOKSTACK_DEV_URL"), "HOOKSTACK_DEV_URL"
	}
	if raw == "" {
		raw = defaultDevURL
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return "", fmt.Errorf("%s %q is not the dev server's base URL: use e.g. %s", from, raw, defaultDevURL)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// mgmtDevAnswers reports whether a dev server serves its endpoints API at base.
func mgmtDevAnswers(ctx context.Context, base string) bool {
	ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/endpoints", nil)
	if err != nil {
		return false
	}
	resp, err := mgmtClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var list []json.RawMessage
	return resp.StatusCode == http.StatusOK && json.NewDecoder(io.LimitReader(resp.Body, maxResponseBytes)).Decode(&list) == nil
}

// mgmtClient calls the dev server's JSON API.
var mgmtClient = &http.Client{
	Timeout:       2 * time.Minute, // a redrive of a full DLQ takes a while
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// errDevAPINotFound: the dev server answered 404 (an unknown id or queue).
var errDevAPINotFound = errors.New("not found")

// mgmtCall sends a JSON request to the dev server at base and decodes a 2xx
// answer into out (when not nil). Errors say what to do.
func mgmtCall(ctx context.Context, base, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		return fmt.Errorf("build the request for %s: %w", base+path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "hookstack/"+version)
	resp, err := mgmtClient.Do(req)
	if err != nil {
		return fmt.Errorf("no dev server answers at %s: start one with `make dev` (or `hookstack dev`), or pass --stack to manage the deployed stack (--dev-url or HOOKSTACK_DEV_URL if it listens elsewhere): %w", base, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("read the answer of %s %s: %w", method, base+path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var e struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(raw))
		if json.Unmarshal(raw, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		if len(msg) > 300 {
			msg = msg[:300] + "…"
		}
		err := fmt.Errorf("dev server at %s answered %s %s with %d: %s", base, method, path, resp.StatusCode, msg)
		switch {
		case resp.StatusCode == http.StatusNotFound:
			return fmt.Errorf("%w: %w", err, errDevAPINotFound)
		case resp.StatusCode >= 500:
			return fmt.Errorf("%w (look at the dev server's log)", err)
		}
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("dev server at %s answered %s %s with something else than its JSON (is --dev-url the dev server?): %w", base, method, path, err)
	}
	return nil
}

// String names the target in messages.
func (t mgmtTarget) String() string {
	if t.aws {
		return "stack " + t.stack
	}
	return "dev server " + t.devURL
}

// endpointSpec is what `endpoints add` asks for.
type endpointSpec struct {
	Type        string   `json:"type"`
	URL         string   `json:"url"`
	Events      []string `json:"events"`
	Description string   `json:"description,omitempty"`
	ListID      string   `json:"list_id,omitempty"`
	APIKey      string   `json:"api_key,omitempty"`
}

// endpointStore is where endpoints are managed: the dev server or the table.
type endpointStore interface {
	add(ctx context.Context, s endpointSpec) (notify.Endpoint, error)
	list(ctx context.Context) ([]notify.Endpoint, error)
	remove(ctx context.Context, id string) error
	rotate(ctx context.Context, id string) (string, error)
	setEnabled(ctx context.Context, id string, enabled bool) (notify.Endpoint, error)
}

// devEndpoints manage the dev server's endpoints over its JSON API.
type devEndpoints struct{ base string }

func (d devEndpoints) add(ctx context.Context, s endpointSpec) (notify.Endpoint, error) {
	var ep notify.Endpoint
	err := mgmtCall(ctx, d.base, http.MethodPost, "/api/endpoints", s, &ep)
	return ep, err
}

func (d devEndpoints) list(ctx context.Context) ([]notify.Endpoint, error) {
	var list []notify.Endpoint
	err := mgmtCall(ctx, d.base, http.MethodGet, "/api/endpoints", nil, &list)
	return list, err
}

func (d devEndpoints) remove(ctx context.Context, id string) error {
	return endpointNotFound(id, mgmtCall(ctx, d.base, http.MethodDelete, "/api/endpoints/"+url.PathEscape(id), nil, nil))
}

func (d devEndpoints) rotate(ctx context.Context, id string) (string, error) {
	var out struct {
		Secret string `json:"secret"`
	}
	err := mgmtCall(ctx, d.base, http.MethodPost, "/api/endpoints/"+url.PathEscape(id)+"/rotate-secret", nil, &out)
	if err != nil {
		return "", endpointNotFound(id, err)
	}
	if out.Secret == "" {
		return "", fmt.Errorf("dev server at %s rotated the secret of %s but sent no secret back", d.base, id)
	}
	return out.Secret, nil
}

func (d devEndpoints) setEnabled(ctx context.Context, id string, enabled bool) (notify.Endpoint, error) {
	action := "/disable"
	if enabled {
		action = "/enable"
	}
	var ep notify.Endpoint
	err := mgmtCall(ctx, d.base, http.MethodPost, "/api/endpoints/"+url.PathEscape(id)+action, nil, &ep)
	return ep, endpointNotFound(id, err)
}

// endpointNotFound turns a 404 into notify.ErrEndpointNotFound.
func endpointNotFound(id string, err error) error {
	if errors.Is(err, errDevAPINotFound) {
		return fmt.Errorf("endpoint %q: %w", id, notify.ErrEndpointNotFound)
	}
	return err
}

// tableEndpoints manage the deployed stack's endpoints in its table.
type tableEndpoints struct{ eps *notifystore.Endpoints }

func (a tableEndpoints) add(ctx context.Context, s endpointSpec) (notify.Endpoint, error) {
	ep := notify.Endpoint{Type: s.Type, URL: s.URL, Events: s.Events, Description: s.Description, Enabled: true}
	if s.Type == notify.TypeMailchimp {
		ep.Mailchimp = notify.MailchimpSettings{ListID: s.ListID, APIKey: s.APIKey}
	}
	return a.eps.Add(ctx, ep)
}

func (a tableEndpoints) list(ctx context.Context) ([]notify.Endpoint, error) {
	list, err := a.eps.List(ctx)
	for i := range list {
		list[i] = list[i].Redacted()
	}
	return list, err
}

func (a tableEndpoints) remove(ctx context.Context, id string) error {
	return a.eps.Remove(ctx, id)
}

func (a tableEndpoints) rotate(ctx context.Context, id string) (string, error) {
	return a.eps.RotateSecret(ctx, id)
}

func (a tableEndpoints) setEnabled(ctx context.Context, id string, enabled bool) (notify.Endpoint, error) {
	var err error
	if enabled {
		err = a.eps.Enable(ctx, id)
	} else {
		err = a.eps.Disable(ctx, id, "disabled by an operator")
	}
	if err != nil {
		return notify.Endpoint{}, err
	}
	ep, err := a.eps.Get(ctx, id)
	return ep.Redacted(), err
}

// awsGuard is the SSRF guard of the deployed deliverer as far as the CLI
// knows it: nothing private, plus HOOKSTACK_OUTBOUND_ALLOW_CIDRS when set
// here too.
func awsGuard(getenv func(string) string) (*notify.Guard, error) {
	allow, err := notify.ParseCIDRs(getenv("HOOKSTACK_OUTBOUND_ALLOW_CIDRS"))
	if err != nil {
		return nil, fmt.Errorf("HOOKSTACK_OUTBOUND_ALLOW_CIDRS: %w", err)
	}
	return &notify.Guard{Allow: allow}, nil
}

// localGuard is the dev server's: loopback allowed, so local sinks work.
func localGuard(getenv func(string) string) (*notify.Guard, error) {
	g, err := awsGuard(getenv)
	if err != nil {
		return nil, err
	}
	g.AllowLoopback = true
	return g, nil
}

// openEndpoints connects to the target's endpoints.
func openEndpoints(ctx context.Context, getenv func(string) string, t mgmtTarget) (endpointStore, error) {
	if !t.aws {
		return devEndpoints{base: t.devURL}, nil
	}
	out, cfg, err := loadStack(ctx, t.stack)
	if err != nil {
		return nil, err
	}
	if out.TableName == "" {
		return nil, fmt.Errorf("stack %s has no %s output: deploy it again with `make deploy` (or pass --stack for another stack)", out.StackName, stack.KeyTableName)
	}
	guard, err := awsGuard(getenv)
	if err != nil {
		return nil, err
	}
	st := dynamostore.New(dynamodb.NewFromConfig(cfg), out.TableName, dynamostore.ListKinds(notifystore.ListedKinds...))
	return tableEndpoints{eps: notifystore.NewEndpoints(st, guard)}, nil
}

// endpointsError adds what to do to an error of an endpoint operation.
func endpointsError(t mgmtTarget, id string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, notify.ErrEndpointNotFound):
		return fmt.Errorf("no endpoint %q in the %s: list them with `hookstack endpoints list%s`", id, t, t.flagHint())
	case errors.Is(err, notifystore.ErrNotHTTP):
		return fmt.Errorf("%w: only http endpoints sign their requests; slack and mailchimp endpoints have no secret to rotate", err)
	case errors.Is(err, notify.ErrInvalidEndpoint):
		return fmt.Errorf("%w (see hookstack endpoints add --help)", err)
	case t.aws:
		return fmt.Errorf("%w%s", err, awsHint(err, "dynamodb:GetItem, PutItem, UpdateItem and Query on the stack's table"))
	}
	return err
}

// flagHint is the flag that aims a follow-up command at the same target.
func (t mgmtTarget) flagHint() string {
	if t.aws {
		return " --stack " + t.stack
	}
	if t.devURL != defaultDevURL {
		return " --dev-url " + t.devURL
	}
	return ""
}

func newEndpointsCmd(getenv func(string) string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "endpoints",
		Short: "Manage outbound endpoints: who gets which events (dev server or deployed stack)",
		Long: `endpoints manages the subscribers of outbound events: http endpoints (signed with
Standard Webhooks headers), Slack incoming webhooks and Mailchimp audiences. Each has an
event filter of globs (payment.*, github.push, *).

` + mgmtRule,
		Example: `  hookstack endpoints add --type http --url https://example.com/hooks --events 'payment.*,inventory.*'
  hookstack endpoints list
  hookstack endpoints rotate-secret ep_01jx...
  hookstack endpoints rm ep_01jx... --stack Hookstack`,
		Args: subcommandArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return errors.New("endpoints needs a subcommand: add, list, rm, rotate-secret, disable or enable (see hookstack endpoints --help)")
		},
	}
	cmd.AddCommand(newEndpointsAddCmd(getenv), newEndpointsListCmd(getenv), newEndpointsRmCmd(getenv),
		newEndpointsRotateCmd(getenv), newEndpointsEnableCmd(getenv, false), newEndpointsEnableCmd(getenv, true))
	return cmd
}

// mailchimpDC is the data centre suffix of a Mailchimp API key ("...-us21").
var mailchimpDC = regexp.MustCompile(`-([a-z]{2,4}[0-9]{1,3})$`)

func newEndpointsAddCmd(getenv func(string) string) *cobra.Command {
	var (
		f      mgmtFlags
		spec   endpointSpec
		events string
	)
	cmd := &cobra.Command{
		Use:   "add --url URL [--type http|slack|mailchimp] [--events PATTERNS]",
		Short: "Add an endpoint (prints its id and, for http, its signing secret)",
		Long: `add creates an endpoint and prints its id. An http endpoint gets a signing secret
whsec_..., printed once: give it to the receiver, which verifies each request's
webhook-signature header with it (any Standard Webhooks library does).

--events is a comma-separated list of globs over event types: payment.* (payment.succeeded,
payment.failed, ...), lead.created, github.push, * for every event (the default).

Types: http (any https endpoint; the body is {"type","timestamp","data"}), slack (an
incoming-webhook URL, https://hooks.slack.com/services/...), mailchimp (--list-id and
--api-key; --url is the API base URL with the data centre, e.g. https://us21.api.mailchimp.com,
and defaults to the one the key names). Pass --api-key - to read the key from standard input.

The URL is checked before anything is stored: http(s) only, no user:password, and no literal
private, link-local or metadata address. The dev server may reach loopback (local sinks); the
deployed stack may not, unless HOOKSTACK_OUTBOUND_ALLOW_CIDRS allows the range (set it here as
in the stack). Names are checked when delivering.

` + mgmtRule,
		Example: `  hookstack endpoints add --url https://example.com/hooks --events 'payment.*,inventory.*'
  hookstack endpoints add --type slack --url https://hooks.slack.com/services/T0/B0/XXXX --events 'task.completed,inventory.low_stock'
  hookstack endpoints add --type mailchimp --list-id a1b2c3 --api-key - --events 'lead.*' < key.txt
  hookstack endpoints add --url http://127.0.0.1:9000/sink --description 'local sink' --local
  hookstack endpoints add --url https://example.com/hooks --events '*' --stack Hookstack --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			spec.Events = splitEvents(events)
			if spec.APIKey == "-" {
				key, err := readAPIKey(cmd.InOrStdin())
				if err != nil {
					return err
				}
				spec.APIKey = key
			}
			t, err := f.target(cmd, getenv)
			if err != nil {
				return err
			}
			if err := checkEndpointSpec(&spec, t, getenv); err != nil {
				return err
			}
			eps, err := openEndpoints(cmd.Context(), getenv, t)
			if err != nil {
				return err
			}
			ep, err := eps.add(cmd.Context(), spec)
			if err != nil {
				return endpointsError(t, "", err)
			}
			ep.Mailchimp.APIKey = notify.Endpoint{Mailchimp: ep.Mailchimp}.Redacted().Mailchimp.APIKey
			return printAdded(cmd.OutOrStdout(), f.json, t, ep)
		},
	}
	f.register(cmd, true)
	cmd.Flags().StringVar(&spec.Type, "type", notify.TypeHTTP, "endpoint type: http, slack or mailchimp")
	cmd.Flags().StringVar(&spec.URL, "url", "", "the endpoint's URL (mailchimp: the API base URL, default from the key's data centre)")
	cmd.Flags().StringVar(&events, "events", "*", "comma-separated event type globs, e.g. 'payment.*,inventory.*'")
	cmd.Flags().StringVar(&spec.Description, "description", "", "a note for people reading the list")
	cmd.Flags().StringVar(&spec.ListID, "list-id", "", "mailchimp: the audience (list) id")
	cmd.Flags().StringVar(&spec.APIKey, "api-key", "", "mailchimp: the API key (- reads it from standard input)")
	return cmd
}

// splitEvents splits a comma-separated --events value.
func splitEvents(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// readAPIKey reads a key from the first line of r.
func readAPIKey(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 4<<10)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the API key from standard input: %w", err)
	}
	if line = strings.TrimSpace(line); line == "" {
		return "", errors.New("--api-key -: no key on standard input: pipe it in, or pass it as --api-key KEY")
	}
	return line, nil
}

// checkEndpointSpec validates spec before anything is sent, with the guard
// of the target, and fills the Mailchimp URL from the key.
func checkEndpointSpec(s *endpointSpec, t mgmtTarget, getenv func(string) string) error {
	switch s.Type {
	case notify.TypeHTTP, notify.TypeSlack:
		if s.ListID != "" || s.APIKey != "" {
			return fmt.Errorf("--list-id and --api-key are for --type mailchimp, not %s", s.Type)
		}
	case notify.TypeMailchimp:
		if s.ListID == "" || s.APIKey == "" {
			return errors.New("a mailchimp endpoint needs --list-id (the audience id) and --api-key (Mailchimp → Profile → Extras → API keys)")
		}
		if s.URL == "" {
			m := mailchimpDC.FindStringSubmatch(s.APIKey)
			if m == nil {
				return errors.New("the API key names no data centre (it ends in -us21 or the like): pass --url https://<dc>.api.mailchimp.com")
			}
			s.URL = "https://" + m[1] + ".api.mailchimp.com"
		}
	default:
		return fmt.Errorf("--type %q: use http, slack or mailchimp", s.Type)
	}
	if s.URL == "" {
		return errors.New("--url is required: where to deliver (e.g. --url https://example.com/hooks)")
	}
	if len(s.Events) == 0 {
		return errors.New("--events is empty: pass event type globs, e.g. --events 'payment.*' or --events '*' for every event")
	}
	for _, p := range s.Events {
		if err := notify.ValidatePattern(p); err != nil {
			return fmt.Errorf("--events %q: %w: use globs like payment.*, github.push or *", p, err)
		}
	}
	guard, err := localGuard(getenv)
	if t.aws {
		guard, err = awsGuard(getenv)
	}
	if err != nil {
		return err
	}
	if err := notify.ValidateURL(s.URL, guard); err != nil {
		if errors.Is(err, notify.ErrBlockedAddress) && t.aws {
			return fmt.Errorf("--url: %w: the deployed deliverer may not reach it; use a public URL (or set HOOKSTACK_OUTBOUND_ALLOW_CIDRS here as the stack has it)", err)
		}
		return fmt.Errorf("--url: %w", err)
	}
	return nil
}

// addedResult is `endpoints add --json`: the endpoint, with its secret.
type addedResult struct {
	notify.Endpoint
	Target string `json:"target"`
}

func printAdded(w io.Writer, asJSON bool, t mgmtTarget, ep notify.Endpoint) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(addedResult{Endpoint: ep, Target: t.String()})
	}
	fmt.Fprintf(w, "Added %s endpoint %s in the %s\n", ep.Type, ep.ID, t)
	fmt.Fprintf(w, "  url     %s\n", displayURL(ep))
	fmt.Fprintf(w, "  events  %s\n", strings.Join(ep.Events, ", "))
	if ep.Description != "" {
		fmt.Fprintf(w, "  note    %s\n", ep.Description)
	}
	if ep.Type == notify.TypeMailchimp {
		fmt.Fprintf(w, "  list    %s\n", ep.Mailchimp.ListID)
	}
	if len(ep.Secrets) > 0 {
		fmt.Fprintf(w, "  secret  %s\n", ep.Secrets[0])
		fmt.Fprintln(w, "The secret is shown only now: give it to the receiver, which verifies the webhook-signature header with it (any Standard Webhooks library).")
	}
	if t.aws {
		fmt.Fprintf(w, "The fan-out sends it events within %s (its endpoint cache).\n", notifystore.EndpointCacheTTL)
	}
	return nil
}

// displayURL hides the token part of a Slack incoming-webhook URL, which
// is itself the credential.
func displayURL(ep notify.Endpoint) string {
	if ep.Type != notify.TypeSlack {
		return ep.URL
	}
	i := strings.LastIndexByte(ep.URL, '/')
	if i < 0 || len(ep.URL)-i-1 <= 4 {
		return ep.URL
	}
	return ep.URL[:i+5] + "…"
}

func newEndpointsListCmd(getenv func(string) string) *cobra.Command {
	var f mgmtFlags
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the endpoints (secrets redacted)",
		Long: `list prints every endpoint, newest first: id, type, URL, event filter, whether it is
enabled (with the reason when it was disabled, e.g. after a 410 Gone) and the description.
Secrets and API keys are shown redacted; --json prints the endpoints as a JSON array.

` + mgmtRule,
		Example: `  hookstack endpoints list
  hookstack endpoints list --stack Hookstack --json | jq -r '.[].id'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := f.target(cmd, getenv)
			if err != nil {
				return err
			}
			eps, err := openEndpoints(cmd.Context(), getenv, t)
			if err != nil {
				return err
			}
			list, err := eps.list(cmd.Context())
			if err != nil {
				return endpointsError(t, "", err)
			}
			if list == nil {
				list = []notify.Endpoint{}
			}
			out := cmd.OutOrStdout()
			if f.json {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(list)
			}
			if len(list) == 0 {
				fmt.Fprintf(out, "No endpoints in the %s. Add one with: hookstack endpoints add --url URL --events 'payment.*'%s\n", t, t.flagHint())
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tTYPE\tURL\tEVENTS\tENABLED\tDESCRIPTION")
			for _, ep := range list {
				enabled := "yes"
				if !ep.Enabled {
					enabled = "no"
					if ep.DisabledReason != "" {
						enabled += " (" + ep.DisabledReason + ")"
					}
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", ep.ID, ep.Type, displayURL(ep), strings.Join(ep.Events, ","), enabled, ep.Description)
			}
			return tw.Flush()
		},
	}
	f.register(cmd, true)
	return cmd
}

// removedResult is `endpoints rm --json`.
type removedResult struct {
	ID      string `json:"id"`
	Removed bool   `json:"removed"`
	Target  string `json:"target"`
}

func newEndpointsRmCmd(getenv func(string) string) *cobra.Command {
	var f mgmtFlags
	cmd := &cobra.Command{
		Use:     "rm <id>",
		Aliases: []string{"remove"},
		Short:   "Remove an endpoint (its pending deliveries are dropped)",
		Long: `rm removes an endpoint. Deliveries to it still queued are dropped when they come up
("endpoint removed" in the delivery log); nothing more is sent to it. --json prints
{"id", "removed": true, "target"}.

` + mgmtRule,
		Example: `  hookstack endpoints rm ep_01jx...
  hookstack endpoints rm ep_01jx... --stack Hookstack --json`,
		Args: exactArgs(1, "hookstack endpoints rm ep_01jx... (ids: hookstack endpoints list)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			t, err := f.target(cmd, getenv)
			if err != nil {
				return err
			}
			eps, err := openEndpoints(cmd.Context(), getenv, t)
			if err != nil {
				return err
			}
			if err := eps.remove(cmd.Context(), id); err != nil {
				return endpointsError(t, id, err)
			}
			if f.json {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(removedResult{ID: id, Removed: true, Target: t.String()})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Removed endpoint %s from the %s\n", id, t)
			return nil
		},
	}
	f.register(cmd, true)
	return cmd
}

// rotatedResult is `endpoints rotate-secret --json`.
type rotatedResult struct {
	ID     string `json:"id"`
	Secret string `json:"secret"`
	Target string `json:"target"`
	Note   string `json:"note"`
}

func newEndpointsRotateCmd(getenv func(string) string) *cobra.Command {
	var f mgmtFlags
	cmd := &cobra.Command{
		Use:   "rotate-secret <id>",
		Short: "Give an http endpoint a new signing secret (the previous one stays active until the next rotation)",
		Long: `rotate-secret adds a new signing secret to an http endpoint and prints it (once). The
previous secret stays active: each request carries a signature with both, so the receiver
keeps verifying while it switches to the new secret. The next rotation retires the older one.

` + mgmtRule,
		Example: `  hookstack endpoints rotate-secret ep_01jx...
  hookstack endpoints rotate-secret ep_01jx... --stack Hookstack --json`,
		Args: exactArgs(1, "hookstack endpoints rotate-secret ep_01jx... (ids: hookstack endpoints list)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			t, err := f.target(cmd, getenv)
			if err != nil {
				return err
			}
			eps, err := openEndpoints(cmd.Context(), getenv, t)
			if err != nil {
				return err
			}
			secret, err := eps.rotate(cmd.Context(), id)
			if err != nil {
				return endpointsError(t, id, err)
			}
			res := rotatedResult{ID: id, Secret: secret, Target: t.String(),
				Note: "the previous secret stays active (requests carry both signatures) until the next rotation retires it"}
			if t.aws {
				res.Note += fmt.Sprintf("; deliveries sign with the new secret within %s (the deliverer's endpoint cache)", notifystore.EndpointCacheTTL)
			}
			out := cmd.OutOrStdout()
			if f.json {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(res)
			}
			fmt.Fprintf(out, "New signing secret for %s (%s):\n  %s\n", id, t, secret)
			fmt.Fprintf(out, "Shown only now. Note: %s.\n", res.Note)
			fmt.Fprintln(out, "Update the receiver to verify with the new secret; once it does, a later rotation retires the old one.")
			return nil
		},
	}
	f.register(cmd, true)
	return cmd
}

func newEndpointsEnableCmd(getenv func(string) string, enable bool) *cobra.Command {
	var f mgmtFlags
	use, short, long := "disable <id>", "Stop delivering to an endpoint without removing it",
		"disable stops deliveries to an endpoint (queued ones are dropped) and keeps it for later: hookstack endpoints enable."
	if enable {
		use, short, long = "enable <id>", "Deliver to a disabled endpoint again (e.g. after a 410 Gone disabled it)",
			"enable re-enables an endpoint that was disabled by an operator or by a 410 Gone answer. Deliveries dropped meanwhile are not resent."
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Long:  long + "\n\n" + mgmtRule,
		Args:  exactArgs(1, "hookstack endpoints "+strings.Fields(use)[0]+" ep_01jx... (ids: hookstack endpoints list)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			t, err := f.target(cmd, getenv)
			if err != nil {
				return err
			}
			eps, err := openEndpoints(cmd.Context(), getenv, t)
			if err != nil {
				return err
			}
			ep, err := eps.setEnabled(cmd.Context(), id, enable)
			if err != nil {
				return endpointsError(t, id, err)
			}
			if f.json {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(ep)
			}
			state := "enabled"
			if !ep.Enabled {
				state = "disabled"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Endpoint %s is %s (%s)\n", id, state, t)
			return nil
		},
	}
	f.register(cmd, true)
	return cmd
}
