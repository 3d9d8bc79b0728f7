# hookstack send / trigger (helper H7): shared/sample (load, refresh and sign the
# events/ samples) and the CLI tests that build the real binary and run it
# against a real `hookstack dev` (both also run by `go test ./...`).

SAMPLE_FUZZTIME ?= 10s
SAMPLE_FUZZ := ParseHeaders SetJSON ReplaceNotificationIDs

.PHONY: test-cli
test-cli: ## send/trigger: shared/sample unit tests + CLI tests of the built binary against hookstack dev
	go vet ./cmd/... ./shared/sample/...
	go test -count=1 ./cmd/... ./shared/sample/...

.PHONY: fuzz-sample
fuzz-sample: ## run shared/sample's fuzz targets for SAMPLE_FUZZTIME (default 10s) each
	@for f in $(SAMPLE_FUZZ); do \
	  echo "fuzz $$f"; \
	  go test -run '^$$' -fuzz "^Fuzz$$f\$$" -fuzztime $(SAMPLE_FUZZTIME) ./shared/sample/ || exit 1; \
	done
