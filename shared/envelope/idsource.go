package envelope

// UnsignedEventID reports whether provider's event id comes from a request
// header that its signature does not cover: github (X-GitHub-Delivery) and
// shopify (X-Shopify-Event-Id, X-Shopify-Webhook-Id) sign the body only, and
// with no timestamp. Anyone holding one signed request can send it again
// with a fresh id header, and it verifies; whatever must happen once per
// event for these providers is keyed by BodyHash of the signed body instead
// (domain.Raw does so for raw forwards). Every other provider's id is in the
// signed body, is a signed header (standard's webhook-id), or is BodyHash
// already.
func UnsignedEventID(provider string) bool {
	return provider == ProviderGitHub || provider == ProviderShopify
}
