// Command deliverer is the delivery Lambda: SQS batches from the deliveries
// queue, one attempt per message (Standard Webhooks signed HTTP, Slack,
// Mailchimp) through the SSRF guard, retries by message visibility on the
// retry schedule, the DLQ with the reason after the last attempt, every
// attempt in the delivery log; a raw forward too large for a queue message
// gets its data from the claim-check body in S3 (HOOKSTACK_CLAIM_BUCKET).
// See shared/notify (DeliverHandler) and shared/notify/notifystore (wiring).
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/hookstack/hookstack/shared/awsbackend"
	"github.com/hookstack/hookstack/shared/notify/notifystore"
)

func main() {
	log := lambdacontext.NewLogger()
	h, err := notifystore.DelivererFromEnv(context.Background(), os.Getenv, log, awsbackend.ClaimReader)
	if err != nil {
		log.Error("deliverer start-up failed", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h.HandleSQS)
}
