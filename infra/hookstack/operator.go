package hookstack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"

	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/queue"
)

// TailFunctions are the functions whose log groups `hookstack tail --stack`
// reads (cmd/hookstack/tail_aws.go logSources: ingest, process.Names and
// the deliverer).
var TailFunctions = append(append([]string{"ingest"}, Processors...), "deliverer")

// Actions the CLI calls on a deployed stack (cmd/hookstack), by resource.
var (
	// loadStack (urls.go): every --stack command reads the stack's outputs.
	operatorStackActions = []string{"cloudformation:DescribeStacks"}
	// secrets set/retire (secrets.go, shared/secrets rotate.go editOnce): read,
	// write staged HOOKSTACK_NEXT, then move AWSCURRENT (compare-and-set).
	operatorSecretActions = []string{
		"secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage",
	}
	// dlq list (sqsq Peek: count, receive, make visible again) and dlq
	// redrive (sqsq Redrive: the queues' ARNs, StartMessageMoveTask, whose
	// caller needs ReceiveMessage, DeleteMessage and GetQueueAttributes on the
	// DLQ, then ListMessageMoveTasks until it ends; without a move task the
	// messages are received, sent and deleted one by one).
	operatorDLQActions = []string{
		"sqs:GetQueueAttributes", "sqs:ReceiveMessage", "sqs:ChangeMessageVisibility", "sqs:DeleteMessage",
		"sqs:StartMessageMoveTask", "sqs:ListMessageMoveTasks",
	}
	// dlq redrive's destination (and its ARN), and replay's target
	// (replay.go: the archived envelope back onto its queue).
	operatorQueueActions = []string{"sqs:GetQueueAttributes", "sqs:SendMessage"}
	// tail --stack (tail_aws.go).
	operatorLogActions = []string{"logs:FilterLogEvents"}
)

// OperatorPolicyDescription is the managed policy's description.
const OperatorPolicyDescription = "Hookstack operator: what the hookstack CLI needs with --stack on this stack " +
	"(urls, secrets set/retire, endpoints, replay, dlq list/redrive, tail)"

// newOperatorPolicy creates the managed policy an operator's user or role
// attaches to use the CLI on this stack: exactly the calls the CLI makes,
// on this stack's resources only. The table grants (OperatorTableAccess)
// carry the same dynamodb:LeadingKeys conditions as the functions'.
func (s *HookstackStack) newOperatorPolicy() awsiam.ManagedPolicy {
	stmt := func(actions []string, resources ...string) awsiam.PolicyStatement {
		return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings(actions...),
			Resources: jsii.Strings(resources...),
		})
	}
	var secretArns []string
	for _, p := range s.Config.Providers {
		secretArns = append(secretArns, *s.Secrets.ByProvider[p].SecretArn())
	}
	var dlqArns, queueArns []string
	for _, name := range envelope.AllQueues {
		queueArns = append(queueArns, *s.Queues.ByName[name].QueueArn())
		dlqArns = append(dlqArns, *s.Queues.ByName[queue.DLQ(name)].QueueArn())
	}
	var logArns []string
	for _, fn := range TailFunctions {
		logArns = append(logArns, *s.Functions[fn].LogGroup().LogGroupArn())
	}
	statements := []awsiam.PolicyStatement{
		stmt(operatorStackActions, *awscdk.Aws_STACK_ID()),
		stmt(operatorSecretActions, secretArns...),
		stmt(operatorDLQActions, dlqArns...),
		stmt(operatorQueueActions, queueArns...),
		stmt(operatorLogActions, logArns...),
	}
	statements = append(statements, tableStatements(s.Storage.Table, OperatorTableAccess)...)
	return awsiam.NewManagedPolicy(s.Stack, jsii.String("OperatorPolicy"), &awsiam.ManagedPolicyProps{
		Description: jsii.String(OperatorPolicyDescription),
		Statements:  &statements,
	})
}
