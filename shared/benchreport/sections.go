package benchreport

import "slices"

// The targets of issue 7 ("Performance and cost, measured").
const (
	aimCoreOverFloor       = 3   // ingest core ≤ 3× the HMAC floor
	aimFasterThanConstruct = 3   // ≥ 3× faster than stripe-go ConstructEvent
	aimInitOverHello       = 1.3 // INIT ≤ 1.3× hello-world
	aimSource              = "issue 7"
)

// DefaultSections are the sections of BENCHMARKS.md, in order. Benchmarks of
// the run that none of them names are listed under "Other benchmarks".
func DefaultSections() []Section {
	return []Section{
		ingestCPU(),
		ingestSDK(),
		signatureSection(),
		envelopeSection(),
		coldStart(),
		processors(),
		stores(),
	}
}

func ingestCPUTable(size, caption string, optional bool) Table {
	floor := Ref{Name: "HMACSHA256Bare" + size}
	construct := Ref{Name: "StripeConstructEvent" + size}
	core := "IngestCoreStripe" + size
	return Table{
		Caption:  caption,
		Package:  "shared/ingest",
		Optional: optional,
		Rows: []Row{
			{Name: floor.Name, What: "one HMAC-SHA256 of `{t}.{body}` + constant-time compare (the floor)"},
			{Name: core, What: "verify + extract id/type/time + envelope bytes (the ingest core)"},
			{Name: "IngestStripe" + size, What: "the whole handler: the core + queue call (no-op sender) + JSON log line with EMF metrics"},
			{Name: construct.Name, What: "stripe-go `webhook.ConstructEventWithOptions` (verify + full unmarshal)"},
		},
		Ratios: []Ratio{
			{Against: floor, Label: "ratio to the HMAC floor"},
			{Against: construct, Faster: true, Label: "× faster than ConstructEvent"},
		},
		Aims: []Aim{
			{Rows: []string{core}, Against: floor, AtMost: aimCoreOverFloor, What: "ingest core vs the HMAC floor", Source: aimSource},
			{Rows: []string{core}, Against: construct, FasterBy: aimFasterThanConstruct, What: "ingest core vs ConstructEvent", Source: aimSource},
			{Rows: []string{"IngestStripe" + size}, Against: construct, FasterBy: aimFasterThanConstruct, What: "whole handler vs ConstructEvent", Source: aimSource},
		},
	}
}

func ingestCPU() Section {
	return Section{
		Title: "Ingest CPU per webhook",
		Intro: "The CPU one webhook costs at ingest, against two references measured in the same run: the floor " +
			"(a bare HMAC-SHA256 verification of the same signed bytes, which any verifying ingest must pay) and " +
			"stripe-go's `ConstructEvent`, what a hand-written Stripe handler would typically call.",
		Rerun: "go test -run '^$' -bench 'Stripe|HMAC' -benchmem -count 6 ./shared/ingest/",
		Tables: []Table{
			ingestCPUTable("2KB", "2 KB Stripe `payment_intent.succeeded`:", false),
			ingestCPUTable("256KB", "256 KB Stripe event (the same event with many line items):", true),
		},
	}
}

func ingestSDK() Section {
	stub := Ref{Name: "SDKStubOnly2KB"}
	return Section{
		Title: "Ingest with the SDK against a stub transport",
		Intro: "The whole handler with the real SQS adapter and AWS SDK (SigV4 signing, retry middleware, JSON " +
			"serialisation, the SDK's MD5 check) against a stub `HTTPClient` that answers `SendMessage` as SQS does, " +
			"beside a bare SDK `SendMessage` of the same envelope bytes through the same stub. The large event is " +
			"claim-checked: its body goes to an in-memory blob store and SQS gets a small envelope with its reference.",
		Rerun: "go test -run '^$' -bench SDK -benchmem -count 6 ./shared/ingest/",
		Tables: []Table{
			{
				Caption: "2 KB Stripe event:",
				Package: "shared/ingest",
				Rows: []Row{
					{Name: "IngestSDKStripe2KB", What: "the handler, enqueueing through sqsq + SDK"},
					{Name: "SDKSendMessage2KB", What: "bare SDK `SendMessage` of the same envelope"},
					{Name: stub.Name, What: "the stub's own share of one send (parse, MD5, answer)"},
				},
				Ratios: []Ratio{{Against: Ref{Name: "SDKSendMessage2KB"}, Label: "ratio to the bare send"}},
				Derived: []Derived{
					{Label: "handler vs bare send, the stub's share taken out of both", Num: Ref{Name: "IngestSDKStripe2KB"}, Den: Ref{Name: "SDKSendMessage2KB"}, Minus: &stub},
					{Label: "bare SDK send vs the HMAC floor", Num: Ref{Name: "SDKSendMessage2KB"}, Den: Ref{Name: "HMACSHA256Bare2KB"}},
					{Label: "handler with the SDK vs the handler with a no-op sender", Num: Ref{Name: "IngestSDKStripe2KB"}, Den: Ref{Name: "IngestStripe2KB"}},
				},
			},
			{
				Caption:  "256 KB Stripe event (claim-checked):",
				Package:  "shared/ingest",
				Optional: true,
				Rows: []Row{
					{Name: "IngestSDKStripe256KB", What: "the handler: body to the blob store, reference to SQS"},
					{Name: "SDKSendMessage256KB", What: "bare SDK `SendMessage` of that envelope"},
				},
				Ratios: []Ratio{{Against: Ref{Name: "SDKSendMessage256KB"}, Label: "ratio to the bare send"}},
			},
		},
	}
}

func signatureSection() Section {
	floor := Ref{Name: "HMACSHA256Bare2KB"}
	return Section{
		Title: "Signature verification",
		Intro: "The Stripe verifier alone, on the same signed event, against the HMAC floor and stripe-go.",
		Rerun: "go test -run '^$' -bench . -benchmem -count 6 ./shared/signature/",
		Tables: []Table{{
			Package: "shared/signature",
			Rows: []Row{
				{Name: floor.Name, What: "bare HMAC-SHA256 + compare (the floor)"},
				{Name: "VerifyStripe2KB", What: "the Stripe verifier"},
				{Name: "VerifyStripe2KBRotation", What: "match on the second of two active secrets"},
				{Name: "StripeConstructEvent2KB", What: "stripe-go `ConstructEventWithOptions`"},
			},
			Ratios: []Ratio{{Against: floor, Label: "ratio to the HMAC floor"}},
		}},
	}
}

func envelopeSection() Section {
	return Section{
		Title: "Extraction and envelope encoding",
		Intro: "The two other parts of the ingest core, each against the HMAC floor of the ingest benchmarks.",
		Rerun: "go test -run '^$' -bench . -benchmem -count 6 ./shared/envelope/",
		Tables: []Table{{
			Package: "shared/envelope",
			Rows: []Row{
				{Name: "ExtractStripe2KB", What: "id, type and time out of the Stripe event (validating the JSON)"},
				{Name: "Encode2KB", What: "the envelope's bytes, body escaped into it"},
			},
			Ratios: []Ratio{{Against: Ref{Package: "shared/ingest", Name: "HMACSHA256Bare2KB"}, Label: "ratio to the HMAC floor"}},
		}},
	}
}

// coldStartFunctions are the bootstraps of functions/*, each with its SDK
// floor: hello plus the SDK clients (and operations) the function uses,
// built from shared/rie/testdata/sdkfloor-* by `make bench`.
var coldStartFunctions = []struct{ floor, fn string }{
	{"sdkfloor-ingest", "ingest"},
	{"sdkfloor-processor", "payments"}, {"sdkfloor-processor", "inventory"},
	{"sdkfloor-processor", "leads"}, {"sdkfloor-processor", "relay"},
	{"sdkfloor-notify", "fanout"}, {"sdkfloor-deliverer", "deliverer"},
}

func coldStart() Section {
	hello := Ref{Name: "ColdStart/hello"}
	rows := []Row{{Name: hello.Name}}
	var functions []string
	floorOf := map[string]Ref{}
	for _, f := range coldStartFunctions {
		floor := "ColdStart/" + f.floor
		if !slices.ContainsFunc(rows, func(r Row) bool { return r.Name == floor }) {
			rows = append(rows, Row{Name: floor})
		}
		fn := "ColdStart/" + f.fn
		rows = append(rows, Row{Name: fn})
		functions = append(functions, fn)
		floorOf[fn] = Ref{Name: floor}
	}
	return Section{
		Title: "Cold start and warm invocation",
		Intro: "Each built linux/amd64 bootstrap under the Lambda Runtime Interface Emulator. INIT is the emulator's " +
			"`INIT REPORT` (process start to the first `Next` call); warm is one no-op invocation through the " +
			"emulator's HTTP API (an empty batch, or a 405 for ingest), mostly the emulator's own overhead; where reported, " +
			"INIT + first invocation is the emulator's first REPORT, a cold request doing real work. The reference, " +
			"`hello`, is an aws-lambda-go function that does nothing else. Each `sdkfloor-*` is `hello` plus the AWS SDK " +
			"clients a function builds at start-up, built the same way, with the SDK operations it calls linked, and " +
			"nothing else (`shared/rie/testdata`): ingest's (SQS, S3, Secrets Manager), the processors' (SQS, DynamoDB, " +
			"S3), fanout's (SQS, DynamoDB) and the deliverer's (SQS, DynamoDB, S3: it reads the claim-checked bodies of large " +
			"raw forwards). A function's INIT over its floor is Hookstack's own " +
			"share; the floor over `hello` is what the SDK costs. The INIT and first-invocation ratios are paired: " +
			"every iteration of a function's benchmark cold-starts `hello` and the function's floor too (a floor's " +
			"pairs with `hello` only), back to back, in an order that rotates from one iteration to the next, and " +
			"each ratio is the median of the per-iteration ratios (`init-x-hello`, `init-x-floor`, `first-x-hello`). " +
			"On a shared machine the speed drifts over the seconds between two benchmarks by more than the " +
			"differences measured here, so a quotient of medians taken at different moments wobbles; cold starts a " +
			"few milliseconds apart see the same machine, and the rotation keeps any one of them from always " +
			"going first. The INIT, first-invocation and warm columns are each binary's own medians.",
		Rerun: "make build-amd64  # and the hello and sdkfloor-* bootstraps, as `make bench` does\n" +
			"HOOKSTACK_LAMBDA_BIN=$PWD/.cache/lambda-amd64 HOOKSTACK_RIE=$PWD/.cache/tools/aws-lambda-rie \\\n" +
			"  go test -run '^$' -bench ColdStart -count 6 ./shared/e2e/",
		Tables: []Table{{
			Package:   "shared/e2e",
			Unit:      "init-ms",
			UnitLabel: "INIT (ms)",
			Rows:      rows,
			Hide:      []string{UnitTime, "B/op", "allocs/op"},
			Labels: map[string]string{
				"MiB": "binary (MiB)", "warm-µs": "warm invocation (µs)", "init-ms": "INIT",
				"first-ms": "INIT + first invocation (ms)",
			},
			SizeFromFile: "MiB",
			Ratios: []Ratio{
				{Against: hello, Paired: "init-x-hello", Label: "INIT / hello"},
				{PerRow: floorOf, Paired: "init-x-floor", Label: "INIT / SDK floor"},
				{Against: hello, Unit: "first-ms", Paired: "first-x-hello", Label: "first / hello"},
				{Against: hello, Unit: "warm-µs", Label: "warm / hello"},
				{Against: hello, Unit: "MiB", Label: "size / hello"},
			},
			Aims: []Aim{{Rows: functions, Against: hello, Paired: "init-x-hello", AtMost: aimInitOverHello, What: "INIT of every function vs hello-world", Source: aimSource}},
		}},
	}
}

func processors() Section {
	put := Ref{Package: "shared/store/dynamostore", Name: "DynamoPut"}
	return Section{
		Title: "Processors against the DynamoDB emulator",
		Intro: "One batch of ten messages per operation, each creating a new record in dynalite; notifications go " +
			"to an in-memory sink, so this measures the store path. The bound is the emulator (single-threaded " +
			"Node.js), not the processor code; each batch is also compared with one store `Put` of the same run.",
		Rerun: ".ci/with-emulators go test -run '^$' -bench 'Batch10Dynamo|DynamoPut' -benchmem -count 6 ./shared/process/ ./shared/store/dynamostore/",
		Tables: []Table{{
			Package: "shared/process",
			Rows: []Row{
				{Name: "PaymentsBatch10Dynamo", What: "payments"},
				{Name: "InventoryBatch10Dynamo", What: "inventory"},
				{Name: "LeadsBatch10Dynamo", What: "leads"},
				{Name: "RelayBatch10Dynamo", What: "relay"},
			},
			UnitLabel: "time per batch",
			Labels:    map[string]string{"msgs/s": "messages/s"},
			Ratios:    []Ratio{{Against: put, Label: "ratio to one dynalite `Put`"}},
		}},
	}
}

func stores() Section {
	return Section{
		Title: "Store adapters",
		Intro: "One `Put` of a small document: the local bbolt store (fsync on) and the DynamoDB adapter against dynalite.",
		Rerun: ".ci/with-emulators go test -run '^$' -bench Put -benchmem -count 6 ./shared/store/...",
		Tables: []Table{{
			Package: "shared/store/localstore",
			Rows: []Row{
				{Name: "LocalPut", What: "bbolt, fsync on"},
				{Name: "DynamoPut", Package: "shared/store/dynamostore", What: "dynalite"},
			},
			Ratios: []Ratio{{Against: Ref{Name: "LocalPut"}, Label: "ratio to the local store"}},
		}},
	}
}
