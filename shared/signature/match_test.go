package signature

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

// verifyOnly hides a scheme's Match, to exercise the generic fallback.
type verifyOnly struct{ v Verifier }

func (o verifyOnly) Verify(r *Request, secrets []string, now time.Time) error {
	return o.v.Verify(r, secrets, now)
}

// TestMatchReportsSecret: every scheme tells which of the active secrets
// verified the request (the Zoom handshake answers with it), and the generic
// Match fallback agrees.
func TestMatchReportsSecret(t *testing.T) {
	now := time.Unix(1724762412, 0)
	for _, f := range fixtures(t) {
		t.Run(f.provider, func(t *testing.T) {
			s := mustScheme(t, f.provider)
			if _, ok := Verifier(s).(Matcher); !ok {
				t.Fatalf("%s does not implement Matcher", f.provider)
			}
			r := f.request()
			if err := s.Sign(r, f.secret, now); err != nil {
				t.Fatal(err)
			}
			tests := []struct {
				name    string
				secrets []string
				want    int
			}{
				{"only", []string{f.secret}, 0},
				{"newest", []string{f.secret, f.other}, 0},
				{"older", []string{f.other, f.secret}, 1},
				{"after an empty entry", []string{"", f.other, f.secret}, 2},
				{"none", []string{f.other}, -1},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					for name, v := range map[string]Verifier{"native": s, "fallback": verifyOnly{s}} {
						got, err := Match(v, r, tt.secrets, now)
						if got != tt.want || (err == nil) != (tt.want >= 0) {
							t.Errorf("%s: Match = %d, %v; want %d", name, got, err, tt.want)
						}
					}
				})
			}
		})
	}
}

// Standard Webhooks v1a (ed25519) vector: the key pair is
// ed25519.NewKeyFromSeed(bytes 1..32); the signature was computed once with
// Go's crypto/ed25519 and checked with Python's cryptography package
// (Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33))).sign(...)).
const (
	v1aPublicKey = "whpk_ebVWLo/mVPlAeLES6KmLp5AfhTrmlb7X4OORC60ElmQ="
	v1aSignature = "v1a,OVJuLC0iOuaBuQulpz9A/zDgvqV8z8miLUJk2j15ZMONwDNhOvPJ3rO4owAHFyjFq80+pUUjrNfTHAZs1RQnDw=="
	// the official v1 vector's secret and signature (vectors_test.go)
	v1Secret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	v1Signature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestStandardV1a(t *testing.T) {
	const (
		id = "msg_p5jXN8AQM9LWM0D4loKWxJek"
		ts = "1614265330"
	)
	body := []byte(`{"test": 2432232314}`)
	now := time.Unix(1614265330, 0)
	s := mustScheme(t, "standard")

	// A second key pair, made now.
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	fresh := "whpk_" + base64.StdEncoding.EncodeToString(pub)
	freshSig := "v1a," + base64.StdEncoding.EncodeToString(ed25519.Sign(priv, []byte(id+"."+ts+"."+string(body))))

	tests := []struct {
		name    string
		prefix  string
		sig     string
		secrets []string
		body    string // "" = body
		want    int    // index of the matching secret, -1 = rejected
		err     error
	}{
		{"fixed vector", "Webhook", v1aSignature, []string{v1aPublicKey}, "", 0, nil},
		{"fixed vector, svix headers", "Svix", v1aSignature, []string{v1aPublicKey}, "", 0, nil},
		{"generated key pair", "Webhook", freshSig, []string{fresh}, "", 0, nil},
		{"v1a in a list", "Webhook", "v1,AAAA v1a,AAAA " + v1aSignature, []string{v1aPublicKey}, "", 0, nil},
		{"rotation: public key after a whsec secret", "Webhook", v1aSignature, []string{v1Secret, v1aPublicKey}, "", 1, nil},
		{"rotation: whsec secret after a public key", "Webhook", v1Signature, []string{fresh, v1Secret}, "", 1, nil},
		{"both versions sent, key pair matches", "Webhook", v1Signature + " " + freshSig, []string{fresh}, "", 0, nil},
		{"other key", "Webhook", v1aSignature, []string{fresh}, "", -1, ErrMismatch},
		{"tampered body", "Webhook", v1aSignature, []string{v1aPublicKey}, `{"test": 2432232315}`, -1, ErrMismatch},
		{"whsec secret does not verify v1a", "Webhook", v1aSignature, []string{v1Secret}, "", -1, ErrMismatch},
		{"public key does not verify v1", "Webhook", v1Signature, []string{v1aPublicKey}, "", -1, ErrMismatch},
		{"v1a label on a v1 MAC", "Webhook", "v1a," + strings.TrimPrefix(v1Signature, "v1,"), []string{v1aPublicKey}, "", -1, ErrMismatch},
		{"truncated signature", "Webhook", v1aSignature[:len(v1aSignature)-4], []string{v1aPublicKey}, "", -1, ErrMismatch},
		{"public key of the wrong size", "Webhook", v1aSignature, []string{"whpk_" + base64.StdEncoding.EncodeToString(pub[:31])}, "", -1, ErrNoSecret},
		{"public key not base64", "Webhook", v1aSignature, []string{"whpk_not*base64"}, "", -1, ErrNoSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := body
			if tt.body != "" {
				b = []byte(tt.body)
			}
			r := &Request{Method: "POST", Body: b, Header: hdr(
				tt.prefix+"-Id", id, tt.prefix+"-Timestamp", ts, tt.prefix+"-Signature", tt.sig)}
			got, err := Match(s, r, tt.secrets, now)
			if got != tt.want {
				t.Errorf("Match = %d, %v; want %d", got, err, tt.want)
			}
			wantErr(t, err, tt.err)
		})
	}
	t.Run("stale timestamp", func(t *testing.T) {
		r := &Request{Method: "POST", Body: body, Header: hdr(
			"Webhook-Id", id, "Webhook-Timestamp", ts, "Webhook-Signature", v1aSignature)}
		wantErr(t, s.Verify(r, []string{v1aPublicKey}, now.Add(time.Hour)), ErrTimestamp)
	})
}

func TestCheckSecret(t *testing.T) {
	pk := "whpk_ebVWLo/mVPlAeLES6KmLp5AfhTrmlb7X4OORC60ElmQ="
	tests := []struct {
		provider, secret string
		ok               bool
		why              string // part of the error text
	}{
		{"stripe", "whsec_abc", true, ""},
		{"github", "anything at all", true, ""},
		{"github", "", false, "empty"},
		{"slack", "   ", false, "empty"},
		{"standard", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", true, ""},
		{"standard", pk, true, ""},
		{"standard", "whsec_not base64!", false, "not base64"},
		{"standard", "whsec_", false, "not base64"},
		{"standard", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", true, ""}, // bare base64, as the stack generates it
		{"standard", "not-base64-at-all", false, "this is not base64"},
		{"standard", "whpk_AAAA", false, "ed25519 public key has 32"},
		{"standard", "whpk_%%%", false, "not base64"},
		{"salesforce", "00D5g00000AbcDe", true, ""},
		{"salesforce", "00D5g00000AbcDeEAJ", true, ""},
		{"salesforce", "00D5g00000AbcDeAAA", false, "do not match"},
		{"salesforce", "00D5g00000AbcD", false, "15 or 18 characters, this has 14"},
		{"salesforce", "00D5g00000Abc-e", false, "only letters and digits"},
		{"nosuch", "x", false, "unknown provider"},
	}
	for _, tt := range tests {
		t.Run(tt.provider+"/"+tt.why, func(t *testing.T) {
			err := CheckSecret(tt.provider, tt.secret)
			if (err == nil) != tt.ok {
				t.Fatalf("CheckSecret = %v, want ok %v", err, tt.ok)
			}
			if err == nil {
				return
			}
			if !errors.Is(err, ErrUnusableSecret) || !strings.Contains(err.Error(), tt.why) {
				t.Errorf("error %q: want ErrUnusableSecret saying %q", err, tt.why)
			}
			if len(strings.TrimSpace(tt.secret)) > len("whsec_") && strings.Contains(err.Error(), tt.secret) {
				t.Errorf("error %q contains the secret", err)
			}
		})
	}
	// Every generated secret passes.
	for _, p := range Providers {
		s, err := GenerateSecret(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckSecret(p, s); err != nil {
			t.Errorf("generated %s secret: %v", p, err)
		}
	}
}

// TestSalesforceErrorsQuoteNoInput: encoding/xml's error texts quote the
// input; the verifier's errors must not (they reach the log line of an
// unauthenticated request).
func TestSalesforceErrorsQuoteNoInput(t *testing.T) {
	hostile := strings.Repeat("Z", 4096)
	tests := []struct{ name, body string }{
		{"bad entity", "<a>&" + hostile + ";</a>"},
		{"bad element name", "<a><" + hostile + "\x01/></a>"},
		{"mismatched end tag", "<a></" + hostile + ">"},
		{"undeclared prefix attribute", "<a " + hostile + "=x></a>"},
		{"truncated", "<soapenv:Envelope xmlns:soapenv=\"" + hostile},
	}
	s := mustScheme(t, "salesforce")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Verify(&Request{Body: []byte(tt.body)}, []string{"00D5g00000AbcDe"}, time.Now())
			wantErr(t, err, ErrMalformed)
			if msg := err.Error(); len(msg) > 200 || strings.Contains(msg, "ZZZZ") {
				t.Errorf("error text quotes the input (%d bytes): %.300q", len(msg), msg)
			}
		})
	}
}

// FuzzStandardV1a: with an ed25519 public key configured, any headers and
// body get an answer (never a panic); a request verifies only when one of
// its v1a entries is a genuine signature of "{id}.{ts}.{body}".
func FuzzStandardV1a(f *testing.F) {
	f.Add("msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", v1aSignature, []byte(`{"test": 2432232314}`))
	f.Add("msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", "v1a,"+strings.Repeat("A", 88)+" "+v1aSignature, []byte(`{"test": 2432232315}`))
	f.Add("id", "1614265330", "v1a,,, v1a v1a,====", []byte("x"))
	pub, _ := standardPublicKey(v1aPublicKey)
	s := mustScheme(f, "standard")
	now := time.Unix(1614265330, 0)
	f.Fuzz(func(t *testing.T, id, ts, sigs string, body []byte) {
		r := &Request{Body: body, Header: hdr("Webhook-Id", id, "Webhook-Timestamp", ts, "Webhook-Signature", sigs)}
		err := s.Verify(r, []string{v1aPublicKey}, now)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		msg := []byte(id + "." + ts + "." + string(body))
		for _, item := range strings.Fields(sigs) {
			if enc, ok := strings.CutPrefix(item, "v1a,"); ok {
				if sig, err := base64.StdEncoding.DecodeString(enc); err == nil && ed25519.Verify(pub, msg, sig) {
					return
				}
			}
		}
		t.Fatalf("accepted without a genuine v1a signature: %q", sigs)
	})
}
