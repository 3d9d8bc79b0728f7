package hookstack

import (
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/queue"
)

// Processors are the domain functions, each named after the queue it consumes.
var Processors = []string{"payments", "inventory", "leads", "relay"}

// ProcessingProps configure NewProcessing.
type ProcessingProps struct {
	Config *Config
	Queues *Queues
	Table  awsdynamodb.ITable
	Bucket awss3.IBucket
}

// Processing is the four domain processors.
type Processing struct {
	constructs.Construct
	// Functions by processor name (Processors).
	Functions map[string]awslambda.Function
}

// NewProcessing creates payments, inventory, leads and relay: each consumes
// its queue (and may dead-letter a poison message into its DLQ at once),
// reads claim-check bodies, reads and writes its own records in the table
// (TableAccess) and emits to the notifications queue.
func NewProcessing(scope constructs.Construct, id *string, props *ProcessingProps) *Processing {
	this := constructs.NewConstruct(scope, id)
	qs := props.Queues.ByName
	fns := map[string]awslambda.Function{}
	for _, name := range Processors {
		env := map[string]*string{
			EnvTable:       props.Table.TableName(),
			EnvClaimBucket: props.Bucket.BucketName(),
		}
		queueURLs(env, qs, name, queue.DLQ(name), envelope.QueueNotifications)
		env[EnvMaxReceives] = jsii.String(strconv.Itoa(MaxReceiveCount(name, 0)))
		if name == envelope.QueueInventory && props.Config.LowStock != "" {
			env[EnvLowStock] = jsii.String(props.Config.LowStock)
		}
		if name == envelope.QueueRelay && props.Config.TrelloDoneLists != "" {
			env[EnvDoneLists] = jsii.String(props.Config.TrelloDoneLists)
		}
		fn := newFunction(this, title(name), &functionProps{Name: name, Config: props.Config, Environment: env})
		consume(fn, qs[name], name)
		qs[queue.DLQ(name)].GrantSendMessages(fn)
		qs[envelope.QueueNotifications].GrantSendMessages(fn)
		grantClaimReads(fn, props.Bucket)
		grantTable(fn, props.Table, name)
		fns[name] = fn
	}
	return &Processing{Construct: this, Functions: fns}
}

// consume subscribes fn to q with partial batch responses; the event source
// grants fn receive, delete and change-visibility on q.
func consume(fn awslambda.Function, q awssqs.IQueue, function string) {
	fn.AddEventSource(awslambdaeventsources.NewSqsEventSource(q, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(ConsumerBatchSize),
		MaxBatchingWindow:       duration(ConsumerBatchingWindow),
		ReportBatchItemFailures: jsii.Bool(true),
		MaxConcurrency:          jsii.Number(ConsumerMaxConcurrency[function]),
	}))
}
