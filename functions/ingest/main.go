// Command ingest is the webhook front door Lambda: API Gateway HTTP API (v2)
// events in, verified envelopes onto the domain queues.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/hookstack/hookstack/shared/awsbackend/awsingest"
)

func main() {
	log := lambdacontext.NewLogger()
	h, err := awsingest.Ingest(context.Background(), os.Getenv, log)
	if err != nil {
		log.Error("ingest start-up failed", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h.HandleAPIGateway)
}
