# shared/envelope (helper H2): provider extraction, handshakes, routing, redaction.

ENVELOPE_FUZZTIME ?= 10s
ENVELOPE_FUZZ := Stripe GitHub Shopify Slack Standard LiveChat Trello HubSpot Twilio Zoom Salesforce

.PHONY: test-envelope
test-envelope: ## unit tests of shared/envelope (also run by `go test ./...`)
	go test -count=1 ./shared/envelope/

.PHONY: fuzz-envelope
fuzz-envelope: ## run every FuzzExtract<Provider> for ENVELOPE_FUZZTIME (default 10s) each
	@for p in $(ENVELOPE_FUZZ); do \
	  echo "fuzz $$p"; \
	  go test -run '^$$' -fuzz "^FuzzExtract$$p\$$" -fuzztime $(ENVELOPE_FUZZTIME) ./shared/envelope/ || exit 1; \
	done

.PHONY: bench-envelope
bench-envelope: ## BenchmarkExtractStripe2KB (the ingest hot path)
	go test -run '^$$' -bench ExtractStripe2KB -benchmem ./shared/envelope/
