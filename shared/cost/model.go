package cost

import (
	"fmt"
	"math"
	"strings"
)

// Write is one DynamoDB write a message causes. WRUs are ceil(KB) per
// write (an UpdateItem counts the larger of the before and after images),
// doubled when the item carries the gsi1 key (projection ALL: the index
// takes a write of the same size). gsi1 is sparse: only the kinds that are
// listed carry gsi1pk (endpoints, delivery attempts; the dev server's
// notifications log), so GSI is true only for the attempts in the typical mix.
//
// A measured write (Count > 0, from Measured) carries its own write units per
// message, table and index, as TestMeasureWrites billed them.
type Write struct {
	What string
	Kind string  // the store kind written ("archive", "payment", ...), when known
	KB   float64 // item size (for a measured write: the mean billed size)
	GSI  bool
	// Count is the writes per message of a measured write (0: one write of
	// KB, units computed from it); TableWRU and IndexWRU its measured units
	// per message.
	Count    float64
	TableWRU float64
	IndexWRU float64
	// RetainMonths is how long the item stays (its TTL) when every webhook
	// adds one; 0 for entity records, which are overwritten in place and are
	// the product's data rather than a cost of the pipeline.
	RetainMonths float64
}

// StoredKBMonths is the storage w occupies (table and index copies).
func (w Write) StoredKBMonths() float64 {
	kb := w.KB
	if w.Count > 0 {
		kb *= w.Count
	}
	if w.GSI {
		kb *= 2
	}
	return kb * w.RetainMonths
}

// WRU is the write request units of w.
func (w Write) WRU() float64 {
	if w.Count > 0 {
		return w.TableWRU + w.IndexWRU
	}
	n := math.Ceil(w.KB)
	if n < 1 {
		n = 1
	}
	if w.GSI {
		n *= 2
	}
	return n
}

// Class is one kind of webhook in the typical mix.
type Class struct {
	Name  string
	Share float64 // of all webhooks; the shares sum to 1
	// Processor work per message.
	ProcessorMS     float64 // billed duration per message
	ConsistentReads float64 // GetItem, strongly consistent, item ≤ 4 KB: 1 RRU each
	Writes          []Write
	Notifications   float64 // events emitted to the notifications queue per message
	// LogBytes is the processor's log bytes per webhook of the class.
	LogBytes float64
	// SendRounds is how many times in turn a message waits for its sends
	// (each record's outbox, then the raw forward): with BatchedSends, each
	// round of an invocation is one SendMessageBatch at least.
	SendRounds float64
}

// FunctionTime is a function's billed time: a fixed part per invocation
// and a part per message (or per webhook for ingest). Lambda bills an
// invocation's wall-clock time, so messages handled at once (Parallel > 1)
// cost their per-message time once per round of Parallel messages, not
// once each.
type FunctionTime struct {
	PerInvocationMS float64
	PerMessageMS    float64
	// Parallel is how many messages of a batch the function handles at
	// once; 0 or 1: one after the other.
	Parallel int
	Source   string
}

// invocationMS is the billed time of one invocation handling n messages,
// each taking perMessageMS.
func (t FunctionTime) invocationMS(n, perMessageMS float64) float64 {
	rounds := n
	if t.Parallel > 1 {
		rounds = math.Ceil(n / float64(t.Parallel))
	}
	return t.PerInvocationMS + rounds*perMessageMS
}

// Inputs are the model's inputs. Typical() documents each default.
type Inputs struct {
	Prices AWSPrices
	Mix    []Class

	MemoryMB float64 // every function (infra: 256 MB, arm64)
	// Batch is the average number of messages per SQS receive, Lambda
	// invocation and DeleteMessageBatch (the event source mappings take up
	// to 10, with a 1 s batching window).
	Batch float64

	Ingest    FunctionTime
	Processor FunctionTime // PerInvocationMS only: per-message time is per class
	FanOut    FunctionTime
	Deliverer FunctionTime

	// BatchedSends: the processors and the fan-out send with
	// SendMessageBatch — a processor invocation's messages together, round
	// by round (process.groupCommit), the fan-out's whole batch at once —
	// instead of one SendMessage per message. A request carries at most 10
	// entries and is billed per 64 KB of payload. Ingest sends one message
	// per webhook either way.
	BatchedSends bool

	EndpointsPerEvent float64 // deliveries per notification
	// Deliverer store work per delivery.
	DelivererConsistentReads float64
	DelivererWrites          []Write

	// Sizes.
	EnvelopeKB     float64 // SQS message ingest → processor
	NotificationKB float64 // SQS message processor → fan-out
	DeliveryKB     float64 // SQS message fan-out → deliverer
	OutboundKB     float64 // HTTP request to an endpoint (body + headers)

	// Logs: bytes per line and lines per unit.
	IngestLogBytes         float64 // per webhook
	FanOutLogBytes         float64 // per notification message
	DelivererLogBytes      float64 // per delivery
	PlatformLogBytes       float64 // Lambda's START, END and REPORT lines of one invocation
	LogRetentionMonths     float64 // archived log storage kept at steady state
	ClaimCheckShare        float64 // webhooks whose body goes to S3
	ClaimCheckKB           float64
	ClaimRetainMonths      float64 // the claim bucket's lifecycle expiry
	SecretCallsPerMonth    float64 // GetSecretValue calls (5-min cache per environment and provider)
	ReferenceWebhooksMonth float64 // the monthly volume SecretCallsPerMonth is spread over

	// Fixed monthly resources.
	Secrets       float64
	CustomMetrics float64
	AlarmMetrics  float64
	// IdleReceivesPerMonth are the event source mappings' long polls when the
	// queues are empty (counted in full on top of the receives that return
	// messages: an upper bound).
	IdleReceivesPerMonth float64
}

// Line is one row of a breakdown.
type Line struct {
	Service  string
	Item     string
	Quantity float64 // per million webhooks (or per month for fixed lines)
	Unit     string
	USD      float64
}

// Result is the cost per million webhooks (Variable) and per month (Fixed).
type Result struct {
	Variable []Line
	Fixed    []Line
}

// Sum adds up lines.
func Sum(lines []Line) float64 {
	t := 0.0
	for _, l := range lines {
		t += l.USD
	}
	return t
}

// ByService adds up lines per service, in first-seen order.
func ByService(lines []Line) []Line {
	var out []Line
	idx := map[string]int{}
	for _, l := range lines {
		i, ok := idx[l.Service]
		if !ok {
			idx[l.Service] = len(out)
			out = append(out, Line{Service: l.Service})
			i = len(out) - 1
		}
		out[i].USD += l.USD
	}
	return out
}

// AllIn is the cost per million webhooks including the fixed monthly costs
// spread over monthly webhooks.
func (r Result) AllIn(monthly float64) float64 {
	return Sum(r.Variable) + Sum(r.Fixed)*1e6/monthly
}

// Validate rejects inputs the model cannot price.
func (in Inputs) Validate() error {
	share := 0.0
	for _, c := range in.Mix {
		if c.Share < 0 {
			return fmt.Errorf("cost: class %s: negative share", c.Name)
		}
		share += c.Share
	}
	switch {
	case math.Abs(share-1) > 1e-9:
		return fmt.Errorf("cost: mix shares sum to %.4f, want 1", share)
	case in.Batch < 1 || in.Batch > 10:
		return fmt.Errorf("cost: batch %.1f outside 1..10", in.Batch)
	case in.MemoryMB <= 0:
		return fmt.Errorf("cost: memory %.0f MB", in.MemoryMB)
	case in.ReferenceWebhooksMonth <= 0:
		return fmt.Errorf("cost: reference volume %.0f", in.ReferenceWebhooksMonth)
	}
	return nil
}

// sqsRequests is the requests one message of kb costs per send (64 KB chunks).
func sqsRequests(kb float64) float64 { return math.Max(1, math.Ceil(kb/64)) }

// batchRequests is the SQS requests of one invocation that sends entries
// messages of kb each with SendMessageBatch in rounds turns: per round, one
// request per 10 entries and per 64 KB of payload, at least one — but a
// round with nothing to send costs nothing, so an invocation averaging
// fewer entries than rounds pays about one request per entry.
func batchRequests(entries, rounds, kb float64) float64 {
	if entries <= 0 {
		return 0
	}
	turns := math.Min(entries, math.Max(rounds, 1))
	per := entries / turns
	return turns * math.Max(math.Ceil(per/10), math.Ceil(per*kb/64))
}

// Compute prices one million webhooks of the mix.
func Compute(in Inputs) (Result, error) {
	if err := in.Validate(); err != nil {
		return Result{}, err
	}
	const M = 1e6
	p := in.Prices
	gb := in.MemoryMB / 1024
	var r Result
	add := func(service, item string, qty float64, unit string, usd float64) {
		r.Variable = append(r.Variable, Line{service, item, qty, unit, usd})
	}

	// Weighted processor figures.
	var procMS, rru, wru, notes, storedKB float64
	for _, c := range in.Mix {
		procMS += c.Share * c.ProcessorMS
		rru += c.Share * c.ConsistentReads
		for _, w := range c.Writes {
			wru += c.Share * w.WRU()
			storedKB += c.Share * w.StoredKBMonths()
		}
		notes += c.Share * c.Notifications
	}
	deliveries := notes * in.EndpointsPerEvent
	for _, w := range in.DelivererWrites {
		wru += deliveries * w.WRU()
		storedKB += deliveries * w.StoredKBMonths()
	}
	rru += deliveries * in.DelivererConsistentReads

	add("API Gateway", "HTTP API requests", M, "requests", M*p.APIGatewayHTTPPerRequest)

	// Lambda.
	invIngest := M
	invProc := M / in.Batch
	invFan := M * notes / in.Batch
	invDel := M * deliveries / in.Batch
	inv := invIngest + invProc + invFan + invDel
	add("Lambda", "invocations (ingest 1 per webhook; consumers 1 per batch)", inv, "requests", inv*p.LambdaPerRequest)
	secs := func(invocations, perInvocation float64, t FunctionTime, perMessageMS float64) float64 {
		return invocations * t.invocationMS(perInvocation, perMessageMS) / 1000
	}
	ingestS := secs(invIngest, 1, in.Ingest, in.Ingest.PerMessageMS)
	procS := secs(invProc, in.Batch, in.Processor, procMS)
	fanS := secs(invFan, in.Batch, in.FanOut, in.FanOut.PerMessageMS)
	delS := secs(invDel, in.Batch, in.Deliverer, in.Deliverer.PerMessageMS)
	for _, f := range []struct {
		name string
		s    float64
	}{{"ingest", ingestS}, {"processors", procS}, {"fan-out", fanS}, {"deliverer", delS}} {
		add("Lambda", "duration, "+f.name+" (arm64, "+trimFloat(in.MemoryMB)+" MB)", f.s*gb, "GB-s", f.s*gb*p.LambdaARMPerGBSecond)
	}

	// SQS: ingest sends a message per webhook; the processors and the
	// fan-out a message per notification and delivery, or with BatchedSends
	// a SendMessageBatch per round of an invocation; a receive and a
	// DeleteMessageBatch per batch.
	if in.BatchedSends {
		sends := M * sqsRequests(in.EnvelopeKB)
		add("SQS", "SendMessage (ingest, 1 per webhook)", sends, "requests", sends*p.SQSPerRequest)
		batched := invFan * batchRequests(in.Batch*in.EndpointsPerEvent, 1, in.DeliveryKB)
		for _, c := range in.Mix {
			batched += M * c.Share / in.Batch * batchRequests(in.Batch*c.Notifications, c.SendRounds, in.NotificationKB)
		}
		add("SQS", "SendMessageBatch (processors per send round, fan-out per batch; 10 entries, 64 KB a request)",
			batched, "requests", batched*p.SQSPerRequest)
	} else {
		sends := M*sqsRequests(in.EnvelopeKB) + M*notes*sqsRequests(in.NotificationKB) + M*deliveries*sqsRequests(in.DeliveryKB)
		add("SQS", "SendMessage (ingest, processor, fan-out)", sends, "requests", sends*p.SQSPerRequest)
	}
	batches := invProc + invFan + invDel
	add("SQS", "ReceiveMessage (1 per batch)", batches, "requests", batches*p.SQSPerRequest)
	add("SQS", "DeleteMessageBatch (1 per batch)", batches, "requests", batches*p.SQSPerRequest)

	// DynamoDB.
	add("DynamoDB", "write request units (table + gsi1)", M*wru, "WRU", M*wru*p.DynamoPerWRU)
	add("DynamoDB", "read request units (consistent GetItem)", M*rru, "RRU", M*rru*p.DynamoPerRRU)
	storedGBMonths := M * storedKB / (1 << 20)
	add("DynamoDB", "storage of TTL'd items until they expire (table + gsi1)", storedGBMonths, "GB-month",
		storedGBMonths*p.DynamoStoragePerGBMonth)

	// CloudWatch Logs: the functions' own lines (per class for the
	// processors), plus Lambda's own lines per invocation.
	appLog := in.IngestLogBytes + notes*in.FanOutLogBytes + deliveries*in.DelivererLogBytes
	for _, c := range in.Mix {
		appLog += c.Share * c.LogBytes
	}
	logBytes := M*appLog + inv*in.PlatformLogBytes
	logGB := logBytes / (1 << 30)
	add("CloudWatch Logs", "ingestion (app lines + START/END/REPORT)", logGB, "GB", logGB*p.LogsIngestPerGB)
	add("CloudWatch Logs", fmt.Sprintf("archive (%s month retention, before compression)", trimFloat(in.LogRetentionMonths)),
		logGB*in.LogRetentionMonths, "GB-month", logGB*in.LogRetentionMonths*p.LogsStoragePerGBMonth)

	// Secrets Manager calls, spread over the reference volume.
	calls := in.SecretCallsPerMonth * M / in.ReferenceWebhooksMonth
	add("Secrets Manager", "GetSecretValue (5-min cache)", calls, "calls", calls*p.SecretsPerAPICall)

	// S3 claim checks.
	cc := M * in.ClaimCheckShare
	add("S3", "claim-check PUT + GET + storage", cc, "bodies", cc*(p.S3PutPerRequest+p.S3GetPerRequest)+
		cc*in.ClaimCheckKB/(1<<20)*in.ClaimRetainMonths*p.S3StoragePerGBMonth)

	// Egress of deliveries.
	outGB := M * deliveries * in.OutboundKB / (1 << 20)
	add("Data transfer", "deliveries to the Internet", outGB, "GB", outGB*p.DataTransferOutPerGB)

	// Fixed monthly.
	r.Fixed = []Line{
		{"Secrets Manager", "secrets (one per enabled provider)", in.Secrets, "secret-months", in.Secrets * p.SecretPerMonth},
		{"CloudWatch", "custom metrics (EMF)", in.CustomMetrics, "metric-months", in.CustomMetrics * p.CustomMetricPerMonth},
		{"CloudWatch", "alarms", in.AlarmMetrics, "alarm metric-months", in.AlarmMetrics * p.AlarmPerMetricPerMonth},
		{"SQS", "idle long polls of the event source mappings", in.IdleReceivesPerMonth, "requests", in.IdleReceivesPerMonth * p.SQSPerRequest},
	}
	return r, nil
}

func trimFloat(f float64) string {
	s := fmt.Sprintf("%.2f", f)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}
