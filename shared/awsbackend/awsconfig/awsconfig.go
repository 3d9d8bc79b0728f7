// Package awsconfig loads the AWS SDK configuration (region, credentials,
// endpoints) for Hookstack's adapters: config.LoadDefaultConfig, except in
// binaries built with the lambda.norpc tag (every Lambda bootstrap: see the
// Makefile), where it reads the environment alone (EnvConfig): the same
// result in Lambda, without linking the SDK's shared-file, SSO, STS and IMDS
// credential machinery, whose package initialisation was most of the
// functions' cold start. EnvConfig refuses (ErrNeedsSDKConfigLoader) any
// environment it cannot resolve exactly as LoadDefaultConfig would.
//
// It links no SDK service client: each function imports only the services
// it builds clients of (see awsbackend for SQS and S3).
package awsconfig

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Load loads the SDK configuration: EnvConfig(os.Getenv) in the Lambda
// bootstraps (lambda.norpc), config.LoadDefaultConfig elsewhere.
func Load(ctx context.Context) (aws.Config, error) {
	cfg, err := loadConfig(ctx)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	return cfg, nil
}
