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

// Timings of Manager's cache.
const (
	// DefaultTTL is how long a fetched value is used before it is fetched again.
	DefaultTTL = 5 * time.Minute
	// MaxStale is how long after the TTL the last good value is still served
	// while Secrets Manager cannot be reached.
	MaxStale = time.Hour
	// RefreshTimeout bounds a refresh made while a stale value can be served
	// instead (SDK retries included), so a hanging or throttling Secrets
	// Manager costs one request at most this much.
	RefreshTimeout = time.Second
	// RefreshBackoff is how long, after a failed refresh, the stale value is
	// served without calling Secrets Manager again (and the failure is logged
	// at most once per period).
	RefreshBackoff = 30 * time.Second
)

// Manager reads secrets from AWS Secrets Manager with a TTL cache. When a
// refresh fails it keeps serving the last good value for up to MaxStale after
// the TTL, so a brief Secrets Manager outage does not reject webhooks: the
// refresh is bounded by RefreshTimeout, and after a failure Secrets Manager
// is not called again for RefreshBackoff. One call per provider is in flight
// at a time; concurrent requests serve the stale value meanwhile, or, with
// none, wait for that call.
type Manager struct {
	client SecretsManagerAPI
	ids    map[string]string // provider → secret id (ARN or name)
	// Fallback answers for providers without a secret id (may be nil).
	Fallback Static
	// Log receives an error line, once per fetch, for a value holding a
	// secret of the wrong shape (naming the provider and the problem, never
	// the value), and a warning, at most once per RefreshBackoff, when a
	// refresh fails and the stale value is served. Nil: slog.Default().
	Log            *slog.Logger
	ttl            time.Duration
	staleFor       time.Duration
	refreshTimeout time.Duration
	backoff        time.Duration
	now            func() time.Time

	mu      sync.Mutex
	entries map[string]*entry
}

// entry is one provider's cache state, guarded by Manager.mu.
type entry struct {
	cached
	have     bool      // cached holds a fetched value
	retryAt  time.Time // after a failed refresh: no call before this
	inflight *call     // the call in flight, if any
}

type cached struct {
	secrets []string
	err     error // a value that cannot be used: served as is until the TTL
	at      time.Time
}

// errNoAnswer is a call's outcome until GetSecretValue returns.
var errNoAnswer = errors.New("Secrets Manager call did not return")

// call is one GetSecretValue shared by concurrent requests; its fields are
// set before done is closed.
type call struct {
	done     chan struct{}
	value    cached
	err      error // the fetch failed
	canceled bool  // ... because the caller's own context ended
}

// NewManager builds a cached reader. ttl ≤ 0 means DefaultTTL.
func NewManager(client SecretsManagerAPI, ids map[string]string, ttl time.Duration) *Manager {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Manager{client: client, ids: ids, ttl: ttl, staleFor: MaxStale, refreshTimeout: RefreshTimeout,
		backoff: RefreshBackoff, now: time.Now, entries: map[string]*entry{}}
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
//
// Past the TTL, while the cached value is less than MaxStale past it, one
// request refreshes it under RefreshTimeout while the others serve the
// cached value; a failed refresh is logged and the cached value served
// without calling Secrets Manager again for RefreshBackoff. With no value
// (or one too stale) the request waits for the call on its own context, one
// call shared by all, and a failure is an error.
func (m *Manager) Secrets(ctx context.Context, provider string) ([]string, error) {
	id, ok := m.ids[provider]
	if !ok {
		return m.Fallback.Secrets(ctx, provider)
	}
	for {
		now := m.now()
		m.mu.Lock()
		e := m.entries[provider]
		if e == nil {
			e = &entry{}
			m.entries[provider] = e
		}
		if e.have && now.Sub(e.at) < m.ttl {
			m.mu.Unlock()
			return e.secrets, e.err
		}
		stale := e.have && now.Sub(e.at) < m.ttl+m.staleFor
		if stale && (e.inflight != nil || now.Before(e.retryAt)) {
			m.mu.Unlock()
			return e.secrets, e.err
		}
		if cl := e.inflight; cl != nil { // no usable value: wait for the call
			m.mu.Unlock()
			select {
			case <-cl.done:
			case <-ctx.Done():
				return nil, fmt.Errorf("get secret for %s: %w", provider, context.Cause(ctx))
			}
			if cl.err == nil {
				return cl.value.secrets, cl.value.err
			}
			if cl.canceled {
				continue // that caller gave up, not Secrets Manager: try again
			}
			return nil, fmt.Errorf("get secret for %s: %w", provider, cl.err)
		}
		cl := &call{done: make(chan struct{})}
		e.inflight = cl
		m.mu.Unlock()
		return m.refresh(ctx, provider, id, e, cl, now, stale)
	}
}

// refresh makes the call cl for e (whose inflight it is) and answers the
// request that made it: with the fetched value, else with the cached one
// when stale (backing off and logging the failure), else with the error.
func (m *Manager) refresh(ctx context.Context, provider, id string, e *entry, cl *call, now time.Time, stale bool) ([]string, error) {
	callCtx := ctx
	if stale {
		var cancel context.CancelFunc
		callCtx, cancel = context.WithTimeout(ctx, m.refreshTimeout)
		defer cancel()
	}
	// Until the call returns; the cleanup runs also if the client panics,
	// so that waiters are not stranded.
	cl.err = errNoAnswer
	defer func() {
		m.mu.Lock()
		e.inflight = nil
		m.mu.Unlock()
		close(cl.done)
	}()
	out, err := m.client.GetSecretValue(callCtx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err == nil {
		cl.value, cl.err = m.parse(ctx, provider, aws.ToString(out.SecretString)), nil
		cl.value.at = now
	} else {
		cl.err, cl.canceled = err, ctx.Err() != nil
	}

	m.mu.Lock()
	switch {
	case cl.err == nil:
		e.cached, e.have, e.retryAt = cl.value, true, time.Time{}
	case stale && !cl.canceled:
		e.retryAt = m.now().Add(m.backoff)
	}
	served := e.cached
	m.mu.Unlock()

	switch {
	case cl.err == nil:
		return cl.value.secrets, cl.value.err
	case !stale:
		return nil, fmt.Errorf("get secret for %s: %w", provider, cl.err)
	case !cl.canceled:
		m.logger().WarnContext(ctx, "cannot refresh secret from Secrets Manager, serving the cached value",
			"provider", provider, "error", cl.err.Error(), "age", now.Sub(served.at).Round(time.Second).String(),
			"retry_in", m.backoff.String())
	}
	return served.secrets, served.err
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
