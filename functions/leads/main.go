// Command leads is the leads processor Lambda: SQS batches from the leads queue
// (Salesforce, HubSpot and Standard Webhooks leads → lead records), partial batch responses, domain and raw events onto the
// notifications queue. See shared/process.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/hookstack/hookstack/shared/process"
)

func main() {
	log := lambdacontext.NewLogger()
	h, err := process.FromEnv(context.Background(), process.Leads, os.Getenv, log)
	if err != nil {
		log.Error("leads start-up failed", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}
