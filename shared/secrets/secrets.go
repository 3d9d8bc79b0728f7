// Package secrets supplies each provider's active signing secrets, newest
// first: from the environment locally, from AWS Secrets Manager (cached with a
// TTL, so a rotation needs no redeploy) in AWS.
package secrets

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
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

// ParseValue reads a Secrets Manager secret value: a JSON array of strings
// (newest first), an object {"secrets": [...]}, or a plain comma-separated
// string. An empty array means "not filled in yet".
func ParseValue(v string) ([]string, error) {
	t := strings.TrimSpace(v)
	switch {
	case strings.HasPrefix(t, "["):
		var list []string
		if err := json.Unmarshal([]byte(t), &list); err != nil {
			return nil, fmt.Errorf("secret value is not a JSON array of strings: %w", err)
		}
		return compact(list), nil
	case strings.HasPrefix(t, "{"):
		var obj struct {
			Secrets []string `json:"secrets"`
		}
		if err := json.Unmarshal([]byte(t), &obj); err != nil {
			return nil, fmt.Errorf(`secret value is not {"secrets": [...]}: %w`, err)
		}
		return compact(obj.Secrets), nil
	}
	return SplitList(t), nil
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
	ttl      time.Duration
	staleFor time.Duration
	now      func() time.Time

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	secrets []string
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
		return c.secrets, nil
	}
	out, err := m.client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		if have && now.Sub(c.at) < m.ttl+m.staleFor {
			return c.secrets, nil
		}
		return nil, fmt.Errorf("get secret for %s: %w", provider, err)
	}
	list, err := ParseValue(aws.ToString(out.SecretString))
	if err != nil {
		return nil, fmt.Errorf("secret for %s: %w", provider, err)
	}
	m.mu.Lock()
	m.cache[provider] = cached{secrets: list, at: now}
	m.mu.Unlock()
	return list, nil
}
