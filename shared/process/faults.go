package process

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/hookstack/hookstack/shared/store"
)

// Faults is a test-only fault injector for the processor Lambdas, parsed
// from HOOKSTACK_FAULTS at start-up: it lets the Runtime Interface Emulator
// tests make one record's write fail transiently in the real binary. It is
// off unless the variable is set; no deployed stack sets it.
//
// Syntax: rules separated by ";", each
//
//	store.put:fail-once-key=<kind>/<key>   the first Put of that record fails
//	store.put:fail-key=<kind>/<key>        every Put of that record fails
//	store.get:fail-once-key=<kind>/<key>   (and fail-key) the same for Get
//
// with store.ErrUnavailable (transient: the message is retried). The kind
// ends at the first "/"; the key may contain any character but ";".
// "once" counts per process (a warm Lambda keeps the count).
type Faults struct {
	mu    sync.Mutex
	rules []*faultRule
}

type faultRule struct {
	op        string // store.OpGet or store.OpPut
	kind, key string
	remaining int // -1: always
}

// ParseFaults parses a HOOKSTACK_FAULTS value; "" gives nil (no faults).
func ParseFaults(spec string) (*Faults, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, nil
	}
	f := &Faults{}
	for _, part := range strings.Split(spec, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		op, rest, ok := strings.Cut(part, ":")
		if !ok {
			return nil, fmt.Errorf("%s: rule %q: want <op>:<mode>=<kind>/<key>", EnvFaults, part)
		}
		mode, target, ok := strings.Cut(rest, "=")
		if !ok {
			return nil, fmt.Errorf("%s: rule %q: want <op>:<mode>=<kind>/<key>", EnvFaults, part)
		}
		kind, key, ok := strings.Cut(target, "/")
		if !ok || kind == "" || key == "" {
			return nil, fmt.Errorf("%s: rule %q: target must be <kind>/<key>", EnvFaults, part)
		}
		r := &faultRule{kind: kind, key: key}
		switch op {
		case "store.put":
			r.op = store.OpPut
		case "store.get":
			r.op = store.OpGet
		default:
			return nil, fmt.Errorf("%s: rule %q: op must be store.put or store.get", EnvFaults, part)
		}
		switch mode {
		case "fail-once-key":
			r.remaining = 1
		case "fail-key":
			r.remaining = -1
		default:
			return nil, fmt.Errorf("%s: rule %q: mode must be fail-once-key or fail-key", EnvFaults, part)
		}
		f.rules = append(f.rules, r)
	}
	if len(f.rules) == 0 {
		return nil, nil
	}
	return f, nil
}

// hit reports (and counts) whether op on (kind, key) must fail.
func (f *Faults) hit(op, kind, key string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.rules {
		if r.op != op || r.kind != kind || r.key != key || r.remaining == 0 {
			continue
		}
		if r.remaining > 0 {
			r.remaining--
		}
		return true
	}
	return false
}

// Wrap returns s with the faults injected.
func (f *Faults) Wrap(s store.Store) store.Store { return &faultStore{Store: s, f: f} }

type faultStore struct {
	store.Store
	f *Faults
}

func (s *faultStore) Get(ctx context.Context, kind, key string) (store.Record, error) {
	if s.f.hit(store.OpGet, kind, key) {
		return store.Record{}, fmt.Errorf("injected fault: get %s %q: %w", kind, key, store.ErrUnavailable)
	}
	return s.Store.Get(ctx, kind, key)
}

func (s *faultStore) Put(ctx context.Context, r store.Record, expectRev int64) (int64, error) {
	if s.f.hit(store.OpPut, r.Kind, r.Key) {
		return 0, fmt.Errorf("injected fault: put %s %q: %w", r.Kind, r.Key, store.ErrUnavailable)
	}
	return s.Store.Put(ctx, r, expectRev)
}
