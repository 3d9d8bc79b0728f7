//go:build lambda.norpc

package awsconfig

import (
	"context"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// loadConfig reads the Lambda environment alone (see EnvConfig): the
// bootstraps are built with the lambda.norpc tag and do not link the SDK's
// config package.
func loadConfig(context.Context) (aws.Config, error) {
	return EnvConfig(os.Getenv)
}
