// Command sdkfloor-notify is the cold-start floor of the notification
// functions (fanout, deliverer): hello (the smallest aws-lambda-go
// function) plus the AWS SDK clients they build at start-up, built the same
// way (awsconfig.Load, which is EnvConfig in the Lambda build) and nothing
// else — SQS and DynamoDB (they read no claim-check bodies: no S3). Its
// INIT is what the SDK costs; fanout's and deliverer's INIT above it is
// Hookstack's own.
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
	// The operations fanout and deliverer call (shared/queue/sqsq,
	// shared/store/dynamostore; the union of the two), referenced so that
	// they are linked as in the functions: their code is part of what the
	// SDK costs.
	clients = append(clients, (*sqs.Client).SendMessage, (*sqs.Client).SendMessageBatch, (*sqs.Client).ChangeMessageVisibility,
		(*dynamodb.Client).GetItem, (*dynamodb.Client).PutItem, (*dynamodb.Client).Query)
	clients = append(clients, sqs.NewFromConfig(cfg), dynamodb.NewFromConfig(cfg))
	lambda.Start(func(context.Context, map[string]any) (string, error) { return "hello", nil })
}
