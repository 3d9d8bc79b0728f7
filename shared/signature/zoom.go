package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// Zoom signs like Slack: x-zm-signature "v0=<hex>" of "v0:{ts}:{body}" with
// x-zm-request-timestamp (unix seconds; a value of 1e12 or more is read as
// milliseconds), within the tolerance both ways. See newZoom.

// ZoomURLValidation answers Zoom's endpoint.url_validation challenge: the
// encryptedToken is the hex HMAC-SHA256 of plainToken keyed with the
// webhook secret token.
func ZoomURLValidation(plainToken, secret string) (encryptedToken string) {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(plainToken))
	return hex.EncodeToString(m.Sum(nil))
}
