// Package awsbackend builds the AWS adapters (SQS, S3) from the environment
// the stack sets, once, at Lambda start-up (or for `hookstack dev --aws`).
// AWS_ENDPOINT_URL and the per-service AWS_ENDPOINT_URL_<SERVICE> variables
// point the SDK at emulators. The ingest function's wiring (Secrets Manager,
// the verifiers) is in awsbackend/awsingest, so that the other functions do
// not link it; the SDK configuration itself is in awsbackend/awsconfig, so
// that a function with no claim-check bodies (fanout) links no S3.
package awsbackend

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/hookstack/hookstack/shared/awsbackend/awsconfig"
	"github.com/hookstack/hookstack/shared/blob"
	"github.com/hookstack/hookstack/shared/blob/s3blob"
	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/queue/sqsq"
)

// Config loads the SDK configuration (region, credentials, endpoints): see
// awsconfig.Load.
func Config(ctx context.Context) (aws.Config, error) { return awsconfig.Load(ctx) }

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

// ClaimReader is Blobs as the deliverer reads claim-check bodies
// (notifystore.ClaimReader): nil, not a nil *s3blob.Store, when
// HOOKSTACK_CLAIM_BUCKET is not set. The deliverer only reads (GetObject on
// bodies/*).
func ClaimReader(cfg aws.Config, getenv func(string) string) blob.Store {
	if b := Blobs(cfg, getenv); b != nil {
		return b
	}
	return nil
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
