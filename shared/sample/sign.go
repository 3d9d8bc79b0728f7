package sample

import (
	"fmt"
	"net/http"
	"time"

	"github.com/hookstack/hookstack/shared/signature"
)

// Sign returns the request a provider would send for s to url, signed with
// secret at now by the provider's signature.Signer. The returned request's
// URL is the one to post to: for Twilio JSON bodies the signer adds a
// bodySHA256 parameter to it. The signer may also edit the body (LiveChat
// writes secret_key into it, Salesforce the OrganizationId), so send the
// returned Body, not s.Body. s itself is not modified.
func Sign(s Sample, url, secret string, now time.Time) (*signature.Request, error) {
	_, signer, ok := signature.For(s.Provider, signature.Options{})
	if !ok {
		return nil, fmt.Errorf("sign: %w %q", ErrUnknownProvider, s.Provider)
	}
	c := s.Clone()
	r := &signature.Request{Method: http.MethodPost, URL: url, Header: c.Header, Body: c.Body}
	if err := signer.Sign(r, secret, now); err != nil {
		return nil, err
	}
	return r, nil
}
