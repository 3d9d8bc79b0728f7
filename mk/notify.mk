# shared/notify (helper H8): endpoints, fan-out, delivery, retry schedule,
# SSRF guard, Slack/Mailchimp renderers and the fanout/deliverer handlers.
# Unit tests only (local httptest servers, fake queue and log); `go test ./...`
# runs them too.

NOTIFY_PKGS     := ./shared/notify/...
NOTIFY_FUZZTIME ?= 10s
NOTIFY_FUZZ     := FuzzParseSchedule FuzzMatches FuzzRetryAfter FuzzGuardCheck FuzzValidateURL

.PHONY: test-notify fuzz-notify update-notify-golden
test-notify: ## vet and test shared/notify (race detector on)
	go vet $(NOTIFY_PKGS)
	go test -count=1 -race $(NOTIFY_PKGS)

fuzz-notify: ## run each shared/notify fuzz target for NOTIFY_FUZZTIME (default 10s)
	@for f in $(NOTIFY_FUZZ); do \
	  echo "fuzz $$f"; \
	  go test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(NOTIFY_FUZZTIME) ./shared/notify/ || exit 1; \
	done

update-notify-golden: ## rewrite shared/notify/testdata/slack/*.json after a deliberate renderer change
	go test ./shared/notify/ -run TestSlackRequestShape -update
