package hookstack

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/queue"
)

// NotificationsProps configure NewNotifications.
type NotificationsProps struct {
	Config *Config
	Queues *Queues
	Table  awsdynamodb.ITable
	// Bucket holds claim-checked bodies, which the deliverer reads for raw
	// forwards too large for a queue message.
	Bucket awss3.IBucket
}

// Notifications is the outbound side: fan-out and delivery.
type Notifications struct {
	constructs.Construct
	Fanout    awslambda.Function
	Deliverer awslambda.Function
}

// NewNotifications creates fanout (notifications -> one delivery per
// matching endpoint; lists the endpoints) and deliverer (signs and POSTs,
// retries on the retry schedule by changing the message's visibility,
// dead-letters after the last attempt; reads endpoints and claim-checked
// bodies, writes the delivery log). Table access: TableAccess.
func NewNotifications(scope constructs.Construct, id *string, props *NotificationsProps) *Notifications {
	this := constructs.NewConstruct(scope, id)
	qs := props.Queues.ByName
	notifications, deliveries := envelope.QueueNotifications, envelope.QueueDeliveries

	fanoutEnv := map[string]*string{EnvTable: props.Table.TableName()}
	queueURLs(fanoutEnv, qs, notifications, queue.DLQ(notifications), deliveries)
	fanout := newFunction(this, "Fanout", &functionProps{Name: "fanout", Config: props.Config, Environment: fanoutEnv})
	consume(fanout, qs[notifications], "fanout")
	qs[queue.DLQ(notifications)].GrantSendMessages(fanout)
	qs[deliveries].GrantSendMessages(fanout)
	grantTable(fanout, props.Table, "fanout")

	delivererEnv := map[string]*string{
		EnvTable:         props.Table.TableName(),
		EnvClaimBucket:   props.Bucket.BucketName(),
		EnvRetrySchedule: jsii.String(props.Config.RetrySchedule),
	}
	if len(props.Config.OutboundAllowCidrs) > 0 {
		delivererEnv[EnvOutboundAllow] = jsii.String(strings.Join(props.Config.OutboundAllowCidrs, ","))
	}
	queueURLs(delivererEnv, qs, deliveries, queue.DLQ(deliveries))
	deliverer := newFunction(this, "Deliverer", &functionProps{Name: "deliverer", Config: props.Config, Environment: delivererEnv})
	consume(deliverer, qs[deliveries], "deliverer")
	// It re-schedules by ChangeMessageVisibility (granted by the event
	// source) and sends only to its DLQ.
	qs[queue.DLQ(deliveries)].GrantSendMessages(deliverer)
	grantTable(deliverer, props.Table, "deliverer")
	grantClaimReads(deliverer, props.Bucket)

	return &Notifications{Construct: this, Fanout: fanout, Deliverer: deliverer}
}
