package cost

import "math"

// ManagedPlan is a managed webhook service's published price: a monthly
// base fee, the messages (events) it includes, and the metered rate above
// that.
//
// Nothing can be fetched from here (no network). The figures are those the
// vendors' pricing pages showed on 2026-09-20, as transcribed verbatim
// (quoted, not derived) into the api-evangelist pricing catalogue (the
// repository and file are in Source); they are likely to change: re-check
// the vendor's page before quoting them. What a "message" or "event" is
// differs per vendor (Svix bills each message sent to its consumers' endpoints;
// Hookdeck each event it handles), so one webhook delivered to one endpoint
// counts as one of either here.
type ManagedPlan struct {
	Vendor     string
	Plan       string
	MonthlyUSD float64 // the plan's base fee per month
	// Included is the messages or events the base fee includes per month.
	Included float64
	// PerMillionUSD is the metered price per million beyond Included; a
	// negative value means a flat fee (no metering, a throughput limit
	// instead).
	PerMillionUSD float64
	Page          string // the vendor's pricing page
	Source        string // where the transcription is
	AsOf          string // the date the page was read
	Note          string
}

// Monthly is the plan's bill for n webhooks a month (NaN when the plan
// cannot take that volume at a published price).
func (p ManagedPlan) Monthly(n float64) float64 {
	if p.PerMillionUSD < 0 {
		return p.MonthlyUSD
	}
	return p.MonthlyUSD + math.Max(0, n-p.Included)*p.PerMillionUSD/1e6
}

// ManagedPlans are the comparison points for the report.
var ManagedPlans = []ManagedPlan{
	{
		Vendor: "Svix", Plan: "Professional", MonthlyUSD: 490, Included: 50_000, PerMillionUSD: 100,
		Page: "svix.com/pricing", Source: "api-evangelist/svix plans/svix-plans-pricing.yml", AsOf: "2026-09-20",
		Note: "outbound webhooks (\"$0.0001 per msg\" above the 50,000 included); the free plan has the same rate above 50k",
	},
	{
		Vendor: "Hookdeck", Plan: "Team", MonthlyUSD: 39, Included: 10_000, PerMillionUSD: 10,
		Page: "hookdeck.com/pricing", Source: "api-evangelist/hookdeck plans/hookdeck-plans-pricing.yml", AsOf: "2026-09-20",
		Note: "\"$1.00 per additional 100k\" events; the page adds \"as low as $0.33 per 100k\" at volume (not priced here)",
	},
	{
		Vendor: "Hookdeck", Plan: "Growth", MonthlyUSD: 499, Included: 10_000, PerMillionUSD: 10,
		Page: "hookdeck.com/pricing", Source: "api-evangelist/hookdeck plans/hookdeck-plans-pricing.yml", AsOf: "2026-09-20",
		Note: "SLAs, SSO; events metered as on Team",
	},
	{
		Vendor: "Convoy", Plan: "Premium (self-hosted licence)", MonthlyUSD: 999, PerMillionUSD: -1,
		Page: "getconvoy.io/pricing", Source: "api-evangelist/convoy plans/convoy-plans-pricing.yml", AsOf: "2026-09-20",
		Note: "flat fee, \"unlimited events\", plus the infrastructure you run it on (not priced); the Community edition is free; Cloud prices were not on the page's text",
	},
}
