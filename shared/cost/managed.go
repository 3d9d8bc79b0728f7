package cost

// ManagedPlan is a managed webhook service's published plan price.
//
// Prices cannot be fetched from here (no network): these were taken from
// the vendors' public pricing pages as known at the date in AsOf, from
// memory of those pages, and are likely to have changed since. Only the
// figures the author was confident about are included; per-message overage
// rates and included message volumes were left out because they were not
// known with confidence, so a plan's monthly fee is only a lower bound of
// what a volume above the vendor's free tier costs there. Convoy Cloud's
// plans were left out altogether for the same reason. Re-check every figure
// against the page before quoting it.
type ManagedPlan struct {
	Vendor     string
	Plan       string
	MonthlyUSD float64 // the plan's base fee per month
	Page       string
	AsOf       string // date of knowledge
	Note       string
}

// ManagedPlans are the comparison points for the report.
var ManagedPlans = []ManagedPlan{
	{
		Vendor: "Svix", Plan: "Professional", MonthlyUSD: 490,
		Page: "svix.com/pricing", AsOf: "2024",
		Note: "the first paid plan; the free plan's monthly message allowance is far below a million",
	},
	{
		Vendor: "Hookdeck", Plan: "Team", MonthlyUSD: 39,
		Page: "hookdeck.com/pricing", AsOf: "2024",
		Note: "base fee; usage above the plan's included events is billed on top (rate not known with confidence, left out)",
	},
	{
		Vendor: "Hookdeck", Plan: "Growth", MonthlyUSD: 499,
		Page: "hookdeck.com/pricing", AsOf: "2024",
		Note: "base fee, as above",
	},
}
