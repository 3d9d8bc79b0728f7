// Command sdkfloor-ingest is the cold-start floor of the ingest function:
// hello (the smallest aws-lambda-go function) plus the AWS SDK clients
// ingest builds at start-up, built the same way (awsconfig.Load, which is
// EnvConfig in the Lambda build) and nothing else — SQS, S3 for the
// claim-check bodies when HOOKSTACK_CLAIM_BUCKET is set, Secrets Manager
// when a HOOKSTACK_SECRET_ARN_<PROVIDER> is set. Its INIT is what the SDK
// costs; the function's INIT above it is Hookstack's own.
package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
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
	// The operations ingest calls (shared/queue/sqsq, shared/blob/s3blob,
	// shared/secrets), referenced so that they are linked as in the
	// function: their code is part of what the SDK costs.
	clients = append(clients, (*sqs.Client).SendMessage, (*s3.Client).PutObject, (*secretsmanager.Client).GetSecretValue)
	clients = append(clients, sqs.NewFromConfig(cfg))
	if os.Getenv("HOOKSTACK_CLAIM_BUCKET") != "" {
		pathStyle := os.Getenv("AWS_ENDPOINT_URL_S3") != "" || os.Getenv("AWS_ENDPOINT_URL") != ""
		clients = append(clients, s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = pathStyle }))
	}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "HOOKSTACK_SECRET_ARN_") {
			clients = append(clients, secretsmanager.NewFromConfig(cfg))
			break
		}
	}
	lambda.Start(func(context.Context, map[string]any) (string, error) { return "hello", nil })
}
