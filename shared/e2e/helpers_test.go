package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/hookstack/hookstack/shared/blob"
	"github.com/hookstack/hookstack/shared/domain"
	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/process"
	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/rie"
	"github.com/hookstack/hookstack/shared/runner"
	"github.com/hookstack/hookstack/shared/store"
	"github.com/hookstack/hookstack/shared/store/dynamostore"
	"github.com/hookstack/hookstack/shared/store/localstore"
)

// binaries returns $HOOKSTACK_LAMBDA_BIN and $HOOKSTACK_RIE, skipping (or
// failing under HOOKSTACK_REQUIRE_EMULATORS=1) when they are not set.
func binaries(t *testing.T) (bin, emulator string) {
	t.Helper()
	bin, emulator = os.Getenv("HOOKSTACK_LAMBDA_BIN"), os.Getenv("HOOKSTACK_RIE")
	if bin == "" || emulator == "" {
		if os.Getenv("HOOKSTACK_REQUIRE_EMULATORS") == "1" {
			t.Fatal("HOOKSTACK_LAMBDA_BIN and HOOKSTACK_RIE must be set (make e2e / make test set them)")
		}
		t.Skip("HOOKSTACK_LAMBDA_BIN/HOOKSTACK_RIE not set: run `make e2e`")
	}
	return bin, emulator
}

// startFunction runs functions/<name>'s built bootstrap under the emulator;
// its logs are printed when the test fails.
func startFunction(t *testing.T, bin, emulator, name string, env []string) *rie.Function {
	t.Helper()
	f, err := rie.Start(t.Context(), rie.Options{Emulator: emulator, Bootstrap: filepath.Join(bin, name, "bootstrap"), Env: env})
	if err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		f.Stop()
		if t.Failed() {
			t.Logf("%s: emulator and function logs:\n%s", name, f.Logs())
		}
	})
	return f
}

// receipt is one request a sink received.
type receipt struct {
	header http.Header
	body   []byte
}

// sink is a receiving endpoint that answers 200 and keeps every request.
type sink struct {
	*httptest.Server
	mu  sync.Mutex
	got []receipt
}

func newSink(t *testing.T) *sink {
	s := &sink{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.got = append(s.got, receipt{header: r.Header.Clone(), body: body})
		s.mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *sink) receipts() []receipt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

// recorder wraps a function's invoker and keeps, in order, the envelopes of
// every batch it was given (what the deployed processor actually saw).
type recorder struct {
	mu      sync.Mutex
	batches []events.SQSEvent
}

func (r *recorder) wrap(invoke runner.JSONInvoker) runner.JSONInvoker {
	return func(ctx context.Context, payload []byte) ([]byte, error) {
		var ev events.SQSEvent
		if err := json.Unmarshal(payload, &ev); err == nil {
			r.mu.Lock()
			r.batches = append(r.batches, ev)
			r.mu.Unlock()
		}
		return invoke(ctx, payload)
	}
}

func (r *recorder) events() []events.SQSEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.batches)
}

// notifications is a queue.Queue that keeps what processors send to the
// notifications queue (the reference pipeline's output), once per id.
type notifications struct {
	mu    sync.Mutex
	order []string
	byID  map[string]domain.Event
}

var _ queue.Queue = (*notifications)(nil)

func (n *notifications) Send(_ context.Context, name string, m queue.Outgoing) (string, error) {
	if name != envelope.QueueNotifications {
		return "", fmt.Errorf("reference processor sent to %s (a dead letter: %s)", name, m.Attributes[queue.AttrReason])
	}
	var ev domain.Event
	if err := json.Unmarshal(m.Body, &ev); err != nil {
		return "", err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.byID == nil {
		n.byID = map[string]domain.Event{}
	}
	if _, ok := n.byID[ev.ID]; !ok {
		n.order = append(n.order, ev.ID)
		n.byID[ev.ID] = ev
	}
	return ev.ID, nil
}

func (n *notifications) Receive(context.Context, string, int, time.Duration, time.Duration) ([]queue.Message, error) {
	return nil, nil
}
func (n *notifications) Delete(context.Context, string, string) error { return nil }
func (n *notifications) ChangeVisibility(context.Context, string, string, time.Duration) error {
	return nil
}

func (n *notifications) all() []domain.Event {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]domain.Event, 0, len(n.order))
	for _, id := range n.order {
		out = append(out, n.byID[id])
	}
	return out
}

// reference is the in-process pipeline the deployed one must agree with:
// the same processors (shared/process) on a local bbolt store, their
// notifications kept in memory.
type reference struct {
	store    *localstore.Store
	out      *notifications
	handlers map[string]*process.Handler
}

func newReference(t *testing.T, name string, blobs blob.Store) *reference {
	t.Helper()
	st, err := localstore.Open(filepath.Join(t.TempDir(), name+".db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	cfg, err := process.ConfigFromEnv(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	ref := &reference{store: st, out: &notifications{}, handlers: map[string]*process.Handler{}}
	deps := process.Deps{Queue: ref.out, Store: st, Blobs: blobs, Logger: slog.New(slog.DiscardHandler)}
	for _, p := range process.Names {
		if ref.handlers[p], err = process.New(p, deps, cfg); err != nil {
			t.Fatal(err)
		}
	}
	return ref
}

// apply runs one batch through the named processor; every message must
// succeed.
func (r *reference) apply(t *testing.T, name string, ev events.SQSEvent) {
	t.Helper()
	resp, err := r.handlers[name].Handle(t.Context(), ev)
	if err != nil || len(resp.BatchItemFailures) > 0 {
		t.Fatalf("reference %s: failures %v, error %v", name, resp.BatchItemFailures, err)
	}
}

// sqsEvent wraps envelopes as a batch, as the runner would.
func sqsEvent(t *testing.T, name string, envs ...envelope.Envelope) events.SQSEvent {
	t.Helper()
	msgs := make([]queue.Message, len(envs))
	for i, e := range envs {
		body, err := envelope.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		msgs[i] = queue.Message{ID: "ref-" + strconv.Itoa(i), ReceiptHandle: "ref", Body: body, ReceiveCount: 1, SentAt: time.Now()}
	}
	return runner.Event(name, msgs)
}

// recordKinds are the processors' record kinds compared between the
// deployed pipeline and the reference.
var recordKinds = []string{process.KindPayment, process.KindSubscription, process.KindInventory,
	process.KindLead, process.KindChat, process.KindAlias}

// snapshot reads every record of recordKinds, keyed "kind/key".
func snapshot(t *testing.T, s store.Store) map[string]store.Record {
	t.Helper()
	out := map[string]store.Record{}
	for _, kind := range recordKinds {
		list := s.List
		if d, ok := s.(*dynamostore.Store); ok {
			// The processors' kinds are not indexed (read by key only): scan.
			list = func(ctx context.Context, kind string, _ int) ([]store.Record, error) { return d.Scan(ctx, kind) }
		}
		recs, err := list(t.Context(), kind, store.MaxLimit)
		if err != nil {
			t.Fatalf("list %s: %v", kind, err)
		}
		for _, r := range recs {
			out[kind+"/"+r.Key] = r
		}
	}
	return out
}

// visible is how many messages a queue has ready to receive.
func visible(t *testing.T, client *sqs.Client, url string) int {
	t.Helper()
	out, err := client.GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages},
	})
	if err != nil {
		t.Fatalf("queue attributes of %s: %v", url, err)
	}
	n, _ := strconv.Atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)])
	return n
}

// depth is how many messages a queue holds: visible, in flight and delayed.
func depth(t *testing.T, client *sqs.Client, url string) int {
	t.Helper()
	out, err := client.GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible, types.QueueAttributeNameApproximateNumberOfMessagesDelayed},
	})
	if err != nil {
		t.Fatalf("queue attributes of %s: %v", url, err)
	}
	n := 0
	for _, v := range out.Attributes {
		c, _ := strconv.Atoi(v)
		n += c
	}
	return n
}
