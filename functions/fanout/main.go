// Command fanout is the fan-out Lambda: SQS batches from the notifications
// queue (domain and raw events), one message on the deliveries queue per
// enabled endpoint whose filter matches, partial batch responses. See
// shared/notify (FanOutHandler) and shared/notify/notifystore (wiring).
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/hookstack/hookstack/shared/notify/notifystore"
)

func main() {
	log := lambdacontext.NewLogger()
	h, err := notifystore.FanOutFromEnv(context.Background(), os.Getenv, log)
	if err != nil {
		log.Error("fanout start-up failed", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h.HandleSQS)
}
