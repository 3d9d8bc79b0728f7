package hookstack

import (
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/queue"
)

// Queue defaults.
const (
	// DefaultMaxReceiveCount moves a message to its DLQ after this many
	// failed receives.
	DefaultMaxReceiveCount = 5
	// DeliveryReceiveSlack is how many receives the deliveries queue allows
	// beyond the retry schedule's attempts: the deliverer dead-letters a
	// delivery itself after its last attempt, so the queue's own redrive
	// only catches crashes (like every other queue's maxReceiveCount 5).
	DeliveryReceiveSlack = 5
	// VisibilityFactor: a queue's visibility timeout is this many times its
	// consumer's timeout (AWS's advice for Lambda event sources).
	VisibilityFactor = 6
	// DLQRetention keeps dead letters as long as SQS allows.
	DLQRetention = 14 * 24 * time.Hour
	// QueueRetention is the source queues' retention, except deliveries.
	QueueRetention = 4 * 24 * time.Hour
	// DeliveriesRetention outlasts the whole retry schedule (about 28 h by
	// default) with room for an outage, and stays well under DLQRetention:
	// a message SQS itself moves to a DLQ keeps its first enqueue time and
	// expires DLQRetention after it, so a delivery redriven after a crash
	// late in its life still waits a week in the DLQ for someone to look.
	DeliveriesRetention = 7 * 24 * time.Hour
)

// QueueConsumers maps each source queue to the function that consumes it.
var QueueConsumers = map[string]string{
	envelope.QueuePayments:      "payments",
	envelope.QueueInventory:     "inventory",
	envelope.QueueLeads:         "leads",
	envelope.QueueRelay:         "relay",
	envelope.QueueNotifications: "fanout",
	envelope.QueueDeliveries:    "deliverer",
}

// QueuesProps configure NewQueues.
type QueuesProps struct {
	// DeliveryAttempts is the deliverer's attempts per delivery (first try
	// plus retries); the deliveries queue's maxReceiveCount is above it.
	DeliveryAttempts int
}

// Queues are the pipeline's source queues and their DLQs, by logical name
// ("payments", "payments-dlq", ...).
type Queues struct {
	constructs.Construct
	ByName map[string]awssqs.Queue
}

// QueueNames returns every queue's logical name: each source queue followed
// by its DLQ, in pipeline order.
func QueueNames() []string {
	var out []string
	for _, n := range envelope.AllQueues {
		out = append(out, n, queue.DLQ(n))
	}
	return out
}

// MaxReceiveCount is a source queue's redrive threshold.
func MaxReceiveCount(name string, deliveryAttempts int) int {
	if name == envelope.QueueDeliveries {
		return deliveryAttempts + DeliveryReceiveSlack
	}
	return DefaultMaxReceiveCount
}

// NewQueues creates one SQS queue per pipeline stage, each with its own DLQ:
// SQS-managed encryption, TLS-only policies, visibility six times the
// consumer's timeout, 14-day DLQ retention.
func NewQueues(scope constructs.Construct, id *string, props *QueuesProps) *Queues {
	this := constructs.NewConstruct(scope, id)
	byName := map[string]awssqs.Queue{}
	for _, name := range envelope.AllQueues {
		dlq := awssqs.NewQueue(this, jsii.String(title(queue.DLQ(name))), &awssqs.QueueProps{
			Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
			EnforceSSL:      jsii.Bool(true),
			RetentionPeriod: duration(DLQRetention),
		})
		retention := QueueRetention
		if name == envelope.QueueDeliveries {
			retention = DeliveriesRetention
		}
		consumerTimeout := FunctionSpecs[QueueConsumers[name]].Timeout
		src := awssqs.NewQueue(this, jsii.String(title(name)), &awssqs.QueueProps{
			Encryption:        awssqs.QueueEncryption_SQS_MANAGED,
			EnforceSSL:        jsii.Bool(true),
			RetentionPeriod:   duration(retention),
			VisibilityTimeout: duration(VisibilityFactor * consumerTimeout),
			DeadLetterQueue: &awssqs.DeadLetterQueue{
				Queue:           dlq,
				MaxReceiveCount: jsii.Number(float64(MaxReceiveCount(name, props.DeliveryAttempts))),
			},
		})
		byName[name] = src
		byName[queue.DLQ(name)] = dlq
	}
	return &Queues{Construct: this, ByName: byName}
}

func duration(d time.Duration) awscdk.Duration {
	return awscdk.Duration_Seconds(jsii.Number(d.Seconds()))
}
