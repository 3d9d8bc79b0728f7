// Package secrets supplies each provider's active signing secrets, newest
// first: from the environment locally, from AWS Secrets Manager (cached with a
// TTL, so a rotation needs no redeploy) in AWS.
package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/hookstack/hookstack/shared/signature"
)

// EnvName is the environment variable holding a provider's secrets locally.
func EnvName(provider string) string { return "HOOKSTACK_SECRET_" + strings.ToUpper(provider) }

// ARNEnvName is the environment variable naming a provider's Secrets Manager secret.
func ARNEnvName(provider string) string { return "HOOKSTACK_SECRET_ARN_" + strings.ToUpper(provider) }

// Static is a fixed provider → secrets map (from the environment or tests).
type Static map[string][]string

// FromEnv reads HOOKSTACK_SECRET_<PROVIDER> (comma-separated, newest first)
// for each provider that has it.
func FromEnv(getenv func(string) string, providers []string) Static {
	s := Static{}
	for _, p := range providers {
		if v := getenv(EnvName(p)); v != "" {
			s[p] = SplitList(v)
		}
	}
	return s
}

// LoadEnv is FromEnv that also checks every value's shape
// (signature.CheckSecret): a secret the provider's verifier could never use
// is a start-up error naming the variable and the problem (never the value),
// rather than a "secret not configured yet" answer to every request.
func LoadEnv(getenv func(string) string, providers []string) (Static, error) {
	s := FromEnv(getenv, providers)
	for _, p := range providers {
		if err := Check(p, s[p]); err != nil {
			return nil, fmt.Errorf("%s: %w", EnvName(p), err)
		}
	}
	return s, nil
}

// Check checks the shape of each of a provider's secrets
// (signature.CheckSecret). The error says which one (by position, newest
// first) and what is wrong, never the value.
func Check(provider string, list []string) error {
	for i, v := range list {
		if err := signature.CheckSecret(provider, v); err != nil {
			return fmt.Errorf("%s secret %d of %d: %w", provider, i+1, len(list), err)
		}
	}
	return nil
}

// usable returns the secrets of list that pass Check, and the error of the
// first that does not.
func usable(provider string, list []string) ([]string, error) {
	var errs []error
	out := list[:0:0]
	for i, v := range list {
		if err := signature.CheckSecret(provider, v); err != nil {
			errs = append(errs, fmt.Errorf("%s secret %d of %d: %w", provider, i+1, len(list), err))
			continue
		}
		out = append(out, v)
	}
	return out, errors.Join(errs...)
}

// Secrets implements the ingest's secret source.
func (s Static) Secrets(_ context.Context, provider string) ([]string, error) {
	v, ok := s[provider]
	if !ok || len(v) == 0 {
		return nil, nil // verification then fails closed with "no secret"
	}
	return v, nil
}

// SplitList splits a comma-separated list, dropping blanks.
func SplitList(v string) []string {
	var out []string
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// ErrMalformedValue: a Secrets Manager value is neither a JSON array of
// strings, an object {"secrets": [...]} nor a plain string.
var ErrMalformedValue = errors.New("malformed secret value")

// ParseValue reads a Secrets Manager secret value: a JSON array of strings
// (newest first), an object {"secrets": [...]}, or a plain comma-separated
// string. An empty array means "not filled in yet". Errors describe the
// problem without quoting the value (encoding/json's texts quote the
// offending character, which would be a piece of a secret).
func ParseValue(v string) ([]string, error) {
	t := strings.TrimSpace(v)
	switch {
	case strings.HasPrefix(t, "["):
		var list []string
		if err := json.Unmarshal([]byte(t), &list); err != nil {
			return nil, fmt.Errorf("%w: not a JSON array of strings (%s)", ErrMalformedValue, jsonProblem(err))
		}
		return compact(list), nil
	case strings.HasPrefix(t, "{"):
		var obj struct {
			Secrets []string `json:"secrets"`
		}
		if err := json.Unmarshal([]byte(t), &obj); err != nil {
			return nil, fmt.Errorf(`%w: not {"secrets": [...]} (%s)`, ErrMalformedValue, jsonProblem(err))
		}
		return compact(obj.Secrets), nil
	}
	return SplitList(t), nil
}

// jsonProblem describes a JSON decoding error by kind and position only.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("a %s where a string or list was expected, at byte %d", typ.Value, typ.Offset)
	}
	return "invalid JSON"
}

// FormatValue is the stored form: a JSON array, newest first.
func FormatValue(list []string) string {
	b, _ := json.Marshal(compact(list))
	return string(b)
}

func compact(list []string) []string {
	out := list[:0:0]
	for _, s := range list {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// SecretsManagerAPI is the part of the Secrets Manager client used here.
type SecretsManagerAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// Manager reads secrets from AWS Secrets Manager with a TTL cache. When a
// refresh fails it keeps serving the last good value for up to StaleFor, so a
// brief Secrets Manager outage does not reject webhooks.
type Manager struct {
	client SecretsManagerAPI
	ids    map[string]string // provider → secret id (ARN or name)
	// Fallback answers for providers without a secret id (may be nil).
	Fallback Static
	// Log receives an error line, once per fetch, for a value holding a
	// secret of the wrong shape (naming the provider and the problem, never
	// the value). Nil: slog.Default().
	Log      *slog.Logger
	ttl      time.Duration
	staleFor time.Duration
	now      func() time.Time

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	secrets []string
	err     error // a value that cannot be used: served as is until the TTL
	at      time.Time
}

// NewManager builds a cached reader. ttl ≤ 0 means 5 minutes.
func NewManager(client SecretsManagerAPI, ids map[string]string, ttl time.Duration) *Manager {
	if ttl <= 0 {
		ttl = 5 * time.Minute
	}
	return &Manager{client: client, ids: ids, ttl: ttl, staleFor: time.Hour, now: time.Now, cache: map[string]cached{}}
}

// IDsFromEnv reads HOOKSTACK_SECRET_ARN_<PROVIDER> for each provider.
func IDsFromEnv(getenv func(string) string, providers []string) map[string]string {
	ids := map[string]string{}
	for _, p := range providers {
		if v := getenv(ARNEnvName(p)); v != "" {
			ids[p] = v
		}
	}
	return ids
}

// Secrets returns the provider's active secrets, fetching when the cached
// copy is older than the TTL.
//
// Every secret in the value is checked (Check). Those of the wrong shape are
// left out and logged as an error; when none is usable the answer is an
// error (the ingest answers 503, so the provider retries and nothing is lost
// while the value is corrected). Unusable values are cached like good ones,
// so a broken value does not cost a Secrets Manager call per request.
func (m *Manager) Secrets(ctx context.Context, provider string) ([]string, error) {
	id, ok := m.ids[provider]
	if !ok {
		return m.Fallback.Secrets(ctx, provider)
	}
	now := m.now()
	m.mu.Lock()
	c, have := m.cache[provider]
	m.mu.Unlock()
	if have && now.Sub(c.at) < m.ttl {
		return c.secrets, c.err
	}
	out, err := m.client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		if have && now.Sub(c.at) < m.ttl+m.staleFor {
			return c.secrets, c.err
		}
		return nil, fmt.Errorf("get secret for %s: %w", provider, err)
	}
	c = m.parse(ctx, provider, aws.ToString(out.SecretString))
	c.at = now
	m.mu.Lock()
	m.cache[provider] = c
	m.mu.Unlock()
	return c.secrets, c.err
}

// parse reads and checks one fetched value.
func (m *Manager) parse(ctx context.Context, provider, value string) cached {
	list, err := ParseValue(value)
	if err != nil {
		err = fmt.Errorf("secret for %s: %w", provider, err)
		m.logger().ErrorContext(ctx, "unusable secret value in Secrets Manager", "provider", provider, "error", err.Error())
		return cached{err: err}
	}
	good, bad := usable(provider, list)
	if bad == nil {
		return cached{secrets: list}
	}
	if len(good) == 0 {
		err := fmt.Errorf("secret for %s: no usable secret: %w", provider, bad)
		m.logger().ErrorContext(ctx, "unusable secret value in Secrets Manager", "provider", provider, "error", err.Error())
		return cached{err: err}
	}
	m.logger().ErrorContext(ctx, "secret of the wrong shape in Secrets Manager, left out", "provider", provider,
		"error", bad.Error(), "usable", len(good))
	return cached{secrets: good}
}

func (m *Manager) logger() *slog.Logger {
	if m.Log != nil {
		return m.Log
	}
	return slog.Default()
}
