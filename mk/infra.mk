# CDK infrastructure targets (infra/, cdk.json). Included by the Makefile,
# which provides `build` (bin/<function>/bootstrap for linux/arm64).
#
#   make synth                      cdk synth --quiet (offline) into cdk.out/
#   make deploy                     cdk deploy (CDK_ARGS='-c alarmEmail=ops@example.com ...')
#   make cdk-diff / cdk-bootstrap / cdk-destroy
#   make infra-test                 go test ./infra/... (CDK assertions + cdk-nag, in process)
#   make synth-check                real CLI synth against dummy arm64 bootstraps;
#                                   SYNTH_ASSETS=bin uses the real ones
#
# Context options go in CDK_ARGS, e.g. CDK_ARGS='-c removal=destroy -c providers=stripe,github'.

CDK          ?= node_modules/.bin/cdk
CDK_ARGS     ?=
SYNTH_ASSETS ?=

# Everything the CDK CLI and jsii write stays in the ignored .cache/; no
# telemetry, version checks or notices (synth runs offline).
CDK_ENV = CDK_HOME=$(CURDIR)/.cache/cdk-home \
	JSII_RUNTIME_PACKAGE_CACHE_ROOT=$(CURDIR)/.cache/jsii-runtime \
	CDK_DISABLE_CLI_TELEMETRY=true \
	CDK_DISABLE_VERSION_CHECK=1 \
	JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20

.PHONY: synth deploy cdk-diff cdk-bootstrap cdk-destroy infra-test synth-check

# The pinned CDK CLI (package.json / package-lock.json), installed on first use.
$(CDK):
	npm ci --prefer-offline --no-audit --no-fund

synth: build $(CDK)
	$(CDK_ENV) $(CDK) synth --quiet $(CDK_ARGS)

deploy: build $(CDK)
	$(CDK_ENV) $(CDK) deploy $(CDK_ARGS)

cdk-diff: build $(CDK)
	$(CDK_ENV) $(CDK) diff $(CDK_ARGS)

# Once per account and region, before the first deploy.
cdk-bootstrap: build $(CDK)
	$(CDK_ENV) $(CDK) bootstrap $(CDK_ARGS)

cdk-destroy: build $(CDK)
	$(CDK_ENV) $(CDK) destroy $(CDK_ARGS)

infra-test:
	$(CDK_ENV) go test ./infra/...

# -count=1: the test drives the CLI in a child process, which go test's cache
# cannot see.
synth-check: $(CDK)
	$(CDK_ENV) HOOKSTACK_CDK_SYNTH_CHECK=1 HOOKSTACK_CDK_SYNTH_ASSETS=$(SYNTH_ASSETS) \
		go test -count=1 -run '^TestCLISynth$$' -v ./infra/hookstack
