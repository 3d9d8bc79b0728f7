package awsconfig

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go/logging"
)

// ErrNeedsSDKConfigLoader is returned by EnvConfig for an environment that
// only the SDK's config.LoadDefaultConfig resolves correctly (a profile, a
// shared config file, credentials that are not in the environment, or a
// setting EnvConfig does not read).
var ErrNeedsSDKConfigLoader = errors.New("AWS configuration needs the SDK's config loader")

// Variables that make EnvConfig refuse the environment: they need shared
// files, a credential provider other than the environment's keys, or set
// options EnvConfig does not read. (AWS_CONTAINER_*, AWS_WEB_IDENTITY_* and
// AWS_ROLE_* only matter without keys in the environment, which EnvConfig
// refuses anyway; the IMDS settings only matter without a region or keys.)
var sdkLoaderOnly = []string{
	"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
	"AWS_DEFAULTS_MODE", "AWS_ENABLE_ENDPOINT_DISCOVERY",
	"AWS_S3_USE_ARN_REGION", "AWS_S3_DISABLE_MULTIREGION_ACCESS_POINTS", "AWS_S3_DISABLE_EXPRESS_SESSION_AUTH",
	"AWS_DISABLE_REQUEST_COMPRESSION", "AWS_REQUEST_MIN_COMPRESSION_SIZE_BYTES", "AWS_DISABLE_CLOCK_SKEW_CORRECTION",
	"AWS_ACCOUNT_ID_ENDPOINT_MODE", "AWS_REQUEST_CHECKSUM_CALCULATION", "AWS_RESPONSE_CHECKSUM_VALIDATION",
	"AWS_AUTH_SCHEME_PREFERENCE", "AWS_RESTRICT_FILE_PERMISSIONS",
}

// EnvConfig builds the SDK configuration from environment variables alone,
// as config.LoadDefaultConfig resolves it when the credentials are in the
// environment and there is no shared config file — the Lambda case: the
// region (AWS_REGION, else AWS_DEFAULT_REGION), the keys (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_ACCOUNT_ID), AWS_CA_BUNDLE,
// AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> (and
// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS), AWS_MAX_ATTEMPTS, AWS_RETRY_MODE,
// AWS_SDK_UA_APP_ID, AWS_USE_FIPS_ENDPOINT and AWS_USE_DUALSTACK_ENDPOINT.
// Any other environment (no keys, a profile, an existing ~/.aws/config or
// ~/.aws/credentials (HOME, else the user's home directory), an option from sdkLoaderOnly) is refused with
// ErrNeedsSDKConfigLoader rather than resolved differently.
//
// It does no I/O beyond reading AWS_CA_BUNDLE's file and checking whether
// the default shared files exist.
func EnvConfig(getenv func(string) string) (aws.Config, error) {
	for _, k := range sdkLoaderOnly {
		if getenv(k) != "" {
			return aws.Config{}, fmt.Errorf("%w: %s is set", ErrNeedsSDKConfigLoader, k)
		}
	}
	if home := homeDir(getenv); home != "" {
		for _, name := range []string{"config", "credentials"} {
			p := filepath.Join(home, ".aws", name)
			if _, err := os.Stat(p); err == nil {
				return aws.Config{}, fmt.Errorf("%w: %s exists", ErrNeedsSDKConfigLoader, p)
			}
		}
	}
	creds := aws.Credentials{
		AccessKeyID:     firstOf(getenv, "AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY"),
		SecretAccessKey: firstOf(getenv, "AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY"),
		Source:          "EnvConfigCredentials", // config.CredentialsSourceName
	}
	if !creds.HasKeys() {
		return aws.Config{}, fmt.Errorf("%w: no AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment", ErrNeedsSDKConfigLoader)
	}
	creds.SessionToken = getenv("AWS_SESSION_TOKEN")
	creds.AccountID = getenv("AWS_ACCOUNT_ID")

	src := envSource{getenv: getenv}
	var err error
	if src.useFIPS, err = endpointState(getenv, "AWS_USE_FIPS_ENDPOINT", aws.FIPSEndpointStateEnabled, aws.FIPSEndpointStateDisabled); err != nil {
		return aws.Config{}, err
	}
	if src.useDualStack, err = endpointState(getenv, "AWS_USE_DUALSTACK_ENDPOINT", aws.DualStackEndpointStateEnabled, aws.DualStackEndpointStateDisabled); err != nil {
		return aws.Config{}, err
	}
	if v := getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"); v != "" {
		b, err := parseBool("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", v)
		if err != nil {
			return aws.Config{}, err
		}
		src.ignoreEndpoints = &b
	}

	cfg := aws.Config{
		Logger:        logging.NewStandardLogger(os.Stderr),
		ConfigSources: []any{src},
		Region:        firstOf(getenv, "AWS_REGION", "AWS_DEFAULT_REGION"),
		DefaultsMode:  aws.DefaultsModeLegacy,
		AppID:         getenv("AWS_SDK_UA_APP_ID"),
		Credentials: aws.NewCredentialsCache(credentials.StaticCredentialsProvider{
			Value: creds, Source: []aws.CredentialSource{aws.CredentialSourceEnvVars},
		}),
	}
	if v := getenv("AWS_MAX_ATTEMPTS"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return aws.Config{}, fmt.Errorf("invalid value AWS_MAX_ATTEMPTS=%s, %w", v, err)
		}
		cfg.RetryMaxAttempts = int(n)
	}
	if v := getenv("AWS_RETRY_MODE"); v != "" {
		if cfg.RetryMode, err = aws.ParseRetryMode(v); err != nil {
			return aws.Config{}, fmt.Errorf("invalid AWS_RETRY_MODE value, %w", err)
		}
	}
	if v := getenv("AWS_ENDPOINT_URL"); v != "" && (src.ignoreEndpoints == nil || !*src.ignoreEndpoints) {
		cfg.BaseEndpoint = aws.String(v)
	}
	if path := getenv("AWS_CA_BUNDLE"); path != "" {
		client, err := withCABundle(path)
		if err != nil {
			return aws.Config{}, err
		}
		cfg.HTTPClient = client
	}
	return cfg, nil
}

// withCABundle is the SDK's buildable client trusting only the PEM
// certificates in path, as LoadDefaultConfig does with AWS_CA_BUNDLE.
func withCABundle(path string) (*awshttp.BuildableClient, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("AWS_CA_BUNDLE: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("AWS_CA_BUNDLE %s: failed to load custom CA bundle PEM file", path)
	}
	return awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = &tls.Config{}
		}
		tr.TLSClientConfig.RootCAs = pool
	}), nil
}

// envSource answers the SDK clients' questions about per-service endpoints
// and endpoint variants (the interfaces of the SDK's internal/configsources,
// which config.EnvConfig implements), from the environment.
type envSource struct {
	getenv          func(string) string
	ignoreEndpoints *bool
	useFIPS         aws.FIPSEndpointState
	useDualStack    aws.DualStackEndpointState
}

// GetServiceBaseEndpoint is AWS_ENDPOINT_URL_<SDK ID, upper case, spaces as _>.
func (s envSource) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	v := s.getenv("AWS_ENDPOINT_URL_" + strings.ReplaceAll(strings.ToUpper(sdkID), " ", "_"))
	return v, v != "", nil
}

// GetIgnoreConfiguredEndpoints is AWS_IGNORE_CONFIGURED_ENDPOINT_URLS.
func (s envSource) GetIgnoreConfiguredEndpoints(context.Context) (bool, bool, error) {
	if s.ignoreEndpoints == nil {
		return false, false, nil
	}
	return *s.ignoreEndpoints, true, nil
}

// GetUseFIPSEndpoint is AWS_USE_FIPS_ENDPOINT.
func (s envSource) GetUseFIPSEndpoint(context.Context) (aws.FIPSEndpointState, bool, error) {
	return s.useFIPS, s.useFIPS != aws.FIPSEndpointStateUnset, nil
}

// GetUseDualStackEndpoint is AWS_USE_DUALSTACK_ENDPOINT.
func (s envSource) GetUseDualStackEndpoint(context.Context) (aws.DualStackEndpointState, bool, error) {
	return s.useDualStack, s.useDualStack != aws.DualStackEndpointStateUnset, nil
}

// homeDir is where the SDK looks for ~/.aws: HOME, else the user's home
// directory (internal/shareddefaults.UserHomeDir).
func homeDir(getenv func(string) string) string {
	if h := getenv("HOME"); h != "" {
		return h
	}
	if u, err := user.Current(); err == nil {
		return u.HomeDir
	}
	return ""
}

func firstOf(getenv func(string) string, keys ...string) string {
	for _, k := range keys {
		if v := getenv(k); v != "" {
			return v
		}
	}
	return ""
}

func parseBool(key, v string) (bool, error) {
	switch {
	case strings.EqualFold(v, "true"):
		return true, nil
	case strings.EqualFold(v, "false"):
		return false, nil
	}
	return false, fmt.Errorf("invalid value for environment variable, %s=%s, need true or false", key, v)
}

func endpointState[S ~uint](getenv func(string) string, key string, on, off S) (S, error) {
	v := getenv(key)
	if v == "" {
		return 0, nil
	}
	b, err := parseBool(key, v)
	if err != nil {
		return 0, err
	}
	if b {
		return on, nil
	}
	return off, nil
}
