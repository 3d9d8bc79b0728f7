package awsingest

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/hookstack/hookstack/shared/secrets"
)

// TestSecretsChecksEnvShape: a HOOKSTACK_SECRET_<PROVIDER> value the
// verifier could never use fails start-up naming the variable (not the
// value), for the enabled providers only.
func TestSecretsChecksEnvShape(t *testing.T) {
	tests := []struct {
		name      string
		env       map[string]string
		providers []string
		wantErr   string
	}{
		{"good", map[string]string{"HOOKSTACK_SECRET_STANDARD": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, []string{"standard"}, ""},
		{"bad standard", map[string]string{"HOOKSTACK_SECRET_STANDARD": "whsec_#nope#"}, []string{"standard"}, "HOOKSTACK_SECRET_STANDARD: standard secret 1 of 1"},
		{"bad salesforce", map[string]string{"HOOKSTACK_SECRET_SALESFORCE": "#nope#"}, []string{"stripe", "salesforce"}, "HOOKSTACK_SECRET_SALESFORCE"},
		{"disabled provider not read", map[string]string{"HOOKSTACK_SECRET_SALESFORCE": "#nope#"}, []string{"stripe"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := Secrets(aws.Config{}, func(k string) string { return tt.env[k] }, tt.providers, slog.Default())
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if _, ok := src.(secrets.Static); !ok {
					t.Fatalf("source %T, want the environment's", src)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "#nope#") {
				t.Fatalf("err = %v, want one containing %q and not the value", err, tt.wantErr)
			}
		})
	}
}
