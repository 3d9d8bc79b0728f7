package faults

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/store"
	"github.com/hookstack/hookstack/shared/store/localstore"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, spec string
		want       string // Spec.String(); "" for nil
	}{
		{"empty", "", ""},
		{"blank", "  , ,", ""},
		{"one error rule", "queue.send=0.05", "queue.send=0.05:error"},
		{"the load mix", "queue.send=0.05,queue.send=0.01:ack-lost,store.put=0.05,store.get=0.01:timeout:200ms,queue.delete=0.02:crash:1s,visibility=10s,seed=42",
			"queue.send=0.05:error,queue.send=0.01:ack-lost,store.put=0.05:error,store.get=0.01:timeout:200ms,queue.delete=0.02:crash:1s,visibility=10s,seed=42"},
		{"default durations", "queue.receive=1:delay,store.list=0.5:timeout", "queue.receive=1:delay:100ms,store.list=0.5:timeout:1s"},
		{"named", "queue.send@payments=1,store.put@payment=0.5", "queue.send@payments=1:error,store.put@payment=0.5:error"},
		{"queue wildcard", "queue.*=0.1", "queue.send=0.1:error,queue.receive=0.1:error,queue.delete=0.1:error,queue.change_visibility=0.1:error"},
		{"store wildcard", "store.*@lead=0.2:ack-lost", "store.get@lead=0.2:ack-lost,store.put@lead=0.2:ack-lost,store.clear_outbox@lead=0.2:ack-lost,store.list@lead=0.2:ack-lost,store.append_notification@lead=0.2:ack-lost,store.list_notifications@lead=0.2:ack-lost"},
		{"crash without duration", "queue.delete=0.3:crash", "queue.delete=0.3:crash"},
		{"visibility only", "visibility=5s", "visibility=5s"},
		{"seed only means no faults", "seed=7", ""},
		{"spaces", " queue.send = 0.5 , seed = 1 ", "queue.send=0.5:error,seed=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse(tt.spec)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.spec, err)
			}
			if got := s.String(); got != tt.want {
				t.Fatalf("Parse(%q) = %q, want %q", tt.spec, got, tt.want)
			}
			if tt.want == "" {
				if s != nil {
					t.Fatalf("want nil spec, got %+v", s)
				}
				return
			}
			again, err := Parse(s.String())
			if err != nil || again.String() != s.String() {
				t.Fatalf("round trip %q: %v %q", s.String(), err, again.String())
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, spec, msg string }{
		{"no equals", "queue.send", "want <op>="},
		{"unknown op", "queue.peek=0.1", "unknown operation"},
		{"unknown port", "s3.put=0.1", "unknown operation"},
		{"probability above 1", "queue.send=1.5", "probability"},
		{"negative probability", "queue.send=-0.1", "probability"},
		{"NaN probability", "queue.send=NaN", "probability"},
		{"not a number", "queue.send=often", "probability"},
		{"unknown mode", "queue.send=0.1:explode", "mode"},
		{"bad duration", "queue.send=0.1:delay:soon", "duration"},
		{"negative duration", "queue.send=0.1:delay:-1s", "duration"},
		{"huge duration", "queue.send=0.1:delay:2h", "duration"},
		{"duration on error", "queue.send=0.1:error:1s", "no duration"},
		{"crash on send", "queue.send=0.1:crash", "queue.delete only"},
		{"too many fields", "queue.send=0.1:delay:1s:x", "too many"},
		{"empty name", "queue.send@=0.1", "empty name"},
		{"bad seed", "seed=-3", "seed"},
		{"bad visibility", "visibility=0s", "visibility"},
		{"short visibility", "visibility=10ms", "visibility"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse(tt.spec)
			if err == nil || !errors.Is(err, ErrSpec) || !strings.Contains(err.Error(), tt.msg) || !strings.Contains(err.Error(), EnvDev) {
				t.Fatalf("Parse(%q) = %v, %v; want ErrSpec mentioning %q and %s", tt.spec, s, err, tt.msg, EnvDev)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "queue.send=0.05,seed=42", "store.*@payment=1:timeout:2s", "queue.delete=0.5:crash:1s,visibility=3s", "a=b=c", "queue.send=1e-3:delay:1ms"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		s, err := Parse(spec)
		if err != nil {
			if !errors.Is(err, ErrSpec) {
				t.Fatalf("error %v is not ErrSpec", err)
			}
			return
		}
		if s == nil {
			return
		}
		again, err := Parse(s.String())
		if err != nil || again.String() != s.String() {
			t.Fatalf("round trip of %q: %q, %v", s.String(), again.String(), err)
		}
		for _, r := range s.Rules {
			if r.Probability < 0 || r.Probability > 1 || r.Duration < 0 || r.Duration > MaxDuration {
				t.Fatalf("rule out of range: %+v", r)
			}
		}
	})
}

func TestFromEnv(t *testing.T) {
	env := map[string]string{EnvDev: "queue.send=1"}
	in, err := FromEnvInjector(func(k string) string { return env[k] })
	if err != nil || in == nil || in.Spec().Rules[0].Op != QueueSend {
		t.Fatalf("FromEnvInjector = %v, %v", in, err)
	}
	in, err = FromEnvInjector(func(string) string { return "" })
	if err != nil || in != nil {
		t.Fatalf("unset: %v, %v; want nil, nil", in, err)
	}
	if _, err := FromEnvInjector(func(string) string { return "queue.send=2" }); !errors.Is(err, ErrSpec) {
		t.Fatalf("bad spec: %v", err)
	}
}

// fakeQueue records the calls that reach it.
type fakeQueue struct {
	mu    sync.Mutex
	calls []string
	vis   []time.Duration
}

func (f *fakeQueue) record(call string, d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
	f.vis = append(f.vis, d)
}

func (f *fakeQueue) Send(_ context.Context, name string, _ queue.Outgoing) (string, error) {
	f.record("send "+name, 0)
	return "m1", nil
}

func (f *fakeQueue) Receive(_ context.Context, name string, _ int, visibility, _ time.Duration) ([]queue.Message, error) {
	f.record("receive "+name, visibility)
	return []queue.Message{{ID: "m1", ReceiptHandle: "h1"}}, nil
}

func (f *fakeQueue) Delete(_ context.Context, name, h string) error {
	f.record("delete "+name+" "+h, 0)
	return nil
}

func (f *fakeQueue) ChangeVisibility(_ context.Context, name, h string, d time.Duration) error {
	f.record("visibility "+name+" "+h, d)
	return nil
}

func (f *fakeQueue) got() ([]string, []time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...), append([]time.Duration(nil), f.vis...)
}

func mustInjector(t *testing.T, spec string) *Injector {
	t.Helper()
	s, err := Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	return New(s)
}

func TestQueueFaults(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		spec      string
		call      func(q queue.Queue) error
		wantCalls []string
		wantErr   error // nil: no error
		minTime   time.Duration
	}{
		{"send error: not sent", "queue.send=1",
			func(q queue.Queue) error { _, err := q.Send(ctx, "payments", queue.Outgoing{}); return err },
			nil, ErrInjected, 0},
		{"send on another queue untouched", "queue.send@leads=1",
			func(q queue.Queue) error { _, err := q.Send(ctx, "payments", queue.Outgoing{}); return err },
			[]string{"send payments"}, nil, 0},
		{"send ack-lost: sent, yet an error", "queue.send=1:ack-lost",
			func(q queue.Queue) error { _, err := q.Send(ctx, "payments", queue.Outgoing{}); return err },
			[]string{"send payments"}, ErrInjected, 0},
		{"send delay: sent late", "queue.send=1:delay:30ms",
			func(q queue.Queue) error { _, err := q.Send(ctx, "payments", queue.Outgoing{}); return err },
			[]string{"send payments"}, nil, 30 * time.Millisecond},
		{"send timeout: not sent, deadline exceeded", "queue.send=1:timeout:20ms",
			func(q queue.Queue) error { _, err := q.Send(ctx, "payments", queue.Outgoing{}); return err },
			nil, context.DeadlineExceeded, 20 * time.Millisecond},
		{"receive error", "queue.receive=1",
			func(q queue.Queue) error { _, err := q.Receive(ctx, "leads", 10, time.Second, 0); return err },
			nil, ErrInjected, 0},
		{"receive ack-lost hides the batch", "queue.receive=1:ack-lost",
			func(q queue.Queue) error { _, err := q.Receive(ctx, "leads", 10, time.Second, 0); return err },
			[]string{"receive leads"}, ErrInjected, 0},
		{"delete error: not deleted", "queue.delete=1",
			func(q queue.Queue) error { return q.Delete(ctx, "relay", "h1") },
			nil, ErrInjected, 0},
		{"delete crash: not deleted, visible again soon", "queue.delete=1:crash:2s",
			func(q queue.Queue) error { return q.Delete(ctx, "relay", "h1") },
			[]string{"visibility relay h1"}, ErrInjected, 0},
		{"change visibility error", "queue.change_visibility=1",
			func(q queue.Queue) error { return q.ChangeVisibility(ctx, "deliveries", "h1", time.Second) },
			nil, ErrInjected, 0},
		{"probability zero never fires", "queue.*=0",
			func(q queue.Queue) error { return q.Delete(ctx, "relay", "h1") },
			[]string{"delete relay h1"}, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fq := &fakeQueue{}
			in := mustInjector(t, tt.spec)
			start := time.Now()
			err := tt.call(in.Queue(fq))
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrInjected) {
				t.Fatalf("error %v must be ErrInjected", err)
			}
			calls, _ := fq.got()
			if strings.Join(calls, "|") != strings.Join(tt.wantCalls, "|") {
				t.Fatalf("calls reaching the queue = %q, want %q", calls, tt.wantCalls)
			}
			if el := time.Since(start); el < tt.minTime {
				t.Fatalf("took %s, want at least %s", el, tt.minTime)
			}
		})
	}
}

func TestCrashShortensVisibility(t *testing.T) {
	fq := &fakeQueue{}
	q := mustInjector(t, "queue.delete=1:crash:2s").Queue(fq)
	if err := q.Delete(context.Background(), "relay", "h1"); !errors.Is(err, ErrInjected) {
		t.Fatal(err)
	}
	_, vis := fq.got()
	if len(vis) != 1 || vis[0] != 2*time.Second {
		t.Fatalf("visibility set = %v, want [2s]", vis)
	}
}

func TestVisibilityCap(t *testing.T) {
	tests := []struct {
		asked, want time.Duration
	}{{30 * time.Second, 5 * time.Second}, {0, 5 * time.Second}, {2 * time.Second, 2 * time.Second}}
	for _, tt := range tests {
		t.Run(tt.asked.String(), func(t *testing.T) {
			fq := &fakeQueue{}
			q := mustInjector(t, "visibility=5s").Queue(fq)
			if _, err := q.Receive(context.Background(), "payments", 10, tt.asked, 0); err != nil {
				t.Fatal(err)
			}
			if _, vis := fq.got(); vis[0] != tt.want {
				t.Fatalf("visibility passed on = %s, want %s", vis[0], tt.want)
			}
		})
	}
}

func TestTimeoutHonoursContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	q := mustInjector(t, "queue.send=1:timeout:30s").Queue(&fakeQueue{})
	start := time.Now()
	_, err := q.Send(ctx, "payments", queue.Outgoing{})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("err = %v after %s; want a deadline error as soon as the context ends", err, time.Since(start))
	}
}

func TestNilInjectorIsTransparent(t *testing.T) {
	var in *Injector
	fq := &fakeQueue{}
	if q := in.Queue(fq); q != queue.Queue(fq) {
		t.Fatal("a nil injector must return the queue itself")
	}
	if q := WrapQueue(fq, nil); q != queue.Queue(fq) {
		t.Fatal("WrapQueue with a nil spec must return the queue itself")
	}
	if st := in.Stats(); len(st.Fired) != 0 {
		t.Fatalf("stats of nil = %v", st)
	}
}

func TestProbabilityAndSeed(t *testing.T) {
	run := func(seed string) (fired int, pattern string) {
		in := mustInjector(t, "queue.send=0.25,seed="+seed)
		q := in.Queue(&fakeQueue{})
		var b strings.Builder
		for range 4000 {
			_, err := q.Send(context.Background(), "payments", queue.Outgoing{})
			if err != nil {
				fired++
				b.WriteByte('x')
			} else {
				b.WriteByte('.')
			}
		}
		if got := in.Stats().Fired["queue.send=0.25:error"]; got != int64(fired) {
			t.Fatalf("stats fired = %d, counted %d", got, fired)
		}
		if got := in.Stats().Calls[QueueSend]; got != 4000 {
			t.Fatalf("stats calls = %d", got)
		}
		return fired, b.String()
	}
	n1, p1 := run("42")
	n2, p2 := run("42")
	_, p3 := run("43")
	if n1 < 850 || n1 > 1150 {
		t.Fatalf("fired %d of 4000 at p=0.25", n1)
	}
	if n1 != n2 || p1 != p2 {
		t.Fatal("the same seed must give the same faults")
	}
	if p1 == p3 {
		t.Fatal("another seed must give other faults")
	}
}

func TestStoreFaults(t *testing.T) {
	ctx := context.Background()
	open := func(t *testing.T) *localstore.Store {
		t.Helper()
		s, err := localstore.Open(filepath.Join(t.TempDir(), "state.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	rec := store.Record{Kind: "payment", Key: "pi_1", Data: []byte(`{"id":"pi_1"}`)}

	t.Run("put error is transient and writes nothing", func(t *testing.T) {
		inner := open(t)
		s := mustInjector(t, "store.put=1").Store(inner)
		_, err := s.Put(ctx, rec, 0)
		if !errors.Is(err, store.ErrUnavailable) || !errors.Is(err, ErrInjected) || !store.IsTransient(err) {
			t.Fatalf("err = %v; want injected, ErrUnavailable, transient", err)
		}
		if _, err := inner.Get(ctx, "payment", "pi_1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("record written despite the fault: %v", err)
		}
	})
	t.Run("put ack-lost writes and fails", func(t *testing.T) {
		inner := open(t)
		s := mustInjector(t, "store.put=1:ack-lost").Store(inner)
		if _, err := s.Put(ctx, rec, 0); !store.IsTransient(err) || !errors.Is(err, ErrInjected) {
			t.Fatalf("err = %v; want a transient injected error", err)
		}
		got, err := inner.Get(ctx, "payment", "pi_1")
		if err != nil || got.Rev != 1 {
			t.Fatalf("record = %+v, %v; want written at rev 1", got, err)
		}
		// The retry of the caller sees a conflict, as after a real lost answer.
		if _, err := inner.Put(ctx, rec, 0); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("second put = %v", err)
		}
	})
	t.Run("get timeout", func(t *testing.T) {
		s := mustInjector(t, "store.get=1:timeout:10ms").Store(open(t))
		_, err := s.Get(ctx, "payment", "pi_1")
		if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, store.ErrUnavailable) || !store.IsTransient(err) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("kind filter", func(t *testing.T) {
		s := mustInjector(t, "store.put@lead=1").Store(open(t))
		if _, err := s.Put(ctx, rec, 0); err != nil {
			t.Fatalf("a payment put must not fail on a lead rule: %v", err)
		}
		if _, err := s.Put(ctx, store.Record{Kind: "lead", Key: "a@b.c", Data: []byte(`{}`)}, 0); !errors.Is(err, ErrInjected) {
			t.Fatalf("lead put = %v", err)
		}
	})
	t.Run("every operation passes through when nothing fires", func(t *testing.T) {
		s := mustInjector(t, "store.*=0").Store(open(t))
		rev, err := s.Put(ctx, store.Record{Kind: "payment", Key: "pi_2", Data: []byte(`{}`), Outbox: []store.OutboxEvent{{ID: "e1", Body: []byte(`{}`)}}}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ClearOutbox(ctx, "payment", "pi_2", rev); err != nil {
			t.Fatal(err)
		}
		if l, err := s.List(ctx, "payment", 0); err != nil || len(l) != 1 {
			t.Fatalf("list = %v, %v", l, err)
		}
		if err := s.AppendNotification(ctx, store.Notification{ID: "n1", Type: "payment.succeeded", Subject: "payment:pi_2", CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if l, err := s.ListNotifications(ctx, "", 0); err != nil || len(l) != 1 {
			t.Fatalf("notifications = %v, %v", l, err)
		}
	})
	t.Run("every operation fails when all fire", func(t *testing.T) {
		s := mustInjector(t, "store.*=1").Store(open(t))
		errs := []error{}
		_, err := s.Get(ctx, "payment", "x")
		errs = append(errs, err)
		_, err = s.ClearOutbox(ctx, "payment", "x", 1)
		errs = append(errs, err)
		_, err = s.List(ctx, "payment", 0)
		errs = append(errs, err)
		errs = append(errs, s.AppendNotification(ctx, store.Notification{ID: "n1", Type: "t", Subject: "s", CreatedAt: time.Now()}))
		_, err = s.ListNotifications(ctx, "", 0)
		errs = append(errs, err)
		for i, err := range errs {
			if !errors.Is(err, ErrInjected) || !errors.Is(err, store.ErrUnavailable) {
				t.Fatalf("op %d: %v", i, err)
			}
		}
	})
}
