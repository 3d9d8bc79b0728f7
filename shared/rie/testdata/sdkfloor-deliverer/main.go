// Command sdkfloor-deliverer is the cold-start floor of the deliverer: hello
// (the smallest aws-lambda-go function) plus the AWS SDK clients the
// deliverer builds at start-up, built the same way (awsconfig.Load, which is
// EnvConfig in the Lambda build) and nothing else — SQS, DynamoDB and S3
// (the claim-check bodies large raw forwards are built from, when
// HOOKSTACK_CLAIM_BUCKET is set). Its INIT is what the SDK costs; the
// deliverer's INIT above it is Hookstack's own.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
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
	// The operations the deliverer calls (shared/queue/sqsq,
	// shared/store/dynamostore, shared/blob/s3blob), referenced so that
	// they are linked as in the function: their code is part of what the
	// SDK costs.
	clients = append(clients, (*sqs.Client).SendMessage, (*sqs.Client).SendMessageBatch, (*sqs.Client).ChangeMessageVisibility,
		(*dynamodb.Client).GetItem, (*dynamodb.Client).PutItem, (*dynamodb.Client).Query,
		(*s3.Client).GetObject)
	clients = append(clients, sqs.NewFromConfig(cfg), dynamodb.NewFromConfig(cfg))
	if os.Getenv("HOOKSTACK_CLAIM_BUCKET") != "" {
		pathStyle := os.Getenv("AWS_ENDPOINT_URL_S3") != "" || os.Getenv("AWS_ENDPOINT_URL") != ""
		clients = append(clients, s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = pathStyle }))
	}
	lambda.Start(func(context.Context, map[string]any) (string, error) { return "hello", nil })
}
