package signature

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
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

// ErrUnusableSecret: a configured secret can never verify anything for its
// provider (CheckSecret says why).
var ErrUnusableSecret = errors.New("unusable secret")

// CheckSecret reports why secret cannot be one of provider's secrets as the
// verifier reads it, or nil. The error names the problem, never the value.
// It checks what makes a verifier skip a secret (so that every request would
// fail with ErrNoSecret): an empty value; for standard, a value that is
// neither base64 with or without "whsec_" in front (the stack generates the
// bare form) nor "whpk_" + the base64 of a 32-byte ed25519 public key;
// for salesforce, a value that is not a 15- or 18-character OrganizationId
// (an 18-character one with the right case-checksum suffix).
func CheckSecret(provider, secret string) error {
	bad := func(why string) error { return fmt.Errorf("%w: %s", ErrUnusableSecret, why) }
	if strings.TrimSpace(secret) == "" {
		return bad("empty")
	}
	switch provider {
	case "standard":
		if rest, ok := strings.CutPrefix(secret, StandardPublicKeyPrefix); ok {
			key, err := base64.StdEncoding.DecodeString(rest)
			if err != nil {
				return bad("the part after " + StandardPublicKeyPrefix + " is not base64 (standard alphabet, padded with =)")
			}
			if len(key) != ed25519.PublicKeySize {
				return bad(fmt.Sprintf("the part after %s decodes to %d bytes, an ed25519 public key has %d", StandardPublicKeyPrefix, len(key), ed25519.PublicKeySize))
			}
			return nil
		}
		if _, ok := standardKey(secret); ok {
			return nil
		}
		if strings.HasPrefix(secret, StandardSecretPrefix) {
			return bad("the part after " + StandardSecretPrefix + " is not base64 (standard alphabet, padded with = to a multiple of 4 characters)")
		}
		return bad("a Standard Webhooks secret is " + StandardSecretPrefix + " followed by base64 (or that base64 alone), or " +
			StandardPublicKeyPrefix + " followed by the base64 of an ed25519 public key; this is not base64")
	case "salesforce":
		id := strings.TrimSpace(secret)
		if len(id) != 15 && len(id) != 18 {
			return bad(fmt.Sprintf("an OrganizationId has 15 or 18 characters, this has %d", len(id)))
		}
		if _, ok := salesforceID15(id, false); !ok {
			return bad("an OrganizationId has only letters and digits")
		}
		if _, ok := salesforceID15(id, true); !ok {
			return bad("the last 3 characters of this 18-character OrganizationId do not match its first 15 (a typo, or a changed letter case?)")
		}
	default:
		if !slices.Contains(Providers, provider) {
			return fmt.Errorf("%w: unknown provider %q", ErrUnusableSecret, provider)
		}
	}
	return nil
}
