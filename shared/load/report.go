package load

import (
	"fmt"
	"runtime"
	"strings"
	"time"
)

func numCPU() int               { return runtime.NumCPU() }
func goVersion() string         { return runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH }
func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func ratio(a, b float64) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

// Markdown renders the report for BENCHMARKS.md.
func (r *Report) Markdown(command string) string {
	var b strings.Builder
	c := r.Config
	fmt.Fprintf(&b, "## Load: %d signed webhooks through `hookstack dev` at concurrency %d, faults on\n\n", c.N, c.Concurrency)
	fmt.Fprintf(&b, "Command: `%s`  \nMachine: %s  \nDate: %s  \n", command, r.Machine, time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "Mix: %d payments, %d inventory, %d leads, %d relay. Faults (`HOOKSTACK_FAULTS_DEV`): `%s`. Retry schedule `%s`; the leads endpoint fails its first %d requests.\n\n",
		r.ByFamily[FamilyPayments], r.ByFamily[FamilyInventory], r.ByFamily[FamilyLeads], r.ByFamily[FamilyRelay], c.Faults, c.RetrySchedule, c.FlakyFailures)
	b.WriteString("| target | accepted | requests | accepted/s | p50 ack | p99 ack | max |\n|---|---|---|---|---|---|---|\n")
	row := func(name string, t Throughput) {
		fmt.Fprintf(&b, "| %s | %d | %d | %.0f | %s | %s | %s |\n", name, t.Accepted, t.Requests, t.PerSecond, ms(t.P50), ms(t.P99), ms(t.Max))
	}
	row("`hookstack dev` (ingest → embedded queue, faults on)", r.Dev)
	row("bare `net/http` returning 200 (ceiling)", r.Bare)
	fmt.Fprintf(&b, "| ratio dev / bare | | | %s | %s | %s | |\n\n",
		ratio(r.Dev.PerSecond, r.Bare.PerSecond), ratio(float64(r.Dev.P50), float64(r.Bare.P50)), ratio(float64(r.Dev.P99), float64(r.Bare.P99)))
	fmt.Fprintf(&b, "Answers from the dev server: %s; %d webhooks needed a provider retry, %d never accepted. Pipeline drained %s after the last acknowledgement (%v).\n\n",
		statusLine(r.Statuses), r.Retried, r.Unaccepted, r.Drain.Round(100*time.Millisecond), map[bool]string{true: "drained", false: "NOT drained"}[r.Drained])
	b.WriteString("| endpoint | subscribed to | expected deliveries | delivered once | duplicates | unexpected | requests (5xx on purpose) |\n|---|---|---|---|---|---|---|\n")
	for _, s := range r.Sinks {
		fmt.Fprintf(&b, "| %s | `%s` | %d | %d | %d | %d | %d (%d) |\n", s.Name, strings.Join(s.Patterns, " "), s.Expected, s.Delivered, s.Duplicates, s.Unexpected, s.Calls, s.Failed)
	}
	fmt.Fprintf(&b, "\nOut of order: %d payments had their full refund sent before their success (a minute older, sent some %d payment webhooks later); %d late announcements delivered (`\"late\": true`). Payment deliveries are checked per payment by type against the pure core's events applied in event order (a late event can change the ids), the others by id.\n",
		r.RefundFirst, RefundFirstDelay, r.Late)
	fmt.Fprintf(&b, "\nRecords checked against the pure processors' state: %d. Notifications listed (newest 1000): %d, no id twice. Event log: %d requests rejected with 503 (retried by their provider), %d entries without a provider among the newest 1000.\n",
		r.RecordsChecked, r.Notifications, r.Rejected503, r.OrphanEvents)
	if len(r.FaultLog) > 0 {
		b.WriteString("\nFaults injected (dev server log):\n\n")
		for _, l := range r.FaultLog {
			fmt.Fprintf(&b, "    %s\n", l)
		}
	}
	if r.OK() {
		b.WriteString("\nInvariants: **all held** (every accepted webhook had exactly one effect; exactly one successful delivery per event and subscribed endpoint; no dead letters).\n")
	} else {
		fmt.Fprintf(&b, "\nInvariants: **%d violations**:\n\n", len(r.Violations))
		for _, v := range r.Violations {
			fmt.Fprintf(&b, "- %s\n", v)
		}
	}
	return b.String()
}

func statusLine(m map[int]int) string {
	var parts []string
	for _, code := range []int{200, 201, 202, 204, 400, 401, 403, 404, 413, 500, 502, 503, 0, -1} {
		if n := m[code]; n > 0 {
			name := fmt.Sprint(code)
			if code == 0 {
				name = "connection error"
			} else if code == -1 {
				name = "signing error"
			}
			parts = append(parts, fmt.Sprintf("%s ×%d", name, n))
		}
	}
	for code, n := range m {
		known := false
		for _, k := range []int{200, 201, 202, 204, 400, 401, 403, 404, 413, 500, 502, 503, 0, -1} {
			known = known || k == code
		}
		if !known {
			parts = append(parts, fmt.Sprintf("%d ×%d", code, n))
		}
	}
	return strings.Join(parts, ", ")
}
