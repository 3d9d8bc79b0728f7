package hookstack

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
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
}

// Notifications is the outbound side: fan-out and delivery.
type Notifications struct {
	constructs.Construct
	Fanout    awslambda.Function
	Deliverer awslambda.Function
}

// NewNotifications creates fanout (notifications -> one delivery per
// matching endpoint) and deliverer (signs and POSTs, retries on the retry
// schedule by changing the message's visibility, dead-letters after the
// last attempt).
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
	props.Table.GrantReadData(fanout)
	suppressTableIndexes(fanout, props.Table)

	delivererEnv := map[string]*string{
		EnvTable:         props.Table.TableName(),
		EnvRetrySchedule: jsii.String(props.Config.RetrySchedule),
	}
	if len(props.Config.OutboundAllowCidrs) > 0 {
		delivererEnv[EnvOutboundAllow] = jsii.String(strings.Join(props.Config.OutboundAllowCidrs, ","))
	}
	queueURLs(delivererEnv, qs, deliveries, queue.DLQ(deliveries))
	deliverer := newFunction(this, "Deliverer", &functionProps{Name: "deliverer", Config: props.Config, Environment: delivererEnv})
	consume(deliverer, qs[deliveries], "deliverer")
	qs[deliveries].GrantSendMessages(deliverer)
	qs[queue.DLQ(deliveries)].GrantSendMessages(deliverer)
	props.Table.GrantReadWriteData(deliverer)
	suppressTableIndexes(deliverer, props.Table)

	return &Notifications{Construct: this, Fanout: fanout, Deliverer: deliverer}
}
