// Package awsbackend builds the AWS adapters (SQS, S3, Secrets Manager) from
// the environment the stack sets, once, at Lambda start-up (or for
// `hookstack dev --aws`). AWS_ENDPOINT_URL and the per-service
// AWS_ENDPOINT_URL_<SERVICE> variables point the SDK at emulators.
package awsbackend

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/hookstack/hookstack/shared/blob/s3blob"
	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/ingest"
	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/queue/sqsq"
	"github.com/hookstack/hookstack/shared/secrets"
	"github.com/hookstack/hookstack/shared/signature"
)

// Config loads the SDK configuration (region, credentials, endpoints).
func Config(ctx context.Context) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
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

// Secrets reads each provider's secrets from Secrets Manager where
// HOOKSTACK_SECRET_ARN_<PROVIDER> names one, else from
// HOOKSTACK_SECRET_<PROVIDER>.
func Secrets(cfg aws.Config, getenv func(string) string, providers []string) ingest.SecretSource {
	ids := secrets.IDsFromEnv(getenv, providers)
	static := secrets.FromEnv(getenv, providers)
	if len(ids) == 0 {
		return static
	}
	m := secrets.NewManager(secretsmanager.NewFromConfig(cfg), ids, 0)
	m.Fallback = static
	return m
}

// Ingest builds the ingest handler for the Lambda.
func Ingest(ctx context.Context, getenv func(string) string, log *slog.Logger) (*ingest.Handler, error) {
	icfg, err := ingest.ConfigFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	cfg, err := Config(ctx)
	if err != nil {
		return nil, err
	}
	q, err := Queues(cfg, getenv, envelope.DomainQueues)
	if err != nil {
		return nil, err
	}
	deps := ingest.Deps{Queue: q, Secrets: Secrets(cfg, getenv, signature.Providers), Logger: log}
	if b := Blobs(cfg, getenv); b != nil {
		deps.Blobs = b
	}
	return ingest.New(icfg, deps)
}
