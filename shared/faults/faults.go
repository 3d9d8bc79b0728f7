// Package faults injects failures into the pipeline's ports (queue.Queue and
// store.Store) for `hookstack dev`, so that the retry paths — a provider
// retrying after a 503, a processor retrying after DynamoDB throttling, a
// message coming back after a consumer died before deleting it — can be
// exercised on one machine. It is off unless HOOKSTACK_FAULTS_DEV is set; no
// deployed stack reads that variable.
//
// # Format
//
// HOOKSTACK_FAULTS_DEV is a comma-separated list of rules and settings:
//
//	<op>[@<name>]=<probability>[:<mode>[:<duration>]]
//	seed=<integer>          the random stream (default: from the clock)
//	visibility=<duration>   cap on Receive's visibility timeout, so that a
//	                        message whose processing failed comes back
//	                        sooner than the runner's 30 s (default: no cap)
//
// <op> is one of
//
//	queue.send  queue.receive  queue.delete  queue.change_visibility
//	store.get   store.put      store.clear_outbox  store.list
//	store.append_notification  store.list_notifications
//
// or queue.* / store.* for every operation of a port. @<name> restricts a
// rule to one queue ("queue.send@payments") or one record kind
// ("store.put@payment"). <probability> is in [0,1]. <mode> is
//
//	error     (default) fail at once without doing the operation: a queue
//	          error (ingest answers 503, the runner retries the poll), or
//	          store.ErrUnavailable (throttling: the processor retries the
//	          message);
//	delay     wait <duration> (default 100ms), then do the operation;
//	timeout   wait <duration> (default 1s, or until the context ends), then
//	          fail without doing the operation, with an error that is both
//	          context.DeadlineExceeded and (for the store) ErrUnavailable;
//	ack-lost  do the operation, then report a failure: the caller cannot
//	          tell that it succeeded (a send that landed but timed out, a
//	          conditional write applied but unanswered), so it retries work
//	          that is already done;
//	crash     queue.delete only: do not delete and make the message visible
//	          again after <duration> (default: its visibility timeout runs
//	          out) — a consumer killed after processing and before its
//	          delete, whose batch comes back as duplicates.
//
// Rules are tried in order with independent draws; the first that fires
// decides. Example, the load test's mix:
//
//	queue.send=0.05,queue.send=0.01:ack-lost,store.put=0.05,store.get=0.01:timeout:200ms,queue.delete=0.02:crash:1s,visibility=10s,seed=42
package faults

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// EnvDev is the environment variable `hookstack dev` reads the spec from.
const EnvDev = "HOOKSTACK_FAULTS_DEV"

// Errors.
var (
	// ErrInjected marks every failure this package makes up.
	ErrInjected = errors.New("injected fault")
	// ErrSpec: the spec cannot be parsed.
	ErrSpec = errors.New("invalid fault spec")
)

// Mode is what a rule does when it fires.
type Mode string

// Modes.
const (
	ModeError   Mode = "error"
	ModeDelay   Mode = "delay"
	ModeTimeout Mode = "timeout"
	ModeAckLost Mode = "ack-lost"
	ModeCrash   Mode = "crash"
)

// Operations.
const (
	QueueSend             = "queue.send"
	QueueReceive          = "queue.receive"
	QueueDelete           = "queue.delete"
	QueueChangeVisibility = "queue.change_visibility"
	StoreGet              = "store.get"
	StorePut              = "store.put"
	StoreClearOutbox      = "store.clear_outbox"
	StoreList             = "store.list"
	StoreAppendNotif      = "store.append_notification"
	StoreListNotif        = "store.list_notifications"
)

var queueOps = []string{QueueSend, QueueReceive, QueueDelete, QueueChangeVisibility}
var storeOps = []string{StoreGet, StorePut, StoreClearOutbox, StoreList, StoreAppendNotif, StoreListNotif}

// Default durations.
const (
	DefaultDelay   = 100 * time.Millisecond
	DefaultTimeout = time.Second
	// MaxDuration bounds any duration in a spec.
	MaxDuration = time.Minute
)

// Rule is one parsed rule.
type Rule struct {
	Op          string  // one of the operations
	Name        string  // queue name or record kind; "" for any
	Probability float64 // in [0,1]
	Mode        Mode
	Duration    time.Duration // delay, timeout or crash visibility
}

func (r Rule) String() string {
	s := r.Op
	if r.Name != "" {
		s += "@" + r.Name
	}
	s += "=" + strconv.FormatFloat(r.Probability, 'g', -1, 64) + ":" + string(r.Mode)
	if r.Duration > 0 {
		s += ":" + r.Duration.String()
	}
	return s
}

// Spec is a parsed HOOKSTACK_FAULTS_DEV value.
type Spec struct {
	Rules      []Rule
	Seed       uint64
	SeedSet    bool
	Visibility time.Duration // 0: no cap
}

// String renders the spec in the format Parse reads.
func (s *Spec) String() string {
	if s == nil {
		return ""
	}
	parts := make([]string, 0, len(s.Rules)+2)
	for _, r := range s.Rules {
		parts = append(parts, r.String())
	}
	if s.Visibility > 0 {
		parts = append(parts, "visibility="+s.Visibility.String())
	}
	if s.SeedSet {
		parts = append(parts, "seed="+strconv.FormatUint(s.Seed, 10))
	}
	return strings.Join(parts, ",")
}

// FromEnv parses the spec in EnvDev; nil when unset.
func FromEnv(getenv func(string) string) (*Spec, error) {
	return Parse(getenv(EnvDev))
}

// Parse parses a spec (see the package documentation); "" gives nil.
func Parse(spec string) (*Spec, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, nil
	}
	s := &Spec{}
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		key, val, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("%w: %s: %q: want <op>=<probability>[:<mode>[:<duration>]]", ErrSpec, EnvDev, part)
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		switch key {
		case "seed":
			n, err := strconv.ParseUint(val, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: seed %q: want a non-negative integer", ErrSpec, EnvDev, val)
			}
			s.Seed, s.SeedSet = n, true
			continue
		case "visibility":
			d, err := parseDuration(val)
			if err != nil || d <= 0 {
				return nil, fmt.Errorf("%w: %s: visibility %q: want a duration from 1s to %s", ErrSpec, EnvDev, val, MaxDuration)
			}
			if d < time.Second {
				return nil, fmt.Errorf("%w: %s: visibility %q: want a duration from 1s to %s", ErrSpec, EnvDev, val, MaxDuration)
			}
			s.Visibility = d
			continue
		}
		r, err := parseRule(key, val)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %q: %v", ErrSpec, EnvDev, part, err)
		}
		s.Rules = append(s.Rules, r...)
	}
	if len(s.Rules) == 0 && s.Visibility == 0 {
		return nil, nil
	}
	return s, nil
}

func parseRule(key, val string) ([]Rule, error) {
	op, name, hasName := strings.Cut(key, "@")
	if hasName && name == "" {
		return nil, errors.New("empty name after @")
	}
	var ops []string
	switch op {
	case "queue.*":
		ops = queueOps
	case "store.*":
		ops = storeOps
	default:
		if !contains(queueOps, op) && !contains(storeOps, op) {
			return nil, fmt.Errorf("unknown operation %q (want one of %s, %s, queue.* or store.*)", op,
				strings.Join(queueOps, " "), strings.Join(storeOps, " "))
		}
		ops = []string{op}
	}
	fields := strings.Split(val, ":")
	if len(fields) > 3 {
		return nil, errors.New("too many fields: want <probability>[:<mode>[:<duration>]]")
	}
	p, err := strconv.ParseFloat(fields[0], 64)
	if err != nil || p < 0 || p > 1 || p != p {
		return nil, fmt.Errorf("probability %q: want a number from 0 to 1", fields[0])
	}
	mode := ModeError
	if len(fields) > 1 {
		mode = Mode(fields[1])
	}
	var d time.Duration
	switch mode {
	case ModeError, ModeAckLost:
		if len(fields) > 2 {
			return nil, fmt.Errorf("mode %s takes no duration", mode)
		}
	case ModeDelay, ModeTimeout, ModeCrash:
		if len(fields) > 2 {
			if d, err = parseDuration(fields[2]); err != nil {
				return nil, err
			}
		} else if mode == ModeDelay {
			d = DefaultDelay
		} else if mode == ModeTimeout {
			d = DefaultTimeout
		}
	default:
		return nil, fmt.Errorf("mode %q: want error, delay, timeout, ack-lost or crash", fields[1])
	}
	if mode == ModeCrash && op != QueueDelete {
		return nil, errors.New("mode crash applies to queue.delete only")
	}
	out := make([]Rule, 0, len(ops))
	for _, o := range ops {
		out = append(out, Rule{Op: o, Name: name, Probability: p, Mode: mode, Duration: d})
	}
	return out, nil
}

func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 || d > MaxDuration {
		return 0, fmt.Errorf("duration %q: want a Go duration from 0 to %s", s, MaxDuration)
	}
	return d, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Injector decides, per call, whether a fault fires. It is safe for
// concurrent use. A nil *Injector injects nothing.
type Injector struct {
	spec Spec

	mu    sync.Mutex
	rng   *rand.Rand
	fired map[string]int64 // by rule string
	calls map[string]int64 // by op
	sleep func(ctx context.Context, d time.Duration) error
}

// New returns an injector for spec; nil for a nil spec.
func New(spec *Spec) *Injector {
	if spec == nil {
		return nil
	}
	seed := spec.Seed
	if !spec.SeedSet {
		seed = uint64(time.Now().UnixNano())
	}
	return &Injector{
		spec:  *spec,
		rng:   rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		fired: map[string]int64{},
		calls: map[string]int64{},
		sleep: sleepCtx,
	}
}

// FromEnvInjector parses EnvDev and returns its injector (nil when unset).
func FromEnvInjector(getenv func(string) string) (*Injector, error) {
	spec, err := FromEnv(getenv)
	if err != nil {
		return nil, err
	}
	return New(spec), nil
}

// Spec returns the injector's spec (nil for a nil injector).
func (in *Injector) Spec() *Spec {
	if in == nil {
		return nil
	}
	s := in.spec
	return &s
}

// decide returns the rule that fires for op on name, or nil.
func (in *Injector) decide(op, name string) *Rule {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.calls[op]++
	for i := range in.spec.Rules {
		r := &in.spec.Rules[i]
		if r.Op != op || (r.Name != "" && r.Name != name) || r.Probability == 0 {
			continue
		}
		if in.rng.Float64() < r.Probability {
			in.fired[r.String()]++
			return r
		}
	}
	return nil
}

// Stats is how often each rule fired and each operation was called.
type Stats struct {
	Fired map[string]int64 // by rule (Rule.String)
	Calls map[string]int64 // by operation
}

// Stats returns a snapshot of the counts.
func (in *Injector) Stats() Stats {
	st := Stats{Fired: map[string]int64{}, Calls: map[string]int64{}}
	if in == nil {
		return st
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	for k, v := range in.fired {
		st.Fired[k] = v
	}
	for k, v := range in.calls {
		st.Calls[k] = v
	}
	return st
}

// String renders the counts on one line, sorted, e.g.
// "queue.send=0.05:error fired 12/240".
func (st Stats) String() string {
	keys := make([]string, 0, len(st.Fired))
	for k := range st.Fired {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		op, _, _ := strings.Cut(k, "=")
		op, _, _ = strings.Cut(op, "@")
		parts = append(parts, fmt.Sprintf("%s fired %d/%d", k, st.Fired[k], st.Calls[op]))
	}
	return strings.Join(parts, ", ")
}

// fault is the error a fired rule returns.
func fault(r *Rule, what string, wrapped ...error) error {
	errs := append([]error{ErrInjected}, wrapped...)
	return fmt.Errorf("injected %s (%s): %s: %w", r.Mode, r.Op, what, errors.Join(errs...))
}

// timeoutErr is a made-up timeout: DeadlineExceeded, and a net.Error that
// times out.
type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout (injected)" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }
func (timeoutErr) Unwrap() error   { return context.DeadlineExceeded }

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
