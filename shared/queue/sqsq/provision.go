package sqsq

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/hookstack/hookstack/shared/queue"
)

// Provision creates, for each name, the queue prefix+name and its DLQ
// prefix+name+"-dlq", with a redrive policy moving a message to the DLQ
// after maxReceive receives (maxReceive <= 0: no redrive policy). It returns
// logical name → queue URL for both ("payments", "payments-dlq"), ready for
// New. CreateQueue is idempotent for equal attributes, so Provision can run
// again against the same endpoint. For tests and `hookstack dev --aws`
// against an emulator; in AWS the CDK stack creates the queues.
func Provision(ctx context.Context, client *sqs.Client, names []string, maxReceive int, prefix string) (map[string]string, error) {
	urls := make(map[string]string, 2*len(names))
	for _, name := range names {
		dlq := queue.DLQ(name)
		d, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(prefix + dlq)})
		if err != nil {
			return nil, fmt.Errorf("provision %s: create %s: %w", name, prefix+dlq, err)
		}
		urls[dlq] = aws.ToString(d.QueueUrl)

		attrs := map[string]string{}
		if maxReceive > 0 {
			a, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
				QueueUrl:       d.QueueUrl,
				AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
			})
			if err != nil {
				return nil, fmt.Errorf("provision %s: arn of %s: %w", name, prefix+dlq, err)
			}
			policy, err := json.Marshal(map[string]string{
				"deadLetterTargetArn": a.Attributes[string(types.QueueAttributeNameQueueArn)],
				"maxReceiveCount":     strconv.Itoa(maxReceive),
			})
			if err != nil {
				return nil, fmt.Errorf("provision %s: %w", name, err)
			}
			attrs[string(types.QueueAttributeNameRedrivePolicy)] = string(policy)
		}
		s, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(prefix + name), Attributes: attrs})
		if err != nil {
			return nil, fmt.Errorf("provision %s: create %s: %w", name, prefix+name, err)
		}
		urls[name] = aws.ToString(s.QueueUrl)
	}
	return urls, nil
}
