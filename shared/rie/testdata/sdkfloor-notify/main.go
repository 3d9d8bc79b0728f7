// Command sdkfloor-notify is the cold-start floor of the fan-out: hello
// (the smallest aws-lambda-go function) plus the AWS SDK clients the
// fan-out builds at start-up, built the same way (awsconfig.Load, which is
// EnvConfig in the Lambda build) and nothing else — SQS and DynamoDB (it
// reads no claim-check bodies: no S3). Its INIT is what the SDK costs; the
// fan-out's INIT above it is Hookstack's own. (The deliverer, which also
// reads claim-check bodies, has its own floor: sdkfloor-deliverer.)
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/hookstack/hookstack/shared/awsbackend/awsconfig"
)

// clients keeps the clients and the operations reachable, as the
// function's handler does.
var clients []any

func main() {
	cfg, err := awsconfig.Load(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// The operations of shared/queue/sqsq and shared/store/dynamostore
	// the fan-out links (it reaches both through interfaces, so every
	// method stays), referenced so that they are linked as in the
	// function: their code is part of what the SDK costs.
	clients = append(clients, (*sqs.Client).SendMessage, (*sqs.Client).SendMessageBatch, (*sqs.Client).ChangeMessageVisibility,
		(*dynamodb.Client).GetItem, (*dynamodb.Client).PutItem, (*dynamodb.Client).Query)
	clients = append(clients, sqs.NewFromConfig(cfg), dynamodb.NewFromConfig(cfg))
	lambda.Start(func(context.Context, map[string]any) (string, error) { return "hello", nil })
}
