package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/hookstack/hookstack/shared/secrets"
)

// The AWS cases run the real SDK clients against fakeAWS (urls_test.go):
// CloudFormation and Secrets Manager have no emulator on this machine.

const (
	stripeNew  = "whsec_NEWNEWNEWnewnewnew1234567890ab"
	stripeOld  = "whsec_OLDOLDOLDoldoldold1234567890ab"
	githubMine = "my-own-github-webhook-secret-0001"
)

func TestSecretsAWS(t *testing.T) {
	t.Chdir(t.TempDir()) // a mistaken local write lands in a temporary .hookstack, not the source tree
	fake := startFakeAWS(t,
		map[string]map[string]string{
			"Hookstack": hookstackOutputs("stripe", "github"),
			"Broken":    hookstackOutputs("stripe"),
		},
		map[string]string{
			"hookstack/stripe": "[]",               // provider-issued: the placeholder
			"hookstack/github": "GeneratedByCfn32", // generated: a bare string
		})
	fake.stacks["Broken"]["SecretNameStripe"] = "hookstack/deleted" // names a secret that no longer exists

	steps := []struct {
		name   string
		env    map[string]string
		stdin  string
		args   []string
		stored map[string]string // secret id → value afterwards
		out    []string          // in stdout
		errs   []string          // in the error, when it must fail
		calls  []string          // AWS calls made (nil: not checked)
	}{
		{
			name: "first stripe secret fills the placeholder", args: []string{"secrets", "set", "stripe", stripeOld, "--stack", "Hookstack"},
			stored: map[string]string{"hookstack/stripe": `["` + stripeOld + `"]`},
			out:    []string{"stripe: added the new secret to Secrets Manager secret hookstack/stripe (stack Hookstack)", "1. whsec_OL…", "within 5 minutes"},
			calls:  []string{"DescribeStacks Hookstack", "GetSecretValue hookstack/stripe", "PutSecretValue hookstack/stripe", "UpdateSecretVersionStage hookstack/stripe"},
		},
		{
			name: "rotation keeps the old one (HOOKSTACK_BACKEND=aws, value on stdin)",
			env:  map[string]string{"HOOKSTACK_BACKEND": "aws"}, stdin: stripeNew + "\n",
			args:   []string{"secrets", "set", "stripe", "-"},
			stored: map[string]string{"hookstack/stripe": `["` + stripeNew + `","` + stripeOld + `"]`},
			out:    []string{"1. whsec_NE…", "2. whsec_OL…", "hookstack secrets retire stripe --stack Hookstack"},
		},
		{
			name: "same secret again: no write", args: []string{"secrets", "set", "stripe", stripeNew, "--aws"},
			out:   []string{"already the newest", "nothing changed"},
			calls: []string{"DescribeStacks Hookstack", "GetSecretValue hookstack/stripe"},
		},
		{
			name: "retire keeps the newest", args: []string{"secrets", "retire", "stripe", "--stack", "Hookstack"},
			stored: map[string]string{"hookstack/stripe": `["` + stripeNew + `"]`},
			out:    []string{"retired 1 secret(s)", "1. whsec_NE…", "stops accepting"},
		},
		{
			name: "retire with one: nothing to do", args: []string{"secrets", "retire", "stripe", "--stack", "Hookstack"},
			out:   []string{"nothing to retire"},
			calls: []string{"DescribeStacks Hookstack", "GetSecretValue hookstack/stripe"},
		},
		{
			name: "generated bare string becomes a list", args: []string{"secrets", "set", "github", githubMine, "--stack", "Hookstack"},
			stored: map[string]string{"hookstack/github": `["` + githubMine + `","GeneratedByCfn32"]`},
			out:    []string{"1. my-own-g…", "2. Generate…"},
		},
		{
			name: "invalid value: refused before any AWS call", args: []string{"secrets", "set", "stripe", "sk_live_abcdefghijkl", "--stack", "Hookstack"},
			errs: []string{"Stripe secret API key"}, calls: []string{},
		},
		{
			name: "provider not in the stack", args: []string{"secrets", "set", "zoom", "zoom-secret-token", "--stack", "Hookstack"},
			errs: []string{"SecretNameZoom", "enabled: stripe, github", "providers="},
		},
		{
			name: "missing stack", args: []string{"secrets", "retire", "stripe", "--stack", "Gone"},
			errs: []string{`stack "Gone" not found`, "make deploy"},
		},
		{
			name: "the stack's secret was deleted", args: []string{"secrets", "set", "stripe", stripeNew, "--stack", "Broken"},
			errs: []string{"secret not found", "deploy the stack again"},
		},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			before := len(fake.callLog())
			out, stderr, err := execute(t, st.env, st.stdin, st.args...)
			if len(st.errs) > 0 {
				if err == nil {
					t.Fatalf("no error; stdout:\n%s", out)
				}
				for _, w := range st.errs {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
			} else if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			for _, w := range st.out {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, secret := range []string{stripeNew, stripeOld, githubMine, "GeneratedByCfn32"} {
				if strings.Contains(out+stderr, secret) || (err != nil && strings.Contains(err.Error(), secret)) {
					t.Errorf("printed a whole secret %q", secret)
				}
			}
			for id, want := range st.stored {
				if got := fake.secrets.Current(id); got != want {
					t.Errorf("%s = %s, want %s", id, got, want)
				}
			}
			if calls := fake.callLog()[before:]; st.calls != nil && !slices.Equal(calls, st.calls) {
				t.Errorf("calls = %q, want %q", calls, st.calls)
			}
		})
	}
}

func TestSecretsJSON(t *testing.T) {
	t.Chdir(t.TempDir())
	startFakeAWS(t, map[string]map[string]string{"Hookstack": hookstackOutputs("stripe")},
		map[string]string{"hookstack/stripe": `["` + stripeOld + `"]`})
	out, _, err := execute(t, nil, "", "secrets", "set", "stripe", stripeNew, "--stack", "Hookstack", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var res secretsResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := secretsResult{Provider: "stripe", Action: "set", Backend: "aws", Stack: "Hookstack", SecretName: "hookstack/stripe",
		Changed: true, Active: []string{"whsec_NE…", "whsec_OL…"}, Next: res.Next}
	if !reflect.DeepEqual(res, want) || !strings.Contains(res.Next, "retire") {
		t.Fatalf("got %+v\nwant %+v", res, want)
	}
}

func TestSecretsLocal(t *testing.T) {
	t.Chdir(t.TempDir()) // steps without --data must not write into the source tree
	isolateAWSEnv(t)     // local mode must make no AWS call; there is no endpoint to make it to
	data := t.TempDir()
	path := filepath.Join(data, "secrets.json")
	if err := os.WriteFile(path, []byte(`{"github":["gh-secret-from-dev-start"]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name   string
		env    map[string]string
		args   []string
		file   map[string][]string
		out    []string
		stderr string
		errs   []string
	}{
		{
			name: "default backend is local", args: []string{"secrets", "set", "stripe", stripeOld, "--data", data},
			file: map[string][]string{"github": {"gh-secret-from-dev-start"}, "stripe": {stripeOld}},
			out:  []string{"stripe: added the new secret to " + path, "1. whsec_OL…", "picks up the change of " + path, "a dev server older than this version needs a restart"},
		},
		{
			name: "HOOKSTACK_BACKEND=local, rotation", env: map[string]string{"HOOKSTACK_BACKEND": "local"},
			args: []string{"secrets", "set", "stripe", stripeNew, "--data", data},
			file: map[string][]string{"github": {"gh-secret-from-dev-start"}, "stripe": {stripeNew, stripeOld}},
			out:  []string{"1. whsec_NE…", "2. whsec_OL…", "hookstack secrets retire stripe --local --data " + data},
		},
		{
			name: "--local wins over HOOKSTACK_BACKEND=aws; the environment variable is pointed out",
			env:  map[string]string{"HOOKSTACK_BACKEND": "aws", "HOOKSTACK_SECRET_STRIPE": "whsec_x"},
			args: []string{"secrets", "retire", "stripe", "--local", "--data", data},
			file: map[string][]string{"github": {"gh-secret-from-dev-start"}, "stripe": {stripeNew}},
			out:  []string{"retired 1 secret(s) in " + path}, stderr: "HOOKSTACK_SECRET_STRIPE is set",
		},
		{
			name: "retire with one", args: []string{"secrets", "retire", "github", "--data", data},
			file: map[string][]string{"github": {"gh-secret-from-dev-start"}, "stripe": {stripeNew}},
			out:  []string{"nothing to retire", "1. gh-secre…"},
		},
		{
			name: "retire with none", args: []string{"secrets", "retire", "zoom", "--data", data},
			errs: []string{"no active zoom secret in " + path},
		},
		{
			name: "salesforce id checked", args: []string{"secrets", "set", "salesforce", "00D5g000004SabcAAA", "--data", data},
			errs: []string{"last 3 characters", "Organization ID"},
		},
		{
			name: "--local and --stack conflict", args: []string{"secrets", "set", "stripe", stripeNew, "--local", "--stack", "Hookstack"},
			errs: []string{"pass one of them"},
		},
		{
			name: "bad HOOKSTACK_BACKEND", env: map[string]string{"HOOKSTACK_BACKEND": "gcp"},
			args: []string{"secrets", "set", "stripe", stripeNew, "--data", data},
			errs: []string{`HOOKSTACK_BACKEND="gcp": use local or aws`},
		},
		{
			name: "HOOKSTACK_BACKEND is read like every command reads it (trimmed, any case)", env: map[string]string{"HOOKSTACK_BACKEND": " Local "},
			args: []string{"secrets", "retire", "github", "--data", data},
			file: map[string][]string{"github": {"gh-secret-from-dev-start"}, "stripe": {stripeNew}},
			out:  []string{"nothing to retire"},
		},
		{
			name: "set without a value: usage and example", args: []string{"secrets", "set", "stripe"},
			errs: []string{"set takes <provider> <value|->, got 1 argument", "usage:   hookstack secrets set <provider> <value|-> [flags]", "example: hookstack secrets set stripe whsec_"},
		},
		{
			name: "retire without a provider: usage and example", args: []string{"secrets", "retire"},
			errs: []string{"retire takes <provider>, got 0 arguments", "usage:   hookstack secrets retire <provider>", "example: hookstack secrets retire stripe"},
		},
		{
			name: "misspelt subcommand", args: []string{"secrets", "rotate"},
			errs: []string{`unknown command "rotate" for "hookstack secrets"`, "secrets has: retire, set"},
		},
		{
			name: "empty stdin", args: []string{"secrets", "set", "stripe", "-", "--data", data},
			errs: []string{"no secret on standard input"},
		},
		{
			name: "no subcommand", args: []string{"secrets"},
			errs: []string{"set or retire"},
		},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			out, stderr, err := execute(t, st.env, "", st.args...)
			if len(st.errs) > 0 {
				if err == nil {
					t.Fatalf("no error; stdout:\n%s", out)
				}
				for _, w := range st.errs {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
			} else if err != nil {
				t.Fatal(err)
			}
			for _, w := range st.out {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			if !strings.Contains(stderr, st.stderr) {
				t.Errorf("stderr %q lacks %q", stderr, st.stderr)
			}
			if strings.Contains(out+stderr, stripeNew) || strings.Contains(out+stderr, stripeOld) {
				t.Error("printed a whole secret")
			}
			if st.file != nil {
				raw, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				var got map[string][]string
				if err := json.Unmarshal(raw, &got); err != nil || !reflect.DeepEqual(got, st.file) {
					t.Errorf("secrets.json = %s (%v), want %v", raw, err, st.file)
				}
			}
		})
	}
}

func TestMaskAll(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"whsec_abcdefghijkl", "whsec_ab…"},
		{"short", "•••••"},
		{"ten-chars!", "••••••••••"},
		{"ünïcödé-sëcrét", "ünïcödé-…"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := maskAll([]string{tc.in})[0]; got != tc.want {
				t.Errorf("maskAll(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// The help's "up to 5 minutes" is the ingest cache's TTL.
func TestIngestSecretTTLMatchesTheCache(t *testing.T) {
	if want := fmt.Sprintf("%d minutes", int(secrets.DefaultTTL.Minutes())); ingestSecretTTL != want {
		t.Fatalf("ingestSecretTTL %q, the cache keeps secrets %s", ingestSecretTTL, want)
	}
}
