package hookstack

import (
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// FunctionSpec is a function's size.
type FunctionSpec struct {
	MemoryMB float64
	Timeout  time.Duration
}

// FunctionSpecs are the memory and timeout of every function.
var FunctionSpecs = map[string]FunctionSpec{
	"ingest":    {MemoryMB: 256, Timeout: 10 * time.Second},
	"payments":  {MemoryMB: 256, Timeout: 30 * time.Second},
	"inventory": {MemoryMB: 256, Timeout: 30 * time.Second},
	"leads":     {MemoryMB: 256, Timeout: 30 * time.Second},
	"relay":     {MemoryMB: 256, Timeout: 30 * time.Second},
	"fanout":    {MemoryMB: 256, Timeout: 30 * time.Second},
	"deliverer": {MemoryMB: 256, Timeout: 60 * time.Second},
}

// Environment variable names shared with the functions (HELPERS.md contract).
const (
	EnvTable         = "HOOKSTACK_TABLE"
	EnvClaimBucket   = "HOOKSTACK_CLAIM_BUCKET"
	EnvPublicURL     = "HOOKSTACK_PUBLIC_URL"
	EnvRetrySchedule = "HOOKSTACK_RETRY_SCHEDULE"
	EnvLowStock      = "HOOKSTACK_LOW_STOCK"
	EnvDoneLists     = "HOOKSTACK_TRELLO_DONE_LISTS"
	// EnvMaxReceives tells a processor its queue's maxReceiveCount, so it
	// dead-letters a message failing on its last receive itself, with the
	// reason (shared/process EnvMaxReceives).
	EnvMaxReceives   = "HOOKSTACK_MAX_RECEIVE_COUNT"
	EnvBackend       = "HOOKSTACK_BACKEND"
	EnvProviders     = "HOOKSTACK_PROVIDERS"
	EnvOutboundAllow = "HOOKSTACK_OUTBOUND_ALLOW_CIDRS"
	EnvHubSpotLegacy = "HOOKSTACK_HUBSPOT_LEGACY_SIGNATURES"
	// EnvSalesforceAnyIP is shared/ingest EnvSalesforceAnyIP.
	EnvSalesforceAnyIP = "HOOKSTACK_SALESFORCE_ANY_IP"
)

// QueueURLEnv is the variable holding a queue's URL: HOOKSTACK_QUEUE_URL_
// plus the logical name upper-cased with '-' as '_'.
func QueueURLEnv(queue string) string {
	return "HOOKSTACK_QUEUE_URL_" + envSuffix(queue)
}

// SecretARNEnv is the variable holding a provider's secret ARN.
func SecretARNEnv(provider string) string { return "HOOKSTACK_SECRET_ARN_" + envSuffix(provider) }

// AllowCidrsEnv is the variable holding a provider's source allowlist.
func AllowCidrsEnv(provider string) string { return "HOOKSTACK_ALLOW_CIDRS_" + envSuffix(provider) }

func envSuffix(name string) string { return strings.ToUpper(strings.ReplaceAll(name, "-", "_")) }

// title upper-cases the first letter and each letter after '-', dropping
// the dashes: "payments-dlq" -> "PaymentsDlq". Used for construct ids and
// output names.
func title(name string) string {
	var b strings.Builder
	up := true
	for _, r := range name {
		if r == '-' || r == '_' {
			up = true
			continue
		}
		if up && r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		up = false
		b.WriteRune(r)
	}
	return b.String()
}

// removalPolicy maps the context value to CDK's policy.
func removalPolicy(removal string) awscdk.RemovalPolicy {
	if removal == RemovalDestroy {
		return awscdk.RemovalPolicy_DESTROY
	}
	return awscdk.RemovalPolicy_RETAIN
}

// functionProps is what newFunction needs.
type functionProps struct {
	Name        string
	Config      *Config
	Environment map[string]*string
}

// newFunction creates one Hookstack function: provided.al2023 on arm64 with
// the bootstrap from the assets dir, JSON logs to its own log group with
// retention, and a role that may only write to that log group until the
// calling construct grants more.
func newFunction(scope constructs.Construct, id string, props *functionProps) awslambda.Function {
	spec := FunctionSpecs[props.Name]
	cfg := props.Config
	this := constructs.NewConstruct(scope, jsii.String(id))

	logs := awslogs.NewLogGroup(this, jsii.String("Logs"), &awslogs.LogGroupProps{
		Retention:     awslogs.RetentionDays(retentionDays[cfg.LogRetentionDays]),
		RemovalPolicy: removalPolicy(cfg.Removal),
	})
	// An explicit role instead of the default one with the AWS-managed
	// AWSLambdaBasicExecutionRole (logs:* on "*"): this one may write only to
	// the function's own log group.
	role := awsiam.NewRole(this, jsii.String("Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("Hookstack " + props.Name + " function"),
	})
	logs.GrantWrite(role)

	env := map[string]*string{EnvBackend: jsii.String("aws")}
	for k, v := range props.Environment {
		env[k] = v
	}
	assetDir, err := filepath.Abs(filepath.Join(cfg.AssetsDir, props.Name))
	if err != nil {
		assetDir = filepath.Join(cfg.AssetsDir, props.Name)
	}
	fn := awslambda.NewFunction(this, jsii.String("Function"), &awslambda.FunctionProps{
		Description:      jsii.String("Hookstack " + props.Name),
		Runtime:          awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:     awslambda.Architecture_ARM_64(),
		Handler:          jsii.String("bootstrap"),
		Code:             awslambda.Code_FromAsset(jsii.String(assetDir), nil),
		MemorySize:       jsii.Number(spec.MemoryMB),
		Timeout:          awscdk.Duration_Seconds(jsii.Number(spec.Timeout.Seconds())),
		LoggingFormat:    awslambda.LoggingFormat_JSON,
		SystemLogLevelV2: systemLogLevel(cfg.SystemLogLevel),
		LogGroup:         logs,
		Role:             role,
		Environment:      &env,
	})
	// The role's policy must exist before the function, or the first
	// invocations cannot write logs.
	fn.Node().AddDependency(role)
	return fn
}

// Consumer tuning shared by every SQS-triggered function.
const (
	ConsumerBatchSize      = 10
	ConsumerBatchingWindow = time.Second
)

// ConsumerMaxConcurrency caps each consumer's concurrent invocations, so a
// burst in one queue cannot starve the account's concurrency.
var ConsumerMaxConcurrency = map[string]float64{
	"payments": 10, "inventory": 10, "leads": 10, "relay": 10,
	"fanout": 10, "deliverer": 20,
}

// queueURLs returns the HOOKSTACK_QUEUE_URL_* variables for the given queues.
func queueURLs(env map[string]*string, queues map[string]awssqs.Queue, names ...string) {
	for _, n := range names {
		env[QueueURLEnv(n)] = queues[n].QueueUrl()
	}
}

// systemLogLevel maps Config.SystemLogLevel to CDK's enum (INFO when unset).
func systemLogLevel(level string) awslambda.SystemLogLevel {
	switch level {
	case "DEBUG":
		return awslambda.SystemLogLevel_DEBUG
	case "WARN":
		return awslambda.SystemLogLevel_WARN
	}
	return awslambda.SystemLogLevel_INFO
}
