package notifystore_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/hookstack/hookstack/shared/blob"
	"github.com/hookstack/hookstack/shared/notify"
	"github.com/hookstack/hookstack/shared/notify/notifystore"
)

// claimStore stands for the S3 claim-check store.
type claimStore struct{}

func (claimStore) Put(context.Context, string, []byte) (string, error) { return "", nil }
func (claimStore) Get(context.Context, string) ([]byte, error)         { return nil, blob.ErrNotFound }

func getenv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// fullEnv is what the stack sets for both functions (the fan-out ignores
// the deliverer's variables and the other way round).
func fullEnv() map[string]string {
	return map[string]string{
		"HOOKSTACK_TABLE":                       "hookstack",
		"HOOKSTACK_QUEUE_URL_NOTIFICATIONS":     "http://sqs.local/000/notifications",
		"HOOKSTACK_QUEUE_URL_NOTIFICATIONS_DLQ": "http://sqs.local/000/notifications-dlq",
		"HOOKSTACK_QUEUE_URL_DELIVERIES":        "http://sqs.local/000/deliveries",
		"HOOKSTACK_QUEUE_URL_DELIVERIES_DLQ":    "http://sqs.local/000/deliveries-dlq",
		"HOOKSTACK_RETRY_SCHEDULE":              "1s,2s",
		"HOOKSTACK_DELIVERY_TIMEOUT":            "3s",
		"HOOKSTACK_OUTBOUND_ALLOW_CIDRS":        "127.0.0.1/32",
	}
}

func without(m map[string]string, keys ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for _, k := range keys {
		delete(out, k)
	}
	return out
}

func with(m map[string]string, k, v string) map[string]string {
	out := without(m)
	out[k] = v
	return out
}

func TestFromEnvValidation(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	tests := []struct {
		name     string
		env      map[string]string
		fanout   []string // substrings the fan-out's error must have ("" entries: must succeed)
		deliver  []string
		noFanout []string // substrings the fan-out's error must not have
	}{
		{
			name:     "empty environment names every variable",
			env:      map[string]string{},
			fanout:   []string{"fanout:", "HOOKSTACK_TABLE", "HOOKSTACK_QUEUE_URL_NOTIFICATIONS", "HOOKSTACK_QUEUE_URL_NOTIFICATIONS_DLQ", "HOOKSTACK_QUEUE_URL_DELIVERIES"},
			deliver:  []string{"deliverer:", "HOOKSTACK_TABLE", "HOOKSTACK_QUEUE_URL_DELIVERIES", "HOOKSTACK_QUEUE_URL_DELIVERIES_DLQ"},
			noFanout: []string{"DELIVERIES_DLQ"},
		},
		{
			name:    "table missing",
			env:     without(fullEnv(), "HOOKSTACK_TABLE"),
			fanout:  []string{"HOOKSTACK_TABLE is not set"},
			deliver: []string{"HOOKSTACK_TABLE is not set"},
		},
		{
			name:    "blank table",
			env:     with(fullEnv(), "HOOKSTACK_TABLE", "  "),
			fanout:  []string{"HOOKSTACK_TABLE is not set"},
			deliver: []string{"HOOKSTACK_TABLE is not set"},
		},
		{
			name:    "deliveries DLQ is the deliverer's only",
			env:     without(fullEnv(), "HOOKSTACK_QUEUE_URL_DELIVERIES_DLQ"),
			deliver: []string{"HOOKSTACK_QUEUE_URL_DELIVERIES_DLQ"},
		},
		{
			name:    "notifications DLQ is the fan-out's only",
			env:     without(fullEnv(), "HOOKSTACK_QUEUE_URL_NOTIFICATIONS_DLQ"),
			fanout:  []string{"HOOKSTACK_QUEUE_URL_NOTIFICATIONS_DLQ"},
			deliver: nil,
		},
		{
			name:    "bad schedule",
			env:     with(fullEnv(), "HOOKSTACK_RETRY_SCHEDULE", "soon"),
			fanout:  []string{"HOOKSTACK_RETRY_SCHEDULE"},
			deliver: []string{"HOOKSTACK_RETRY_SCHEDULE"},
		},
		{
			name:    "bad timeout",
			env:     with(fullEnv(), "HOOKSTACK_DELIVERY_TIMEOUT", "-1s"),
			deliver: []string{"HOOKSTACK_DELIVERY_TIMEOUT"},
			fanout:  []string{"HOOKSTACK_DELIVERY_TIMEOUT"},
		},
		{
			name:    "bad allowlist and missing table together",
			env:     without(with(fullEnv(), "HOOKSTACK_OUTBOUND_ALLOW_CIDRS", "127.0.0.1/99"), "HOOKSTACK_TABLE"),
			deliver: []string{"HOOKSTACK_OUTBOUND_ALLOW_CIDRS", "HOOKSTACK_TABLE"},
			fanout:  []string{"HOOKSTACK_OUTBOUND_ALLOW_CIDRS", "HOOKSTACK_TABLE"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := notifystore.FanOutFromEnv(t.Context(), getenv(tc.env), log)
			check(t, "FanOutFromEnv", f != nil, err, tc.fanout, tc.noFanout)
			d, err := notifystore.DelivererFromEnv(t.Context(), getenv(tc.env), log, nil)
			check(t, "DelivererFromEnv", d != nil, err, tc.deliver, nil)
		})
	}
}

func check(t *testing.T, what string, built bool, err error, want, not []string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil || !built {
			t.Fatalf("%s: %v, want a handler", what, err)
		}
		return
	}
	if err == nil || built {
		t.Fatalf("%s succeeded, want an error naming %v", what, want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s error %q does not name %s", what, err, w)
		}
	}
	for _, n := range not {
		if strings.Contains(err.Error(), n) {
			t.Errorf("%s error %q names %s, which it does not need", what, err, n)
		}
	}
}

// The complete environment builds handlers configured from it.
func TestFromEnvBuilds(t *testing.T) {
	t.Setenv("AWS_REGION", "us-east-1")
	env := fullEnv()
	var gotBucket string
	claims := func(_ aws.Config, getenv func(string) string) blob.Store {
		gotBucket = getenv(notifystore.EnvClaimBucket)
		return claimStore{}
	}
	d, err := notifystore.DelivererFromEnv(t.Context(), getenv(with(env, notifystore.EnvClaimBucket, "claims")), nil, claims)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := d.Blobs.(claimStore); !ok || gotBucket != "claims" {
		t.Errorf("blobs = %T (bucket %q), want the claim reader's store", d.Blobs, gotBucket)
	}
	for name, claims := range map[string]notifystore.ClaimReader{
		"no claim reader":          nil,
		"claim reader without one": func(aws.Config, func(string) string) blob.Store { return nil },
	} {
		d, err := notifystore.DelivererFromEnv(t.Context(), getenv(env), nil, claims)
		if err != nil || d.Blobs != nil {
			t.Errorf("%s: blobs = %#v, %v; want none (a nil interface)", name, d.Blobs, err)
		}
	}
	if got := d.Deliverer.Schedule.String(); got != "1s,2s" {
		t.Errorf("schedule = %s", got)
	}
	if d.Deliverer.Timeout != 3*time.Second || d.Deliverer.Client == nil || d.Deliverer.Client.CheckRedirect == nil {
		t.Errorf("deliverer = %+v: want the 3s timeout and the guarded client", d.Deliverer)
	}
	if _, ok := d.Endpoints.(*notify.EndpointCache); !ok {
		t.Errorf("endpoints = %T, want the cache", d.Endpoints)
	}
	if _, ok := d.Disabler.(*notifystore.Endpoints); !ok {
		t.Errorf("disabler = %T, want the store (not the cache)", d.Disabler)
	}
	if d.Log == nil || d.Queue == nil {
		t.Error("log or queue missing")
	}
	f, err := notifystore.FanOutFromEnv(t.Context(), getenv(env), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.Endpoints.(*notify.EndpointCache); !ok || f.Queue == nil {
		t.Errorf("fan-out = %+v", f)
	}
}
