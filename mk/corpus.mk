# Bad-input corpus (events/bad, run by shared/corpus) and the fuzz smoke run of `make test`.

# One fuzz target per provider parser (the body extractors and the signature
# header parsers) plus the ingest handler, for a few seconds each. Measured
# at about 90 s for 19 targets on the 2-core dev machine; `make fuzz` runs
# every target of the module for longer.
FUZZ_SMOKE_TIME ?= 2s
FUZZ_SMOKE_PKGS := ./shared/envelope ./shared/signature ./shared/ingest
FUZZ_SMOKE_RUN  := ^Fuzz(Extract.+|ScanJSON|EnvelopeRoundTrip|Handle|StripeHeader|StandardHeader|HMACHeaders|HubSpotHeader|TwilioParams|SalesforceOrg|LiveChatSecret)$$

.PHONY: fuzz-smoke
fuzz-smoke: ## fuzz each provider parser and the ingest handler for FUZZ_SMOKE_TIME (default 2s; part of make test)
	FUZZTIME=$(FUZZ_SMOKE_TIME) FUZZ_RUN='$(FUZZ_SMOKE_RUN)' .ci/fuzz $(FUZZ_SMOKE_PKGS)

.PHONY: corpus
corpus: ## run the bad-input corpus (events/bad) through the ingest handler and the dev server
	go test -count=1 ./shared/corpus/

.PHONY: corpus-known-bugs
corpus-known-bugs: ## run the corpus cases marked known-bug (they fail until the bug is fixed)
	HOOKSTACK_CORPUS_KNOWN_BUGS=1 go test -count=1 -run 'TestCorpus(Direct|HTTP)' ./shared/corpus/
