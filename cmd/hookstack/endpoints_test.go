package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookstack/hookstack/shared/devserver"
	"github.com/hookstack/hookstack/shared/notify"
	"github.com/hookstack/hookstack/shared/notify/notifystore"
	"github.com/hookstack/hookstack/shared/store/dynamostore"
	"github.com/hookstack/hookstack/shared/store/dynamostore/dynamotest"
)

// runDevInProcess runs the real dev server (devserver.Run: embedded queues,
// processors, outbound API) in this process on a free port with a temporary
// data folder, and returns its base URL. It stops when the test ends.
func runDevInProcess(t *testing.T, env map[string]string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- devserver.Run(ctx, devserver.Options{
			Addr: "127.0.0.1:0", DataDir: t.TempDir(), Getenv: func(k string) string { return env[k] },
			Out: io.Discard, Log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
			Ready: func(addr string) { ready <- addr },
		})
	}()
	select {
	case addr := <-ready:
		t.Cleanup(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("dev server: %v", err)
				}
			case <-time.After(15 * time.Second):
				t.Errorf("dev server did not stop")
			}
		})
		return "http://" + addr
	case err := <-done:
		cancel()
		t.Fatalf("dev server did not start: %v", err)
	case <-time.After(15 * time.Second):
		cancel()
		t.Fatal("dev server did not start in time")
	}
	return ""
}

// closedURL is a base URL where nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + ln.Addr().String()
	ln.Close()
	return u
}

var (
	addedIDRe     = regexp.MustCompile(`Added \w+ endpoint (ep_[0-9a-z]+) `)
	addedSecretRe = regexp.MustCompile(`(?m)^  secret  (whsec_\S+)$`)
	rotatedRe     = regexp.MustCompile(`(?m)^  (whsec_\S+)$`)
)

func mustRun(t *testing.T, env map[string]string, stdin string, args ...string) string {
	t.Helper()
	out, errOut, err := execute(t, env, stdin, args...)
	if err != nil {
		t.Fatalf("hookstack %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

func listJSON(t *testing.T, env map[string]string, args ...string) []notify.Endpoint {
	t.Helper()
	out := mustRun(t, env, "", append([]string{"endpoints", "list", "--json"}, args...)...)
	var list []notify.Endpoint
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("list --json: %v\n%s", err, out)
	}
	return list
}

func TestEndpointsLocal(t *testing.T) {
	base := runDevInProcess(t, nil)
	env := map[string]string{"HOOKSTACK_DEV_URL": base}

	if out := mustRun(t, env, "", "endpoints", "list"); !strings.Contains(out, "No endpoints in the dev server "+base) {
		t.Fatalf("empty list:\n%s", out)
	}

	// add: loopback is fine locally; the id and the secret are printed.
	out := mustRun(t, env, "", "endpoints", "add", "--url", "http://127.0.0.1:9/sink", "--events", "payment.*, inventory.*", "--description", "local sink")
	m, s := addedIDRe.FindStringSubmatch(out), addedSecretRe.FindStringSubmatch(out)
	if m == nil || s == nil || !notify.ValidSecret(s[1]) || !strings.Contains(out, "events  payment.*, inventory.*") {
		t.Fatalf("add output:\n%s", out)
	}
	id, secret := m[1], s[1]

	// add --json: a slack endpoint; its URL token is masked in the table.
	out = mustRun(t, env, "", "endpoints", "add", "--type", "slack", "--url", "https://hooks.slack.com/services/T0/B0/abcdefghijkl", "--events", "task.completed", "--json")
	var slack struct {
		notify.Endpoint
		Target string `json:"target"`
	}
	if err := json.Unmarshal([]byte(out), &slack); err != nil || slack.Type != "slack" || slack.ID == "" || len(slack.Secrets) != 0 || slack.Target != "dev server "+base {
		t.Fatalf("add --json = %+v %v\n%s", slack, err, out)
	}

	list := listJSON(t, env)
	if len(list) != 2 || list[0].ID != slack.ID || list[1].ID != id {
		t.Fatalf("list (newest first) = %+v", list)
	}
	if got := list[1].Secrets; len(got) != 1 || got[0] == secret || !strings.HasPrefix(secret, strings.TrimSuffix(got[0], "…")) {
		t.Fatalf("listed secrets must be redacted: %v", got)
	}
	table := mustRun(t, env, "", "endpoints", "list")
	for _, want := range []string{"ID", "TYPE", "URL", "EVENTS", "ENABLED", "DESCRIPTION",
		id, "http://127.0.0.1:9/sink", "payment.*,inventory.*", "yes", "local sink", "https://hooks.slack.com/services/T0/B0/abcd…"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	if strings.Contains(table, secret) || strings.Contains(table, "abcdefghijkl") {
		t.Errorf("table shows a credential:\n%s", table)
	}

	// rotate-secret: a new secret, the old one still active.
	out = mustRun(t, env, "", "endpoints", "rotate-secret", id)
	r := rotatedRe.FindStringSubmatch(out)
	if r == nil || r[1] == secret || !notify.ValidSecret(r[1]) || !strings.Contains(out, "previous secret stays active") || !strings.Contains(out, "until the next rotation") {
		t.Fatalf("rotate output:\n%s", out)
	}
	if got := listJSON(t, env)[1].Secrets; len(got) != 2 || !strings.HasPrefix(r[1], strings.TrimSuffix(got[0], "…")) || !strings.HasPrefix(secret, strings.TrimSuffix(got[1], "…")) {
		t.Fatalf("after rotation the secrets are %v", got)
	}
	if _, _, err := execute(t, env, "", "endpoints", "rotate-secret", slack.ID); err == nil {
		t.Fatal("rotating a slack endpoint's secret must fail")
	}

	// disable / enable.
	mustRun(t, env, "", "endpoints", "disable", id)
	if table := mustRun(t, env, "", "endpoints", "list"); !strings.Contains(table, "no (disabled by an operator)") {
		t.Fatalf("disabled endpoint:\n%s", table)
	}
	if out := mustRun(t, env, "", "endpoints", "enable", id); !strings.Contains(out, "is enabled") || !listJSON(t, env)[1].Enabled {
		t.Fatalf("enable:\n%s", out)
	}

	// rm (--json), then rm again: the second says what to do.
	var removed removedResult
	if out := mustRun(t, env, "", "endpoints", "rm", id, "--json"); json.Unmarshal([]byte(out), &removed) != nil ||
		removed != (removedResult{ID: id, Removed: true, Target: "dev server " + base}) {
		t.Fatalf("rm --json:\n%s", out)
	}
	if list := listJSON(t, env); len(list) != 1 || list[0].ID != slack.ID {
		t.Fatalf("after rm: %+v", list)
	}
	for _, args := range [][]string{{"endpoints", "rm", id}, {"endpoints", "rotate-secret", id}, {"endpoints", "enable", "ep_nope"}} {
		_, _, err := execute(t, env, "", args...)
		if err == nil || !strings.Contains(err.Error(), "no endpoint") || !strings.Contains(err.Error(), "hookstack endpoints list") {
			t.Errorf("%v: %v", args, err)
		}
	}

	// --dev-url wins over HOOKSTACK_DEV_URL.
	if list := listJSON(t, map[string]string{"HOOKSTACK_DEV_URL": closedURL(t)}, "--dev-url", base); len(list) != 1 {
		t.Fatalf("--dev-url: %+v", list)
	}
}

func TestEndpointsAddMailchimp(t *testing.T) {
	base := runDevInProcess(t, nil)
	env := map[string]string{"HOOKSTACK_DEV_URL": base}
	const key = "0123456789abcdef0123456789abcdef-us21"
	out := mustRun(t, env, key+"\n", "endpoints", "add", "--type", "mailchimp", "--list-id", "a1b2c3", "--api-key", "-", "--events", "lead.*", "--json")
	var ep notify.Endpoint
	if err := json.Unmarshal([]byte(out), &ep); err != nil {
		t.Fatal(err, out)
	}
	if ep.URL != "https://us21.api.mailchimp.com" || ep.Mailchimp.ListID != "a1b2c3" || ep.Mailchimp.APIKey == "" || strings.Contains(out, key) {
		t.Fatalf("mailchimp endpoint = %+v (URL from the key's data centre; key redacted)\n%s", ep, out)
	}
}

func TestEndpointsErrors(t *testing.T) {
	base := runDevInProcess(t, nil)
	env := map[string]string{"HOOKSTACK_DEV_URL": base}
	down := map[string]string{"HOOKSTACK_DEV_URL": closedURL(t)}
	tests := []struct {
		name  string
		env   map[string]string
		stdin string
		args  []string
		want  []string
	}{
		{"no dev server", down, "", []string{"endpoints", "list"}, []string{"no dev server answers at", "make dev", "--stack"}},
		{"no dev server, dlq", down, "", []string{"dlq", "list"}, []string{"no dev server answers at", "make dev", "--stack"}},
		{"no url", env, "", []string{"endpoints", "add", "--events", "*"}, []string{"--url is required"}},
		{"bad type", env, "", []string{"endpoints", "add", "--type", "pigeon", "--url", "https://example.com"}, []string{`--type "pigeon"`, "http, slack or mailchimp"}},
		{"metadata address", env, "", []string{"endpoints", "add", "--url", "http://169.254.169.254/latest"}, []string{"--url", "cloud metadata"}},
		{"private address", env, "", []string{"endpoints", "add", "--url", "http://10.1.2.3/hook"}, []string{"--url", "private"}},
		{"file scheme", env, "", []string{"endpoints", "add", "--url", "file:///etc/passwd"}, []string{"--url", "scheme"}},
		{"bad pattern", env, "", []string{"endpoints", "add", "--url", "https://example.com", "--events", "payment.**"}, []string{`--events "payment.**"`}},
		{"empty events", env, "", []string{"endpoints", "add", "--url", "https://example.com", "--events", " , "}, []string{"--events is empty"}},
		{"mailchimp without list", env, "", []string{"endpoints", "add", "--type", "mailchimp", "--api-key", "k-us1"}, []string{"--list-id", "--api-key"}},
		{"mailchimp key without dc", env, "", []string{"endpoints", "add", "--type", "mailchimp", "--list-id", "l", "--api-key", "abc"}, []string{"data centre", "--url"}},
		{"api key on http", env, "", []string{"endpoints", "add", "--url", "https://example.com", "--api-key", "k"}, []string{"for --type mailchimp"}},
		{"api key stdin empty", env, "", []string{"endpoints", "add", "--type", "mailchimp", "--list-id", "l", "--api-key", "-"}, []string{"no key on standard input"}},
		{"local and stack", env, "", []string{"endpoints", "list", "--local", "--stack", "X"}, []string{"pass one of them"}},
		{"bad backend", map[string]string{"HOOKSTACK_BACKEND": "cloud"}, "", []string{"endpoints", "list"}, []string{`HOOKSTACK_BACKEND="cloud"`, "local or aws"}},
		{"bad dev url", map[string]string{"HOOKSTACK_DEV_URL": "localhost:8080"}, "", []string{"endpoints", "list"}, []string{"HOOKSTACK_DEV_URL", "not the dev server's base URL"}},
		{"no subcommand", env, "", []string{"endpoints"}, []string{"add, list, rm, rotate-secret"}},
		{"rm needs id", env, "", []string{"endpoints", "rm"}, []string{"rm takes <id>, got 0 arguments", "usage:   hookstack endpoints rm <id>", "example: hookstack endpoints rm ep_"}},
		{"enable needs id", env, "", []string{"endpoints", "enable", "a", "b"}, []string{"enable takes <id>, got 2 arguments", "example: hookstack endpoints enable ep_"}},
		{"misspelt subcommand", env, "", []string{"endpoints", "ad"}, []string{`unknown command "ad" for "hookstack endpoints".`, "Did you mean add?"}},
		{"typo in subcommand", env, "", []string{"endpoints", "lsit"}, []string{"Did you mean list?"}},
		{"upper-case backend is not an error", map[string]string{"HOOKSTACK_BACKEND": "LOCAL", "HOOKSTACK_DEV_URL": closedURL(t)}, "", []string{"endpoints", "list"}, []string{"no dev server answers at"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := execute(t, tc.env, tc.stdin, tc.args...)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	if list := listJSON(t, env); len(list) != 0 {
		t.Fatalf("a refused add stored something: %+v", list)
	}
}

func TestMgmtTarget(t *testing.T) {
	live := runDevInProcess(t, nil)
	dead := closedURL(t)
	tests := []struct {
		name  string
		env   map[string]string
		probe string
		args  []string
		want  mgmtTarget
	}{
		{"default", nil, dead, nil, mgmtTarget{devURL: defaultDevURL}},
		{"backend local", map[string]string{"HOOKSTACK_BACKEND": "local"}, dead, nil, mgmtTarget{devURL: defaultDevURL}},
		{"dev url env", map[string]string{"HOOKSTACK_DEV_URL": "http://127.0.0.1:9999/", "HOOKSTACK_BACKEND": "aws"}, dead, nil, mgmtTarget{devURL: "http://127.0.0.1:9999"}},
		{"backend aws", map[string]string{"HOOKSTACK_BACKEND": "aws"}, dead, nil, mgmtTarget{aws: true, stack: "Hookstack"}},
		{"backend aws, stack env", map[string]string{"HOOKSTACK_BACKEND": "aws", "HOOKSTACK_STACK": "S2"}, dead, nil, mgmtTarget{aws: true, stack: "S2"}},
		{"backend aws, dev server answers", map[string]string{"HOOKSTACK_BACKEND": "aws"}, live, nil, mgmtTarget{devURL: live}},
		{"--stack", nil, live, []string{"--stack", "Prod"}, mgmtTarget{aws: true, stack: "Prod"}},
		{"--aws", map[string]string{"HOOKSTACK_DEV_URL": live}, live, []string{"--aws"}, mgmtTarget{aws: true, stack: "Hookstack"}},
		{"--local", map[string]string{"HOOKSTACK_BACKEND": "aws"}, live, []string{"--local"}, mgmtTarget{devURL: defaultDevURL}},
		{"--dev-url", map[string]string{"HOOKSTACK_BACKEND": "aws"}, dead, []string{"--dev-url", "http://h:1"}, mgmtTarget{devURL: "http://h:1"}},
		{"backend AWS, any case and spaces", map[string]string{"HOOKSTACK_BACKEND": " AWS "}, dead, nil, mgmtTarget{aws: true, stack: "Hookstack"}},
		{"backend Local", map[string]string{"HOOKSTACK_BACKEND": "Local"}, dead, nil, mgmtTarget{devURL: defaultDevURL}},
		{"--url, the old name of --dev-url", map[string]string{"HOOKSTACK_BACKEND": "aws"}, dead, []string{"--url", "http://h:2/"}, mgmtTarget{devURL: "http://h:2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := mgmtProbeURL
			mgmtProbeURL = tc.probe
			defer func() { mgmtProbeURL = old }()
			var f mgmtFlags
			cmd := &cobra.Command{}
			cmd.SetErr(io.Discard)
			cmd.SetContext(t.Context())
			f.register(cmd, true)
			f.registerURLAlias(cmd)
			if err := cmd.ParseFlags(tc.args); err != nil {
				t.Fatal(err)
			}
			got, err := f.target(cmd, func(k string) string { return tc.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("target = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// awsTestEnv points the CLI at the fake CloudFormation (stack outputs) and
// at the emulators for SQS and DynamoDB, and keeps any dev server running
// on this machine out of the target selection.
func awsTestEnv(t *testing.T, outputs map[string]string) {
	t.Helper()
	startFakeAWS(t, map[string]map[string]string{"Hookstack": outputs}, nil)
	if ep := os.Getenv("HOOKSTACK_TEST_DYNAMODB_ENDPOINT"); ep != "" {
		t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", ep)
	}
	if ep := os.Getenv("HOOKSTACK_TEST_SQS_ENDPOINT"); ep != "" {
		t.Setenv("AWS_ENDPOINT_URL_SQS", ep)
	}
	t.Setenv("AWS_REGION", "us-east-1") // the emulators' region (the test clients use it)
	old := mgmtProbeURL
	mgmtProbeURL = closedURL(t)
	t.Cleanup(func() { mgmtProbeURL = old })
}

func TestEndpointsAWS(t *testing.T) {
	client, table := dynamotest.Table(t)
	outputs := hookstackOutputs("stripe")
	outputs["TableName"] = table
	awsTestEnv(t, outputs)
	eps := notifystore.NewEndpoints(dynamostore.New(client, table, dynamostore.ListKinds(notifystore.ListedKinds...)), nil)
	ctx := t.Context()

	out := mustRun(t, nil, "", "endpoints", "add", "--url", "https://hooks.example.com/in", "--events", "payment.*", "--stack", "Hookstack")
	m, s := addedIDRe.FindStringSubmatch(out), addedSecretRe.FindStringSubmatch(out)
	if m == nil || s == nil || !strings.Contains(out, "stack Hookstack") || !strings.Contains(out, "endpoint cache") {
		t.Fatalf("add output:\n%s", out)
	}
	id, secret := m[1], s[1]
	stored, err := eps.Get(ctx, id)
	if err != nil {
		t.Fatalf("the endpoint is not in the table: %v", err)
	}
	if stored.URL != "https://hooks.example.com/in" || len(stored.Secrets) != 1 || stored.Secrets[0] != secret || !stored.Enabled {
		t.Fatalf("stored = %+v", stored)
	}

	// Loopback is refused for the deployed stack, before anything is stored.
	_, _, err = execute(t, nil, "", "endpoints", "add", "--url", "http://127.0.0.1:9000/x", "--stack", "Hookstack")
	if err == nil || !strings.Contains(err.Error(), "loopback") || !strings.Contains(err.Error(), "deployed deliverer") {
		t.Fatalf("loopback for AWS: %v", err)
	}
	// ... unless HOOKSTACK_OUTBOUND_ALLOW_CIDRS allows the range.
	mustRun(t, map[string]string{"HOOKSTACK_OUTBOUND_ALLOW_CIDRS": "10.0.0.0/8"}, "", "endpoints", "add", "--url", "http://10.0.0.7/x", "--stack", "Hookstack", "--events", "lead.*")

	// list via HOOKSTACK_BACKEND=aws: redacted.
	list := listJSON(t, map[string]string{"HOOKSTACK_BACKEND": "aws"})
	if len(list) != 2 || list[1].ID != id || len(list[1].Secrets) != 1 || list[1].Secrets[0] == secret {
		t.Fatalf("list = %+v", list)
	}

	out = mustRun(t, nil, "", "endpoints", "rotate-secret", id, "--stack", "Hookstack", "--json")
	var rot rotatedResult
	if err := json.Unmarshal([]byte(out), &rot); err != nil || rot.ID != id || rot.Secret == secret {
		t.Fatalf("rotate = %+v %v", rot, err)
	}
	if stored, _ = eps.Get(ctx, id); len(stored.Secrets) != 2 || stored.Secrets[0] != rot.Secret || stored.Secrets[1] != secret {
		t.Fatalf("after rotation the table has %v", stored.Secrets)
	}

	mustRun(t, nil, "", "endpoints", "disable", id, "--stack", "Hookstack")
	if stored, _ = eps.Get(ctx, id); stored.Enabled {
		t.Fatal("disable did not reach the table")
	}
	mustRun(t, nil, "", "endpoints", "rm", id, "--stack", "Hookstack")
	if _, err := eps.Get(ctx, id); !errors.Is(err, notify.ErrEndpointNotFound) {
		t.Fatalf("after rm: %v", err)
	}
	_, _, err = execute(t, nil, "", "endpoints", "rm", id, "--stack", "Hookstack")
	if err == nil || !strings.Contains(err.Error(), "no endpoint") || !strings.Contains(err.Error(), "--stack Hookstack") {
		t.Fatalf("rm again: %v", err)
	}

	// A stack without a table output says what to do.
	_, _, err = execute(t, nil, "", "endpoints", "list", "--stack", "Gone")
	if err == nil || !strings.Contains(err.Error(), "make deploy") {
		t.Fatalf("missing stack: %v", err)
	}
}

func TestEndpointsHelp(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"endpoints", "dlq"}},
		{[]string{"endpoints", "--help"}, []string{"add", "list", "rm", "rotate-secret", "HOOKSTACK_DEV_URL", "HOOKSTACK_BACKEND=aws"}},
		{[]string{"endpoints", "add", "--help"}, []string{"Examples:", "--type", "--url", "--events", "--description", "--list-id", "--api-key", "--local", "--stack", "--dev-url", "--json", "loopback"}},
		{[]string{"endpoints", "list", "--help"}, []string{"--json", "redacted"}},
		{[]string{"endpoints", "rm", "--help"}, []string{"<id>", "--stack"}},
		{[]string{"endpoints", "rotate-secret", "--help"}, []string{"previous secret stays active", "--json"}},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out := mustRun(t, nil, "", tc.args...)
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("help lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
