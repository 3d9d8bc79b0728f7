package hookstack

import (
	"fmt"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawscloudwatch"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/queue"
)

// Custom metrics the functions emit in CloudWatch Embedded Metric Format.
// The dimension sets must match exactly for the dashboard to find them:
// Provider on the ingest metrics, Processor on the processor metrics, none
// on the delivery metrics.
const (
	MetricNamespace          = "Hookstack"
	MetricWebhooksReceived   = "WebhooksReceived"   // count, dimension Provider
	MetricSignatureRejected  = "SignatureRejected"  // count, dimension Provider
	MetricIngestLatency      = "IngestLatency"      // milliseconds, dimension Provider
	MetricEventsProcessed    = "EventsProcessed"    // count, dimension Processor
	MetricEventsDeadLettered = "EventsDeadLettered" // count, dimension Processor
	MetricDeliveriesOK       = "DeliveriesSucceeded"
	MetricDeliveriesFailed   = "DeliveriesFailed"
	MetricDeliveryLatency    = "DeliveryLatency" // milliseconds
	DimensionProvider        = "Provider"
	DimensionProcessor       = "Processor"
)

// Alarm thresholds.
const (
	// OldestMessageAlarmAge: a source queue whose oldest message waits
	// longer is not being drained. Not for deliveries, whose retries wait
	// hours by design.
	OldestMessageAlarmAge = 15 * time.Minute
	// Api5xxAlarmPercent: the share of API requests answered 5xx.
	Api5xxAlarmPercent = 1
)

// DLQAlarmDescription is the text of queue's DLQ alarm: the CLI commands
// that list and redrive its dead messages in this stack. --stack is
// explicit: without it the CLI targets the local dev server.
func DLQAlarmDescription(queueName, stackName string) string {
	return fmt.Sprintf("Messages in the %s DLQ (%s): inspect them with `hookstack dlq list --queue %s --stack %s` "+
		"(each has a reason), fix the cause, then `hookstack dlq redrive --queue %s --stack %s`.",
		queueName, queue.DLQ(queueName), queueName, stackName, queueName, stackName)
}

// MonitoringProps configure NewMonitoring.
type MonitoringProps struct {
	Config *Config
	Queues *Queues
	// Functions by name (every entry of Functions).
	Functions map[string]awslambda.Function
	Api       awsapigatewayv2.HttpApi
}

// Monitoring is the alarm topic, the alarms and the dashboard.
type Monitoring struct {
	constructs.Construct
	Topic     awssns.Topic
	Alarms    []awscloudwatch.Alarm
	Dashboard awscloudwatch.Dashboard
}

// NewMonitoring creates the alarm topic (with an email subscription when
// configured), alarms on every DLQ, on stuck queues, on function errors and
// throttles and on the API's 5xx rate, and the dashboard.
func NewMonitoring(scope constructs.Construct, id *string, props *MonitoringProps) *Monitoring {
	this := constructs.NewConstruct(scope, id)
	cfg := props.Config
	m := &Monitoring{Construct: this}

	m.Topic = awssns.NewTopic(this, jsii.String("AlarmTopic"), &awssns.TopicProps{
		DisplayName: jsii.String(cfg.StackName + " alarms"),
		EnforceSSL:  jsii.Bool(true),
	})
	cdknag.NagSuppressions_AddResourceSuppressions(m.Topic, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-SNS2"),
		Reason: jsii.String("Alarm notifications carry only alarm names and states. CloudWatch cannot publish to a topic " +
			"encrypted with the AWS-managed SNS key, and a customer-managed key would cost more than the data warrants."),
	}}, jsii.Bool(false))
	if cfg.AlarmEmail != "" {
		m.Topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(cfg.AlarmEmail), nil))
	}
	action := awscloudwatchactions.NewSnsAction(m.Topic)
	alarm := func(id, description string, metric awscloudwatch.IMetric, threshold float64, op awscloudwatch.ComparisonOperator) {
		a := awscloudwatch.NewAlarm(this, jsii.String(id), &awscloudwatch.AlarmProps{
			AlarmDescription:   jsii.String(description),
			Metric:             metric,
			Threshold:          jsii.Number(threshold),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: op,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddAlarmAction(action)
		a.AddOkAction(action)
		m.Alarms = append(m.Alarms, a)
	}
	minute, fiveMinutes := duration(time.Minute), duration(5*time.Minute)
	qs := props.Queues.ByName

	stackName := *awscdk.Stack_Of(this).StackName()
	for _, name := range envelope.AllQueues {
		dlq := queue.DLQ(name)
		alarm(title(dlq)+"Messages", DLQAlarmDescription(name, stackName),
			qs[dlq].MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: minute, Statistic: jsii.String("Maximum")}),
			1, awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD)
	}
	for _, name := range envelope.AllQueues {
		if name == envelope.QueueDeliveries {
			continue
		}
		alarm(title(name)+"OldestMessage",
			fmt.Sprintf("The oldest message in the %s queue waits more than %s: its consumer (%s) is failing, throttled or disabled.", name, OldestMessageAlarmAge, QueueConsumers[name]),
			qs[name].MetricApproximateAgeOfOldestMessage(&awscloudwatch.MetricOptions{Period: minute, Statistic: jsii.String("Maximum")}),
			OldestMessageAlarmAge.Seconds(), awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD)
	}
	for _, name := range Functions {
		fn := props.Functions[name]
		alarm(title(name)+"Errors",
			fmt.Sprintf("The %s function failed (errors > 0 in 5 minutes): see its log group.", name),
			fn.MetricErrors(&awscloudwatch.MetricOptions{Period: fiveMinutes, Statistic: jsii.String("Sum")}),
			0, awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD)
		alarm(title(name)+"Throttles",
			fmt.Sprintf("The %s function was throttled (throttles > 0 in 5 minutes).", name),
			fn.MetricThrottles(&awscloudwatch.MetricOptions{Period: fiveMinutes, Statistic: jsii.String("Sum")}),
			0, awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD)
	}
	api5xx := awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression: jsii.String("IF(requests > 0, 100 * errors / requests, 0)"),
		UsingMetrics: &map[string]awscloudwatch.IMetric{
			"errors":   props.Api.MetricServerError(&awscloudwatch.MetricOptions{Period: fiveMinutes, Statistic: jsii.String("Sum")}),
			"requests": props.Api.MetricCount(&awscloudwatch.MetricOptions{Period: fiveMinutes, Statistic: jsii.String("Sum")}),
		},
		Label:  jsii.String("5xx %"),
		Period: fiveMinutes,
	})
	alarm("Api5xxRate",
		fmt.Sprintf("More than %d%% of webhook requests were answered 5xx in 5 minutes (providers will retry): check the ingest function and the queues.", Api5xxAlarmPercent),
		api5xx, Api5xxAlarmPercent, awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD)

	m.Dashboard = newDashboard(this, props, m.Alarms, api5xx)
	return m
}

func newDashboard(scope constructs.Construct, props *MonitoringProps, alarms []awscloudwatch.Alarm, api5xx awscloudwatch.IMetric) awscloudwatch.Dashboard {
	cfg := props.Config
	fiveMinutes := duration(5 * time.Minute)
	custom := func(name, dimension, value, statistic string) awscloudwatch.IMetric {
		dims := map[string]*string{}
		label := name
		if dimension != "" {
			dims[dimension] = jsii.String(value)
			label = value
		}
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace:     jsii.String(MetricNamespace),
			MetricName:    jsii.String(name),
			DimensionsMap: &dims,
			Statistic:     jsii.String(statistic),
			Period:        fiveMinutes,
			Label:         jsii.String(label),
		})
	}
	perProvider := func(name, statistic string) *[]awscloudwatch.IMetric {
		out := []awscloudwatch.IMetric{}
		for _, p := range cfg.Providers {
			out = append(out, custom(name, DimensionProvider, p, statistic))
		}
		return &out
	}
	perProcessor := func(name string) *[]awscloudwatch.IMetric {
		out := []awscloudwatch.IMetric{}
		for _, p := range Processors {
			out = append(out, custom(name, DimensionProcessor, p, "Sum"))
		}
		return &out
	}
	queueMetrics := func(dlq bool) *[]awscloudwatch.IMetric {
		out := []awscloudwatch.IMetric{}
		for _, name := range envelope.AllQueues {
			if dlq {
				name = queue.DLQ(name)
			}
			out = append(out, props.Queues.ByName[name].MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
				Period: fiveMinutes, Statistic: jsii.String("Maximum"), Label: jsii.String(name),
			}))
		}
		return &out
	}
	graph := func(title string, left *[]awscloudwatch.IMetric, right *[]awscloudwatch.IMetric) awscloudwatch.IWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String(title), Left: left, Right: right, Width: jsii.Number(12), Height: jsii.Number(6),
		})
	}
	alarmRefs := make([]interfacesawscloudwatch.IAlarmRef, len(alarms))
	for i, a := range alarms {
		alarmRefs[i] = a
	}

	d := awscloudwatch.NewDashboard(scope, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DefaultInterval: duration(24 * time.Hour),
	})
	d.AddWidgets(awscloudwatch.NewAlarmStatusWidget(&awscloudwatch.AlarmStatusWidgetProps{
		Title: jsii.String("Alarms"), Alarms: &alarmRefs, Width: jsii.Number(24), Height: jsii.Number(4),
	}))
	d.AddWidgets(
		graph("Webhooks received per provider", perProvider(MetricWebhooksReceived, "Sum"), nil),
		graph("Rejected signatures per provider", perProvider(MetricSignatureRejected, "Sum"), nil),
	)
	d.AddWidgets(
		graph("Ingest latency p99 (ms) per provider", perProvider(MetricIngestLatency, "p99"), nil),
		graph("API requests and 5xx %", &[]awscloudwatch.IMetric{
			props.Api.MetricCount(&awscloudwatch.MetricOptions{Period: fiveMinutes, Statistic: jsii.String("Sum"), Label: jsii.String("requests")}),
		}, &[]awscloudwatch.IMetric{api5xx}),
	)
	d.AddWidgets(
		graph("Queue depth (messages visible)", queueMetrics(false), nil),
		graph("DLQ depth (messages visible)", queueMetrics(true), nil),
	)
	d.AddWidgets(
		graph("Events processed / dead-lettered per processor", perProcessor(MetricEventsProcessed), perProcessor(MetricEventsDeadLettered)),
		graph("Deliveries succeeded / failed, latency p99 (ms)",
			&[]awscloudwatch.IMetric{custom(MetricDeliveriesOK, "", "", "Sum"), custom(MetricDeliveriesFailed, "", "", "Sum")},
			&[]awscloudwatch.IMetric{custom(MetricDeliveryLatency, "", "", "p99")}),
	)
	return d
}
