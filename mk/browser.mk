# Inspector page, hookstack tail / replay (helper H12): browser tests of the
# inspector in headless Chromium (chromedp + Debian `chromium`), the dev
# server's live routes (/api/stream, replay, samples) and the tail/replay CLI.
# `make test` runs these through `go test ./...`; it must run
# .ci/install-chromium first (outside the network namespace: apt needs the
# network) and export HOOKSTACK_REQUIRE_BROWSER=1 so a missing browser fails
# instead of skipping.

SSE_FUZZTIME ?= 10s

.PHONY: chromium
chromium: ## install Debian chromium for the browser tests if missing (needs root)
	.ci/install-chromium

.PHONY: test-browser
test-browser: chromium ## inspector browser tests + live routes + tail/replay CLI tests (screenshots in .cache/artifacts/)
	go vet ./shared/devserver/... ./cmd/...
	HOOKSTACK_REQUIRE_BROWSER=1 go test -count=1 ./shared/devserver/...
	go test -count=1 -run 'TestCLITail|TestCLIReplay|TestSSEReader' ./cmd/hookstack/

.PHONY: fuzz-sse
fuzz-sse: ## fuzz hookstack tail's Server-Sent Events parser for SSE_FUZZTIME (default 10s)
	go test -run '^$$' -fuzz '^FuzzSSEReader$$' -fuzztime $(SSE_FUZZTIME) ./cmd/hookstack/
