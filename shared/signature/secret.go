package signature

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
)

// GenerateSecret returns a fresh random secret shaped the way provider's
// secrets are (for a local dev server that has none configured):
// "whsec_" + random for stripe, "whsec_" + base64 of 24 random bytes for
// standard, a random 18-character OrganizationId ("00D...") for salesforce,
// 32 random hex characters for the others.
func GenerateSecret(provider string) (string, error) {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate secret: %w", err)
	}
	switch provider {
	case "stripe":
		return "whsec_" + hex.EncodeToString(b[:16]), nil
	case "standard":
		return "whsec_" + base64.StdEncoding.EncodeToString(b[:]), nil
	case "salesforce":
		const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		id := []byte("00D")
		for _, c := range b[:12] {
			id = append(id, alnum[int(c)%len(alnum)])
		}
		suffix := salesforceSuffix(string(id))
		return string(id) + string(suffix[:]), nil
	}
	for _, p := range Providers {
		if p == provider {
			return hex.EncodeToString(b[:16]), nil
		}
	}
	return "", fmt.Errorf("generate secret: unknown provider %q", provider)
}
