package secrets

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/hookstack/hookstack/shared/secrets/secretstest"
)

// Values of the "github" secret in these tests (any text is a usable github
// secret); logs must never hold "ghsecret".
const (
	secretOne = "ghsecret-one"
	secretTwo = "ghsecret-two"
)

var (
	valueOne    = FormatValue([]string{secretOne})
	valueTwo    = FormatValue([]string{secretTwo, secretOne}) // a rotation
	listOne     = []string{secretOne}
	listTwo     = []string{secretTwo, secretOne}
	errThrottle = errors.New("ThrottlingException: Rate exceeded")
)

// fakeSM is a hand-written SecretsManagerAPI: it answers the value, fails
// fast (as when throttled) or hangs until the caller's context ends.
type fakeSM struct {
	mu        sync.Mutex
	value     string
	mode      string          // "ok" (or ""), "fail", "hang"
	calls     int             // GetSecretValue calls
	deadlines []time.Duration // per call: time left on its context, -1 when none
	started   chan struct{}   // if set, each call sends on it when it starts
	release   chan struct{}   // if set, each call waits for it to close (or its context)
}

func (f *fakeSM) GetSecretValue(ctx context.Context, _ *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.mu.Lock()
	f.calls++
	left := time.Duration(-1)
	if d, ok := ctx.Deadline(); ok {
		left = time.Until(d)
	}
	f.deadlines = append(f.deadlines, left)
	started, release := f.started, f.release
	f.mu.Unlock()
	if started != nil {
		started <- struct{}{}
	}
	if release != nil {
		select {
		case <-release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f.mu.Lock()
	mode, value := f.mode, f.value
	f.mu.Unlock()
	switch mode {
	case "fail":
		return nil, errThrottle
	case "hang":
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(value)}, nil
}

func (f *fakeSM) set(mode, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if mode != "" {
		f.mode = mode
	}
	if value != "" {
		f.value = value
	}
}

func (f *fakeSM) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// fakeClock is Manager.now for tests; reads counts the calls (each request
// reads it on arrival).
type fakeClock struct {
	mu    sync.Mutex
	t     time.Time
	reads atomic.Int32
}

func newClock() *fakeClock { return &fakeClock{t: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) now() time.Time {
	c.reads.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

const testRefreshTimeout = 100 * time.Millisecond

// TestManagerStaleRefresh: past the TTL a failed refresh costs one request
// at most the refresh timeout, then no Secrets Manager call for the back-off
// while the stale value is served (failure logged once per back-off); the
// stale value is served until MaxStale past the TTL, then requests fail (and
// each calls Secrets Manager) as before; recovery picks up a rotated value.
func TestManagerStaleRefresh(t *testing.T) {
	type step struct {
		advance time.Duration // the clock moves before the request
		mode    string        // Secrets Manager from now on: "ok", "fail", "hang" ("" unchanged)
		value   string        // a new stored value ("" unchanged)
		want    []string      // nil: want an error
		calls   int           // Secrets Manager calls the request makes
		logs    int           // warnings the request logs
		waits   bool          // the request waits out the refresh timeout
	}
	first := step{mode: "ok", want: listOne, calls: 1}
	tests := []struct {
		name  string
		steps []step
	}{
		{"hanging after the TTL: one bounded wait, then no calls during the back-off", []step{
			first,
			{advance: DefaultTTL, mode: "hang", want: listOne, calls: 1, logs: 1, waits: true},
			{advance: time.Second, want: listOne},
			{advance: RefreshBackoff - 2*time.Second, want: listOne},
			{advance: time.Second, want: listOne, calls: 1, logs: 1, waits: true}, // back-off over: one more try
			{advance: 10 * time.Second, want: listOne},
		}},
		{"throttled after the TTL: one call per back-off", []step{
			first,
			{advance: DefaultTTL + time.Second, mode: "fail", want: listOne, calls: 1, logs: 1},
			{want: listOne},
			{advance: RefreshBackoff - time.Nanosecond, want: listOne},
			{advance: time.Nanosecond, want: listOne, calls: 1, logs: 1},
			{advance: RefreshBackoff / 2, want: listOne},
		}},
		{"recovery after the back-off picks up a rotated value", []step{
			first,
			{advance: DefaultTTL, mode: "fail", want: listOne, calls: 1, logs: 1},
			{advance: 10 * time.Second, mode: "ok", value: valueTwo, want: listOne}, // still backing off
			{advance: RefreshBackoff - 10*time.Second, want: listTwo, calls: 1},
			{advance: DefaultTTL - time.Second, want: listTwo}, // fresh again: the TTL runs from the new fetch
			{advance: time.Second, mode: "hang", want: listTwo, calls: 1, logs: 1, waits: true},
		}},
		{"stale value served until MaxStale past the TTL, then errors as before", []step{
			first,
			{advance: DefaultTTL, mode: "fail", want: listOne, calls: 1, logs: 1},
			{advance: MaxStale - time.Second, want: listOne, calls: 1, logs: 1},
			{advance: time.Second, want: nil, calls: 1}, // too stale: an error, no back-off
			{want: nil, calls: 1},
			{mode: "ok", value: valueTwo, want: listTwo, calls: 1}, // Secrets Manager back
			{want: listTwo},
		}},
		{"cold start failing: every request calls and errors, as before", []step{
			{mode: "fail", want: nil, calls: 1},
			{want: nil, calls: 1},
			{advance: time.Second, mode: "ok", want: listOne, calls: 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeSM{value: valueOne}
			var logs bytes.Buffer
			m := NewManager(f, map[string]string{"github": "arn:github"}, 0)
			m.Log = slog.New(slog.NewJSONHandler(&logs, nil))
			m.refreshTimeout = testRefreshTimeout
			clock := newClock()
			m.now = clock.now
			for i, s := range tt.steps {
				clock.add(s.advance)
				f.set(s.mode, s.value)
				calls, logged := f.callCount(), strings.Count(logs.String(), "\n")
				// As in Lambda, the request has a deadline (shortened here).
				ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
				start := time.Now()
				got, err := m.Secrets(ctx, "github")
				took := time.Since(start)
				cancel()
				if s.want == nil && err == nil || s.want != nil && (err != nil || !reflect.DeepEqual(got, s.want)) {
					t.Fatalf("step %d: Secrets = %q, %v; want %q (nil: an error)", i, got, err, s.want)
				}
				if n := f.callCount() - calls; n != s.calls {
					t.Errorf("step %d: %d Secrets Manager calls, want %d", i, n, s.calls)
				}
				if n := strings.Count(logs.String(), "\n") - logged; n != s.logs {
					t.Errorf("step %d: %d log lines, want %d: %s", i, n, s.logs, logs.String())
				}
				if s.waits && (took < testRefreshTimeout || took > testRefreshTimeout+2*time.Second) {
					t.Errorf("step %d took %v, want about the refresh timeout %v", i, took, testRefreshTimeout)
				}
			}
			out := logs.String()
			if strings.Contains(out, "ghsecret") {
				t.Errorf("log holds a secret: %s", out)
			}
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				if line != "" && (!strings.Contains(line, `"level":"WARN"`) || !strings.Contains(line, `"provider":"github"`) ||
					!strings.Contains(line, `"error":`)) {
					t.Errorf("log line %s: want a warning naming the provider and the error", line)
				}
			}
		})
	}
}

// TestManagerRefreshDeadline: a refresh with a stale value to fall back on
// runs under RefreshTimeout; a fetch with nothing to fall back on runs on
// the request's own context (its deadline).
func TestManagerRefreshDeadline(t *testing.T) {
	f := &fakeSM{value: valueOne}
	m := NewManager(f, map[string]string{"github": "arn:github"}, 0)
	clock := newClock()
	m.now = clock.now
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := m.Secrets(ctx, "github"); err != nil {
		t.Fatal(err)
	}
	clock.add(DefaultTTL)
	if _, err := m.Secrets(ctx, "github"); err != nil {
		t.Fatal(err)
	}
	if len(f.deadlines) != 2 {
		t.Fatalf("%d calls, want 2", len(f.deadlines))
	}
	tests := []struct {
		name     string
		left     time.Duration
		min, max time.Duration
	}{
		{"cold: the request's deadline", f.deadlines[0], 5 * time.Second, 10 * time.Second},
		{"stale: RefreshTimeout", f.deadlines[1], RefreshTimeout / 2, RefreshTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.left < tt.min || tt.left > tt.max {
				t.Errorf("time left on the call's context %v, want within [%v, %v]", tt.left, tt.min, tt.max)
			}
		})
	}
}

// TestManagerSharesOneCall: four concurrent requests make one Secrets
// Manager call; with a stale value the other three serve it without waiting
// for the call, with none they wait for it and share its answer.
func TestManagerSharesOneCall(t *testing.T) {
	type result struct {
		list []string
		err  error
	}
	tests := []struct {
		name      string
		warm      bool     // a value was fetched, and is now past the TTL
		others    []string // what the three requests not making the call get
		leader    []string // what the one making it gets
		wantCalls int      // including the warm-up fetch
	}{
		{"stale value: the others serve it at once", true, listOne, listTwo, 2},
		{"no value: the others wait for the one call", false, listOne, listOne, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeSM{value: valueOne}
			m := NewManager(f, map[string]string{"github": "arn:github"}, 0)
			m.refreshTimeout = time.Minute // the test's release ends the call
			clock := newClock()
			m.now = clock.now
			if tt.warm {
				if _, err := m.Secrets(t.Context(), "github"); err != nil {
					t.Fatal(err)
				}
				clock.add(DefaultTTL)
				f.set("", valueTwo)
			}
			f.mu.Lock()
			f.started, f.release = make(chan struct{}, 4), make(chan struct{})
			f.mu.Unlock()
			clock.reads.Store(0)
			results := make(chan result, 4)
			for range 4 {
				go func() {
					list, err := m.Secrets(t.Context(), "github")
					results <- result{list, err}
				}()
			}
			timeout := time.After(10 * time.Second)
			select {
			case <-f.started:
			case <-timeout:
				t.Fatal("no Secrets Manager call")
			}
			if tt.warm {
				for i := range 3 {
					select {
					case r := <-results:
						if r.err != nil || !reflect.DeepEqual(r.list, tt.others) {
							t.Fatalf("request %d during the refresh = %q, %v; want %q", i, r.list, r.err, tt.others)
						}
					case <-timeout:
						t.Fatal("requests waited for the refresh instead of serving the stale value")
					}
				}
			} else {
				for clock.reads.Load() < 4 { // all four have arrived
					select {
					case <-timeout:
						t.Fatal("requests did not arrive")
					case <-time.After(time.Millisecond):
					}
				}
				time.Sleep(20 * time.Millisecond) // time for a second call, if one were made
				if len(results) != 0 {
					t.Fatal("a request answered before the only call returned")
				}
			}
			close(f.release)
			remaining := 4
			if tt.warm {
				remaining = 1 // the one that made the call
			}
			for range remaining {
				select {
				case r := <-results:
					want := tt.others
					if tt.warm {
						want = tt.leader
					}
					if r.err != nil || !reflect.DeepEqual(r.list, want) {
						t.Errorf("request after the call = %q, %v; want %q", r.list, r.err, want)
					}
				case <-timeout:
					t.Fatal("requests did not finish")
				}
			}
			if n := f.callCount(); n != tt.wantCalls {
				t.Errorf("%d Secrets Manager calls, want %d", n, tt.wantCalls)
			}
		})
	}
}

// TestManagerCallerGivesUp: when the request making the call ends (its
// context), that is not Secrets Manager failing: a request waiting for the
// call makes its own, and no back-off starts.
func TestManagerCallerGivesUp(t *testing.T) {
	tests := []struct {
		name string
		warm bool
	}{
		{"no value: the waiting request calls again", false},
		{"stale value: no back-off starts", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeSM{value: valueOne}
			m := NewManager(f, map[string]string{"github": "arn:github"}, 0)
			var logs bytes.Buffer
			m.Log = slog.New(slog.NewJSONHandler(&logs, nil))
			m.refreshTimeout = time.Minute
			clock := newClock()
			m.now = clock.now
			if tt.warm {
				if _, err := m.Secrets(t.Context(), "github"); err != nil {
					t.Fatal(err)
				}
				clock.add(DefaultTTL)
			}
			f.mu.Lock()
			f.started, f.release = make(chan struct{}, 4), make(chan struct{})
			f.mu.Unlock()
			ctx, cancel := context.WithCancel(t.Context())
			first := make(chan error, 1)
			go func() {
				_, err := m.Secrets(ctx, "github")
				first <- err
			}()
			wait(t, f.started, "the first call")
			clock.reads.Store(0)
			second := make(chan []string, 1)
			if !tt.warm {
				go func() {
					list, _ := m.Secrets(t.Context(), "github")
					second <- list
				}()
				for clock.reads.Load() < 1 {
					time.Sleep(time.Millisecond)
				}
				time.Sleep(10 * time.Millisecond)
			}
			cancel()
			err := wait(t, first, "the request whose context ended")
			if tt.warm && err != nil || !tt.warm && !errors.Is(err, context.Canceled) {
				t.Fatalf("request whose context ended: %v", err)
			}
			if tt.warm { // the next request tries again at once
				go func() {
					list, _ := m.Secrets(t.Context(), "github")
					second <- list
				}()
			}
			wait(t, f.started, "a second call")
			close(f.release)
			if got := wait(t, second, "the second request"); !reflect.DeepEqual(got, listOne) {
				t.Errorf("second request = %q, want %q", got, listOne)
			}
			if n := f.callCount() - map[bool]int{true: 1}[tt.warm]; n != 2 {
				t.Errorf("%d calls, want 2", n)
			}
			if logs.Len() != 0 {
				t.Errorf("logged %s, want nothing (Secrets Manager did not fail)", logs.String())
			}
		})
	}
}

// wait receives from ch, failing the test after 10 s.
func wait[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// TestManagerOutageRealClient: with the real SDK client and its default
// retries against a Secrets Manager that hangs or throttles, a refresh
// costs one request at most about RefreshTimeout (the retries are inside
// it), the back-off makes no HTTP request at all, and a rotated value is
// picked up once Secrets Manager answers again.
func TestManagerOutageRealClient(t *testing.T) {
	tests := []struct {
		name   string
		outage func(w http.ResponseWriter, r *http.Request, stop <-chan struct{})
	}{
		{"hanging", func(_ http.ResponseWriter, r *http.Request, stop <-chan struct{}) {
			select {
			case <-r.Context().Done():
			case <-stop:
			}
		}},
		{"throttling", func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"__type":"ThrottlingException","message":"Rate exceeded"}`)
		}},
	}
	const id = "hookstack/github"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := secretstest.New(map[string]string{id: valueOne})
			var down atomic.Bool
			var requests atomic.Int32
			stop := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				if down.Load() {
					tt.outage(w, r, stop)
					return
				}
				store.ServeHTTP(w, r)
			}))
			t.Cleanup(srv.Close)
			t.Cleanup(func() { close(stop) }) // runs first: unblocks hanging handlers
			// The SDK's default retries.
			client := secretsmanager.New(secretsmanager.Options{
				Region:       "eu-west-1",
				BaseEndpoint: aws.String(srv.URL),
				Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
				HTTPClient:   awshttp.NewBuildableClient(),
			})
			m := NewManager(client, map[string]string{"github": id}, 0)
			m.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
			const timeout = 300 * time.Millisecond
			m.refreshTimeout = timeout
			clock := newClock()
			m.now = clock.now
			read := func(want []string) {
				t.Helper()
				// As in Lambda, the request has a deadline (shortened here).
				ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
				defer cancel()
				if got, err := m.Secrets(ctx, "github"); err != nil || !reflect.DeepEqual(got, want) {
					t.Fatalf("Secrets = %q, %v; want %q", got, err, want)
				}
			}
			read(listOne)

			down.Store(true)
			clock.add(DefaultTTL)
			start := time.Now()
			read(listOne)
			if took := time.Since(start); took > timeout+2*time.Second {
				t.Errorf("refresh during the outage took %v, want about %v", took, timeout)
			}
			during := requests.Load()
			for range 5 {
				clock.add(5 * time.Second)
				read(listOne)
			}
			if n := requests.Load() - during; n != 0 {
				t.Errorf("%d HTTP requests during the back-off, want 0", n)
			}

			down.Store(false)
			store.Put(id, valueTwo)
			clock.add(RefreshBackoff)
			read(listTwo)
		})
	}
}
