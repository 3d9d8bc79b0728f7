# Outbound wiring (helper H11): shared/notify/notifystore (endpoints and the
# delivery log on the store, the Lambdas' builders) and the fanout and
# deliverer functions, end to end under the Lambda RIE in the emulators.
# `make test` covers all of it (build-amd64 builds every functions/*).

NOTIFYWIRE_FUNCS := fanout deliverer
NOTIFYWIRE_PKGS  := ./shared/notify/notifystore/... ./functions/fanout/... ./functions/deliverer/...

.PHONY: build-notifywire test-notifywire
build-notifywire: ## build the fanout and deliverer bootstraps for the emulator (linux/amd64)
	@for f in $(NOTIFYWIRE_FUNCS); do \
	  GOOS=linux GOARCH=amd64 go build -tags $(BUILD_TAGS) -trimpath -ldflags='$(LDFLAGS)' -o $(CACHE)/lambda-amd64/$$f/bootstrap ./functions/$$f || exit 1; \
	done

test-notifywire: tools build-notifywire ## notifystore on localstore + DynamoDB emulator; fanout/deliverer bootstraps end to end under the RIE
	go vet $(NOTIFYWIRE_PKGS)
	HOOKSTACK_LAMBDA_BIN=$(CACHE)/lambda-amd64 HOOKSTACK_RIE=$(RIE) \
	  .ci/with-emulators go test -count=1 $(NOTIFYWIRE_PKGS)
