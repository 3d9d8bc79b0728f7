# Emulators (helper H3): the SQS/S3 (fauxqs) and DynamoDB (dynalite) emulators
# come from node_modules; .ci/with-emulators starts them once around a command.

.PHONY: emulators-check
emulators-check: deps ## queue and blob adapters against the emulators (contract suites)
	.ci/with-emulators go test -count=1 -parallel 8 ./shared/queue/... ./shared/blob/...
