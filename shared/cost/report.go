package cost

import (
	"fmt"
	"strings"
)

// Volumes are the monthly volumes the all-in figure is given at.
var Volumes = []float64{1e6, 10e6, 100e6}

// Report renders the model for in as Markdown: the per-million breakdown,
// the per-service subtotals, the fixed monthly costs, the all-in cost at
// several volumes against Target, the what-ifs and the managed plans.
func Report(in Inputs) (string, error) {
	r, err := Compute(in)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	total := Sum(r.Variable)

	b.WriteString("Cost per million webhooks, typical mix, us-east-1 list prices:\n\n")
	b.WriteString("| service | item | quantity per million webhooks | USD |\n|---|---|---:|---:|\n")
	for _, l := range r.Variable {
		fmt.Fprintf(&b, "| %s | %s | %s %s | %s |\n", l.Service, l.Item, qty(l.Quantity), l.Unit, usd(l.USD))
	}
	fmt.Fprintf(&b, "| **total** | | | **%s** |\n\n", usd(total))

	b.WriteString("By service:\n\n| service | USD per million | share |\n|---|---:|---:|\n")
	for _, l := range ByService(r.Variable) {
		fmt.Fprintf(&b, "| %s | %s | %.0f%% |\n", l.Service, usd(l.USD), 100*l.USD/total)
	}
	b.WriteString("\n")

	fixed := Sum(r.Fixed)
	b.WriteString("Fixed per month, whatever the volume:\n\n| service | item | quantity | USD per month |\n|---|---|---:|---:|\n")
	for _, l := range r.Fixed {
		fmt.Fprintf(&b, "| %s | %s | %s %s | %s |\n", l.Service, l.Item, qty(l.Quantity), l.Unit, usd(l.USD))
	}
	fmt.Fprintf(&b, "| **total** | | | **%s** |\n\n", usd(fixed))

	fmt.Fprintf(&b, "All-in per million webhooks (target ≤ %s):\n\n| webhooks per month | USD per million, all-in | meets the target |\n|---:|---:|---|\n", usd(Target))
	for _, v := range Volumes {
		a := r.AllIn(v)
		fmt.Fprintf(&b, "| %s | %s | %s |\n", qty(v), usd(a), yesNo(a <= Target))
	}
	b.WriteString("\n")

	b.WriteString("What-ifs (variable cost per million webhooks):\n\n| variant | USD per million | DynamoDB part |\n|---|---:|---:|\n")
	for _, v := range Variants {
		vin := in.clone() // a shallow copy would let one variant's edits leak into the next
		v.Apply(&vin)
		vr, err := Compute(vin)
		if err != nil {
			return "", fmt.Errorf("variant %q: %w", v.Name, err)
		}
		dynamo := 0.0
		for _, l := range ByService(vr.Variable) {
			if l.Service == "DynamoDB" {
				dynamo = l.USD
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", v.Name, usd(Sum(vr.Variable)), usd(dynamo))
	}
	b.WriteString("\n")

	writeAssumptions(&b, in, r)

	b.WriteString("The same volumes on managed webhook services, at their published prices (USD per million webhooks, " +
		"all-in; each webhook one message or event; read from the vendors' pages on the date given, not fetched from here — re-check):\n\n")
	b.WriteString("| vendor | plan | base per month | included | beyond, per million |")
	for _, v := range Volumes {
		fmt.Fprintf(&b, " %s a month |", qty(v))
	}
	b.WriteString(" page (as of) | note |\n|---|---|---:|---:|---:|")
	for range Volumes {
		b.WriteString("---:|")
	}
	b.WriteString("---|---|\n")
	fmt.Fprintf(&b, "| **Hookstack** (this model) | on your AWS account | %s | — | %s |", usd(Sum(r.Fixed)), usd(total))
	for _, v := range Volumes {
		fmt.Fprintf(&b, " %s |", usd(r.AllIn(v)))
	}
	b.WriteString(" list prices below | fixed monthly costs + the variable cost above |\n")
	for _, p := range ManagedPlans {
		rate, included := "flat", "—"
		if p.PerMillionUSD >= 0 {
			rate, included = usd(p.PerMillionUSD), qty(p.Included)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |", p.Vendor, p.Plan, usd(p.MonthlyUSD), included, rate)
		for _, v := range Volumes {
			fmt.Fprintf(&b, " %s |", usd(p.Monthly(v)/v*1e6))
		}
		fmt.Fprintf(&b, " %s (%s; transcribed in %s) | %s |\n", p.Page, p.AsOf, p.Source, p.Note)
	}
	b.WriteString("\nAWS prices used:\n\n| service | figure | page | as of |\n|---|---|---|---|\n")
	for _, s := range Sources {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", s.Service, s.Figure, s.Page, s.AsOf)
	}
	return b.String(), nil
}

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "no"
}

func usd(v float64) string {
	switch {
	case v == 0:
		return "$0"
	case v < 0.01:
		return fmt.Sprintf("$%.4f", v)
	default:
		return fmt.Sprintf("$%.2f", v)
	}
}

// qty prints a quantity with thousands separators, or with decimals below 100.
func qty(v float64) string {
	if v < 100 {
		return trimFloat(v)
	}
	s := fmt.Sprintf("%.0f", v)
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// clone copies in with its own Mix, classes' Writes and DelivererWrites, so
// a Variant may edit them in place.
func (in Inputs) clone() Inputs {
	out := in
	out.Mix = make([]Class, len(in.Mix))
	for i, c := range in.Mix {
		c.Writes = append([]Write(nil), c.Writes...)
		out.Mix[i] = c
	}
	out.DelivererWrites = append([]Write(nil), in.DelivererWrites...)
	return out
}

// Floor is what the product's fixed shape costs per webhook before any
// processing, logging or storage: the API Gateway request, the ingest
// function's invocation and its one SendMessage.
func Floor(p AWSPrices) float64 {
	return 1e6 * (p.APIGatewayHTTPPerRequest + p.LambdaPerRequest + p.SQSPerRequest)
}

// writeAssumptions renders the inputs behind the figures and the verdict,
// every number taken from in and r so that the text cannot go stale.
func writeAssumptions(b *strings.Builder, in Inputs, r Result) {
	total := Sum(r.Variable)
	notes, wru := 0.0, 0.0
	b.WriteString("How the figures are made (every input is in `shared/cost/typical.go`):\n\n")
	b.WriteString("- **DynamoDB writes are measured**, per class, by `TestMeasureWrites` (`shared/cost/measure_test.go`, " +
		"under `.ci/with-emulators`): webhooks of the typical mix through the real ingest handler, processors, fan-out " +
		"and deliverer against dynalite, wired as the Lambdas wire them, with an SDK middleware billing every PutItem " +
		"and UpdateItem as DynamoDB does (the larger image in whole KB, failed conditions included, plus an index " +
		"write for items with the gsi1 keys). The figures are committed in `measured.go`, and the test fails when the " +
		"code's writes drift from them. Write units per webhook:")
	for i, c := range in.Mix {
		cw := 0.0
		for _, w := range c.Writes {
			cw += w.WRU()
		}
		wru += c.Share * cw
		notes += c.Share * c.Notifications
		sep := ","
		if i == 0 {
			sep = ""
		}
		fmt.Fprintf(b, "%s %s %.2f (%.0f%% of the mix, %.2f notifications each)", sep, c.Name, cw, 100*c.Share, c.Notifications)
	}
	dw := 0.0
	for _, w := range in.DelivererWrites {
		dw += w.WRU()
	}
	fmt.Fprintf(b, "; the deliverer %.2f per delivery. Mix: %.2f processor write units and %.2f notifications per webhook.\n", dw, wru, notes)
	fmt.Fprintf(b, "- **Deliveries**: %.2f per webhook (each webhook subscribed by one endpoint on average), %.1f KB each "+
		"to the Internet; the subscriber's endpoint is assumed to answer in %.0f ms.\n", in.EndpointsPerEvent*notes, in.OutboundKB, estEndpointMS)
	fmt.Fprintf(b, "- **Functions**: %.0f MB, arm64; batches of %.0f messages (the \"quiet queues\" what-if prices one). "+
		"Ingest: %.2f ms per webhook (the warm invocation under the emulator, the measured handler CPU and an "+
		"**estimated** %.0f ms SendMessage round trip); processors and fan-out: **estimated** %.0f ms per DynamoDB call "+
		"and %.0f ms per send; the deliverer: the same per DynamoDB call and **%.0f ms** for the subscriber's answer. "+
		"Lambda bills wall-clock time, and the processors (%d at once) and the deliverer (%d at once) handle a batch's "+
		"messages concurrently, so an invocation costs about one message's time per round, not the sum. "+
		"Lambda duration is a small share of the bill, so these estimates barely move it.\n",
		in.MemoryMB, in.Batch, in.Ingest.PerMessageMS, estSQSSendMS, estDynamoMS, estSQSSendMS, estEndpointMS,
		in.Processor.Parallel, in.Deliverer.Parallel)
	if in.BatchedSends {
		b.WriteString("- **SQS**: ingest sends one message per webhook; the processors and the fan-out send with " +
			"SendMessageBatch (up to 10 entries per request, billed per 64 KB); a ReceiveMessage and a DeleteMessageBatch " +
			"per batch; the event source mappings' idle long polls are a fixed monthly cost, counted in full (an upper bound).\n")
	}
	fmt.Fprintf(b, "- **Logs** (measured by the same test, each function logging as in Lambda, with the requestId "+
		"Lambda's handler adds): ingest %.0f bytes per webhook (its line with EMF metrics), the processors",
		in.IngestLogBytes)
	for i, c := range in.Mix {
		sep := ","
		if i == 0 {
			sep = ""
		}
		fmt.Fprintf(b, "%s %s %.0f", sep, c.Name, c.LogBytes)
	}
	fmt.Fprintf(b, " per webhook, the fan-out %.0f per notification (it logs failures only), the deliverer %.0f "+
		"per delivery; **%.0f bytes estimated** of START/END/REPORT per invocation; %s month retention.\n",
		in.FanOutLogBytes, in.DelivererLogBytes, in.PlatformLogBytes, trimFloat(in.LogRetentionMonths))
	b.WriteString("- Free tiers are not counted (they only lower the bill). Prices are the list prices below, as known " +
		"at the dates given: nothing can be fetched from here, so re-check them before quoting.\n\n")

	floor := Floor(in.Prices)
	verdict := "does not meet"
	if total <= Target {
		verdict = "meets"
	}
	fmt.Fprintf(b, "**Verdict: the model %s the ≤ %s per million target: %s per million webhooks variable, %s all-in at "+
		"%s webhooks a month.** The product's fixed shape alone — an API Gateway request, the ingest invocation and "+
		"its SendMessage — costs %s per million before anything is processed, logged or stored, so the target leaves "+
		"%s for three processing hops, the synced records, the delivery, the delivery log, the replay archive and the "+
		"logs; the what-ifs above show which levers are left (provisioned capacity for steady traffic, the archive, "+
		"the platform log lines, a function URL if API Gateway's features are not needed).\n\n",
		verdict, usd(Target), usd(total), usd(r.AllIn(Volumes[len(Volumes)-1])), qty(Volumes[len(Volumes)-1]),
		usd(floor), usd(Target-floor))

	// Against the managed services, at the middle volume.
	v := Volumes[len(Volumes)/2]
	var lo, hi *ManagedPlan
	for i := range ManagedPlans {
		p := &ManagedPlans[i]
		if p.PerMillionUSD < 0 {
			continue // flat licences exclude the infrastructure they run on
		}
		if lo == nil || p.Monthly(v) < lo.Monthly(v) {
			lo = p
		}
		if hi == nil || p.Monthly(v) > hi.Monthly(v) {
			hi = p
		}
	}
	if lo != nil {
		fmt.Fprintf(b, "Against the managed services (table below), at %s webhooks a month: Hookstack %s per million all-in, "+
			"the metered plans from %s (%s %s) to %s (%s %s) at their list rates; volume discounts (Hookdeck's page "+
			"quotes a lower rate at volume) can make a managed plan the cheaper one at high volume.\n\n",
			qty(v), usd(r.AllIn(v)), usd(lo.Monthly(v)/v*1e6), lo.Vendor, lo.Plan, usd(hi.Monthly(v)/v*1e6), hi.Vendor, hi.Plan)
	}
}
