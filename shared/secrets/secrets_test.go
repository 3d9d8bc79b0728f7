package secrets

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

func TestParseValue(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
		err  bool
	}{
		{"json array newest first", `["whsec_new","whsec_old"]`, []string{"whsec_new", "whsec_old"}, false},
		{"empty array is not filled in", `[]`, []string{}, false},
		{"object form", `{"secrets":["a","b"]}`, []string{"a", "b"}, false},
		{"plain comma list", " a , b ,", []string{"a", "b"}, false},
		{"blank entries dropped", `["a", " ", ""]`, []string{"a"}, false},
		{"broken json", `["a",`, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseValue(tc.in)
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want err %v", err, tc.err)
			}
			if !tc.err && !reflect.DeepEqual(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	if got := FormatValue([]string{"x", "", "y"}); got != `["x","y"]` {
		t.Errorf("FormatValue = %s", got)
	}
}

func TestFromEnv(t *testing.T) {
	env := map[string]string{"HOOKSTACK_SECRET_STRIPE": "whsec_new,whsec_old"}
	s := FromEnv(func(k string) string { return env[k] }, []string{"stripe", "github"})
	got, _ := s.Secrets(t.Context(), "stripe")
	if !reflect.DeepEqual(got, []string{"whsec_new", "whsec_old"}) {
		t.Fatalf("stripe = %q", got)
	}
	if got, _ := s.Secrets(t.Context(), "github"); got != nil {
		t.Fatalf("github = %q, want none", got)
	}
}

// fakeSecretsManager speaks the Secrets Manager JSON protocol
// (x-amz-json-1.1, X-Amz-Target secretsmanager.GetSecretValue): there is no
// Secrets Manager emulator on this machine, so the real SDK client is pointed
// at this server.
func fakeSecretsManager(t *testing.T, value *atomic.Value, calls *atomic.Int32, fail *atomic.Bool) *secretsmanager.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if got := r.Header.Get("X-Amz-Target"); got != "secretsmanager.GetSecretValue" {
			t.Errorf("X-Amz-Target = %q", got)
		}
		var in struct{ SecretId string }
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &in)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if fail.Load() {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"__type":"InternalServiceError","message":"down"}`)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"ARN": in.SecretId, "Name": "hookstack/stripe", "SecretString": value.Load().(string), "VersionId": "v1",
		})
	}))
	t.Cleanup(srv.Close)
	return secretsmanager.New(secretsmanager.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
		RetryMaxAttempts: 1,
	})
}

func TestManagerCachesAndRefreshes(t *testing.T) {
	var value atomic.Value
	value.Store(`["whsec_one"]`)
	var calls atomic.Int32
	var fail atomic.Bool
	client := fakeSecretsManager(t, &value, &calls, &fail)

	m := NewManager(client, map[string]string{"stripe": "arn:aws:secretsmanager:us-east-1:1:secret:hookstack/stripe"}, time.Minute)
	now := time.Unix(1_700_000_000, 0)
	m.now = func() time.Time { return now }

	got, err := m.Secrets(t.Context(), "stripe")
	if err != nil || !reflect.DeepEqual(got, []string{"whsec_one"}) {
		t.Fatalf("first read = %q, %v", got, err)
	}
	value.Store(`["whsec_two","whsec_one"]`) // a rotation
	if got, _ := m.Secrets(t.Context(), "stripe"); !reflect.DeepEqual(got, []string{"whsec_one"}) {
		t.Fatalf("within TTL = %q, want the cached value", got)
	}
	if calls.Load() != 1 {
		t.Fatalf("calls = %d, want 1 (cached)", calls.Load())
	}
	now = now.Add(61 * time.Second)
	if got, _ := m.Secrets(t.Context(), "stripe"); !reflect.DeepEqual(got, []string{"whsec_two", "whsec_one"}) {
		t.Fatalf("after TTL = %q, want the rotated list", got)
	}

	// Secrets Manager down: the last good value is served while not too stale.
	fail.Store(true)
	now = now.Add(2 * time.Minute)
	if got, err := m.Secrets(t.Context(), "stripe"); err != nil || len(got) != 2 {
		t.Fatalf("stale read = %q, %v", got, err)
	}
	now = now.Add(2 * time.Hour)
	if _, err := m.Secrets(t.Context(), "stripe"); err == nil {
		t.Fatal("want an error once the cached value is too old")
	}

	if got, err := m.Secrets(t.Context(), "github"); err != nil || got != nil {
		t.Fatalf("unconfigured provider = %q, %v", got, err)
	}
}
