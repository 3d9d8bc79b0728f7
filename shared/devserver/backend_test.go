package devserver

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/hookstack/hookstack/events"
	"github.com/hookstack/hookstack/shared/emulator"
	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/notify"
	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/queue/sqsq"
	"github.com/hookstack/hookstack/shared/sample"
	"github.com/hookstack/hookstack/shared/stack"
	"github.com/hookstack/hookstack/shared/store/dynamostore"
)

func envFunc(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestBackendKind(t *testing.T) {
	tests := []struct {
		name    string
		flag    string
		env     string
		want    string
		wantErr error
	}{
		{name: "default is local", want: BackendLocal},
		{name: "env aws", env: "aws", want: BackendAWS},
		{name: "env is case and space tolerant", env: " AWS ", want: BackendAWS},
		{name: "env local", env: "local", want: BackendLocal},
		{name: "flag aws wins over env local", flag: BackendAWS, env: "local", want: BackendAWS},
		{name: "flag local wins over env aws", flag: BackendLocal, env: "aws", want: BackendLocal},
		{name: "unknown env", env: "s3", wantErr: ErrUnknownBackend},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := backendKind(Options{Backend: tt.flag, Getenv: envFunc(map[string]string{EnvBackend: tt.env})})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				if !strings.Contains(err.Error(), "local or aws") {
					t.Errorf("error does not say what to use: %v", err)
				}
				return
			}
			if got != tt.want {
				t.Fatalf("backend = %q, want %q", got, tt.want)
			}
		})
	}
}

// allURLEnv sets HOOKSTACK_QUEUE_URL_<NAME> for every queue and DLQ.
func allURLEnv(m map[string]string) map[string]string {
	for _, n := range allQueueNames() {
		m[sqsq.EnvVar(n)] = "https://sqs.eu-west-1.amazonaws.com/123456789012/Hookstack-" + n
	}
	return m
}

func stackOutputs(drop ...string) *stack.Outputs {
	raw := map[string]string{
		stack.KeyApiUrl: "https://abc.execute-api.eu-west-1.amazonaws.com", stack.KeyTableName: "Hookstack-Table",
		stack.KeyClaimBucketName: "hookstack-claims-123",
	}
	for _, n := range allQueueNames() {
		raw[stack.KeyQueueUrl+stack.Title(n)] = "https://sqs.eu-west-1.amazonaws.com/123456789012/Hookstack-" + n
	}
	for _, k := range drop {
		delete(raw, k)
	}
	o := stack.Parse(raw)
	o.StackName = "Hookstack"
	return o
}

func TestPlanAWS(t *testing.T) {
	const prefix = "hookstack-dev-"
	tests := []struct {
		name   string
		env    map[string]string
		prefix string
		out    *stack.Outputs
		check  func(t *testing.T, p awsPlan)
		// wantErr is the sentinel; wantIn are parts of the message.
		wantErr error
		wantIn  []string
	}{
		{
			name: "one emulator endpoint: everything created under the prefix",
			env:  map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:4566"},
			check: func(t *testing.T, p awsPlan) {
				if p.queueURLs != nil || !p.makeTable || p.table != prefix+"table" || !p.makeBkt || p.bucket != prefix+"claims" {
					t.Fatalf("plan = %+v", p)
				}
				for _, s := range []string{svcSQS, svcDynamoDB, svcS3} {
					if p.endpoints[s] != "http://127.0.0.1:4566" {
						t.Fatalf("endpoint %s = %q", s, p.endpoints[s])
					}
				}
			},
		},
		{
			name: "per-service endpoints win over the general one",
			env: map[string]string{"AWS_ENDPOINT_URL": "http://general", "AWS_ENDPOINT_URL_SQS": "http://sqs",
				"AWS_ENDPOINT_URL_DYNAMODB": "http://ddb"},
			check: func(t *testing.T, p awsPlan) {
				if p.endpoints[svcSQS] != "http://sqs" || p.endpoints[svcDynamoDB] != "http://ddb" || p.endpoints[svcS3] != "http://general" {
					t.Fatalf("endpoints = %v", p.endpoints)
				}
			},
		},
		{
			name: "SQS emulator with a named table and no S3: no bucket",
			env:  map[string]string{"AWS_ENDPOINT_URL_SQS": "http://sqs", EnvTable: "my-table"},
			check: func(t *testing.T, p awsPlan) {
				if p.queueURLs != nil || p.makeTable || p.table != "my-table" || p.bucket != "" || p.makeBkt {
					t.Fatalf("plan = %+v", p)
				}
			},
		},
		{
			name: "queue URLs, table and bucket from the environment",
			env:  allURLEnv(map[string]string{EnvTable: "Hookstack-Table", EnvClaimBucket: "claims"}),
			check: func(t *testing.T, p awsPlan) {
				if len(p.queueURLs) != 2*len(envelope.AllQueues) || p.makeTable || p.makeBkt || p.table != "Hookstack-Table" || p.bucket != "claims" {
					t.Fatalf("plan = %+v", p)
				}
				if !strings.HasSuffix(p.queueURLs["deliveries-dlq"], "/Hookstack-deliveries-dlq") {
					t.Fatalf("deliveries-dlq = %q", p.queueURLs["deliveries-dlq"])
				}
			},
		},
		{
			name: "queue URLs win over an emulator endpoint",
			env:  allURLEnv(map[string]string{"AWS_ENDPOINT_URL": "http://emu"}),
			check: func(t *testing.T, p awsPlan) {
				if p.queueURLs == nil || !p.makeTable {
					t.Fatalf("plan = %+v", p)
				}
			},
		},
		{
			name: "some queue URLs: the missing ones are named",
			env: func() map[string]string {
				m := allURLEnv(map[string]string{EnvTable: "t", "AWS_ENDPOINT_URL": "http://emu"})
				delete(m, "HOOKSTACK_QUEUE_URL_DELIVERIES_DLQ")
				return m
			}(),
			wantIn: []string{"HOOKSTACK_QUEUE_URL_DELIVERIES_DLQ", "every queue and DLQ"},
		},
		{
			name:    "nothing: say how to point at resources",
			env:     map[string]string{},
			wantErr: ErrNoAWSResources,
			wantIn:  []string{"--stack", "HOOKSTACK_QUEUE_URL_", "AWS_ENDPOINT_URL"},
		},
		{
			name:    "queue URLs but no table",
			env:     allURLEnv(map[string]string{}),
			wantErr: ErrNoAWSResources,
			wantIn:  []string{EnvTable, "--stack"},
		},
		{
			name:    "prefix with upper case",
			env:     map[string]string{"AWS_ENDPOINT_URL": "http://emu"},
			prefix:  "Dev_",
			wantErr: ErrBadPrefix,
		},
		{
			name:    "prefix too long",
			env:     map[string]string{"AWS_ENDPOINT_URL": "http://emu"},
			prefix:  strings.Repeat("a", 41),
			wantErr: ErrBadPrefix,
		},
		{
			name: "a stack's outputs win over the environment",
			env:  map[string]string{"AWS_ENDPOINT_URL": "http://emu", EnvTable: "other"},
			out:  stackOutputs(),
			check: func(t *testing.T, p awsPlan) {
				if p.from != "stack Hookstack" || p.table != "Hookstack-Table" || p.bucket != "hookstack-claims-123" || p.makeTable || p.makeBkt {
					t.Fatalf("plan = %+v", p)
				}
				if len(p.queueURLs) != 2*len(envelope.AllQueues) || !strings.HasSuffix(p.queueURLs["payments"], "/Hookstack-payments") {
					t.Fatalf("queues = %v", p.queueURLs)
				}
			},
		},
		{
			name:    "a stack without a DLQ output",
			env:     map[string]string{},
			out:     stackOutputs(stack.KeyQueueUrl + "DeliveriesDlq"),
			wantErr: ErrNoAWSResources,
			wantIn:  []string{"QueueUrlDeliveriesDlq", "make deploy"},
		},
		{
			name:    "a stack without a table output",
			env:     map[string]string{},
			out:     stackOutputs(stack.KeyTableName),
			wantErr: ErrNoAWSResources,
			wantIn:  []string{stack.KeyTableName},
		},
		{
			name: "a stack without a claim bucket: none",
			env:  map[string]string{},
			out:  stackOutputs(stack.KeyClaimBucketName),
			check: func(t *testing.T, p awsPlan) {
				if p.bucket != "" || p.makeBkt {
					t.Fatalf("plan = %+v", p)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pre := prefix
			if tt.prefix != "" {
				pre = tt.prefix
			}
			p, err := planAWS(envFunc(tt.env), pre, tt.out)
			wantFail := tt.wantErr != nil || len(tt.wantIn) > 0
			if !wantFail {
				if err != nil {
					t.Fatalf("planAWS: %v", err)
				}
				tt.check(t, p)
				return
			}
			if err == nil {
				t.Fatalf("planAWS = %+v, want an error", p)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			for _, s := range tt.wantIn {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

func TestDescribeAWS(t *testing.T) {
	urls := map[string]string{}
	for _, n := range allQueueNames() {
		urls[n] = "http://127.0.0.1:4566/000000000000/dev-" + n
	}
	p := awsPlan{from: "emulator", endpoints: map[string]string{svcSQS: "http://127.0.0.1:4566", svcDynamoDB: "http://127.0.0.1:8000"},
		table: "dev-table", makeTable: true}
	got := strings.Join(describeAWS(p, "us-east-1", urls, ".hookstack"), "\n")
	for _, want := range []string{"Backend: aws", "us-east-1", "SQS: http://127.0.0.1:4566", "S3: AWS", "dev-payments", "dev-deliveries",
		"dev-table (created", "claim bucket: none", "local, in .hookstack"} {
		if !strings.Contains(got, want) {
			t.Errorf("description lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "Lambda functions consume") {
		t.Errorf("emulator queues get the shared-queue note:\n%s", got)
	}
	p.queueURLs, p.endpoints = urls, map[string]string{}
	if got := strings.Join(describeAWS(p, "eu-west-1", urls, "d"), "\n"); !strings.Contains(got, "Lambda functions consume") {
		t.Errorf("a real account's queues lack the shared-queue note:\n%s", got)
	}
}

// isolateAWSEnv keeps the process's AWS settings (region, profile files)
// out of a test of the configuration checks.
func isolateAWSEnv(t *testing.T) {
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_REGION": "", "AWS_DEFAULT_REGION": "", "AWS_PROFILE": "", "AWS_DEFAULT_PROFILE": "",
		"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "",
		"AWS_CONFIG_FILE": filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED": "true",
	} {
		t.Setenv(k, v)
	}
}

func TestAWSConfigChecks(t *testing.T) {
	isolateAWSEnv(t)
	tests := []struct {
		name   string
		env    map[string]string
		wantIn string
	}{
		{name: "no region", env: map[string]string{"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}, wantIn: "set AWS_REGION"},
		{name: "no credentials", env: map[string]string{"AWS_REGION": "us-east-1"}, wantIn: "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := awsConfig(t.Context(), envFunc(tt.env))
			if !errors.Is(err, ErrAWSConfig) || !strings.Contains(err.Error(), tt.wantIn) {
				t.Fatalf("err = %v, want %v mentioning %q", err, ErrAWSConfig, tt.wantIn)
			}
		})
	}
	t.Run("getenv's region and keys are used", func(t *testing.T) {
		cfg, err := awsConfig(t.Context(), envFunc(map[string]string{"AWS_REGION": "eu-west-3", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s"}))
		if err != nil {
			t.Fatal(err)
		}
		c, _ := cfg.Credentials.Retrieve(t.Context())
		if cfg.Region != "eu-west-3" || c.AccessKeyID != "AKID" {
			t.Fatalf("region %q, key %q", cfg.Region, c.AccessKeyID)
		}
	})
}

// TestRunRefusesAnUnusableAWSBackend runs the real Run: it must fail at
// start-up with the advice, before listening.
func TestRunRefusesAnUnusableAWSBackend(t *testing.T) {
	isolateAWSEnv(t)
	tests := []struct {
		name    string
		env     map[string]string
		wantErr error
	}{
		{name: "no resources", env: map[string]string{EnvBackend: "aws", "AWS_REGION": "us-east-1"}, wantErr: ErrNoAWSResources},
		{name: "no region", env: map[string]string{EnvBackend: "aws", "AWS_ENDPOINT_URL": "http://127.0.0.1:1"}, wantErr: ErrAWSConfig},
		{name: "unknown backend", env: map[string]string{EnvBackend: "dynamo"}, wantErr: ErrUnknownBackend},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			listened := false
			err := Run(t.Context(), Options{
				Addr: "127.0.0.1:0", DataDir: t.TempDir(), Getenv: envFunc(tt.env),
				Out: io.Discard, Log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
				Ready: func(string) { listened = true },
			})
			if !errors.Is(err, tt.wantErr) || listened {
				t.Fatalf("Run = %v (listened %v), want %v before listening", err, listened, tt.wantErr)
			}
		})
	}
}

// awsDevEnv is the dev server's environment for the aws backend on the
// emulators, with a fresh name prefix.
func awsDevEnv(t *testing.T, secret string) (map[string]string, string) {
	t.Helper()
	sqsEP := emulator.Endpoint(t, emulator.EnvSQS)
	s3EP := emulator.Endpoint(t, emulator.EnvS3)
	ddbEP := emulator.Endpoint(t, emulator.EnvDynamoDB)
	prefix := emulator.Name("hd", 4) + "-"
	return map[string]string{
		EnvBackend: "aws", EnvAWSPrefix: prefix,
		"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_ENDPOINT_URL_SQS": sqsEP, "AWS_ENDPOINT_URL_S3": s3EP, "AWS_ENDPOINT_URL_DYNAMODB": ddbEP,
		"HOOKSTACK_SECRET_STRIPE": secret,
	}, prefix
}

// emulatorClients are direct SDK clients on the emulators, to check what
// the dev server wrote.
type emulatorClients struct {
	sqs *sqs.Client
	ddb *dynamodb.Client
}

func newEmulatorClients(t *testing.T, env map[string]string) emulatorClients {
	t.Helper()
	cfg, err := emulator.Config(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return emulatorClients{
		sqs: sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(env["AWS_ENDPOINT_URL_SQS"]) }),
		ddb: dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(env["AWS_ENDPOINT_URL_DYNAMODB"]) }),
	}
}

func (c emulatorClients) queueURL(t *testing.T, name string) string {
	t.Helper()
	out, err := c.sqs.GetQueueUrl(t.Context(), &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatalf("queue %s: %v", name, err)
	}
	return aws.ToString(out.QueueUrl)
}

func (c emulatorClients) visible(t *testing.T, url string) int {
	t.Helper()
	out, err := c.sqs.GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages},
	})
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)])
	return n
}

// cleanup deletes what the dev server created under prefix.
func (c emulatorClients) cleanup(t *testing.T, prefix string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, n := range allQueueNames() {
			if out, err := c.sqs.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(prefix + n)}); err == nil {
				_, _ = c.sqs.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: out.QueueUrl})
			}
		}
		_ = dynamostore.DeleteTable(ctx, c.ddb, prefix+"table")
	})
}

// deadList polls GET /api/dlq?queue=q until check accepts the listing.
func deadList(t *testing.T, base, q string, check func([]DeadMessage) bool) []DeadMessage {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var list []DeadMessage
	for time.Now().Before(deadline) {
		list = nil
		if code := getJSON(t, base+"/api/dlq?queue="+q, &list); code != 200 {
			t.Fatalf("GET /api/dlq: %d", code)
		}
		if check(list) {
			return list
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("/api/dlq?queue=%s never matched; last: %+v", q, list)
	return nil
}

// defaultDeliveryReceives is the deliveries queue's maxReceiveCount under
// the default retry schedule, as Run provisions it.
func defaultDeliveryReceives(t *testing.T) int {
	t.Helper()
	c, err := notify.ConfigFromEnv(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return DeliveryReceives(c.Schedule)
}

const (
	awsSucceededPI = "pi_3RZx5a2eZvKYlo2C0m8kQpLd"
	awsCanceledPI  = "pi_3RZxA12eZvKYlo2C1c4NwTsv"
)

func TestDevServerOnAWSBackend(t *testing.T) {
	const secret = "whsec_aws_backend_test"
	env, prefix := awsDevEnv(t, secret)
	emu := newEmulatorClients(t, env)
	emu.cleanup(t, prefix)

	dir := t.TempDir()
	base, stop := startDev(t, dir, env)
	stopped := false
	defer func() {
		if !stopped {
			stop()
		}
	}()

	// Nothing of the embedded backend is opened; the event log stays local.
	for _, f := range []string{"queues.db", "state.db", "blobs"} {
		if _, err := os.Stat(filepath.Join(dir, f)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s exists in the data folder (err %v): the aws backend must not open the embedded one", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "events.db")); err != nil {
		t.Errorf("event log: %v", err)
	}

	// A second opening provisions idempotently and describes the resources.
	b, err := openBackend(t.Context(), Options{Getenv: envFunc(env), DataDir: dir}, defaultDeliveryReceives(t))
	if err != nil {
		t.Fatalf("open the backend again: %v", err)
	}
	desc := strings.Join(b.lines, "\n")
	for _, want := range []string{"Backend: aws", prefix + "payments", prefix + "deliveries", prefix + "table", prefix + "claims", env["AWS_ENDPOINT_URL_DYNAMODB"]} {
		if !strings.Contains(desc, want) {
			t.Errorf("start-up description lacks %q:\n%s", want, desc)
		}
	}
	_ = b.Close()

	// A signed Stripe sample is processed and its record read from DynamoDB.
	reply := sendSample(t, base, secret, "stripe", "payment_intent.succeeded", nil)
	waitFor(t, base+"/api/payments/"+awsSucceededPI, func(code int, b map[string]any) bool {
		return code == 200 && b["status"] == "succeeded"
	})
	waitFor(t, base+"/api/events/"+reply["id"].(string), func(code int, b map[string]any) bool {
		return b["status"] == "processed"
	})
	rec, err := dynamostore.New(emu.ddb, prefix+"table").Get(t.Context(), "payment", awsSucceededPI)
	if err != nil || !strings.Contains(string(rec.Data), "succeeded") {
		t.Fatalf("payment in the DynamoDB table: %v %s", err, rec.Data)
	}

	// A malformed payload is dead-lettered into the SQS DLQ, listed without
	// being consumed, and redriven.
	bad := sendSample(t, base, secret, "stripe", "payment_intent.succeeded", func([]byte) []byte {
		return []byte(`{"id":"evt_bad_aws","object":"event","type":"payment_intent.succeeded","created":1764417600,"data":{"object":{"id":12}}}`)
	})
	waitFor(t, base+"/api/events/"+bad["id"].(string), func(code int, b map[string]any) bool { return b["status"] == "dead" })
	one := func(l []DeadMessage) bool { return len(l) == 1 }
	first := deadList(t, base, "payments", one)[0]
	if first.Queue != "payments-dlq" || first.Source != "payments" || first.EventID != "evt_bad_aws" || first.Reason == "" {
		t.Fatalf("dead message = %+v", first)
	}
	again := deadList(t, base, "payments-dlq", one)[0]
	if again.MessageID != first.MessageID {
		t.Fatalf("listing consumed the message: %s then %s", first.MessageID, again.MessageID)
	}
	dlqURL := emu.queueURL(t, prefix+"payments-dlq")
	if n := emu.visible(t, dlqURL); n != 1 {
		t.Fatalf("after listing, %d visible message(s) in the DLQ, want 1 (visible again)", n)
	}
	var all []DeadMessage
	getJSON(t, base+"/api/dlq", &all)
	if len(all) != 1 || all[0].MessageID != first.MessageID {
		t.Fatalf("GET /api/dlq (every DLQ) = %+v", all)
	}

	code, body := post(t, base+"/api/dlq/redrive", http.Header{"Content-Type": {"application/json"}}, []byte(`{"queue":"payments"}`))
	var moved struct {
		Moved  int            `json:"moved"`
		Queues map[string]int `json:"queues"`
	}
	if err := json.Unmarshal(body, &moved); code != 200 || err != nil || moved.Moved != 1 || moved.Queues["payments-dlq"] != 1 {
		t.Fatalf("redrive = %d %s", code, body)
	}
	// Redriven, it runs through the payments processor again, fails again
	// (the payload is still malformed) and is dead-lettered as a new message.
	redone := deadList(t, base, "payments", func(l []DeadMessage) bool { return len(l) == 1 && l[0].MessageID != first.MessageID })[0]
	if redone.EventID != "evt_bad_aws" {
		t.Fatalf("after redrive: %+v", redone)
	}

	stop()
	stopped = true

	// Work queued while the server is down waits in SQS. A long poll the
	// stopped runner abandoned stays open on the emulator for up to its 1 s
	// wait and would take (and hide for the 30 s visibility) a message sent
	// meanwhile: send after it ended.
	time.Sleep(1500 * time.Millisecond)
	s, err := sample.Find(events.FS, "stripe", "payment_intent.canceled")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	msg, err := envelope.Encode(envelope.Envelope{
		V: envelope.Version, ID: "01KAWSBACKENDRESTART0000001", Provider: "stripe", EventID: "evt_3RZxA12eZvKYlo2C1cAnC004",
		Type: "payment_intent.canceled", OccurredAt: now, ReceivedAt: now, ContentType: "application/json",
		Queue: envelope.QueuePayments, Body: s.Body,
	})
	if err != nil {
		t.Fatal(err)
	}
	paymentsURL := emu.queueURL(t, prefix+"payments")
	if _, err := sqsq.New(emu.sqs, map[string]string{"payments": paymentsURL}).Send(t.Context(), "payments", queue.Outgoing{Body: msg}); err != nil {
		t.Fatal(err)
	}

	// Restart on a fresh data folder: the records, the DLQ and the queued
	// work are the emulators', not the folder's.
	base, stop = startDev(t, t.TempDir(), env)
	defer stop()
	stopped = true
	waitFor(t, base+"/api/payments/"+awsSucceededPI, func(code int, b map[string]any) bool {
		return code == 200 && b["status"] == "succeeded"
	})
	// Polled for longer than waitFor's 15 s: should the message still have
	// been taken by an abandoned receive, it comes back after the 30 s
	// visibility — late, but not lost.
	deadline := time.Now().Add(45 * time.Second)
	for {
		var pay map[string]any
		if code := getJSON(t, base+"/api/payments/"+awsCanceledPI, &pay); code == 200 && pay["status"] == "canceled" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the payment queued while the server was down was not processed after the restart")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if l := deadList(t, base, "payments", one); l[0].MessageID != redone.MessageID {
		t.Fatalf("DLQ after restart = %+v, want %s", l, redone.MessageID)
	}
}

func TestSQSPeekIsNotConsuming(t *testing.T) {
	env, prefix := awsDevEnv(t, "unused")
	emu := newEmulatorClients(t, env)
	emu.cleanup(t, prefix)
	b, err := openBackend(t.Context(), Options{Getenv: envFunc(env), DataDir: t.TempDir()}, defaultDeliveryReceives(t))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const dlq = "leads-dlq"
	if got, err := b.queue.Peek(dlq, 10); err != nil || len(got) != 0 {
		t.Fatalf("empty DLQ: %v %v", got, err)
	}
	for i := range 12 {
		if _, err := b.queue.Send(t.Context(), dlq, queue.Outgoing{Body: []byte(`{"n":` + strconv.Itoa(i) + `}`),
			Attributes: map[string]string{queue.AttrReason: "test " + strconv.Itoa(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, limit := range []int{5, 200} {
		t.Run("limit "+strconv.Itoa(limit), func(t *testing.T) {
			got, err := b.queue.Peek(dlq, limit)
			if err != nil {
				t.Fatal(err)
			}
			want := min(limit, 12)
			ids := map[string]bool{}
			for _, m := range got {
				ids[m.ID] = true
				if !strings.HasPrefix(m.Attributes[queue.AttrReason], "test ") {
					t.Errorf("message %s lost its reason: %v", m.ID, m.Attributes)
				}
			}
			if len(got) != want || len(ids) != want {
				t.Fatalf("peeked %d (%d distinct), want %d", len(got), len(ids), want)
			}
			if n := emu.visible(t, emu.queueURL(t, prefix+dlq)); n != 12 {
				t.Fatalf("after peeking, %d visible, want 12", n)
			}
		})
	}
	if _, err := b.queue.Peek("nope-dlq", 5); !errors.Is(err, queue.ErrUnknownQueue) {
		t.Fatalf("unknown queue: %v", err)
	}
}
