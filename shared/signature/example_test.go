package signature_test

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/hookstack/hookstack/shared/signature"
)

func ExampleFor() {
	verifier, signer, ok := signature.For("github", signature.Options{})
	if !ok {
		panic("unknown provider")
	}
	now := time.Now()
	r := &signature.Request{Method: "POST", Header: http.Header{}, Body: []byte(`{"zen":"Keep it logically awesome."}`)}
	_ = signer.Sign(r, "new-secret", now)

	// Secrets newest first: during a rotation both are active.
	fmt.Println(verifier.Verify(r, []string{"newer-secret", "new-secret"}, now))

	r.Body = []byte(`{"zen":"tampered"}`)
	err := verifier.Verify(r, []string{"new-secret"}, now)
	fmt.Println(errors.Is(err, signature.ErrInvalid), errors.Is(err, signature.ErrMismatch))
	// Output:
	// <nil>
	// true true
}
