# shared/process (helper H9): the processors' I/O core and the four processor
# Lambdas. `make test` runs all of it through `go test ./...` (the RIE tests
# in functions/{payments,inventory,leads,relay} need build-amd64 and the RIE,
# which `make test` provides).
PROCESS_PKGS := ./shared/process/... ./functions/payments ./functions/inventory ./functions/leads ./functions/relay
PROCESS_FUZZTIME ?= 15s

.PHONY: test-process bench-process fuzz-process
test-process: build-amd64 $(RIE) ## processors: unit, convergence (bbolt + DynamoDB emulator) and RIE tests
	go vet $(PROCESS_PKGS)
	HOOKSTACK_LAMBDA_BIN=$(CACHE)/lambda-amd64 HOOKSTACK_RIE=$(RIE) \
	  .ci/with-emulators go test -count=1 $(PROCESS_PKGS)

bench-process: ## messages per second per processor, batches of 10, DynamoDB emulator
	.ci/with-emulators go test -run='^$$' -bench='Batch10Dynamo' -benchtime=3s ./shared/process/

fuzz-process: ## fuzz the batch handler with arbitrary queue messages
	go test ./shared/process/ -run='^$$' -fuzz='^FuzzHandle$$' -fuzztime=$(PROCESS_FUZZTIME)
