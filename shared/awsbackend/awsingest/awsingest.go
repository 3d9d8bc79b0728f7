// Package awsingest wires the ingest Lambda: the SQS domain queues, the S3
// claim-check store and each provider's secrets from Secrets Manager. It is
// apart from awsbackend so that the other functions link neither Secrets
// Manager nor the verifiers.
package awsingest

import (
	"context"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/hookstack/hookstack/shared/awsbackend"
	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/ingest"
	"github.com/hookstack/hookstack/shared/secrets"
	"github.com/hookstack/hookstack/shared/signature"
)

// Secrets reads each provider's secrets from Secrets Manager where
// HOOKSTACK_SECRET_ARN_<PROVIDER> names one, else from
// HOOKSTACK_SECRET_<PROVIDER>. A HOOKSTACK_SECRET_<PROVIDER> value of the
// wrong shape is an error (start-up fails naming the variable); a Secrets
// Manager value of the wrong shape is logged to log when read (and answered
// 503 while no secret in it is usable).
func Secrets(cfg aws.Config, getenv func(string) string, providers []string, log *slog.Logger) (ingest.SecretSource, error) {
	ids := secrets.IDsFromEnv(getenv, providers)
	static, err := secrets.LoadEnv(getenv, providers)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return static, nil
	}
	m := secrets.NewManager(secretsmanager.NewFromConfig(cfg), ids, 0)
	m.Fallback = static
	m.Log = log
	return m, nil
}

// Ingest builds the ingest handler for the Lambda.
func Ingest(ctx context.Context, getenv func(string) string, log *slog.Logger) (*ingest.Handler, error) {
	icfg, err := ingest.ConfigFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	cfg, err := awsbackend.Config(ctx)
	if err != nil {
		return nil, err
	}
	q, err := awsbackend.Queues(cfg, getenv, envelope.DomainQueues)
	if err != nil {
		return nil, err
	}
	providers := icfg.Providers
	if providers == nil {
		providers = signature.Providers
	}
	src, err := Secrets(cfg, getenv, providers, log)
	if err != nil {
		return nil, err
	}
	deps := ingest.Deps{Queue: q, Secrets: src, Logger: log}
	if b := awsbackend.Blobs(cfg, getenv); b != nil {
		deps.Blobs = b
	}
	return ingest.New(icfg, deps)
}
