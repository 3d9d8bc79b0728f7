// Package awsbackend builds the AWS adapters (SQS, S3) from the environment
// the stack sets, once, at Lambda start-up (or for `hookstack dev --aws`).
// AWS_ENDPOINT_URL and the per-service AWS_ENDPOINT_URL_<SERVICE> variables
// point the SDK at emulators. The ingest function's wiring (Secrets Manager,
// the verifiers) is in awsbackend/awsingest, so that the other functions do
// not link it.
//
// Config loads the SDK configuration with config.LoadDefaultConfig, except
// in binaries built with the lambda.norpc tag (every Lambda bootstrap: see
// the Makefile), where it reads the environment alone (EnvConfig): the same
// result in Lambda, without linking the SDK's shared-file, SSO, STS and IMDS
// credential machinery, whose package initialisation was most of the
// functions' cold start. EnvConfig refuses (ErrNeedsSDKConfigLoader) any
// environment it cannot resolve exactly as LoadDefaultConfig would.
package awsbackend

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/hookstack/hookstack/shared/blob/s3blob"
	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/queue/sqsq"
)

// Config loads the SDK configuration (region, credentials, endpoints).
func Config(ctx context.Context) (aws.Config, error) {
	cfg, err := loadConfig(ctx)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	return cfg, nil
}

// Queues builds the SQS adapter for the named queues and their DLQs from
// HOOKSTACK_QUEUE_URL_<NAME>.
func Queues(cfg aws.Config, getenv func(string) string, names []string) (*sqsq.Queue, error) {
	all := make([]string, 0, 2*len(names))
	for _, n := range names {
		all = append(all, n, queue.DLQ(n))
	}
	urls, err := sqsq.URLsFromEnv(getenv, all)
	if err != nil {
		return nil, err
	}
	return sqsq.New(sqs.NewFromConfig(cfg), urls), nil
}

// Blobs builds the claim-check store on HOOKSTACK_CLAIM_BUCKET, or returns
// nil when it is not set. Emulators (an endpoint override) get path-style
// addressing.
func Blobs(cfg aws.Config, getenv func(string) string) *s3blob.Store {
	bucket := getenv("HOOKSTACK_CLAIM_BUCKET")
	if bucket == "" {
		return nil
	}
	pathStyle := getenv("AWS_ENDPOINT_URL_S3") != "" || getenv("AWS_ENDPOINT_URL") != ""
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = pathStyle })
	return s3blob.New(client, bucket)
}
