# End to end with the deployable binaries (helper H14): every functions/*
# bootstrap (linux/amd64) under the Lambda Runtime Interface Emulator, the
# SQS/S3 and DynamoDB emulators, shared/apigw playing API Gateway in front of
# ingest and shared/runner playing the SQS event source mappings. `make test`
# runs the same test through `go test ./...`.

.PHONY: e2e
e2e: tools build-amd64 ## every provider's samples through the built Lambdas under the emulators (shared/e2e)
	HOOKSTACK_LAMBDA_BIN=$(CACHE)/lambda-amd64 HOOKSTACK_RIE=$(RIE) \
	  .ci/with-emulators go test -count=1 -v -run TestPipelineEndToEnd ./shared/e2e/...
