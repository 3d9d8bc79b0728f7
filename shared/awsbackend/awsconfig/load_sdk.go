//go:build !lambda.norpc

package awsconfig

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
)

// loadConfig is the SDK's default loader: environment, shared config and
// credentials files (profiles, SSO, assumed roles), container and IMDS
// credentials. The CLI and the tests use it.
func loadConfig(ctx context.Context) (aws.Config, error) {
	return config.LoadDefaultConfig(ctx)
}
