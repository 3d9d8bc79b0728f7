# shared/store (helper H6): the processors' state port, its DynamoDB and bbolt
# adapters and their contract suite (storetest). `make test` runs these tests
# through `go test ./...` under .ci/with-emulators (DynamoDB via dynalite).
STORE_PKGS := ./shared/store/...
STORE_FUZZTIME ?= 10s

.PHONY: test-store fuzz-store bench-store
test-store: ## store contract suite against bbolt and the DynamoDB emulator
	go vet $(STORE_PKGS)
	.ci/with-emulators go test -count=1 $(STORE_PKGS)

fuzz-store: ## fuzz key round-trips and sort-time ordering for STORE_FUZZTIME each
	go test ./shared/store/ -run='^$$' -fuzz='^FuzzKeyRoundTrip$$' -fuzztime=$(STORE_FUZZTIME)
	go test ./shared/store/ -run='^$$' -fuzz='^FuzzSortTime$$' -fuzztime=$(STORE_FUZZTIME)

bench-store: ## BenchmarkLocalPut and BenchmarkDynamoPut (the emulator)
	.ci/with-emulators go test -run='^$$' -bench=Put -benchmem $(STORE_PKGS)
