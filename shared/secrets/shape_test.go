package secrets

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookstack/hookstack/shared/signature"
)

// TestParseValueErrorsQuoteNoSecret: a malformed Secrets Manager value's
// error names the problem and a position, never a byte of the value.
func TestParseValueErrorsQuoteNoSecret(t *testing.T) {
	tests := []struct{ name, in string }{
		{"bad character in array", `["whsec_ok", Qsecretpart]`},
		{"unquoted secret", `[Zsecret]`},
		{"number in array", `[1234567890]`},
		{"bad object", `{"secrets": Xsecret}`},
		{"object with a number", `{"secrets": [98765]}`},
		{"truncated", `["whsec_Wsecret`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseValue(tt.in)
			if !errors.Is(err, ErrMalformedValue) {
				t.Fatalf("err = %v, want ErrMalformedValue", err)
			}
			msg := err.Error()
			for _, leak := range []string{"Q", "Z", "X", "W", "secretpart", "1234", "9876", "'"} {
				if strings.Contains(strings.TrimPrefix(msg, ErrMalformedValue.Error()), leak) {
					t.Errorf("error %q contains %q from the value", msg, leak)
				}
			}
		})
	}
}

func TestLoadEnvChecksShape(t *testing.T) {
	const badStandard = "whsec_!!not-base64!!"
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string // "" = ok
	}{
		{"good", map[string]string{"HOOKSTACK_SECRET_STANDARD": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "HOOKSTACK_SECRET_SALESFORCE": "00D5g00000AbcDe"}, ""},
		{"bare base64 standard (as the stack generates it)", map[string]string{"HOOKSTACK_SECRET_STANDARD": "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, ""},
		{"standard not base64", map[string]string{"HOOKSTACK_SECRET_STANDARD": badStandard}, "HOOKSTACK_SECRET_STANDARD: standard secret 1 of 1: unusable secret: the part after whsec_ is not base64"},
		{"second of two bad", map[string]string{"HOOKSTACK_SECRET_STANDARD": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw," + badStandard}, "standard secret 2 of 2"},
		{"salesforce too short", map[string]string{"HOOKSTACK_SECRET_SALESFORCE": "00D5g00000Ab"}, "HOOKSTACK_SECRET_SALESFORCE: salesforce secret 1 of 1: unusable secret: an OrganizationId has 15 or 18 characters, this has 12"},
		{"salesforce bad suffix", map[string]string{"HOOKSTACK_SECRET_SALESFORCE": "00D5g00000AbcDeXXX"}, "do not match"},
		{"other providers: any text", map[string]string{"HOOKSTACK_SECRET_GITHUB": "x"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadEnv(func(k string) string { return tt.env[k] }, signature.Providers)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
			for _, v := range tt.env {
				for _, s := range SplitList(v) {
					if strings.Contains(err.Error(), s) {
						t.Errorf("error %q contains the value %q", err, s)
					}
				}
			}
		})
	}
}

func TestLoadLocalChecksShape(t *testing.T) {
	t.Run("env", func(t *testing.T) {
		env := map[string]string{"HOOKSTACK_SECRET_SALESFORCE": "not-an-org-id"}
		_, _, err := LoadLocal(filepath.Join(t.TempDir(), "secrets.json"), func(k string) string { return env[k] }, signature.Providers)
		if err == nil || !strings.Contains(err.Error(), "HOOKSTACK_SECRET_SALESFORCE") || strings.Contains(err.Error(), "not-an-org-id") {
			t.Fatalf("err = %v, want one naming the variable and not the value", err)
		}
	})
	t.Run("stored file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "secrets.json")
		if err := os.WriteFile(path, []byte(`{"standard": ["whsec_%%%"]}`), 0o600); err != nil {
			t.Fatal(err)
		}
		_, _, err := LoadLocal(path, func(string) string { return "" }, signature.Providers)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "standard secret 1 of 1") || strings.Contains(err.Error(), "%%%") {
			t.Fatalf("err = %v, want one naming the file and the provider, not the value", err)
		}
	})
	t.Run("generated secrets pass", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "secrets.json")
		for range 2 { // generated, then read back
			if _, _, err := LoadLocal(path, func(string) string { return "" }, signature.Providers); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestManagerUnusableValues: a Secrets Manager value with secrets of the
// wrong shape is logged (provider and problem, never the value); the usable
// ones are served; with none usable the answer is an error (ingest: 503),
// cached for the TTL like a good value.
func TestManagerUnusableValues(t *testing.T) {
	const (
		good = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		bad  = "whsec_Zz!!secretbytes!!"
	)
	tests := []struct {
		name    string
		value   string
		want    []string
		wantErr bool
		logged  string // part of the log line; "" = no log
	}{
		{"good", `["` + good + `"]`, []string{good}, false, ""},
		{"placeholder", `[]`, nil, false, ""},
		{"one bad of two", `["` + bad + `","` + good + `"]`, []string{good}, false, "standard secret 1 of 2: unusable secret"},
		{"only bad", `["` + bad + `"]`, nil, true, "no usable secret: standard secret 1 of 1"},
		{"malformed JSON", `["` + good + `", Zz!!secretbytes!!]`, nil, true, "malformed secret value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var value atomic.Value
			value.Store(tt.value)
			var calls atomic.Int32
			var fail atomic.Bool
			var logs bytes.Buffer
			m := NewManager(fakeSecretsManager(t, &value, &calls, &fail), map[string]string{"standard": "arn:x"}, time.Minute)
			m.Log = slog.New(slog.NewJSONHandler(&logs, nil))
			now := time.Unix(1_700_000_000, 0)
			m.now = func() time.Time { return now }
			for range 3 {
				got, err := m.Secrets(t.Context(), "standard")
				if (err != nil) != tt.wantErr || (!tt.wantErr && !reflect.DeepEqual(got, tt.want) && len(got)+len(tt.want) > 0) {
					t.Fatalf("Secrets = %q, %v; want %q, error %v", got, err, tt.want, tt.wantErr)
				}
				if err != nil && (strings.Contains(err.Error(), "secretbytes") || strings.Contains(err.Error(), "Zz")) {
					t.Fatalf("error %q contains the value", err)
				}
			}
			if calls.Load() != 1 {
				t.Errorf("%d Secrets Manager calls, want 1 (cached for the TTL, even when unusable)", calls.Load())
			}
			out := logs.String()
			if tt.logged == "" && out != "" || tt.logged != "" && !strings.Contains(out, tt.logged) {
				t.Errorf("log %q, want it to contain %q", out, tt.logged)
			}
			if tt.logged != "" && (!strings.Contains(out, `"provider":"standard"`) || strings.Contains(out, "secretbytes") || strings.Contains(out, "Zz")) {
				t.Errorf("log %q: want the provider named and no byte of the value", out)
			}
			if strings.Count(out, "\n") > 1 {
				t.Errorf("log has %d lines for one fetch, want 1", strings.Count(out, "\n"))
			}
		})
	}
}

func TestValidateAcceptsPublicKey(t *testing.T) {
	if err := Validate("standard", "whpk_ebVWLo/mVPlAeLES6KmLp5AfhTrmlb7X4OORC60ElmQ="); err != nil {
		t.Errorf("whpk_ key: %v", err)
	}
	if err := Validate("standard", "whpk_AAAA"); !errors.Is(err, ErrInvalidSecret) || !strings.Contains(err.Error(), "32") {
		t.Errorf("short whpk_ key: %v", err)
	}
}
