# Load under faults (helper H17): 10,000 signed webhooks (40% payments, 25%
# inventory, 20% leads, 15% relay) at concurrency 64 through `hookstack dev`
# in-process with HOOKSTACK_FAULTS_DEV on, invariants checked at the end, and
# the acknowledgement figures next to a bare net/http server's. The report
# goes to the test log and to .cache/load-report.md (not committed) for
# BENCHMARKS.md. `make test` runs the 500-webhook version through
# `go test ./...` (TestLoad with the defaults).
#
#   make load LOAD_N=20000 LOAD_CONCURRENCY=128 LOAD_FAULTS='queue.send=0.1,seed=1'
#   (LOAD_FAULTS=- turns faults off)

LOAD_N ?= 10000
LOAD_CONCURRENCY ?= 64
LOAD_FAULTS ?=

.PHONY: load
load: ## 10,000 webhooks through hookstack dev with faults on; report in .cache/load-report.md
	@mkdir -p $(CACHE)
	HOOKSTACK_LOAD_N=$(LOAD_N) HOOKSTACK_LOAD_CONCURRENCY=$(LOAD_CONCURRENCY) HOOKSTACK_LOAD_FAULTS='$(LOAD_FAULTS)' \
	  HOOKSTACK_LOAD_REPORT=$(CACHE)/load-report.md \
	  go test -count=1 -v -run '^TestLoad$$' -timeout 20m ./shared/load/
	@echo "report: .cache/load-report.md"
