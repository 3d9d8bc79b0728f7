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

	b.WriteString("Managed webhook services, published plan fees (dates of knowledge; not fetched from here — re-check):\n\n")
	b.WriteString("| vendor | plan | USD per month | page | as of | note |\n|---|---|---:|---|---|---|\n")
	for _, p := range ManagedPlans {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", p.Vendor, p.Plan, usd(p.MonthlyUSD), p.Page, p.AsOf, p.Note)
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
