package hookstack

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/queue"
)

func TestResourceCounts(t *testing.T) {
	for _, tc := range []struct {
		fixture string
		counts  map[string]int
	}{
		{"default", map[string]int{
			"AWS::Lambda::Function":           7,
			"AWS::Lambda::EventSourceMapping": 6,
			"AWS::SQS::Queue":                 12,
			"AWS::SQS::QueuePolicy":           12,
			"AWS::DynamoDB::Table":            1,
			"AWS::S3::Bucket":                 1,
			"AWS::SecretsManager::Secret":     11,
			"AWS::ApiGatewayV2::Api":          1,
			"AWS::ApiGatewayV2::Route":        1,
			"AWS::ApiGatewayV2::Stage":        1,
			"AWS::ApiGatewayV2::DomainName":   0,
			"AWS::SNS::Topic":                 1,
			"AWS::SNS::Subscription":          0,
			// 6 DLQs + 5 oldest-message + 7 errors + 7 throttles + API 5xx
			"AWS::CloudWatch::Alarm":                      26,
			"AWS::CloudWatch::Dashboard":                  1,
			"AWS::Logs::LogGroup":                         8, // 7 functions + API access logs
			"AWS::IAM::Role":                              7,
			"AWS::IAM::ManagedPolicy":                     1, // OperatorPolicy
			"Custom::S3AutoDeleteObjects":                 0,
			"AWS::ApplicationAutoScaling::ScalableTarget": 0,
		}},
		{"custom", map[string]int{
			"AWS::Lambda::Function":         8, // + CDK's auto-delete-objects handler (removal=destroy)
			"AWS::SQS::Queue":               12,
			"AWS::SecretsManager::Secret":   3,
			"AWS::ApiGatewayV2::DomainName": 1,
			"AWS::ApiGatewayV2::ApiMapping": 1,
			"AWS::SNS::Subscription":        1,
			"AWS::CloudWatch::Alarm":        26,
			"Custom::S3AutoDeleteObjects":   1,
			// tableCapacity=provisioned: write and read, table and index.
			"AWS::ApplicationAutoScaling::ScalableTarget": 4,
			"AWS::ApplicationAutoScaling::ScalingPolicy":  4,
		}},
	} {
		s := fixture(t, tc.fixture)
		for typ, want := range tc.counts {
			t.Run(tc.fixture+"/"+typ, func(t *testing.T) {
				if got := len(s.resources(typ)); got != want {
					t.Errorf("%s: got %d, want %d", typ, got, want)
				}
			})
		}
	}
	// The same through the CDK assertions API.
	catch(t, "ResourceCountIs", func() {
		assertions.Template_FromJSON(&fixture(t, "default").tmpl, nil).
			ResourceCountIs(jsii.String("AWS::Lambda::Function"), jsii.Number(7))
	})
}

func TestFunctions(t *testing.T) {
	s := fixture(t, "default")
	for _, name := range Functions {
		t.Run(name, func(t *testing.T) {
			p := props(s.resource(t, s.fnID[name]))
			spec := FunctionSpecs[name]
			checks := []struct {
				what      string
				got, want any
			}{
				{"runtime", p["Runtime"], "provided.al2023"},
				{"architecture", fmt.Sprint(p["Architectures"]), "[arm64]"},
				{"handler", p["Handler"], "bootstrap"},
				{"memory", num(p["MemorySize"]), spec.MemoryMB},
				{"timeout", num(p["Timeout"]), spec.Timeout.Seconds()},
				{"log format", get(p, "LoggingConfig", "LogFormat"), "JSON"},
				{"system log level", get(p, "LoggingConfig", "SystemLogLevel"), "INFO"},
				{"log retention", num(get(props(s.resource(t, refID(get(p, "LoggingConfig", "LogGroup")))), "RetentionInDays")), 30.0},
				{"backend", get(p, "Environment", "Variables", EnvBackend), "aws"},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s: got %v, want %v", c.what, c.got, c.want)
				}
			}
			if !strings.HasSuffix(fmt.Sprint(get(p, "Code", "S3Key")), ".zip") {
				t.Errorf("code is not an S3 asset: %v", p["Code"])
			}
		})
	}
}

func TestFunctionEnvironment(t *testing.T) {
	s := fixture(t, "default")
	refTo := func(id string) string { return "<" + id + ">" }
	type want map[string]string // variable -> flattened value
	queues := func(w want, names ...string) want {
		for _, n := range names {
			w[QueueURLEnv(n)] = refTo(s.queueID[n])
		}
		return w
	}
	table, bucket := refTo(s.tableID), refTo(s.bucketID)

	ingest := queues(want{EnvClaimBucket: bucket, EnvProviders: strings.Join(Providers, ",")},
		"payments", "payments-dlq", "inventory", "inventory-dlq", "leads", "leads-dlq", "relay", "relay-dlq")
	for _, p := range Providers {
		ingest[SecretARNEnv(p)] = refTo(s.secretID[p])
	}
	cases := map[string]want{
		"ingest":    ingest,
		"fanout":    queues(want{EnvTable: table}, "notifications", "notifications-dlq", "deliveries"),
		"deliverer": queues(want{EnvTable: table, EnvClaimBucket: bucket, EnvRetrySchedule: DefaultRetrySchedule}, "deliveries", "deliveries-dlq"),
	}
	for _, p := range Processors {
		cases[p] = queues(want{EnvTable: table, EnvClaimBucket: bucket, EnvMaxReceives: strconv.Itoa(DefaultMaxReceiveCount)}, p, queue.DLQ(p), "notifications")
	}
	for name, w := range cases {
		t.Run(name, func(t *testing.T) {
			vars, _ := get(props(s.resource(t, s.fnID[name])), "Environment", "Variables").(map[string]any)
			for k, v := range w {
				if got := flatten(vars[k]); got != v {
					t.Errorf("%s = %s, want %s", k, got, v)
				}
			}
			// Nothing beyond what the function needs (and the common ones).
			for k := range vars {
				if _, ok := w[k]; !ok && k != EnvBackend && k != EnvPublicURL {
					t.Errorf("unexpected variable %s", k)
				}
			}
		})
	}
	t.Run("ingest public url", func(t *testing.T) {
		got := flatten(get(props(s.resource(t, s.fnID["ingest"])), "Environment", "Variables", EnvPublicURL))
		want := "https://<" + s.apiID + ">.execute-api.<AWS::Region>.<AWS::URLSuffix>"
		if got != want {
			t.Errorf("%s = %s, want %s", EnvPublicURL, got, want)
		}
	})
}

func TestQueues(t *testing.T) {
	s := fixture(t, "default")
	secureTransportDenied := map[string]bool{}
	for _, pol := range s.resources("AWS::SQS::QueuePolicy") {
		for _, st := range get(props(pol), "PolicyDocument", "Statement").([]any) {
			if get(st, "Effect") == "Deny" && get(st, "Condition", "Bool", "aws:SecureTransport") == "false" {
				for _, q := range get(props(pol), "Queues").([]any) {
					secureTransportDenied[refID(q)] = true
				}
			}
		}
	}
	for _, name := range envelope.AllQueues {
		t.Run(name, func(t *testing.T) {
			src := props(s.resource(t, s.queueID[name]))
			dlq := props(s.resource(t, s.queueID[queue.DLQ(name)]))
			wantReceives := 5.0
			if name == envelope.QueueDeliveries {
				wantReceives = float64(len(strings.Split(DefaultRetrySchedule, ",")) + 1 + DeliveryReceiveSlack)
			}
			if got := refID(get(src, "RedrivePolicy", "deadLetterTargetArn")); got != s.queueID[queue.DLQ(name)] {
				t.Errorf("redrive target %s, want its DLQ %s", got, s.queueID[queue.DLQ(name)])
			}
			if got := num(get(src, "RedrivePolicy", "maxReceiveCount")); got != wantReceives {
				t.Errorf("maxReceiveCount %v, want %v", got, wantReceives)
			}
			if got := num(dlq["MessageRetentionPeriod"]); got != 14*24*3600 {
				t.Errorf("DLQ retention %v s, want 14 days", got)
			}
			if dlq["RedrivePolicy"] != nil {
				t.Errorf("a DLQ must not have a DLQ")
			}
			for _, q := range []map[string]any{src, dlq} {
				if q["SqsManagedSseEnabled"] != true {
					t.Errorf("SSE not enabled: %v", q)
				}
			}
			for _, id := range []string{s.queueID[name], s.queueID[queue.DLQ(name)]} {
				if !secureTransportDenied[id] {
					t.Errorf("%s has no TLS-only policy", id)
				}
			}
		})
	}
	t.Run("deliveries outlast the retry schedule", func(t *testing.T) {
		var total float64
		delays, _ := DefaultConfig().RetryDelays()
		for _, d := range delays {
			total += d.Seconds()
		}
		if got := num(props(s.resource(t, s.queueID["deliveries"]))["MessageRetentionPeriod"]); got <= total {
			t.Errorf("deliveries retention %v s <= retry schedule %v s", got, total)
		}
	})
}

func TestEventSourceMappings(t *testing.T) {
	s := fixture(t, "default")
	fnName := map[string]string{}
	for name, id := range s.fnID {
		fnName[id] = name
	}
	queueName := map[string]string{}
	for name, id := range s.queueID {
		queueName[id] = name
	}
	consumed := map[string]string{}
	for id, esm := range s.resources("AWS::Lambda::EventSourceMapping") {
		p := props(esm)
		q, fn := queueName[refID(p["EventSourceArn"])], fnName[refID(p["FunctionName"])]
		consumed[q] = fn
		t.Run(q, func(t *testing.T) {
			if fn != QueueConsumers[q] {
				t.Fatalf("%s: queue %q consumed by %q, want %q", id, q, fn, QueueConsumers[q])
			}
			if got := num(p["BatchSize"]); got != ConsumerBatchSize {
				t.Errorf("batch size %v", got)
			}
			if got := num(p["MaximumBatchingWindowInSeconds"]); got != ConsumerBatchingWindow.Seconds() {
				t.Errorf("batching window %v", got)
			}
			if got := strs(p["FunctionResponseTypes"]); !slices.Equal(got, []string{"ReportBatchItemFailures"}) {
				t.Errorf("function response types %v", got)
			}
			if got := num(get(p, "ScalingConfig", "MaximumConcurrency")); got != ConsumerMaxConcurrency[fn] || got < 2 {
				t.Errorf("maximum concurrency %v", got)
			}
			visibility := num(props(s.resource(t, s.queueID[q]))["VisibilityTimeout"])
			timeout := num(props(s.resource(t, s.fnID[fn]))["Timeout"])
			if visibility < 6*timeout {
				t.Errorf("visibility %v s < 6 x %s timeout %v s", visibility, fn, timeout)
			}
		})
	}
	if len(consumed) != len(envelope.AllQueues) {
		t.Errorf("consumed queues %v, want every one of %v", consumed, envelope.AllQueues)
	}
}

func TestTable(t *testing.T) {
	for _, tc := range []struct {
		fixture, deletionPolicy string
		protected               bool
		provisioned             bool
	}{
		{"default", "Retain", true, false},
		{"custom", "Delete", false, true},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			s := fixture(t, tc.fixture)
			r := s.resource(t, s.tableID)
			p := props(r)
			if r["DeletionPolicy"] != tc.deletionPolicy || r["UpdateReplacePolicy"] != tc.deletionPolicy {
				t.Errorf("deletion/update-replace policy %v/%v, want %s", r["DeletionPolicy"], r["UpdateReplacePolicy"], tc.deletionPolicy)
			}
			if p["DeletionProtectionEnabled"] != tc.protected {
				t.Errorf("deletion protection %v, want %v", p["DeletionProtectionEnabled"], tc.protected)
			}
			if !tc.provisioned && (p["BillingMode"] != "PAY_PER_REQUEST" || p["ProvisionedThroughput"] != nil) {
				t.Errorf("billing mode %v, provisioned throughput %v", p["BillingMode"], p["ProvisionedThroughput"])
			}
			if tc.provisioned {
				if p["BillingMode"] != nil && p["BillingMode"] != "PROVISIONED" {
					t.Errorf("billing mode %v", p["BillingMode"])
				}
				if got := flatten(p["ProvisionedThroughput"]); got != `{"ReadCapacityUnits":1,"WriteCapacityUnits":1}` {
					t.Errorf("table throughput %s", got)
				}
				if got := flatten(get(p, "GlobalSecondaryIndexes", 0, "ProvisionedThroughput")); got != `{"ReadCapacityUnits":1,"WriteCapacityUnits":1}` {
					t.Errorf("index throughput %s", got)
				}
				// Auto scaling: 1..max per dimension, table and index, 70% target.
				got := map[string]float64{}
				for _, st := range s.resources("AWS::ApplicationAutoScaling::ScalableTarget") {
					sp := props(st)
					if num(sp["MinCapacity"]) != 1 || sp["ServiceNamespace"] != "dynamodb" {
						t.Errorf("scalable target %v", sp)
					}
					got[fmt.Sprint(sp["ScalableDimension"])] = num(sp["MaxCapacity"])
				}
				want := map[string]float64{
					"dynamodb:table:WriteCapacityUnits": 40, "dynamodb:table:ReadCapacityUnits": 20,
					"dynamodb:index:WriteCapacityUnits": 40, "dynamodb:index:ReadCapacityUnits": 20,
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("scalable targets %v, want %v", got, want)
				}
				for _, sp := range s.resources("AWS::ApplicationAutoScaling::ScalingPolicy") {
					if v := num(get(props(sp), "TargetTrackingScalingPolicyConfiguration", "TargetValue")); v != ProvisionedTargetUtilization {
						t.Errorf("scaling target %v", v)
					}
				}
			}
			if get(p, "PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled") != true {
				t.Errorf("PITR not enabled: %v", p["PointInTimeRecoverySpecification"])
			}
			if get(p, "TimeToLiveSpecification", "AttributeName") != TableTTLAttribute || get(p, "TimeToLiveSpecification", "Enabled") != true {
				t.Errorf("TTL %v", p["TimeToLiveSpecification"])
			}
			if got := flatten(p["KeySchema"]); got != `[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}]` {
				t.Errorf("key schema %s", got)
			}
			gsi := get(p, "GlobalSecondaryIndexes", 0)
			if got := flatten(gsi); !tc.provisioned && got != `{"IndexName":"gsi1","KeySchema":[{"AttributeName":"gsi1pk","KeyType":"HASH"},{"AttributeName":"gsi1sk","KeyType":"RANGE"}],"Projection":{"ProjectionType":"ALL"}}` {
				t.Errorf("GSI %s", got)
			}
		})
	}
	// And through the CDK assertions API, with a partial match.
	catch(t, "HasResourceProperties", func() {
		assertions.Template_FromJSON(&fixture(t, "default").tmpl, nil).HasResourceProperties(jsii.String("AWS::DynamoDB::Table"),
			assertions.Match_ObjectLike(&map[string]any{
				"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
				"TimeToLiveSpecification":          map[string]any{"AttributeName": "expires_at", "Enabled": true},
			}))
	})
}

func TestClaimBucket(t *testing.T) {
	s := fixture(t, "default")
	r := s.resource(t, s.bucketID)
	p := props(r)
	if got := flatten(p["PublicAccessBlockConfiguration"]); got != `{"BlockPublicAcls":true,"BlockPublicPolicy":true,"IgnorePublicAcls":true,"RestrictPublicBuckets":true}` {
		t.Errorf("public access block %s", got)
	}
	if got := get(p, "BucketEncryption", "ServerSideEncryptionConfiguration", 0, "ServerSideEncryptionByDefault", "SSEAlgorithm"); got != "AES256" {
		t.Errorf("encryption %v", got)
	}
	if got := num(get(p, "LifecycleConfiguration", "Rules", 0, "ExpirationInDays")); got != ClaimExpirationDays {
		t.Errorf("expiration %v days", got)
	}
	if r["DeletionPolicy"] != "Retain" {
		t.Errorf("deletion policy %v", r["DeletionPolicy"])
	}
	var tlsOnly bool
	for _, pol := range s.resources("AWS::S3::BucketPolicy") {
		for _, st := range get(props(pol), "PolicyDocument", "Statement").([]any) {
			tlsOnly = tlsOnly || (get(st, "Effect") == "Deny" && get(st, "Condition", "Bool", "aws:SecureTransport") == "false")
		}
	}
	if !tlsOnly {
		t.Error("no TLS-only bucket policy")
	}
	c := fixture(t, "custom")
	if got := c.resource(t, c.bucketID)["DeletionPolicy"]; got != "Delete" {
		t.Errorf("removal=destroy: deletion policy %v", got)
	}
}

func TestSecrets(t *testing.T) {
	s := fixture(t, "default")
	for _, p := range Providers {
		t.Run(p, func(t *testing.T) {
			sp := props(s.resource(t, s.secretID[p]))
			if slices.Contains(GeneratedSecretProviders, p) {
				g := sp["GenerateSecretString"]
				if num(get(g, "PasswordLength")) != GeneratedSecretLength || get(g, "ExcludePunctuation") != true || sp["SecretString"] != nil {
					t.Errorf("want a generated secret, got %v", sp)
				}
				if get(g, "SecretStringTemplate") != nil {
					t.Errorf("generated secret must be a bare string, got template %v", get(g, "SecretStringTemplate"))
				}
			} else if sp["SecretString"] != SecretPlaceholder || sp["GenerateSecretString"] != nil {
				t.Errorf("want placeholder %q, got %v", SecretPlaceholder, sp)
			}
		})
	}
}

// statement is one IAM statement, flattened.
type statement struct {
	effect    string
	actions   []string
	resources []string // flattened
	condition any      // the Condition block as in the template
}

// parseStatements flattens a policy document's statements.
func parseStatements(doc any) []statement {
	var out []statement
	for _, st := range get(doc, "Statement").([]any) {
		stmt := statement{effect: fmt.Sprint(get(st, "Effect")), actions: strs(get(st, "Action")), condition: get(st, "Condition")}
		res := get(st, "Resource")
		if list, ok := res.([]any); ok {
			for _, r := range list {
				stmt.resources = append(stmt.resources, flatten(r))
			}
		} else {
			stmt.resources = append(stmt.resources, flatten(res))
		}
		out = append(out, stmt)
	}
	return out
}

// roleStatements returns each function's IAM statements by function name.
func (s *synthesized) roleStatements(t *testing.T) map[string][]statement {
	roleFn := map[string]string{}
	for name, id := range s.fnID {
		roleFn[refID(props(s.resource(t, id))["Role"])] = name
	}
	out := map[string][]statement{}
	for _, pol := range s.resources("AWS::IAM::Policy") {
		p := props(pol)
		for _, role := range p["Roles"].([]any) {
			fn := roleFn[refID(role)]
			out[fn] = append(out[fn], parseStatements(get(p, "PolicyDocument"))...)
		}
	}
	return out
}

func TestIAMNoWildcards(t *testing.T) {
	for _, f := range []string{"default", "custom"} {
		s := fixture(t, f)
		policies := 0
		for id, r := range s.tmpl["Resources"].(map[string]any) {
			typ := get(r, "Type")
			var docs []any
			switch typ {
			case "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy":
				docs = append(docs, get(r, "Properties", "PolicyDocument"))
			case "AWS::IAM::Role":
				if inline, ok := get(r, "Properties", "Policies").([]any); ok {
					for _, p := range inline {
						docs = append(docs, get(p, "PolicyDocument"))
					}
				}
			}
			for _, doc := range docs {
				policies++
				for _, st := range get(doc, "Statement").([]any) {
					for _, a := range strs(get(st, "Action")) {
						if a == "*" || strings.HasSuffix(a, ":*") {
							t.Errorf("%s %s: wildcard action %q", f, id, a)
						}
					}
					for _, res := range strs(get(st, "Resource")) {
						if res == "*" {
							t.Errorf("%s %s: statement on Resource \"*\" (actions %v)", f, id, get(st, "Action"))
						}
					}
				}
			}
		}
		if policies < 7 {
			t.Errorf("%s: only %d policies inspected", f, policies)
		}
	}
}

func TestIAMLeastPrivilege(t *testing.T) {
	s := fixture(t, "default")
	byFn := s.roleStatements(t)
	q := func(names ...string) []string {
		var out []string
		for _, n := range names {
			out = append(out, "<"+s.queueID[n]+">")
		}
		sort.Strings(out)
		return out
	}
	claimReads := []string{"s3:GetObject", "s3:ListBucket"}
	cases := []struct {
		fn       string
		services []string // action prefixes allowed
		sendTo   []string // queues it may send to
		consume  []string // queues it may receive from
		s3       []string // S3 actions
		writes   bool     // dynamodb writes
	}{
		{"ingest", []string{"logs", "sqs", "s3", "secretsmanager"},
			q("payments", "payments-dlq", "inventory", "inventory-dlq", "leads", "leads-dlq", "relay", "relay-dlq"), nil, []string{"s3:PutObject"}, false},
		{"payments", []string{"logs", "sqs", "s3", "dynamodb"}, q("payments-dlq", "notifications"), q("payments"), claimReads, true},
		{"inventory", []string{"logs", "sqs", "s3", "dynamodb"}, q("inventory-dlq", "notifications"), q("inventory"), claimReads, true},
		{"leads", []string{"logs", "sqs", "s3", "dynamodb"}, q("leads-dlq", "notifications"), q("leads"), claimReads, true},
		{"relay", []string{"logs", "sqs", "s3", "dynamodb"}, q("relay-dlq", "notifications"), q("relay"), claimReads, true},
		{"fanout", []string{"logs", "sqs", "dynamodb"}, q("notifications-dlq", "deliveries"), q("notifications"), nil, false},
		{"deliverer", []string{"logs", "sqs", "s3", "dynamodb"}, q("deliveries-dlq"), q("deliveries"), claimReads, true}, // re-schedules by ChangeMessageVisibility
	}
	for _, tc := range cases {
		t.Run(tc.fn, func(t *testing.T) {
			var sendTo, consume, s3 []string
			writes := false
			for _, st := range byFn[tc.fn] {
				if st.effect != "Allow" {
					continue
				}
				for _, a := range st.actions {
					svc, _, _ := strings.Cut(a, ":")
					if !slices.Contains(tc.services, svc) {
						t.Errorf("action %s not expected for %s", a, tc.fn)
					}
					switch {
					case a == "sqs:SendMessage":
						sendTo = append(sendTo, st.resources...)
					case a == "sqs:ReceiveMessage":
						consume = append(consume, st.resources...)
					case a == "s3:ListBucket":
						// Checked with its condition in TestClaimReads.
						s3 = append(s3, a)
					case svc == "s3":
						s3 = append(s3, a)
						for _, r := range st.resources {
							if r != "<"+s.bucketID+">/"+ClaimBodyPrefix+"*" {
								t.Errorf("%s on %s, want only the bodies/ prefix", a, r)
							}
						}
					case slices.Contains([]string{"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}, a):
						writes = true
					}
				}
			}
			sort.Strings(sendTo)
			sort.Strings(consume)
			sort.Strings(s3)
			if !slices.Equal(sendTo, tc.sendTo) {
				t.Errorf("sends to %v, want %v", sendTo, tc.sendTo)
			}
			if !slices.Equal(consume, tc.consume) {
				t.Errorf("consumes %v, want %v", consume, tc.consume)
			}
			if !slices.Equal(s3, tc.s3) {
				t.Errorf("S3 actions %v, want %v", s3, tc.s3)
			}
			if writes != tc.writes {
				t.Errorf("DynamoDB writes %v, want %v", writes, tc.writes)
			}
		})
	}
}

func TestAlarms(t *testing.T) {
	s := fixture(t, "default")
	type alarmKey struct{ metric, dim string }
	alarms := map[alarmKey]map[string]any{}
	var api5xx []map[string]any
	for _, a := range s.resources("AWS::CloudWatch::Alarm") {
		p := props(a)
		if p["Metrics"] != nil {
			api5xx = append(api5xx, p)
			continue
		}
		alarms[alarmKey{fmt.Sprint(p["MetricName"]), refID(get(p, "Dimensions", 0, "Value"))}] = p
		if got := refID(get(p, "AlarmActions", 0)); got != s.topicID {
			t.Errorf("alarm %v notifies %v, want the topic", p["MetricName"], got)
		}
	}
	check := func(t *testing.T, k alarmKey, threshold, period float64, op string) {
		t.Helper()
		p, ok := alarms[k]
		if !ok {
			t.Fatalf("no %s alarm on %s", k.metric, k.dim)
		}
		if num(p["Threshold"]) != threshold || num(p["Period"]) != period || p["ComparisonOperator"] != op || num(p["EvaluationPeriods"]) != 1 {
			t.Errorf("%s alarm on %s: threshold %v period %v %v", k.metric, k.dim, p["Threshold"], p["Period"], p["ComparisonOperator"])
		}
	}
	for _, name := range envelope.AllQueues {
		t.Run("dlq/"+name, func(t *testing.T) {
			check(t, alarmKey{"ApproximateNumberOfMessagesVisible", s.queueID[queue.DLQ(name)]}, 1, 60, "GreaterThanOrEqualToThreshold")
		})
		t.Run("age/"+name, func(t *testing.T) {
			k := alarmKey{"ApproximateAgeOfOldestMessage", s.queueID[name]}
			if name == envelope.QueueDeliveries {
				if _, ok := alarms[k]; ok {
					t.Error("deliveries must not alarm on message age: retries wait hours by design")
				}
				return
			}
			check(t, k, OldestMessageAlarmAge.Seconds(), 60, "GreaterThanThreshold")
		})
	}
	for _, fn := range Functions {
		t.Run("lambda/"+fn, func(t *testing.T) {
			check(t, alarmKey{"Errors", s.fnID[fn]}, 0, 300, "GreaterThanThreshold")
			check(t, alarmKey{"Throttles", s.fnID[fn]}, 0, 300, "GreaterThanThreshold")
		})
	}
	t.Run("api5xx", func(t *testing.T) {
		if len(api5xx) != 1 {
			t.Fatalf("%d metric-math alarms, want 1", len(api5xx))
		}
		p := api5xx[0]
		body := flatten(p["Metrics"])
		for _, want := range []string{`"MetricName":"5xx"`, `"MetricName":"Count"`, "100 * errors / requests", `"Period":300`} {
			if !strings.Contains(body, want) {
				t.Errorf("5xx alarm metrics lack %s: %s", want, body)
			}
		}
		if num(p["Threshold"]) != Api5xxAlarmPercent || p["ComparisonOperator"] != "GreaterThanThreshold" {
			t.Errorf("5xx alarm threshold %v %v", p["Threshold"], p["ComparisonOperator"])
		}
	})
}

func TestDashboard(t *testing.T) {
	s := fixture(t, "default")
	var body string
	for _, d := range s.resources("AWS::CloudWatch::Dashboard") {
		body = flatten(props(d)["DashboardBody"])
	}
	want := []string{
		`"Hookstack","WebhooksReceived","Provider","stripe"`,
		`"Hookstack","SignatureRejected","Provider","salesforce"`,
		`"Hookstack","IngestLatency","Provider","github"`,
		`"Hookstack","EventsProcessed","Processor","payments"`,
		`"Hookstack","EventsDeadLettered","Processor","relay"`,
		`"Hookstack","DeliveriesSucceeded"`,
		`"Hookstack","DeliveriesFailed"`,
		`"Hookstack","DeliveryLatency"`,
		`"AWS/SQS","ApproximateNumberOfMessagesVisible","QueueName","<` + s.queueID["deliveries-dlq"] + `>"`,
		`"AWS/ApiGateway","Count"`,
		`"type":"alarm"`,
	}
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("dashboard lacks %s", w)
		}
	}
	if n := strings.Count(body, `"WebhooksReceived","Provider"`); n != len(Providers) {
		t.Errorf("WebhooksReceived for %d providers, want %d", n, len(Providers))
	}
}

func TestApi(t *testing.T) {
	for _, tc := range []struct {
		fixture       string
		rate, burst   float64
		retentionDays float64
	}{
		{"default", 100, 200, 30},
		{"custom", 50, 75, 7},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			s := fixture(t, tc.fixture)
			for _, r := range s.resources("AWS::ApiGatewayV2::Route") {
				if got := props(r)["RouteKey"]; got != "ANY /webhooks/{provider}" {
					t.Errorf("route %v", got)
				}
			}
			for _, r := range s.resources("AWS::ApiGatewayV2::Integration") {
				p := props(r)
				if p["PayloadFormatVersion"] != "2.0" || refID(p["IntegrationUri"]) != s.fnID["ingest"] {
					t.Errorf("integration %v", p)
				}
			}
			for _, r := range s.resources("AWS::ApiGatewayV2::Stage") {
				p := props(r)
				if num(get(p, "DefaultRouteSettings", "ThrottlingRateLimit")) != tc.rate || num(get(p, "DefaultRouteSettings", "ThrottlingBurstLimit")) != tc.burst {
					t.Errorf("throttling %v", p["DefaultRouteSettings"])
				}
				logs := s.resource(t, refID(get(p, "AccessLogSettings", "DestinationArn")))
				if num(get(props(logs), "RetentionInDays")) != tc.retentionDays {
					t.Errorf("access log retention %v", props(logs))
				}
				if !strings.Contains(fmt.Sprint(get(p, "AccessLogSettings", "Format")), "$context.requestId") {
					t.Errorf("access log format %v", get(p, "AccessLogSettings", "Format"))
				}
			}
		})
	}
}

func TestOutputs(t *testing.T) {
	s := fixture(t, "default")
	outputs := s.tmpl["Outputs"].(map[string]any)
	value := func(k string) string { return flatten(get(outputs, k, "Value")) }
	base := "https://<" + s.apiID + ">.execute-api.<AWS::Region>.<AWS::URLSuffix>"
	want := map[string]string{
		"ApiUrl":          base,
		"TableName":       "<" + s.tableID + ">",
		"ClaimBucketName": "<" + s.bucketID + ">",
		"AlarmTopicArn":   "<" + s.topicID + ">",
	}
	for _, p := range Providers {
		want["WebhookUrl"+title(p)] = base + "/webhooks/" + p
	}
	for _, q := range QueueNames() {
		want["QueueUrl"+title(q)] = "<" + s.queueID[q] + ">"
	}
	for _, fn := range Functions {
		want["FunctionName"+title(fn)] = "<" + s.fnID[fn] + ">"
		logs := refID(get(props(s.resource(t, s.fnID[fn])), "LoggingConfig", "LogGroup"))
		want["LogGroup"+title(fn)] = "<" + logs + ">"
	}
	for k, v := range want {
		if got := value(k); got != v {
			t.Errorf("output %s = %q, want %q", k, got, v)
		}
	}
	for _, p := range Providers {
		if got := value("SecretName" + title(p)); !strings.Contains(got, s.secretID[p]) {
			t.Errorf("SecretName%s = %s, want the name of %s", title(p), got, s.secretID[p])
		}
	}
	if got := value("DashboardUrl"); !strings.Contains(got, "#dashboards:name=<") {
		t.Errorf("DashboardUrl = %s", got)
	}
	if got := value(OutputOperatorPolicy); got != "<"+logicalID(s.stack.OperatorPolicy)+">" {
		t.Errorf("%s = %s, want the operator policy", OutputOperatorPolicy, got)
	}
	if n := len(outputs); n != 4+2*len(Providers)+12+7+7+4 {
		t.Errorf("%d outputs", n)
	}
}

// TestCustomContext checks that every context key reaches the template.
func TestCustomContext(t *testing.T) {
	s := fixture(t, "custom")
	if got := *s.stack.StackName(); got != "HookstackDev" {
		t.Errorf("stack name %s", got)
	}
	outputs := s.tmpl["Outputs"].(map[string]any)
	for k, want := range map[string]string{
		"ApiUrl":           "https://hooks.example.com",
		"WebhookUrlStripe": "https://hooks.example.com/webhooks/stripe",
		"WebhookUrlTrello": "https://hooks.example.com/webhooks/trello",
		"Providers":        "stripe,github,trello",
	} {
		if got := flatten(get(outputs, k, "Value")); got != want {
			t.Errorf("output %s = %s, want %s", k, got, want)
		}
	}
	for _, absent := range []string{"WebhookUrlSlack", "SecretNameZoom"} {
		if outputs[absent] != nil {
			t.Errorf("output %s for a disabled provider", absent)
		}
	}
	if outputs["CustomDomainTarget"] == nil {
		t.Error("no CustomDomainTarget output")
	}
	ingest := get(props(s.resource(t, s.fnID["ingest"])), "Environment", "Variables")
	for k, want := range map[string]string{
		EnvPublicURL:              "https://hooks.example.com",
		AllowCidrsEnv("stripe"):   "3.18.12.63/32,3.130.192.231/32",
		AllowCidrsEnv("github"):   "192.30.252.0/22",
		EnvProviders:              "stripe,github,trello",
		SecretARNEnv("trello"):    "<" + s.secretID["trello"] + ">",
		AllowCidrsEnv("trello"):   "null",
		SecretARNEnv("shopify"):   "null",
		QueueURLEnv("payments"):   "<" + s.queueID["payments"] + ">",
		QueueURLEnv("deliveries"): "null",
		EnvHubSpotLegacy:          "true",
		EnvSalesforceAnyIP:        "true",
	} {
		if got := flatten(get(ingest, k)); got != want {
			t.Errorf("ingest %s = %s, want %s", k, got, want)
		}
	}
	deliverer := get(props(s.resource(t, s.fnID["deliverer"])), "Environment", "Variables")
	if got := get(deliverer, EnvRetrySchedule); got != "1m,1h" {
		t.Errorf("retry schedule %v", got)
	}
	if got := get(deliverer, EnvOutboundAllow); got != "10.0.0.0/8" {
		t.Errorf("outbound allow %v", got)
	}
	for _, name := range Processors {
		env := get(props(s.resource(t, s.fnID[name])), "Environment", "Variables")
		q := num(get(props(s.resource(t, s.queueID[name])), "RedrivePolicy", "maxReceiveCount"))
		if got := get(env, EnvMaxReceives); got != strconv.Itoa(int(q)) || q == 0 {
			t.Errorf("%s %s = %v, want its queue's maxReceiveCount %v", name, EnvMaxReceives, got, q)
		}
	}
	inventoryEnv := get(props(s.resource(t, s.fnID["inventory"])), "Environment", "Variables")
	if got := get(inventoryEnv, EnvLowStock); got != "3" {
		t.Errorf("low stock %v", got)
	}
	for _, name := range Functions {
		if got := get(props(s.resource(t, s.fnID[name])), "LoggingConfig", "SystemLogLevel"); got != "WARN" {
			t.Errorf("%s system log level %v, want WARN", name, got)
		}
	}
	relayEnv := get(props(s.resource(t, s.fnID["relay"])), "Environment", "Variables")
	if got := get(relayEnv, EnvDoneLists); got != "Shipped,Done" {
		t.Errorf("done lists %v", got)
	}
	// 3 attempts (first + 2 retries) + slack.
	if got := num(get(props(s.resource(t, s.queueID["deliveries"])), "RedrivePolicy", "maxReceiveCount")); got != 3+DeliveryReceiveSlack {
		t.Errorf("deliveries maxReceiveCount %v", got)
	}
	for _, sub := range s.resources("AWS::SNS::Subscription") {
		p := props(sub)
		if p["Protocol"] != "email" || p["Endpoint"] != "ops@example.com" || refID(p["TopicArn"]) != s.topicID {
			t.Errorf("subscription %v", p)
		}
	}
	for _, d := range s.resources("AWS::ApiGatewayV2::DomainName") {
		p := props(d)
		if p["DomainName"] != "hooks.example.com" || get(p, "DomainNameConfigurations", 0, "SecurityPolicy") != "TLS_1_2" {
			t.Errorf("domain %v", p)
		}
	}
}

func TestNag(t *testing.T) {
	for _, f := range []string{"default", "custom"} {
		t.Run(f, func(t *testing.T) {
			s := fixture(t, f)
			for _, e := range s.nagErrors {
				t.Errorf("unsuppressed cdk-nag error: %s", e)
			}
			// Every suppression carries a real reason.
			n := 0
			for id, r := range s.tmpl["Resources"].(map[string]any) {
				rules, _ := get(r, "Metadata", "cdk_nag", "rules_to_suppress").([]any)
				for _, rule := range rules {
					n++
					if reason := fmt.Sprint(get(rule, "reason")); len(reason) < 40 {
						t.Errorf("%s: suppression %v has a thin reason %q", id, get(rule, "id"), reason)
					}
				}
			}
			if n == 0 {
				t.Error("no suppressions found: the check above inspected nothing")
			}
		})
	}
}

// TestSalesforceAllowlistWarning: the default stack enables salesforce with
// no allowlist, so synth warns that ingest will refuse it (and sets no
// opt-out); the custom one opts out with salesforceAnyIp and is not warned.
func TestSalesforceAllowlistWarning(t *testing.T) {
	def := fixture(t, "default")
	if len(def.salesforceWarnings) != 1 {
		t.Errorf("default stack: %d salesforce warnings, want 1", len(def.salesforceWarnings))
	}
	if got := get(props(def.resource(t, def.fnID["ingest"])), "Environment", "Variables", EnvSalesforceAnyIP); got != nil {
		t.Errorf("default stack sets %s = %v", EnvSalesforceAnyIP, got)
	}
	if custom := fixture(t, "custom"); len(custom.salesforceWarnings) != 0 {
		t.Errorf("custom stack warned: %v", custom.salesforceWarnings)
	}
}

// TestUpdateOrder: a deploy updates the deliverer before the fan-out, the
// fan-out before the processors, the processors before ingest (each
// reader of a message before its writers).
func TestUpdateOrder(t *testing.T) {
	s := fixture(t, "default")
	dependsOn := func(fn string) []string {
		var out []string
		deps, _ := s.resource(t, s.fnID[fn])["DependsOn"].([]any)
		for _, d := range deps {
			out = append(out, fmt.Sprint(d))
		}
		return out
	}
	check := func(fn, on string) {
		if !slices.Contains(dependsOn(fn), s.fnID[on]) {
			t.Errorf("%s does not depend on %s: DependsOn %v", fn, on, dependsOn(fn))
		}
	}
	check("fanout", "deliverer")
	for _, p := range Processors {
		check(p, "fanout")
		check("ingest", p)
	}
	if slices.Contains(dependsOn("deliverer"), s.fnID["fanout"]) {
		t.Error("the deliverer depends on the fan-out: a cycle")
	}
}
