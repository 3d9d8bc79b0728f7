package hookstack

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// HookstackStackProps configure NewHookstackStack.
type HookstackStackProps struct {
	awscdk.StackProps
	Config Config
}

// HookstackStack is the whole Hookstack: one construct per concern.
type HookstackStack struct {
	awscdk.Stack
	Config        Config
	Storage       *Storage
	Secrets       *Secrets
	Queues        *Queues
	Ingest        *Ingest
	Processing    *Processing
	Notifications *Notifications
	Monitoring    *Monitoring
	// OperatorPolicy grants what the hookstack CLI needs with --stack.
	OperatorPolicy awsiam.ManagedPolicy
	// Functions by name (every entry of Functions).
	Functions map[string]awslambda.Function
}

// Output names (CloudFormation outputs of the stack), read by `hookstack urls`
// and `hookstack secrets`. Per-provider and per-queue outputs append the
// title-cased name: WebhookUrlStripe, SecretNameGithub, QueueUrlPaymentsDlq.
const (
	OutputApiUrl           = "ApiUrl"
	OutputWebhookUrl       = "WebhookUrl"
	OutputSecretName       = "SecretName"
	OutputTableName        = "TableName"
	OutputClaimBucket      = "ClaimBucketName"
	OutputQueueUrl         = "QueueUrl"
	OutputDashboardUrl     = "DashboardUrl"
	OutputAlarmTopicArn    = "AlarmTopicArn"
	OutputFunctionName     = "FunctionName"
	OutputLogGroup         = "LogGroup"
	OutputDomainTarget     = "CustomDomainTarget"
	OutputExecuteApiUrl    = "ExecuteApiUrl"
	OutputProvidersEnabled = "Providers"
	OutputOperatorPolicy   = "OperatorPolicyArn"
)

// NewHookstackStack validates the config and the function assets, then
// builds the stack.
func NewHookstackStack(scope constructs.Construct, id *string, props *HookstackStackProps) (*HookstackStack, error) {
	cfg := props.Config
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := CheckAssets(cfg.AssetsDir, Functions); err != nil {
		return nil, err
	}
	sp := props.StackProps
	if sp.Description == nil {
		sp.Description = jsii.String("Hookstack: serverless webhook receiver, processors and outbound delivery")
	}
	stack := awscdk.NewStack(scope, id, &sp)
	awscdk.Tags_Of(stack).Add(jsii.String("project"), jsii.String("hookstack"), nil)
	s := &HookstackStack{Stack: stack, Config: cfg}

	s.Storage = NewStorage(stack, jsii.String("Storage"), &StorageProps{
		Removal: cfg.Removal, Capacity: cfg.TableCapacity, MaxWrite: cfg.TableMaxWrite, MaxRead: cfg.TableMaxRead,
	})
	s.Secrets = NewSecrets(stack, jsii.String("Secrets"), &SecretsProps{Providers: cfg.Providers, Removal: cfg.Removal})
	s.Queues = NewQueues(stack, jsii.String("Queues"), &QueuesProps{DeliveryAttempts: cfg.DeliveryAttempts()})
	s.Ingest = NewIngest(stack, jsii.String("Ingest"), &IngestProps{
		Config: &cfg, Queues: s.Queues, Bucket: s.Storage.Bucket, Secrets: s.Secrets,
	})
	s.Processing = NewProcessing(stack, jsii.String("Processing"), &ProcessingProps{
		Config: &cfg, Queues: s.Queues, Table: s.Storage.Table, Bucket: s.Storage.Bucket,
	})
	s.Notifications = NewNotifications(stack, jsii.String("Notifications"), &NotificationsProps{
		Config: &cfg, Queues: s.Queues, Table: s.Storage.Table, Bucket: s.Storage.Bucket,
	})
	s.Functions = map[string]awslambda.Function{
		"ingest": s.Ingest.Function, "fanout": s.Notifications.Fanout, "deliverer": s.Notifications.Deliverer,
	}
	for name, fn := range s.Processing.Functions {
		s.Functions[name] = fn
	}
	s.orderUpdates()
	s.Monitoring = NewMonitoring(stack, jsii.String("Monitoring"), &MonitoringProps{
		Config: &cfg, Queues: s.Queues, Functions: s.Functions, Api: s.Ingest.Api,
	})
	s.OperatorPolicy = s.newOperatorPolicy()
	s.addOutputs()
	return s, nil
}

func (s *HookstackStack) output(id, description string, value *string) {
	awscdk.NewCfnOutput(s.Stack, jsii.String(id), &awscdk.CfnOutputProps{
		Value: value, Description: jsii.String(description),
	})
}

func (s *HookstackStack) addOutputs() {
	cfg := s.Config
	s.output(OutputApiUrl, "Public base URL of the webhook API", s.Ingest.BaseUrl)
	s.output(OutputExecuteApiUrl, "The API's own execute-api endpoint", s.Ingest.Api.ApiEndpoint())
	if s.Ingest.Domain != nil {
		s.output(OutputDomainTarget, "Point a CNAME (or alias) for "+cfg.DomainName+" at this name",
			s.Ingest.Domain.RegionalDomainName())
	}
	s.output(OutputProvidersEnabled, "Enabled providers", jsii.String(strings.Join(cfg.Providers, ",")))
	for _, p := range cfg.Providers {
		s.output(OutputWebhookUrl+title(p), "Webhook URL to register with "+p,
			jsii.String(*s.Ingest.BaseUrl+"/webhooks/"+p))
		s.output(OutputSecretName+title(p), "Secrets Manager secret holding "+p+"'s signing secrets (JSON array, newest first)",
			s.Secrets.ByProvider[p].SecretName())
	}
	s.output(OutputTableName, "DynamoDB table", s.Storage.Table.TableName())
	s.output(OutputClaimBucket, "Claim-check bucket for large bodies", s.Storage.Bucket.BucketName())
	for _, q := range QueueNames() {
		s.output(OutputQueueUrl+title(q), "URL of the "+q+" queue", s.Queues.ByName[q].QueueUrl())
	}
	for _, name := range Functions {
		s.output(OutputFunctionName+title(name), "Name of the "+name+" function", s.Functions[name].FunctionName())
		s.output(OutputLogGroup+title(name), "Log group of the "+name+" function (hookstack tail --stack reads it)",
			s.Functions[name].LogGroup().LogGroupName())
	}
	s.output(OutputOperatorPolicy, "Managed policy to attach to an operator's user or role for the hookstack CLI's --stack commands",
		s.OperatorPolicy.ManagedPolicyArn())
	s.output(OutputAlarmTopicArn, "SNS topic the alarms notify", s.Monitoring.Topic.TopicArn())
	s.output(OutputDashboardUrl, "CloudWatch dashboard", jsii.String(fmt.Sprintf(
		"https://%s.console.aws.amazon.com/cloudwatch/home?region=%s#dashboards:name=%s",
		*awscdk.Aws_REGION(), *awscdk.Aws_REGION(), *s.Monitoring.Dashboard.DashboardName())))
}

// orderUpdates makes a deploy update the pipeline from its end: the
// deliverer, then the fan-out, then the processors, then ingest.
// CloudFormation updates a resource after those it depends on, so the code
// that reads a message is always in place before the code that starts
// writing a new field into it (a raw forward's data_ref, read by the
// deliverer, is what the fan-out copies and the processors set): during an
// update no message meets a reader older than its writer.
func (s *HookstackStack) orderUpdates() {
	s.Notifications.Fanout.Node().AddDependency(s.Notifications.Deliverer)
	for _, name := range Processors {
		fn := s.Processing.Functions[name]
		fn.Node().AddDependency(s.Notifications.Fanout)
		s.Ingest.Function.Node().AddDependency(fn)
	}
}
