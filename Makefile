# Hookstack — build, test and run. `make help` lists the targets.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

export GOFLAGS := -buildvcs=false
export CGO_ENABLED := 0

CACHE      := $(CURDIR)/.cache
TOOLS      := $(CACHE)/tools
FUNCTIONS  := $(notdir $(wildcard functions/*))
LDFLAGS    := -s -w
BUILD_TAGS := lambda.norpc
# The Lambda Runtime Interface Emulator, built from the Go module proxy into .cache/tools (not go.mod).
RIE_VERSION := v0.0.0-20261030222936-bef5c4ba774d
RIE         := $(TOOLS)/aws-lambda-rie

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

.PHONY: deps
deps: node_modules/.package-lock.json ## install Node tools (npm ci) and Go modules
	go mod download

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --prefer-offline --no-audit --no-fund
	@touch $@

$(RIE):
	GOBIN=$(TOOLS) go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)

.PHONY: tools
tools: deps $(RIE) ## install everything the tests need (Node tools, Go modules, the RIE, Debian chromium)
	.ci/install-chromium

.PHONY: build
build: ## build every functions/* as bin/<name>/bootstrap (provided.al2023, arm64)
	@for f in $(FUNCTIONS); do \
	  echo "build $$f (linux/arm64)"; \
	  GOOS=linux GOARCH=arm64 go build -tags $(BUILD_TAGS) -trimpath -ldflags='$(LDFLAGS)' -o bin/$$f/bootstrap ./functions/$$f; \
	done

.PHONY: build-amd64
build-amd64: ## build every function for linux/amd64 into .cache/lambda-amd64/<name>/bootstrap (for the emulator)
	@for f in $(FUNCTIONS); do \
	  GOOS=linux GOARCH=amd64 go build -tags $(BUILD_TAGS) -trimpath -ldflags='$(LDFLAGS)' -o $(CACHE)/lambda-amd64/$$f/bootstrap ./functions/$$f; \
	done

.PHONY: test
test: tools build-amd64 ## install what is needed, start the emulators once, run every test
	go vet ./...
	$(MAKE) --no-print-directory fuzz-smoke
	$(CDK_ENV) HOOKSTACK_CDK_SYNTH_CHECK=1 HOOKSTACK_REQUIRE_BROWSER=1 \
	  HOOKSTACK_LAMBDA_BIN=$(CACHE)/lambda-amd64 HOOKSTACK_RIE=$(RIE) \
	  .ci/with-emulators go test -count=1 -parallel 8 -timeout 20m ./...

# make dev DEV_ARGS='--addr 127.0.0.1:9090' passes flags to hookstack dev (see `hookstack dev --help`); it needs
# only Go: the embedded backend uses no Node tool. The binary runs directly so Ctrl-C ends it cleanly.
DEV_ARGS ?=
.PHONY: dev
dev: ## run the whole pipeline locally (hookstack dev) on the embedded backend; flags in DEV_ARGS
	go build -o $(CACHE)/bin/hookstack ./cmd/hookstack
	exec $(CACHE)/bin/hookstack dev $(DEV_ARGS)

.PHONY: fuzz
fuzz: ## run every fuzz target for FUZZTIME (default 10s) each
	.ci/fuzz

# make bench runs the benchmarks into .cache/bench.txt, then writes BENCH_OUT from them (shared/benchreport);
# a quick trial: make bench BENCH_COUNT=1 BENCH_PKGS=./shared/ingest/ BENCH_OUT=/tmp/benchmarks.md
BENCH_COUNT ?= 6
BENCH_PKGS  ?= ./shared/...
BENCH_OUT   ?= BENCHMARKS.md
BENCH_TEST   = go test -run '^$$' -bench . -benchmem -count $(BENCH_COUNT) -timeout 60m $(BENCH_PKGS)
BENCH_REPORT = go run ./shared/benchreport/cmd/benchreport -in $(CACHE)/bench.txt -command-file $(CACHE)/bench.cmd \
  -cost shared/cost/testdata/report.md -load $(CACHE)/load-report.md -bins $(CACHE)/lambda-amd64 -out $(BENCH_OUT)

.PHONY: bench
bench: tools build-amd64 ## run every benchmark (emulators, built bootstraps) and write BENCHMARKS.md from the figures
	@for p in hello sdkfloor-ingest sdkfloor-processor sdkfloor-notify sdkfloor-deliverer; do \
	  GOOS=linux GOARCH=amd64 go build -tags $(BUILD_TAGS) -trimpath -ldflags='$(LDFLAGS)' -o $(CACHE)/lambda-amd64/$$p/bootstrap ./shared/rie/testdata/$$p; \
	done
	@printf '%s\n' "make bench BENCH_COUNT=$(BENCH_COUNT) BENCH_PKGS='$(BENCH_PKGS)'" \
	  "HOOKSTACK_LAMBDA_BIN=.cache/lambda-amd64 HOOKSTACK_RIE=.cache/tools/aws-lambda-rie .ci/with-emulators $(BENCH_TEST)" > $(CACHE)/bench.cmd
	status=0; HOOKSTACK_LAMBDA_BIN=$(CACHE)/lambda-amd64 HOOKSTACK_RIE=$(RIE) \
	  .ci/with-emulators $(BENCH_TEST) | tee $(CACHE)/bench.txt || status=$$?; \
	$(BENCH_REPORT); exit $$status

.PHONY: bench-report
bench-report: ## write BENCHMARKS.md (BENCH_OUT) again from the last run's .cache/bench.txt
	$(BENCH_REPORT)

.PHONY: clean
clean: ## remove build outputs
	rm -rf bin cdk.out $(CACHE)/lambda-amd64

-include mk/*.mk
