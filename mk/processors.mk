# Processors' pure cores (shared/domain, payments, inventory, leads, relay):
# unit tests with shuffle/duplicate/replay, and short fuzz runs of the parsers.
PROCESSOR_PKGS := ./shared/domain/ ./shared/payments/ ./shared/inventory/ ./shared/leads/ ./shared/relay/
FUZZTIME ?= 15s

.PHONY: test-processors fuzz-processors
test-processors:
	go test $(PROCESSOR_PKGS)
	go vet $(PROCESSOR_PKGS)

fuzz-processors:
	go test ./shared/payments/ -run='^$$' -fuzz='^FuzzParseStripe$$' -fuzztime=$(FUZZTIME)
	go test ./shared/inventory/ -run='^$$' -fuzz='^FuzzParseShopify$$' -fuzztime=$(FUZZTIME)
	go test ./shared/inventory/ -run='^$$' -fuzz='^FuzzParseStandard$$' -fuzztime=$(FUZZTIME)
	go test ./shared/leads/ -run='^$$' -fuzz='^FuzzParseSalesforce$$' -fuzztime=$(FUZZTIME)
	go test ./shared/leads/ -run='^$$' -fuzz='^FuzzParseHubSpot$$' -fuzztime=$(FUZZTIME)
	go test ./shared/leads/ -run='^$$' -fuzz='^FuzzParseStandardLead$$' -fuzztime=$(FUZZTIME)
	go test ./shared/relay/ -run='^$$' -fuzz='^FuzzParseLiveChat$$' -fuzztime=$(FUZZTIME)
	go test ./shared/relay/ -run='^$$' -fuzz='^FuzzParseTrello$$' -fuzztime=$(FUZZTIME)
