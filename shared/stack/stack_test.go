package stack

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
)

// There is no CloudFormation emulator on this machine, so these tests point
// the real SDK client at FakeCloudFormation, an httptest server that speaks
// the AWS Query protocol as CloudFormation does: a form-encoded POST with
// Action=DescribeStacks&Version=2010-05-15&StackName=..., answered with
// <DescribeStacksResponse><DescribeStacksResult><Stacks><member>... XML, or a
// 400 <ErrorResponse> with code ValidationError for a missing stack.

// deployed are the outputs infra/hookstack/stack.go writes, for two providers.
var deployed = map[string]string{
	"ApiUrl":                   "https://abc123.execute-api.eu-west-1.amazonaws.com",
	"ExecuteApiUrl":            "https://abc123.execute-api.eu-west-1.amazonaws.com/",
	"Providers":                "stripe,github",
	"WebhookUrlStripe":         "https://abc123.execute-api.eu-west-1.amazonaws.com/webhooks/stripe",
	"SecretNameStripe":         "SecretsStripe1A2B3C-xyz",
	"WebhookUrlGithub":         "https://abc123.execute-api.eu-west-1.amazonaws.com/webhooks/github",
	"SecretNameGithub":         "SecretsGithub4D5E6F-xyz",
	"TableName":                "Hookstack-StorageTable-1",
	"ClaimBucketName":          "hookstack-claims-1",
	"QueueUrlPayments":         "https://sqs.eu-west-1.amazonaws.com/123456789012/payments",
	"QueueUrlPaymentsDlq":      "https://sqs.eu-west-1.amazonaws.com/123456789012/payments-dlq",
	"QueueUrlDeliveriesDlq":    "https://sqs.eu-west-1.amazonaws.com/123456789012/deliveries-dlq",
	"FunctionNameIngest":       "Hookstack-Ingest-1",
	"FunctionNameDeliverer":    "Hookstack-Deliverer-1",
	"LogGroupIngest":           "Hookstack-IngestLogs1234-abc",
	"AlarmTopicArn":            "arn:aws:sns:eu-west-1:123456789012:Hookstack-Alarms",
	"DashboardUrl":             "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#dashboards:name=Hookstack",
	"SomethingElseEntirely123": "kept in Raw",
}

// FakeStack is one stack the fake CloudFormation knows.
type FakeStack struct {
	Name, Status string
	Outputs      map[string]string
}

// fakeCloudFormation serves DescribeStacks for stacks; requests records the
// StackName of each call.
func fakeCloudFormation(t *testing.T, stacks ...FakeStack) (*httptest.Server, *[]string) {
	t.Helper()
	var requests []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, err := url.ParseQuery(string(body))
		switch {
		case r.Method != http.MethodPost || err != nil:
			t.Errorf("%s with body %q: want a form-encoded POST", r.Method, body)
		case !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded"):
			t.Errorf("Content-Type = %q", r.Header.Get("Content-Type"))
		case form.Get("Action") != "DescribeStacks" || form.Get("Version") != "2010-05-15":
			t.Errorf("Action=%q Version=%q", form.Get("Action"), form.Get("Version"))
		case !strings.Contains(r.Header.Get("Authorization"), "/cloudformation/aws4_request"):
			t.Errorf("Authorization = %q: want a SigV4 signature for cloudformation", r.Header.Get("Authorization"))
		}
		name := form.Get("StackName")
		requests = append(requests, name)
		w.Header().Set("Content-Type", "text/xml")
		for _, s := range stacks {
			if s.Name == name || stackID(s.Name) == name {
				_, _ = io.WriteString(w, describeStacksXML(s))
				return
			}
		}
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">
  <Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id %s does not exist</Message></Error>
  <RequestId>b9b4a9e6-0000-0000-0000-000000000000</RequestId>
</ErrorResponse>`, xmlText(name))
	}))
	t.Cleanup(srv.Close)
	return srv, &requests
}

func stackID(name string) string {
	return "arn:aws:cloudformation:eu-west-1:123456789012:stack/" + name + "/1f2e3d4c-0000-0000-0000-000000000000"
}

func xmlText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func describeStacksXML(s FakeStack) string {
	var outs strings.Builder
	for k, v := range s.Outputs {
		fmt.Fprintf(&outs, "<member><OutputKey>%s</OutputKey><OutputValue>%s</OutputValue><Description>d</Description></member>",
			xmlText(k), xmlText(v))
	}
	return `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">
  <DescribeStacksResult>
    <Stacks>
      <member>
        <StackId>` + stackID(s.Name) + `</StackId>
        <StackName>` + xmlText(s.Name) + `</StackName>
        <CreationTime>2026-01-02T03:04:05.678Z</CreationTime>
        <StackStatus>` + s.Status + `</StackStatus>
        <Outputs>` + outs.String() + `</Outputs>
      </member>
    </Stacks>
  </DescribeStacksResult>
  <ResponseMetadata><RequestId>a1b2c3d4-0000-0000-0000-000000000000</RequestId></ResponseMetadata>
</DescribeStacksResponse>`
}

func client(srv *httptest.Server) *cloudformation.Client {
	return cloudformation.New(cloudformation.Options{
		Region:           "eu-west-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		HTTPClient:       awshttp.NewBuildableClient(),
		RetryMaxAttempts: 1,
	})
}

func TestRead(t *testing.T) {
	srv, requests := fakeCloudFormation(t,
		FakeStack{Name: "Hookstack", Status: "UPDATE_COMPLETE", Outputs: deployed},
		FakeStack{Name: "Creating", Status: "CREATE_IN_PROGRESS"},
		FakeStack{Name: "Other", Status: "CREATE_COMPLETE", Outputs: map[string]string{"BucketName": "x"}},
	)
	cf := client(srv)

	tests := []struct {
		name    string
		stack   string
		wantErr error
		check   func(t *testing.T, o *Outputs)
	}{
		{name: "default name", stack: "", check: func(t *testing.T, o *Outputs) {
			if o.StackName != "Hookstack" || o.Region != "eu-west-1" || o.Status != "UPDATE_COMPLETE" || o.StackID != stackID("Hookstack") {
				t.Errorf("stack = %q %q %q %q", o.StackName, o.Region, o.Status, o.StackID)
			}
			if o.APIURL != deployed["ApiUrl"] || o.DashboardURL != deployed["DashboardUrl"] || o.TableName != deployed["TableName"] ||
				o.ClaimBucket != deployed["ClaimBucketName"] || o.AlarmTopicArn != deployed["AlarmTopicArn"] {
				t.Errorf("outputs = %+v", o)
			}
			want := []Provider{
				{"stripe", deployed["WebhookUrlStripe"], deployed["SecretNameStripe"]},
				{"github", deployed["WebhookUrlGithub"], deployed["SecretNameGithub"]},
			}
			if !reflect.DeepEqual(o.Providers, want) {
				t.Errorf("providers = %+v\nwant %+v", o.Providers, want)
			}
			wantQ := map[string]string{
				"payments": deployed["QueueUrlPayments"], "payments-dlq": deployed["QueueUrlPaymentsDlq"],
				"deliveries-dlq": deployed["QueueUrlDeliveriesDlq"],
			}
			if !reflect.DeepEqual(o.Queues, wantQ) {
				t.Errorf("queues = %v", o.Queues)
			}
			if o.Functions["ingest"] != "Hookstack-Ingest-1" || o.Functions["deliverer"] != "Hookstack-Deliverer-1" ||
				o.LogGroups["ingest"] != "Hookstack-IngestLogs1234-abc" {
				t.Errorf("functions = %v", o.Functions)
			}
			if o.Raw["SomethingElseEntirely123"] != "kept in Raw" {
				t.Errorf("raw = %v", o.Raw)
			}
			if name, err := o.SecretName("github"); err != nil || name != "SecretsGithub4D5E6F-xyz" {
				t.Errorf("SecretName(github) = %q, %v", name, err)
			}
			if _, err := o.SecretName("zoom"); !errors.Is(err, ErrNoProvider) || !strings.Contains(err.Error(), "SecretNameZoom") {
				t.Errorf("SecretName(zoom) err = %v", err)
			}
		}},
		{name: "by stack id", stack: stackID("Hookstack"), check: func(t *testing.T, o *Outputs) {
			if o.StackName != "Hookstack" || len(o.Providers) != 2 {
				t.Errorf("got %q with %d providers", o.StackName, len(o.Providers))
			}
		}},
		{name: "missing stack", stack: "Nope", wantErr: ErrNotFound},
		{name: "still creating", stack: "Creating", wantErr: ErrNoOutputs},
		{name: "not a hookstack stack", stack: "Other", wantErr: ErrNoOutputs},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := Read(t.Context(), cf, tc.stack)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, o)
		})
	}
	if (*requests)[0] != DefaultName {
		t.Errorf("first request asked for %q, want the default %q", (*requests)[0], DefaultName)
	}
}

func TestReadStatusInError(t *testing.T) {
	srv, _ := fakeCloudFormation(t, FakeStack{Name: "Rolled", Status: "ROLLBACK_COMPLETE"})
	_, err := Read(t.Context(), client(srv), "Rolled")
	if !errors.Is(err, ErrNoOutputs) || !strings.Contains(err.Error(), "ROLLBACK_COMPLETE") {
		t.Fatalf("err = %v, want ErrNoOutputs naming the status", err)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name      string
		raw       map[string]string
		providers []string
		queues    map[string]string
	}{
		{"empty", map[string]string{}, nil, map[string]string{}},
		{"providers output gives the order",
			map[string]string{"Providers": "zoom, stripe", "WebhookUrlStripe": "s", "WebhookUrlZoom": "z"},
			[]string{"zoom", "stripe"}, map[string]string{}},
		{"no providers output: sorted",
			map[string]string{"WebhookUrlTwilio": "t", "SecretNameHubspot": "h", "WebhookUrlHubspot": "h"},
			[]string{"hubspot", "twilio"}, map[string]string{}},
		{"provider with a secret only",
			map[string]string{"SecretNameSlack": "n"}, []string{"slack"}, map[string]string{}},
		{"prefix alone or lower-case next is not an entry",
			map[string]string{"WebhookUrl": "x", "SecretNames": "y", "QueueUrl": "z"}, nil, map[string]string{}},
		{"queues and dlqs",
			map[string]string{"QueueUrlNotifications": "n", "QueueUrlNotificationsDlq": "nd"},
			nil, map[string]string{"notifications": "n", "notifications-dlq": "nd"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := Parse(tc.raw)
			var names []string
			for _, p := range o.Providers {
				names = append(names, p.Name)
			}
			if !reflect.DeepEqual(names, tc.providers) {
				t.Errorf("providers = %q, want %q", names, tc.providers)
			}
			if !reflect.DeepEqual(o.Queues, tc.queues) {
				t.Errorf("queues = %v, want %v", o.Queues, tc.queues)
			}
		})
	}
}

func TestTitleRoundTrip(t *testing.T) {
	for _, name := range []string{"payments", "payments-dlq", "deliveries-dlq", "notifications", "ingest", "github"} {
		t.Run(name, func(t *testing.T) {
			if got := Untitle(Title(name)); got != name {
				t.Errorf("Untitle(Title(%q)) = %q (Title %q)", name, got, Title(name))
			}
		})
	}
	if Title("payments-dlq") != "PaymentsDlq" || Title("github") != "Github" {
		t.Errorf("Title: %q %q", Title("payments-dlq"), Title("github"))
	}
}

// FuzzParse: outputs come from a stack anyone could have deployed; Parse
// must not panic, and every provider it reports must come from an output.
func FuzzParse(f *testing.F) {
	f.Add("WebhookUrlStripe", "https://x/webhooks/stripe", "stripe,github")
	f.Add("QueueUrlPaymentsDlq", "https://sqs/1/payments-dlq", "")
	f.Add("SecretName", "", ",,,")
	f.Add("FunctionNameÄ", "\x00", "ÄÖ, ,x")
	f.Fuzz(func(t *testing.T, key, value, providers string) {
		o := Parse(map[string]string{key: value, "Providers": providers})
		for _, p := range o.Providers {
			if !validName(p.Name) {
				t.Fatalf("provider name %q", p.Name)
			}
		}
		if len(o.Providers) > 1+strings.Count(providers, ",")+1 {
			t.Fatalf("%d providers from one output and %q", len(o.Providers), providers)
		}
	})
}
