package awsconfig

import (
	"context"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// cleanAWSEnv clears every AWS_* variable of the machine (AWS_CA_BUNDLE
// may be set here) and points HOME at an empty folder, then sets env.
func cleanAWSEnv(t *testing.T, env map[string]string) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, "")
		}
	}
	t.Setenv("HOME", t.TempDir())
	for k, v := range env {
		t.Setenv(k, v)
	}
}

// sdkView is what the SDK clients end up using from a configuration.
type sdkView struct {
	Region, AppID                  string
	Creds                          aws.Credentials
	CredSources                    []aws.CredentialSource
	BaseEndpoint                   *string
	RetryMaxAttempts               int
	RetryMode                      aws.RetryMode
	DefaultsMode                   aws.DefaultsMode
	SQSEndpoint, DDBEndpoint, S3EP *string
	FIPS                           aws.FIPSEndpointState
	DualStack                      aws.DualStackEndpointState
	CustomHTTPClient               bool
}

func viewOf(t *testing.T, cfg aws.Config) sdkView {
	t.Helper()
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatalf("retrieve credentials: %v", err)
	}
	creds.Expires = creds.Expires.UTC()
	var sources []aws.CredentialSource
	if p, ok := cfg.Credentials.(aws.CredentialProviderSource); ok {
		sources = p.ProviderSources()
	}
	q := sqs.NewFromConfig(cfg).Options()
	return sdkView{
		Region: cfg.Region, AppID: cfg.AppID, Creds: creds, CredSources: sources,
		BaseEndpoint: cfg.BaseEndpoint, RetryMaxAttempts: cfg.RetryMaxAttempts, RetryMode: cfg.RetryMode,
		DefaultsMode: cfg.DefaultsMode,
		SQSEndpoint:  q.BaseEndpoint,
		DDBEndpoint:  dynamodb.NewFromConfig(cfg).Options().BaseEndpoint,
		S3EP:         s3.NewFromConfig(cfg).Options().BaseEndpoint,
		FIPS:         q.EndpointOptions.UseFIPSEndpoint, DualStack: q.EndpointOptions.UseDualStackEndpoint,
		CustomHTTPClient: cfg.HTTPClient != nil,
	}
}

func str(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

func TestEnvConfigMatchesLoadDefaultConfig(t *testing.T) {
	keys := map[string]string{"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "SECRET"}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range keys {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	cases := []struct {
		name string
		env  map[string]string
	}{
		{"lambda", with(map[string]string{"AWS_SESSION_TOKEN": "TOKEN", "AWS_DEFAULT_REGION": "eu-west-1",
			"AWS_LAMBDA_FUNCTION_NAME": "ingest", "AWS_EXECUTION_ENV": "AWS_Lambda_provided.al2023"})},
		{"default region only", map[string]string{"AWS_DEFAULT_REGION": "ap-south-1", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "SECRET"}},
		{"old key names and account", map[string]string{"AWS_REGION": "us-east-2", "AWS_ACCESS_KEY": "AKID2", "AWS_SECRET_KEY": "S2", "AWS_ACCOUNT_ID": "123456789012"}},
		{"no region", map[string]string{"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "SECRET"}},
		{"emulator endpoints", with(map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:4566",
			"AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:9324", "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000"})},
		{"ignored endpoints", with(map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:4566",
			"AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:9324", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "TRUE"})},
		{"endpoints not ignored", with(map[string]string{"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9000",
			"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "false"})},
		{"retries and app id", with(map[string]string{"AWS_MAX_ATTEMPTS": "7", "AWS_RETRY_MODE": "adaptive", "AWS_SDK_UA_APP_ID": "hookstack"})},
		{"fips and dual-stack", with(map[string]string{"AWS_USE_FIPS_ENDPOINT": "true", "AWS_USE_DUALSTACK_ENDPOINT": "False"})},
		{"imds settings are irrelevant with keys and region", with(map[string]string{"AWS_EC2_METADATA_DISABLED": "true"})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cleanAWSEnv(t, tc.env)
			want, err := config.LoadDefaultConfig(context.Background())
			if err != nil {
				t.Fatalf("LoadDefaultConfig: %v", err)
			}
			got, err := EnvConfig(os.Getenv)
			if err != nil {
				t.Fatalf("EnvConfig: %v", err)
			}
			w, g := viewOf(t, want), viewOf(t, got)
			for _, d := range []struct {
				what      string
				want, got any
			}{
				{"region", w.Region, g.Region}, {"app id", w.AppID, g.AppID}, {"credentials", w.Creds, g.Creds},
				{"credential sources", w.CredSources, g.CredSources},
				{"base endpoint", str(w.BaseEndpoint), str(g.BaseEndpoint)},
				{"sqs endpoint", str(w.SQSEndpoint), str(g.SQSEndpoint)},
				{"dynamodb endpoint", str(w.DDBEndpoint), str(g.DDBEndpoint)},
				{"s3 endpoint", str(w.S3EP), str(g.S3EP)},
				{"max attempts", w.RetryMaxAttempts, g.RetryMaxAttempts}, {"retry mode", w.RetryMode, g.RetryMode},
				{"defaults mode", w.DefaultsMode, g.DefaultsMode}, {"fips", w.FIPS, g.FIPS}, {"dual-stack", w.DualStack, g.DualStack},
				{"custom http client", w.CustomHTTPClient, g.CustomHTTPClient},
			} {
				if !equal(d.want, d.got) {
					t.Errorf("%s: LoadDefaultConfig %v, EnvConfig %v", d.what, d.want, d.got)
				}
			}
		})
	}
}

func equal(a, b any) bool {
	switch a := a.(type) {
	case []aws.CredentialSource:
		b := b.([]aws.CredentialSource)
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			if a[i] != b[i] {
				return false
			}
		}
		return true
	}
	return a == b
}

// TestEnvConfigRequestsMatch sends the same SQS call with both
// configurations to a recording server (AWS_ENDPOINT_URL_SQS): the same
// path, user agent (which names the credential source and the features),
// and signing scope.
func TestEnvConfigRequestsMatch(t *testing.T) {
	var mu sync.Mutex
	var seen []*http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Clone(context.Background()))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		_, _ = w.Write([]byte(`{"QueueUrl":"http://q/000000000000/payments"}`))
	}))
	defer srv.Close()
	cleanAWSEnv(t, map[string]string{"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "SECRET",
		"AWS_SESSION_TOKEN": "TOKEN", "AWS_ENDPOINT_URL_SQS": srv.URL, "AWS_SDK_UA_APP_ID": "hookstack"})
	full, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	lean, err := EnvConfig(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []aws.Config{full, lean} {
		if _, err := sqs.NewFromConfig(cfg).GetQueueUrl(context.Background(), &sqs.GetQueueUrlInput{QueueName: aws.String("payments")}); err != nil {
			t.Fatalf("GetQueueUrl: %v", err)
		}
	}
	if len(seen) != 2 {
		t.Fatalf("server saw %d requests, want 2", len(seen))
	}
	sig := regexp.MustCompile(`Signature=[0-9a-f]+`)
	date := regexp.MustCompile(`/\d{8}/`)
	for _, h := range []string{"User-Agent", "X-Amz-Target", "X-Amz-Security-Token", "Authorization"} {
		w, g := seen[0].Header.Get(h), seen[1].Header.Get(h)
		if h == "Authorization" {
			w, g = date.ReplaceAllString(sig.ReplaceAllString(w, ""), "/"), date.ReplaceAllString(sig.ReplaceAllString(g, ""), "/")
		}
		if w != g || w == "" {
			t.Errorf("%s: LoadDefaultConfig %q, EnvConfig %q", h, w, g)
		}
	}
	if seen[0].URL.Path != seen[1].URL.Path {
		t.Errorf("path: %q vs %q", seen[0].URL.Path, seen[1].URL.Path)
	}
}

// TestEnvConfigCABundle: with AWS_CA_BUNDLE naming the test server's
// certificate both configurations reach it over TLS; without, neither does.
func TestEnvConfigCABundle(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		_, _ = w.Write([]byte(`{"QueueUrl":"http://q/000000000000/payments"}`))
	}))
	defer srv.Close()
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		bundle string
		ok     bool
	}{{"bundle", bundle, true}, {"no bundle", "", false}} {
		t.Run(tc.name, func(t *testing.T) {
			cleanAWSEnv(t, map[string]string{"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "SECRET",
				"AWS_ENDPOINT_URL_SQS": srv.URL, "AWS_CA_BUNDLE": tc.bundle, "AWS_MAX_ATTEMPTS": "1"})
			full, err := config.LoadDefaultConfig(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			lean, err := EnvConfig(os.Getenv)
			if err != nil {
				t.Fatal(err)
			}
			for name, cfg := range map[string]aws.Config{"LoadDefaultConfig": full, "EnvConfig": lean} {
				_, err := sqs.NewFromConfig(cfg).GetQueueUrl(context.Background(), &sqs.GetQueueUrlInput{QueueName: aws.String("payments")})
				if (err == nil) != tc.ok {
					t.Errorf("%s: err = %v, want success %v", name, err, tc.ok)
				}
			}
		})
	}
}

func TestEnvConfigRefuses(t *testing.T) {
	keys := map[string]string{"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "SECRET"}
	cases := []struct {
		name  string
		env   map[string]string
		files []string // created under HOME
		need  bool     // ErrNeedsSDKConfigLoader (else: an invalid value, which LoadDefaultConfig rejects too)
	}{
		{"no keys", map[string]string{"AWS_REGION": "eu-west-1"}, nil, true},
		{"secret only", map[string]string{"AWS_REGION": "eu-west-1", "AWS_SECRET_ACCESS_KEY": "S"}, nil, true},
		{"container credentials", map[string]string{"AWS_REGION": "eu-west-1", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:9/creds"}, nil, true},
		{"profile", map[string]string{"AWS_PROFILE": "dev"}, nil, true},
		{"config file", map[string]string{"AWS_CONFIG_FILE": "/etc/aws.conf"}, nil, true},
		{"defaults mode", map[string]string{"AWS_DEFAULTS_MODE": "in-region"}, nil, true},
		{"endpoint discovery", map[string]string{"AWS_ENABLE_ENDPOINT_DISCOVERY": "true"}, nil, true},
		{"checksums", map[string]string{"AWS_REQUEST_CHECKSUM_CALCULATION": "when_required"}, nil, true},
		{"shared config file", nil, []string{".aws/config"}, true},
		{"shared credentials file", nil, []string{".aws/credentials"}, true},
		{"bad max attempts", map[string]string{"AWS_MAX_ATTEMPTS": "many"}, nil, false},
		{"bad retry mode", map[string]string{"AWS_RETRY_MODE": "hopeful"}, nil, false},
		{"bad fips", map[string]string{"AWS_USE_FIPS_ENDPOINT": "yes"}, nil, false},
		{"bad dual-stack", map[string]string{"AWS_USE_DUALSTACK_ENDPOINT": "1"}, nil, false},
		{"bad ignore endpoints", map[string]string{"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "1"}, nil, false},
		{"missing ca bundle", map[string]string{"AWS_CA_BUNDLE": "/nonexistent/ca.pem"}, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{}
			if tc.env["AWS_REGION"] == "" {
				for k, v := range keys {
					env[k] = v
				}
			}
			for k, v := range tc.env {
				env[k] = v
			}
			cleanAWSEnv(t, env)
			for _, f := range tc.files {
				p := filepath.Join(os.Getenv("HOME"), f)
				if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte("[default]\nregion = us-west-2\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, err := EnvConfig(os.Getenv)
			if err == nil {
				t.Fatal("EnvConfig accepted the environment")
			}
			if got := errors.Is(err, ErrNeedsSDKConfigLoader); got != tc.need {
				t.Fatalf("errors.Is(%v, ErrNeedsSDKConfigLoader) = %v, want %v", err, got, tc.need)
			}
			if !tc.need {
				if _, err := config.LoadDefaultConfig(context.Background()); err == nil {
					t.Error("LoadDefaultConfig accepted the invalid value EnvConfig refused")
				}
			}
		})
	}
}
