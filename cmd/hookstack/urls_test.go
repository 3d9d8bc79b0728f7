package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hookstack/hookstack/shared/secrets/secretstest"
	"github.com/hookstack/hookstack/shared/signature"
)

// fakeAWS plays CloudFormation and Secrets Manager for the CLI tests: there
// is no emulator for either on this machine, so the CLI's real SDK clients
// are pointed at this httptest server with AWS_ENDPOINT_URL. CloudFormation
// speaks the AWS Query protocol (form-encoded POST, Action=DescribeStacks,
// XML answer; a missing stack is a 400 ValidationError "Stack with id X does
// not exist"); Secrets Manager the JSON 1.1 protocol, served by
// secretstest (versions and staging labels, ResourceNotFoundException).
type fakeAWS struct {
	t       *testing.T
	mu      sync.Mutex
	stacks  map[string]map[string]string // stack name → outputs
	secrets *secretstest.Store
	calls   []string // "DescribeStacks Hookstack", "PutSecretValue id", ...
	// logs are CloudWatch Logs events by log group (FilterLogEvents).
	logs map[string][]fakeLogEvent
}

func (f *fakeAWS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	if target := r.Header.Get("X-Amz-Target"); strings.HasPrefix(target, "Logs_20140328.") {
		f.cloudWatchLogs(w, target, body)
		return
	} else if target != "" {
		f.secretsManager(w, target, body)
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("Action") != "DescribeStacks" || form.Get("Version") != "2010-05-15" {
		f.t.Errorf("unexpected CloudFormation request %q", body)
		http.Error(w, "unexpected", http.StatusBadRequest)
		return
	}
	name := form.Get("StackName")
	f.calls = append(f.calls, "DescribeStacks "+name)
	w.Header().Set("Content-Type", "text/xml")
	outputs, ok := f.stacks[name]
	if !ok {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id %s does not exist</Message></Error><RequestId>r1</RequestId></ErrorResponse>`, esc(name))
		return
	}
	var outs strings.Builder
	for k, v := range outputs {
		fmt.Fprintf(&outs, "<member><OutputKey>%s</OutputKey><OutputValue>%s</OutputValue></member>", esc(k), esc(v))
	}
	fmt.Fprintf(w, `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member>
<StackId>arn:aws:cloudformation:eu-west-1:123456789012:stack/%s/0000</StackId><StackName>%s</StackName>
<CreationTime>2026-01-02T03:04:05Z</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus>
<Outputs>%s</Outputs></member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>r2</RequestId></ResponseMetadata></DescribeStacksResponse>`,
		esc(name), esc(name), outs.String())
}

func (f *fakeAWS) secretsManager(w http.ResponseWriter, target string, body []byte) {
	var in struct{ SecretId string }
	_ = json.Unmarshal(body, &in)
	op := strings.TrimPrefix(target, "secretsmanager.")
	f.calls = append(f.calls, op+" "+in.SecretId)
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	r.Header.Set("X-Amz-Target", target)
	f.secrets.ServeHTTP(w, r)
}

func (f *fakeAWS) callLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

const apiURL = "https://abc123.execute-api.eu-west-1.amazonaws.com"

// hookstackOutputs are the outputs of a deployed stack enabling providers,
// named as infra/hookstack/stack.go names them.
func hookstackOutputs(providers ...string) map[string]string {
	out := map[string]string{
		"ApiUrl":              apiURL,
		"Providers":           strings.Join(providers, ","),
		"TableName":           "Hookstack-Table",
		"QueueUrlPayments":    "https://sqs.eu-west-1.amazonaws.com/123456789012/payments",
		"QueueUrlPaymentsDlq": "https://sqs.eu-west-1.amazonaws.com/123456789012/payments-dlq",
		"DashboardUrl":        "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#dashboards:name=Hookstack",
		"AlarmTopicArn":       "arn:aws:sns:eu-west-1:123456789012:alarms",
	}
	for _, p := range providers {
		t := strings.ToUpper(p[:1]) + p[1:]
		out["WebhookUrl"+t] = apiURL + "/webhooks/" + p
		out["SecretName"+t] = "hookstack/" + p
	}
	return out
}

// startFakeAWS starts the fake and points the SDK at it through the process
// environment (the SDK reads AWS_* itself), with static credentials and no
// shared config files, so the developer's own AWS setup cannot interfere.
func startFakeAWS(t *testing.T, stacks map[string]map[string]string, secrets map[string]string) *fakeAWS {
	t.Helper()
	f := &fakeAWS{t: t, stacks: stacks, secrets: secretstest.New(secrets)}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	isolateAWSEnv(t)
	t.Setenv("AWS_ENDPOINT_URL", srv.URL)
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
	return f
}

// isolateAWSEnv clears the AWS settings a developer machine may have.
func isolateAWSEnv(t *testing.T) {
	dir := t.TempDir()
	for _, k := range []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID",
		"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_CLOUDFORMATION",
		"AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
}

func TestURLs(t *testing.T) {
	fake := startFakeAWS(t, map[string]map[string]string{
		"Hookstack":    hookstackOutputs("stripe", "github"),
		"HookstackDev": hookstackOutputs("slack"),
	}, nil)

	t.Run("human", func(t *testing.T) {
		out, _, err := execute(t, nil, "", "urls")
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{
			"Stack Hookstack in eu-west-1",
			"API   " + apiURL,
			"paste   " + apiURL + "/webhooks/stripe",
			"Stripe Dashboard → Developers → Webhooks → Add endpoint",
			"secret  hookstack/stripe (Secrets Manager): the endpoint's signing secret whsec_",
			"fill it: hookstack secrets set stripe whsec_... --stack Hookstack",
			"paste   " + apiURL + "/webhooks/github",
			"Settings → Webhooks → Add webhook: Payload URL, Content type application/json",
			"aws secretsmanager get-secret-value --secret-id hookstack/github",
			"Dashboard  https://eu-west-1.console.aws.amazon.com/cloudwatch/",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		if strings.Index(out, "\nstripe\n") > strings.Index(out, "\ngithub\n") {
			t.Errorf("providers not in the stack's order:\n%s", out)
		}
	})

	t.Run("json, one provider", func(t *testing.T) {
		out, _, err := execute(t, nil, "", "urls", "github", "--json")
		if err != nil {
			t.Fatal(err)
		}
		var res struct {
			Stack, Region string
			APIURL        string `json:"api_url"`
			Providers     []map[string]any
			Queues        map[string]string
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if res.Stack != "Hookstack" || res.Region != "eu-west-1" || res.APIURL != apiURL || len(res.Providers) != 1 || res.Queues["payments-dlq"] == "" {
			t.Fatalf("result %+v", res)
		}
		p := res.Providers[0]
		if p["provider"] != "github" || p["webhook_url"] != apiURL+"/webhooks/github" || p["secret_name"] != "hookstack/github" ||
			p["secret_generated"] != true || !strings.Contains(p["where"].(string), "Payload URL") {
			t.Fatalf("provider %v", p)
		}
	})

	t.Run("stack from flag and env", func(t *testing.T) {
		before := len(fake.callLog())
		if _, _, err := execute(t, map[string]string{"HOOKSTACK_STACK": "HookstackDev"}, "", "urls"); err != nil {
			t.Fatal(err)
		}
		out, _, err := execute(t, map[string]string{"HOOKSTACK_STACK": "Nope"}, "", "urls", "--stack", "HookstackDev")
		if err != nil {
			t.Fatal(err)
		}
		if calls := fake.callLog()[before:]; !slices.Equal(calls, []string{"DescribeStacks HookstackDev", "DescribeStacks HookstackDev"}) {
			t.Errorf("calls = %q", calls)
		}
		if !strings.Contains(out, "Event Subscriptions → Request URL") || !strings.Contains(out, "--stack HookstackDev") {
			t.Errorf("output:\n%s", out)
		}
	})

	errs := []struct {
		name string
		env  map[string]string
		args []string
		want []string
	}{
		{"missing stack", nil, []string{"urls", "--stack", "Gone"}, []string{`stack "Gone" not found in eu-west-1`, "make deploy", "--stack NAME"}},
		{"provider not enabled", nil, []string{"urls", "zoom"}, []string{"does not enable zoom", "stripe, github", "providers="}},
		{"unknown provider", nil, []string{"urls", "paypal"}, []string{`unknown provider "paypal"`}},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := execute(t, tc.env, "", tc.args...)
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
}

func TestURLsWithoutAWSConfig(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"no credentials", map[string]string{"AWS_REGION": "eu-west-1"}, []string{"no usable AWS credentials", "AWS_PROFILE", "AWS_REGION"}},
		{"no region", map[string]string{"AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "x"}, []string{"no AWS region", "AWS_REGION"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			isolateAWSEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			_, _, err := execute(t, nil, "", "urls")
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
}

// Every provider has a guide, and its dashboard location is the right one.
func TestURLsEveryProvider(t *testing.T) {
	startFakeAWS(t, map[string]map[string]string{"Hookstack": hookstackOutputs(signature.Providers...)}, nil)
	where := map[string]string{
		"stripe":     "Stripe Dashboard → Developers → Webhooks → Add endpoint",
		"github":     "Settings → Webhooks",
		"shopify":    "Shopify admin → Settings → Notifications → Webhooks",
		"slack":      "Event Subscriptions → Request URL",
		"standard":   "the sender's webhook endpoint settings",
		"livechat":   "LiveChat Developer Console → your app → Webhooks",
		"trello":     "POST https://api.trello.com/1/webhooks with callbackURL",
		"hubspot":    "your app → Webhooks → Target URL",
		"twilio":     "Twilio Console → Phone Numbers → your number → Messaging (or Voice)",
		"zoom":       "Event Subscriptions: Event notification endpoint URL",
		"salesforce": "Salesforce Setup → Outbound Messages",
	}
	out, _, err := execute(t, nil, "", "urls", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var res struct{ Providers []map[string]any }
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Providers) != len(signature.Providers) {
		t.Fatalf("%d providers, want %d", len(res.Providers), len(signature.Providers))
	}
	for i, p := range res.Providers {
		name := signature.Providers[i]
		t.Run(name, func(t *testing.T) {
			if p["provider"] != name {
				t.Fatalf("provider %d = %v", i, p["provider"])
			}
			if w, _ := p["where"].(string); !strings.Contains(w, where[name]) {
				t.Errorf("where = %q, want %q", w, where[name])
			}
			if s, _ := p["secret"].(string); s == "" || s == "the sender's signing secret" {
				t.Errorf("no specific secret guide: %q", s)
			}
			if cmd, _ := p["set_command"].(string); !strings.HasPrefix(cmd, "hookstack secrets set "+name+" ") || !strings.HasSuffix(cmd, "--stack Hookstack") {
				t.Errorf("set_command = %q", cmd)
			}
		})
	}
}

func TestURLsSecretsHelp(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"urls", "secrets"}},
		{[]string{"urls", "--help"}, []string{"Examples:", "--stack", "--json", "HOOKSTACK_STACK", "cloudformation:DescribeStacks"}},
		{[]string{"secrets", "--help"}, []string{"Examples:", "set", "retire", "HOOKSTACK_BACKEND=aws means the stack"}},
		{[]string{"secrets", "set", "--help"}, []string{"Examples:", "<value|->", "--local", "--stack", "--aws", "--data", "--json", "needs a restart"}},
		{[]string{"secrets", "retire", "--help"}, []string{"Examples:", "--local", "--stack", "but the newest"}},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, _, err := execute(t, nil, "", tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("help lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
