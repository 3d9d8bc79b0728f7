// Package load drives `hookstack dev` with many signed webhooks at once,
// with faults injected (shared/faults), and checks that every accepted
// webhook had exactly one effect: the records equal the state the pure
// processors compute from the same events, every subscribed endpoint got
// exactly one successful delivery per event, and nothing is left in the
// dead-letter queues. One payment in four gets its refund before its
// success, so late milestones (payment.succeeded with "late": true) are
// announced under load: payment events are checked per payment by type
// against the pure core's events in event order. It also measures the acknowledgement rate and latency
// against a bare net/http server on the same machine in the same run.
//
// Run it as a test (see load_test.go):
//
//	go test ./shared/load -run TestLoad -count=1                  # 500 webhooks
//	HOOKSTACK_LOAD_N=10000 go test ./shared/load -run TestLoad -count=1 -timeout 20m
//
// All traffic goes to 127.0.0.1.
package load

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookstack/hookstack/events"
	"github.com/hookstack/hookstack/shared/devserver"
	"github.com/hookstack/hookstack/shared/domain"
	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/faults"
	"github.com/hookstack/hookstack/shared/notify"
	"github.com/hookstack/hookstack/shared/payments"
	"github.com/hookstack/hookstack/shared/sample"
	"github.com/hookstack/hookstack/shared/signature"
)

// DefaultFaults is the fault mix of a load run: ingest's queue sends fail
// (503, the provider retries) or land unanswered (the retry is a duplicate),
// the processors' store throttles and times out, consumers die between
// processing and deleting (duplicates), polls stall.
const DefaultFaults = "queue.send=0.03,queue.send=0.005:ack-lost,store.put=0.03,store.put=0.005:ack-lost," +
	"store.get=0.005:timeout:100ms,queue.delete=0.01:crash:1s,queue.receive=0.01:delay:200ms,visibility=10s,seed=42"

// Config is one load run.
type Config struct {
	N           int    // webhooks (default 500)
	Concurrency int    // senders (default 64)
	Faults      string // HOOKSTACK_FAULTS_DEV for the dev server; "-" for none (default DefaultFaults)
	// RetrySchedule is HOOKSTACK_RETRY_SCHEDULE (default "1s,2s,4s,8s":
	// 15 s of retries, longer than the flaky endpoint's outage, so that no
	// delivery is expected to die).
	RetrySchedule string
	// FlakyFailures is how many requests the flaky endpoint fails before it
	// recovers (default 30).
	FlakyFailures int
	Seed          uint64
	// MaxAttempts bounds a provider's retries of one webhook (default 40).
	MaxAttempts int
	// DrainTimeout bounds the wait for the pipeline to finish (default
	// 60 s + 60 ms per webhook: the embedded backend settles some 20 to 30
	// webhooks a second on two busy cores).
	DrainTimeout time.Duration
	// DataDir holds the dev server's files (required: a fresh folder).
	DataDir string
	// Logf, when set, is told of progress.
	Logf func(format string, args ...any)
}

func (c *Config) defaults() {
	if c.N <= 0 {
		c.N = 500
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 64
	}
	if c.Faults == "" {
		c.Faults = DefaultFaults
	}
	if c.Faults == "-" {
		c.Faults = ""
	}
	if c.RetrySchedule == "" {
		c.RetrySchedule = "1s,2s,4s,8s"
	}
	if c.FlakyFailures == 0 {
		c.FlakyFailures = 30
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 40
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = 60*time.Second + time.Duration(c.N)*60*time.Millisecond
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
}

// Throughput is the acknowledgement figures of one target.
type Throughput struct {
	Requests  int           // HTTP requests made (attempts)
	Accepted  int           // webhooks answered 2xx
	Wall      time.Duration // first request to last answer
	PerSecond float64       // Accepted / Wall
	P50, P99  time.Duration // per request
	Max       time.Duration
}

// Report is what a run found.
type Report struct {
	Config     Config
	Machine    string
	Dev, Bare  Throughput
	Statuses   map[int]int // dev server answers by status (0: connection error)
	Retried    int         // webhooks that needed more than one attempt
	Unaccepted int         // webhooks never answered 2xx
	Drain      time.Duration
	Drained    bool
	// Deliveries expected and seen per sink.
	Sinks          []SinkReport
	RecordsChecked int
	Notifications  int
	FaultLog       []string // the dev server's fault lines
	Violations     []string
	ByFamily       map[string]int
	SinkDuplicates int
	Rejected503    int // event log entries of requests answered 503
	// OrphanEvents counts entries of the newest 1000 in the event log with
	// no provider: status updates for an envelope whose request was logged
	// under another id (a send that landed but was answered 503).
	OrphanEvents    int
	UnexpectedSinks int
	// RefundFirst counts the payments whose webhooks were sent out of their
	// event order (a refund before the success it follows); Late the
	// deliveries that said "late": true (a milestone announced after newer
	// events of its payment).
	RefundFirst, Late int
}

// SinkReport is one endpoint's outcome.
type SinkReport struct {
	Name                        string
	Patterns                    []string
	Expected, Delivered         int
	Duplicates, Unexpected      int
	Calls, Failed, BadSignature int
}

// OK reports whether every invariant held.
func (r *Report) OK() bool { return len(r.Violations) == 0 }

func (r *Report) violate(format string, args ...any) {
	const max = 50
	if len(r.Violations) == max {
		r.Violations = append(r.Violations, "… (more)")
	}
	if len(r.Violations) < max {
		r.Violations = append(r.Violations, fmt.Sprintf(format, args...))
	}
}

// Run performs one load run. The error is for a run that could not be
// made; broken invariants are in Report.Violations.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg.defaults()
	if cfg.DataDir == "" {
		return nil, errors.New("load: DataDir is required")
	}
	if _, err := faults.Parse(cfg.Faults); err != nil {
		return nil, err
	}
	rep := &Report{Config: cfg, Machine: Machine(), Statuses: map[int]int{}, ByFamily: map[string]int{}}
	planner, err := NewPlanner(events.FS, cfg.Seed)
	if err != nil {
		return nil, err
	}
	hooks, err := planner.Plan(cfg.N)
	if err != nil {
		return nil, err
	}
	for _, h := range hooks {
		rep.ByFamily[h.Family]++
	}
	client := newClient(cfg.Concurrency)
	defer client.CloseIdleConnections()

	// The ceiling: the same requests, signed the same way, to a bare server.
	cfg.Logf("bare net/http server: %d requests at concurrency %d", cfg.N, cfg.Concurrency)
	bare, err := runBare(ctx, client, hooks, cfg)
	if err != nil {
		return nil, err
	}
	rep.Bare = bare

	// The endpoints: one per family on average; the leads one is flaky.
	sinks := []*Sink{
		{Name: "payments", Patterns: []string{"payment.*"}},
		{Name: "inventory", Patterns: []string{"shopify.*", "standard.inventory.*"}},
		{Name: "leads", Patterns: []string{"standard.lead.*", "hubspot.*", "salesforce.*"}, FailFirst: cfg.FlakyFailures},
		{Name: "relay", Patterns: []string{"livechat.*", "trello.*", "github.*"}},
	}
	for _, s := range sinks {
		if err := s.Start(); err != nil {
			return nil, err
		}
		defer s.Close()
	}

	secrets := map[string]string{}
	env := map[string]string{
		"HOOKSTACK_RETRY_SCHEDULE": cfg.RetrySchedule,
		faults.EnvDev:              cfg.Faults,
	}
	for _, p := range signature.Providers {
		sec, err := signature.GenerateSecret(p)
		if err != nil {
			return nil, err
		}
		secrets[p] = sec
		env["HOOKSTACK_SECRET_"+strings.ToUpper(p)] = sec
	}
	faultLog := &lineCatcher{match: []string{"fault injection on", "faults injected"}}
	base, stop, err := startDev(ctx, cfg.DataDir, env, faultLog)
	if err != nil {
		return nil, err
	}
	stopped := false
	stopDev := func() {
		if !stopped {
			stopped = true
			stop()
		}
	}
	defer stopDev()
	for _, s := range sinks {
		if err := register(ctx, client, base, s); err != nil {
			return nil, err
		}
	}

	cfg.Logf("dev server %s: %d webhooks at concurrency %d, faults %q", base, cfg.N, cfg.Concurrency, cfg.Faults)
	results, dev := send(ctx, client, hooks, cfg.Concurrency, cfg.MaxAttempts, func(h *Webhook) string {
		return base + "/webhooks/" + h.Sample.Provider
	}, secrets, true)
	rep.Dev = dev
	for _, r := range results {
		for _, st := range r.statuses {
			rep.Statuses[st]++
		}
		if len(r.statuses) > 1 {
			rep.Retried++
		}
		if !r.accepted {
			rep.Unaccepted++
			rep.violate("webhook %d (%s %s) never acknowledged: statuses %v", r.hook.Seq, r.hook.Sample.Provider, r.hook.Sample.Type, r.statuses)
		}
	}
	cfg.Logf("sent: %d accepted, %d needed retries, statuses %v, %.0f/s", dev.Accepted, rep.Retried, rep.Statuses, dev.PerSecond)

	exp, err := expect(hooks, results, sinks)
	if err != nil {
		return nil, err
	}
	drainStart := time.Now()
	rep.Drained = drain(ctx, client, base, sinks, exp, cfg.DrainTimeout, cfg.Logf)
	rep.Drain = time.Since(drainStart)
	if !rep.Drained {
		rep.violate("the pipeline did not drain within %s", cfg.DrainTimeout)
	}
	// Anything late (a duplicate) has time to show.
	sleepCtx(ctx, 2*time.Second)
	check(ctx, client, base, sinks, exp, rep)
	stopDev()
	rep.FaultLog = faultLog.lines()
	return rep, nil
}

func newClient(conc int) *http.Client {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        2 * conc,
		MaxIdleConnsPerHost: 2 * conc,
		IdleConnTimeout:     30 * time.Second,
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// startDev runs devserver.Run on a free loopback port.
func startDev(ctx context.Context, dir string, env map[string]string, logw io.Writer) (string, func(), error) {
	ctx, cancel := context.WithCancel(ctx)
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- devserver.Run(ctx, devserver.Options{
			Addr: "127.0.0.1:0", DataDir: dir, Getenv: func(k string) string { return env[k] },
			Out:   io.Discard,
			Log:   slog.New(slog.NewJSONHandler(logw, &slog.HandlerOptions{Level: slog.LevelWarn})),
			Ready: func(addr string) { ready <- addr },
		})
	}()
	select {
	case addr := <-ready:
		return "http://" + addr, func() { cancel(); <-done }, nil
	case err := <-done:
		cancel()
		return "", nil, fmt.Errorf("dev server did not start: %w", err)
	case <-time.After(20 * time.Second):
		cancel()
		return "", nil, errors.New("dev server did not start in 20s")
	}
}

// register adds the sink's endpoint.
func register(ctx context.Context, client *http.Client, base string, s *Sink) error {
	body, _ := json.Marshal(map[string]any{"type": "http", "url": s.URL(), "events": s.Patterns, "description": "load " + s.Name})
	var ep struct {
		ID      string   `json:"id"`
		Secrets []string `json:"secrets"`
	}
	code, err := doJSON(ctx, client, http.MethodPost, base+"/api/endpoints", body, &ep)
	if err != nil || code != http.StatusCreated || ep.ID == "" || len(ep.Secrets) == 0 {
		return fmt.Errorf("register endpoint %s: %d %v", s.Name, code, err)
	}
	s.setEndpoint(ep.ID, ep.Secrets[0])
	return nil
}

type result struct {
	hook      *Webhook
	accepted  bool
	statuses  []int // per attempt; 0 = connection error
	latencies []time.Duration
}

// send posts every webhook at concurrency conc, retrying like its provider
// on a 5xx or a connection error (same body and event id, signed afresh),
// at most maxAttempts times. record fills in each webhook's Events from its
// signed request.
func send(ctx context.Context, client *http.Client, hooks []Webhook, conc, maxAttempts int, target func(*Webhook) string, secrets map[string]string, record bool) ([]result, Throughput) {
	results := make([]result, len(hooks))
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(hooks) {
					return
				}
				h := &hooks[i]
				res := &results[i]
				res.hook = h
				u := target(h)
				for attempt := 0; attempt < maxAttempts && ctx.Err() == nil; attempt++ {
					if attempt > 0 {
						sleepCtx(ctx, min(time.Duration(25<<min(attempt, 6))*time.Millisecond, time.Second))
					}
					req, err := sample.Sign(h.Sample, u, secrets[h.Sample.Provider], time.Now())
					if err != nil {
						res.statuses = append(res.statuses, -1)
						break
					}
					if record && h.Events == nil {
						if evs, err := envelope.Extract(h.Sample.Provider, req.Header, req.Body, time.Now()); err == nil {
							h.Events = evs
						}
					}
					t0 := time.Now()
					code := post(ctx, client, req)
					res.latencies = append(res.latencies, time.Since(t0))
					res.statuses = append(res.statuses, code)
					if code >= 200 && code < 300 {
						res.accepted = true
						break
					}
					if code >= 400 && code < 500 {
						break // not retried by providers
					}
				}
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	var all []time.Duration
	tp := Throughput{Wall: wall}
	for _, r := range results {
		all = append(all, r.latencies...)
		if r.accepted {
			tp.Accepted++
		}
	}
	tp.Requests = len(all)
	tp.P50, tp.P99, tp.Max = Percentile(all, 0.50), Percentile(all, 0.99), Percentile(all, 1)
	if wall > 0 {
		tp.PerSecond = float64(tp.Accepted) / wall.Seconds()
	}
	return results, tp
}

func post(ctx context.Context, client *http.Client, r *signature.Request) int {
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, bytes.NewReader(r.Body))
	if err != nil {
		return 0
	}
	req.Header = r.Header.Clone()
	resp, err := client.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return resp.StatusCode
}

// runBare sends the same webhooks to a net/http server that answers 200.
func runBare(ctx context.Context, client *http.Client, hooks []Webhook, cfg Config) (Throughput, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return Throughput{}, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"bare"}`))
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	base := "http://" + ln.Addr().String()
	secrets := map[string]string{}
	for _, p := range signature.Providers {
		if secrets[p], err = signature.GenerateSecret(p); err != nil {
			return Throughput{}, err
		}
	}
	copies := make([]Webhook, len(hooks))
	copy(copies, hooks)
	_, tp := send(ctx, client, copies, cfg.Concurrency, 1, func(h *Webhook) string {
		return base + "/webhooks/" + h.Sample.Provider
	}, secrets, false)
	client.CloseIdleConnections()
	return tp, nil
}

// expectations of a run.
type expectations struct {
	// deliveries are the expected delivery ids per sink: the raw forwards,
	// whose ids are fixed by their events.
	deliveries map[*Sink]map[string]bool
	// milestones are the expected domain events per sink, by subject and
	// type: their number is fixed, their ids depend on the arrival order
	// (the second part of a run split by a late event has an id of its own).
	milestones map[*Sink]map[string]map[string]int
	// inverted are the subjects whose webhooks were sent out of their event
	// order: the only ones that may announce late.
	inverted map[string]bool
	records  []Expectation
}

// expected is how many deliveries s expects.
func (e expectations) expected(s *Sink) (ids, milestones int) {
	for _, types := range e.milestones[s] {
		for _, n := range types {
			milestones += n
		}
	}
	return len(e.deliveries[s]), milestones
}

// expect computes what the accepted webhooks must produce: one delivery
// per (notification, subscribed endpoint) — the raw forward of every event
// by id, and per payment by type the domain events the pure payments core
// announces for its events applied in their event order (the property of
// shared/payments: any arrival order announces the same types, each once)
// — and the records.
func expect(hooks []Webhook, results []result, sinks []*Sink) (expectations, error) {
	exp := expectations{deliveries: map[*Sink]map[string]bool{}, milestones: map[*Sink]map[string]map[string]int{}, inverted: map[string]bool{}}
	for _, s := range sinks {
		exp.deliveries[s] = map[string]bool{}
		exp.milestones[s] = map[string]map[string]int{}
	}
	subscribed := func(typ string, each func(*Sink)) {
		for _, s := range sinks {
			if slices.ContainsFunc(s.Patterns, func(p string) bool { return notify.MatchPattern(p, typ) }) {
				each(s)
			}
		}
	}
	intents := map[string][]payments.Event{} // in send order
	var payOrder []string
	for i := range hooks {
		h := &hooks[i]
		if !results[i].accepted {
			continue
		}
		if h.Events == nil {
			return exp, fmt.Errorf("webhook %d: events unknown", h.Seq)
		}
		for _, ev := range h.Events {
			// The raw forward's id, as the processors make it (the body's
			// hash for providers whose event id is an unsigned header).
			fwd := domain.Raw(h.Sample.Provider, ev.ID, ev.Type, time.Time{}, ev.Body)
			subscribed(fwd.Type, func(s *Sink) { exp.deliveries[s][notify.DeliveryID(fwd.ID, s.endpointID)] = true })
		}
		exp.records = append(exp.records, h.Expected...)
		if h.Sample.Provider != "stripe" {
			continue
		}
		pev, err := payments.Parse(h.Sample.Body)
		if err != nil {
			return exp, fmt.Errorf("webhook %d: %w", h.Seq, err)
		}
		if pev.PaymentIntent == "" {
			continue
		}
		if _, seen := intents[pev.PaymentIntent]; !seen {
			payOrder = append(payOrder, pev.PaymentIntent)
		}
		intents[pev.PaymentIntent] = append(intents[pev.PaymentIntent], pev)
	}
	for _, id := range payOrder {
		evs := intents[id]
		// In event order (stable: Stripe's seconds tie within a pair, sent
		// in their order).
		inOrder := slices.Clone(evs)
		sort.SliceStable(inOrder, func(i, j int) bool { return inOrder[i].Created.Before(inOrder[j].Created) })
		var p *payments.Payment
		for k, ev := range inOrder {
			if ev.ID != evs[k].ID {
				exp.inverted[payments.Payment{ID: id}.Subject()] = true
			}
			r, err := payments.Process(ev, p, nil)
			if err != nil {
				return exp, fmt.Errorf("payment %s: %w", id, err)
			}
			for _, de := range r.Emitted {
				if de.IsRaw() {
					continue
				}
				subscribed(de.Type, func(s *Sink) {
					if exp.milestones[s][de.Subject] == nil {
						exp.milestones[s][de.Subject] = map[string]int{}
					}
					exp.milestones[s][de.Subject][de.Type]++
				})
			}
			if r.Payment != nil {
				p = r.Payment
			}
		}
		if p == nil {
			continue
		}
		exp.records = append(exp.records, Expectation{Path: "/api/payments/" + id, Fields: map[string]any{
			"status": p.Status, "amount": float64(p.Amount), "currency": p.Currency, "last_event_id": p.LastEventID,
		}})
	}
	return exp, nil
}

// drain waits until nothing is queued or failing and every expected
// delivery arrived.
func drain(ctx context.Context, client *http.Client, base string, sinks []*Sink, exp expectations, timeout time.Duration, logf func(string, ...any)) bool {
	deadline := time.Now().Add(timeout)
	lastLog, lastChange, lastMissing := time.Now(), time.Now(), -1
	for time.Now().Before(deadline) && ctx.Err() == nil {
		missing := 0
		for _, s := range sinks {
			_, extra := exp.expected(s)
			missing += s.missing(exp.deliveries[s], extra)
		}
		pending := 0
		for _, st := range []string{"queued", "failed"} {
			var list []json.RawMessage
			if code, err := doJSON(ctx, client, http.MethodGet, base+"/api/events?limit=1000&status="+st, nil, &list); err == nil && code == 200 {
				pending += len(list)
			} else {
				pending++
			}
		}
		if missing == 0 && pending == 0 {
			return true
		}
		// Nothing left in the pipeline and no delivery arriving any more:
		// what is missing is dead (check reports it), not late.
		if pending > 0 || missing != lastMissing {
			lastMissing, lastChange = missing, time.Now()
		} else if time.Since(lastChange) > 30*time.Second {
			logf("drain: %d deliveries missing with nothing pending for 30s; giving up", missing)
			return false
		}
		if time.Since(lastLog) > 5*time.Second {
			logf("draining: %d deliveries missing, %d events queued or failing", missing, pending)
			lastLog = time.Now()
		}
		sleepCtx(ctx, 250*time.Millisecond)
	}
	return false
}

// check verifies the invariants after the drain.
func check(ctx context.Context, client *http.Client, base string, sinks []*Sink, exp expectations, rep *Report) {
	checkSinks(sinks, exp, rep)

	// Records: every expected one, field by field.
	jobs := make(chan Expectation)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range jobs {
				var got map[string]any
				code, err := doJSON(ctx, client, http.MethodGet, base+escapePath(e.Path), nil, &got)
				mu.Lock()
				rep.RecordsChecked++
				switch {
				case err != nil || code != 200:
					rep.violate("GET %s: %d %v", e.Path, code, err)
				default:
					for k, want := range e.Fields {
						if got[k] != want {
							rep.violate("GET %s: %s = %v, want %v", e.Path, k, got[k], want)
						}
					}
				}
				mu.Unlock()
			}
		}()
	}
	for _, e := range exp.records {
		jobs <- e
	}
	close(jobs)
	wg.Wait()

	var dead []map[string]any
	if code, err := doJSON(ctx, client, http.MethodGet, base+"/api/dlq", nil, &dead); err != nil || code != 200 {
		rep.violate("GET /api/dlq: %d %v", code, err)
	} else if len(dead) > 0 {
		for i, d := range dead {
			if i == 5 {
				break
			}
			rep.violate("dead letter in %v: %v (%v %v)", d["queue"], d["reason"], d["event_type"], d["event_id"])
		}
		rep.violate("%d dead letters, want none", len(dead))
	}
	for _, st := range []string{"dead", "queued", "failed"} {
		var list []map[string]any
		if code, err := doJSON(ctx, client, http.MethodGet, base+"/api/events?limit=20&status="+st, nil, &list); err != nil || code != 200 {
			rep.violate("GET /api/events?status=%s: %d %v", st, code, err)
		} else if len(list) > 0 {
			rep.violate("%d+ events %s (first: %v %v %v)", len(list), st, list[0]["provider"], list[0]["type"], list[0]["reason"])
		}
	}
	// A request answered 503 is logged as rejected (the provider's retry is
	// a new entry); any other rejection is a bug of the run.
	var rejected []struct {
		Provider   string `json:"provider"`
		Type       string `json:"type"`
		Reason     string `json:"reason"`
		HTTPStatus int    `json:"http_status"`
	}
	if code, err := doJSON(ctx, client, http.MethodGet, base+"/api/events?limit=1000&status=rejected", nil, &rejected); err != nil || code != 200 {
		rep.violate("GET /api/events?status=rejected: %d %v", code, err)
	}
	for _, e := range rejected {
		if e.HTTPStatus != http.StatusServiceUnavailable {
			rep.violate("event rejected with %d: %s %s: %s", e.HTTPStatus, e.Provider, e.Type, e.Reason)
		}
	}
	rep.Rejected503 = len(rejected)
	var recent []struct {
		ID       string `json:"id"`
		Provider string `json:"provider"`
		Status   string `json:"status"`
	}
	if code, err := doJSON(ctx, client, http.MethodGet, base+"/api/events?limit=1000", nil, &recent); err == nil && code == 200 {
		for _, e := range recent {
			if e.Provider == "" {
				rep.OrphanEvents++
			}
		}
	}
	var notes []struct {
		ID string `json:"id"`
	}
	if code, err := doJSON(ctx, client, http.MethodGet, base+"/api/notifications?limit=1000", nil, &notes); err != nil || code != 200 {
		rep.violate("GET /api/notifications: %d %v", code, err)
	} else {
		seen := map[string]bool{}
		for _, n := range notes {
			if seen[n.ID] {
				rep.violate("notification %s listed twice", n.ID)
			}
			seen[n.ID] = true
		}
		rep.Notifications = len(notes)
	}
}

// checkSinks checks every sink's deliveries: each expected one arrived
// exactly once, signed; raw forwards by id; domain events per subject by
// type (a payment announces what it announces in event order), late only
// for a payment whose webhooks were sent out of order.
func checkSinks(sinks []*Sink, exp expectations, rep *Report) {
	rep.RefundFirst = len(exp.inverted)
	for _, s := range sinks {
		st := s.Stats()
		ids, milestones := exp.expected(s)
		sr := SinkReport{Name: s.Name, Patterns: s.Patterns, Expected: ids + milestones,
			Calls: st.Calls, Failed: st.Failed, BadSignature: st.BadSignature}
		announced := map[string]map[string]int{} // the milestones delivered, by subject and type
		for id, n := range st.Delivered {
			rcv := st.Received[id]
			switch subject, milestone := milestoneSubject(rcv); {
			case exp.deliveries[s][id]:
			case milestone && exp.milestones[s][subject] != nil:
				if announced[subject] == nil {
					announced[subject] = map[string]int{}
				}
				announced[subject][rcv.Type]++
				if rcv.Late {
					rep.Late++
					if !exp.inverted[subject] {
						rep.violate("sink %s: %s of %s delivered late, its webhooks were sent in order", s.Name, rcv.Type, subject)
					}
				}
			default:
				sr.Unexpected++
				rep.violate("sink %s: unexpected delivery %s %s (×%d)", s.Name, id, rcv.Type, n)
				continue
			}
			sr.Delivered++
			if n > 1 {
				sr.Duplicates += n - 1
				rep.violate("sink %s: delivery %s succeeded %d times", s.Name, id, n)
			}
		}
		// Every payment announced, by type, what it announces in order.
		for _, subject := range slices.Sorted(maps.Keys(exp.milestones[s])) {
			if want := exp.milestones[s][subject]; !maps.Equal(announced[subject], want) {
				rep.violate("sink %s: %s announced %v, in event order %v", s.Name, subject, announced[subject], want)
			}
		}
		if sr.Delivered != sr.Expected {
			rep.violate("sink %s: %d of %d expected deliveries arrived", s.Name, sr.Delivered, sr.Expected)
		}
		if sr.BadSignature > 0 {
			rep.violate("sink %s: %d requests with a bad signature", s.Name, sr.BadSignature)
		}
		rep.SinkDuplicates += sr.Duplicates
		rep.UnexpectedSinks += sr.Unexpected
		rep.Sinks = append(rep.Sinks, sr)
	}
}

// milestoneSubject is the record a delivered domain event concerns
// ("payment:" + data.id for payment.*), milestone false for a raw forward
// ("<provider>.<type>") or an event without data.id.
func milestoneSubject(r Received) (subject string, milestone bool) {
	kind, _, ok := strings.Cut(r.Type, ".")
	if !ok || r.ID == "" || slices.Contains(signature.Providers, kind) {
		return "", false
	}
	return kind + ":" + r.ID, true
}

// escapePath escapes each segment of an API path (emails, "sku:" keys).
func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

func doJSON(ctx context.Context, client *http.Client, method, u string, body []byte, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return resp.StatusCode, err
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, fmt.Errorf("decode %s: %w", u, err)
		}
	}
	return resp.StatusCode, nil
}

// Percentile returns the q-quantile (0..1) of ds (nearest rank); 0 for none.
func Percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(q*float64(len(s))+0.999999) - 1
	i = max(0, min(i, len(s)-1))
	return s[i]
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// lineCatcher keeps the log lines that contain one of match.
type lineCatcher struct {
	match []string
	mu    sync.Mutex
	kept  []string
}

func (l *lineCatcher) Write(p []byte) (int, error) {
	for _, m := range l.match {
		if bytes.Contains(p, []byte(m)) {
			l.mu.Lock()
			l.kept = append(l.kept, strings.TrimSpace(string(p)))
			l.mu.Unlock()
			break
		}
	}
	return len(p), nil
}

func (l *lineCatcher) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.kept...)
}

// Machine describes this machine for the report.
func Machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d logical CPUs, %s", cpu, numCPU(), goVersion())
}
