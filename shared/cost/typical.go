package cost

import "strings"

// Target is the aim: all-in cost per million webhooks.
const Target = 3.00

// Latency estimates for calls that cannot be measured from here (no AWS
// account): in-region round trips as typically seen from Lambda.
const (
	estSQSSendMS  = 10.0  // one SendMessage
	estDynamoMS   = 5.0   // one GetItem, PutItem or UpdateItem
	estEndpointMS = 100.0 // a subscriber's endpoint answering a delivery
)

// Measured figures (BENCHMARKS.md, 2026-11-29, this repository).
const (
	// BenchmarkIngestSDKStripe2KB: the whole ingest handler with the SDK's
	// SendMessage against a stub transport, CPU per webhook.
	measIngestCPUMS = 0.134
	// Its queue message (sqs-bytes).
	measEnvelopeBytes = 2663
	// Warm invocation under the Runtime Interface Emulator (mostly the
	// emulator's own overhead; used as the fixed part of an invocation).
	measWarmIngestMS    = 1.04
	measWarmProcessorMS = 1.0 // payments 0.93, inventory 1.16, leads 1.12, relay 1.00
	measWarmFanOutMS    = 0.90
	measWarmDelivererMS = 0.89
)

// Retention (months) of what the pipeline writes.
const (
	archiveMonths = 7.0 / 30 // process.DefaultArchiveTTL
	logTTLMonths  = 1        // notify.LogTTL, 30 days
)

func storeMS(calls float64) float64 { return calls * estDynamoMS }

// measuredClass returns the measured figures of function name (Measured,
// written by TestMeasureWrites).
func measuredClass(name string) MeasuredClass {
	for _, c := range Measured {
		if c.Name == name {
			return c
		}
	}
	panic("cost: no measured figures for " + name + ": run TestMeasureWrites with -update")
}

// itemNames describe the measured items by store kind.
var itemNames = map[string]string{
	"archive":          "archive envelope",
	"archive-event":    "archive alias",
	"delivered":        "delivered attempt (also the marker)",
	"delivery-attempt": "failed attempt",
}

// writesOf turns measured writes into the model's: the items that expire
// (archive, delivery log) are stored until their TTL.
func writesOf(c MeasuredClass) (ws []Write, perMessage float64) {
	for _, m := range c.Writes {
		kind, rest, _ := strings.Cut(m.Item, " ")
		_, op, _ := strings.Cut(rest, " ")
		what := itemNames[kind]
		if what == "" {
			what = kind + " record"
		}
		w := Write{What: what + " (" + op + ")", Kind: kind, KB: m.Bytes / 1024, GSI: m.IndexWRU > 0,
			Count: m.PerUnit, TableWRU: m.TableWRU, IndexWRU: m.IndexWRU}
		switch kind {
		case "archive", "archive-event":
			w.RetainMonths = archiveMonths
		case "delivered", "delivery-attempt":
			w.RetainMonths = logTTLMonths
		}
		ws = append(ws, w)
		perMessage += m.PerUnit
	}
	return ws, perMessage
}

// processor is a processor class from its measurement: its reads (by key),
// its measured writes and notifications, and its rounds of sends (see
// Class.SendRounds). gsi1 is sparse (dynamostore.ListKinds): the
// processors write no index entry.
func processor(name string, share, reads, rounds float64) Class {
	m := measuredClass(name)
	ws, writes := writesOf(m)
	return Class{
		Name: name, Share: share,
		ProcessorMS:     storeMS(reads+writes) + estSQSSendMS*m.Notifications,
		ConsistentReads: reads,
		Notifications:   m.Notifications,
		LogBytes:        m.LogBytes,
		SendRounds:      rounds,
		Writes:          ws,
	}
}

// Typical is the typical mix of issue 7's load test: 40% payments, 25%
// inventory, 20% leads, 15% relay, each event subscribed by one endpoint,
// 2 KB bodies, queues busy enough that batches are full.
func Typical() Inputs {
	// Send rounds are upper bounds: each record's outbox, then the forward
	// (payments: the payment, the subscription, the forward; relay: the
	// chat, the Trello tasks, the forward).
	mix := []Class{
		processor("payments", 0.40, 2, 3), // the payment, then the customer's subscription
		processor("inventory", 0.25, 1, 2),
		processor("leads", 0.20, 1, 2),
		processor("relay", 0.15, 0.33, 3), // a chat record for a third of relay events
	}
	notes := 0.0
	for _, c := range mix {
		notes += c.Share * c.Notifications
	}
	delivererWrites, _ := writesOf(measuredClass("deliverer"))
	return Inputs{
		Prices:   ListPrices,
		Mix:      mix,
		MemoryMB: 256,
		Batch:    10,
		Ingest:   FunctionTime{PerMessageMS: measWarmIngestMS + measIngestCPUMS + estSQSSendMS, Source: "RIE warm + SDK bench CPU + SendMessage estimate"},
		// The processors' per-message time is per class (estimated store and
		// queue calls); the dynalite benchmark (3.2–8.6 ms per message)
		// measures less because its notifications go to an in-memory sink
		// and the emulator is on loopback.
		// Parallel: the processors handle up to process.Parallelism (10)
		// messages of a batch at once (TestParallelMatchesTheCode).
		Processor: FunctionTime{PerInvocationMS: measWarmProcessorMS, Parallel: 10},
		// The fan-out sends its batch's deliveries in one SendMessageBatch.
		FanOut:       FunctionTime{PerInvocationMS: measWarmFanOutMS + estSQSSendMS},
		BatchedSends: true,
		// The deliverer sends every delivery of a batch at once
		// (notify.DeliverHandler.HandleBatch; copies of one delivery in
		// turn), so an invocation lasts about one delivery, not ten.
		Deliverer: FunctionTime{PerInvocationMS: measWarmDelivererMS, PerMessageMS: storeMS(3) + estEndpointMS, Parallel: 10},
		// One delivery per webhook on average (issue 7: each webhook
		// subscribed by one endpoint), however many events it emits.
		EndpointsPerEvent:        1 / notes,
		DelivererConsistentReads: 1, // Delivered: GetItem of the marker
		DelivererWrites:          delivererWrites,
		EnvelopeKB:               measEnvelopeBytes / 1024.0,
		NotificationKB:           1.5,
		DeliveryKB:               2,
		OutboundKB:               2.5,
		IngestLogBytes:           MeasuredIngestLogBytes,
		FanOutLogBytes:           measuredClass("fanout").LogBytes / notes, // measured per webhook
		DelivererLogBytes:        measuredClass("deliverer").LogBytes,
		PlatformLogBytes:         400,
		LogRetentionMonths:       1, // infra default logRetentionDays 30
		ClaimCheckShare:          0.001,
		ClaimCheckKB:             300,
		ClaimRetainMonths:        1,
		SecretCallsPerMonth:      2 * 3 * 8640, // 2 warm ingest environments × 3 providers × one call per 5 min
		ReferenceWebhooksMonth:   1e6,
		Secrets:                  3,
		// Ingest: 3 metrics × (3 providers + "unknown"); processors: 2 × 4;
		// deliverer: 3.
		CustomMetrics: 3*4 + 2*4 + 3,
		// A DLQ alarm and an oldest-message alarm per queue (6), errors and
		// throttles per function (7), the API's 5xx rate (a metric-math alarm
		// on 2 metrics).
		AlarmMetrics: 6 + 6 + 7*2 + 2,
		// 6 event source mappings × 5 pollers × 3 long polls (20 s) a minute × 43,200 minutes.
		IdleReceivesPerMonth: 6 * 5 * 3 * 43200,
	}
}

// provisionedUtilisation is the average share of provisioned DynamoDB
// capacity actually used under auto scaling (infra's
// ProvisionedTargetUtilization, 70%): the price per request unit is the capacity-hour price
// over the requests that hour could serve at that share.
const provisionedUtilisation = 0.70

// Variant is a what-if on the typical inputs.
type Variant struct {
	Name  string
	Apply func(*Inputs)
}

// Variants are the what-ifs the report prices.
var Variants = []Variant{
	{"typical (as above)", func(*Inputs) {}},
	{"DynamoDB at the pre-November-2024 on-demand prices", func(in *Inputs) {
		in.Prices.DynamoPerWRU, in.Prices.DynamoPerRRU = in.Prices.DynamoPreNov2024PerWRU, in.Prices.DynamoPreNov2024PerRRU
	}},
	{"Lambda function URL instead of API Gateway (no per-request fee)", func(in *Inputs) { in.Prices.APIGatewayHTTPPerRequest = 0 }},
	{"quiet queues: one message per batch", func(in *Inputs) { in.Batch = 1 }},
	{"two endpoints per event", func(in *Inputs) { in.EndpointsPerEvent *= 2 }},
	{"dense gsi1: every item indexed (before dynamostore.ListKinds)", func(in *Inputs) {
		dense := func(ws []Write) []Write {
			ws = append([]Write(nil), ws...)
			for j := range ws {
				ws[j].GSI = true
				if ws[j].Count > 0 {
					ws[j].IndexWRU = ws[j].TableWRU
				}
			}
			return ws
		}
		for i := range in.Mix {
			in.Mix[i].Writes = dense(in.Mix[i].Writes)
		}
		in.DelivererWrites = dense(in.DelivererWrites)
	}},
	{"DynamoDB provisioned capacity at 70% average utilisation (-c tableCapacity=provisioned; steady traffic)", provisioned},
	{"Lambda platform log lines off (-c lambdaSystemLogLevel=WARN: no START/END/REPORT)", noPlatformLogs},
	{"replay archive off (HOOKSTACK_ARCHIVE_TTL=0)", noArchive},
	{"all three switches above (provisioned capacity, platform log lines off, archive off)", func(in *Inputs) {
		provisioned(in)
		noPlatformLogs(in)
		noArchive(in)
	}},
}

// provisioned prices the table on provisioned capacity (steady traffic).
func provisioned(in *Inputs) {
	in.Prices.DynamoPerWRU = in.Prices.DynamoProvisionedPerWCUHour / 3600 / provisionedUtilisation
	in.Prices.DynamoPerRRU = in.Prices.DynamoProvisionedPerRCUHour / 3600 / provisionedUtilisation
}

// noPlatformLogs drops Lambda's START/END/REPORT lines.
func noPlatformLogs(in *Inputs) { in.PlatformLogBytes = 0 }

// noArchive drops the replay archive's writes.
func noArchive(in *Inputs) {
	for i := range in.Mix {
		var ws []Write
		for _, w := range in.Mix[i].Writes {
			if w.Kind != "archive" && w.Kind != "archive-event" {
				ws = append(ws, w)
			}
		}
		in.Mix[i].Writes = ws
	}
}
