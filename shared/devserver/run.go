package devserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/eventlog"
	"github.com/hookstack/hookstack/shared/faults"
	"github.com/hookstack/hookstack/shared/ingest"
	"github.com/hookstack/hookstack/shared/notify"
	"github.com/hookstack/hookstack/shared/notify/notifystore"
	"github.com/hookstack/hookstack/shared/process"
	"github.com/hookstack/hookstack/shared/runner"
	"github.com/hookstack/hookstack/shared/secrets"
	"github.com/hookstack/hookstack/shared/signature"
)

// Options configure `hookstack dev`.
type Options struct {
	Addr    string // listen address, default 127.0.0.1:8080
	DataDir string // default .hookstack
	Getenv  func(string) string
	Out     io.Writer    // the start-up table
	Log     *slog.Logger // structured logs
	// Ready, when set, receives the bound address once listening.
	Ready func(addr string)

	// Backend is BackendLocal or BackendAWS; empty: HOOKSTACK_BACKEND,
	// else local. See backend.go.
	Backend string
	// AWSPrefix starts the names of the queues, table and bucket the aws
	// backend creates on emulators; empty: HOOKSTACK_AWS_PREFIX, else
	// DefaultAWSPrefix.
	AWSPrefix string
	// Stack, for the aws backend, names a deployed stack whose queues,
	// table and bucket to use (its outputs).
	Stack string
}

// MaxReceiveCount is the local queues' redrive setting, as in the stack.
const MaxReceiveCount = 5

// Run starts the dev server on the backend o picks (the embedded one by
// default, or the AWS SDK adapters) and serves until ctx is done.
func Run(ctx context.Context, o Options) error {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:8080"
	}
	if o.DataDir == "" {
		o.DataDir = ".hookstack"
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Out == nil {
		o.Out = os.Stdout
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data folder %s: %w", o.DataDir, err)
	}
	cfg, err := ingest.ConfigFromEnv(o.Getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	// Locally, a provider that needs a source allowlist (salesforce) and has
	// none accepts loopback senders: the CLI, the inspector's test events.
	cfg.LoopbackByDefault = true
	providers := signature.Providers
	secretsPath := filepath.Join(o.DataDir, "secrets.json")
	secretSource, generated, err := secrets.LoadLocal(secretsPath, o.Getenv, providers)
	if err != nil {
		return err
	}
	// Re-read when `hookstack secrets set` rewrites the file.
	liveSecrets := newFileSecrets(secretsPath, o.Getenv, providers, secretSource, o.Log)

	ncfg, err := notify.ConfigFromEnv(o.Getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	// The backend holds the queues, records and claim-check bodies; the
	// pipeline below is the same for every backend.
	b, err := openBackend(ctx, o, DeliveryReceives(ncfg.Schedule))
	if err != nil {
		return err
	}
	defer b.Close()
	q, st, blobs := b.queue, b.store, b.blobs

	// Fault injection (HOOKSTACK_FAULTS_DEV, off when unset; see
	// shared/faults): the pipeline — ingest's sends, the runner, the
	// processors' store, fan-out and deliverer — uses the wrapped ports (pq,
	// pst); the dev API, endpoints, delivery log and DLQ tooling the real ones.
	inj, err := faults.FromEnvInjector(o.Getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	pq, pst := inj.Queue(q), inj.Store(st)
	if inj != nil {
		o.Log.Warn("fault injection on", "spec", inj.Spec().String())
		defer func() { o.Log.Warn("faults injected", "stats", inj.Stats().String()) }()
	}
	events, err := eventlog.Open(filepath.Join(o.DataDir, "events.db"))
	if err != nil {
		return err
	}
	defer events.Close()

	tracker := statusTracker{events: events, log: o.Log, maxReceive: func(string) int { return MaxReceiveCount }}
	observed := observedQueue{Queue: pq, tracker: tracker}
	pcfg, err := process.ConfigFromEnv(o.Getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	pdeps := process.Deps{Queue: observed, Store: pst, Blobs: blobs, Logger: o.Log, Notifications: true}
	var sources []runner.Source
	for _, name := range process.Names {
		p, err := process.New(name, pdeps, pcfg)
		if err != nil {
			return err
		}
		sources = append(sources, runner.Source{Queue: name, Invoker: runner.InvokerFunc(p.Handle)})
	}
	// Outbound: loopback is allowed locally so local sinks work; link-local
	// and metadata addresses stay blocked.
	guard := &notify.Guard{Allow: ncfg.Allow, AllowLoopback: true}
	endpoints := notifystore.NewEndpoints(st, guard)
	deliveryLog := notifystore.NewDeliveryLog(st)
	cachedEndpoints := notify.CachedEndpoints(endpoints, 2*time.Second)
	fanout := &notify.FanOutHandler{Endpoints: cachedEndpoints, Queue: pq, Logger: o.Log}
	// The deliverer's log also feeds /api/stream and the inspector's list.
	feed := deliveryFeed{DeliveryLog: deliveryLog, events: events, log: o.Log}
	deliverer := &notify.DeliverHandler{
		Deliverer: &notify.Deliverer{Client: notify.NewClient(guard, nil), Schedule: ncfg.Schedule, Timeout: ncfg.Timeout},
		Endpoints: cachedEndpoints, Disabler: endpoints, Log: feed, Queue: pq, Logger: o.Log,
		Blobs: blobs, // large raw forwards travel by claim-check reference
	}
	sources = append(sources,
		runner.Source{Queue: envelope.QueueNotifications, Invoker: runner.InvokerFunc(fanout.HandleSQS)},
		runner.Source{Queue: envelope.QueueDeliveries, Invoker: feed.Invoker(runner.InvokerFunc(deliverer.HandleSQS))},
	)
	outbound := &Outbound{Endpoints: endpoints, Deliveries: deliveryLog, Queues: q}

	h, err := ingest.New(cfg, ingest.Deps{
		Queue: observed, Blobs: blobs, Secrets: liveSecrets,
		Observer: Recorder{Events: events, Log: o.Log}, Logger: o.Log,
	})
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler: New(h, events, st, o.Log).WithAddr(o.Addr).WithOutbound(outbound).
			WithLive(Live{Queue: observed, Secrets: liveSecrets, PublicURL: cfg.PublicURL, Done: ctx.Done()}),
		ReadHeaderTimeout: ReadHeaderTimeout, ReadTimeout: ReadTimeout, WriteTimeout: WriteTimeout,
		ErrorLog: slog.NewLogLogger(o.Log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s (use --addr to pick another): %w", o.Addr, err)
	}
	base := "http://" + ln.Addr().String()
	printTable(o.Out, base, providers, secretSource, generated, o.DataDir)
	b.describe(o.Out)
	fmt.Fprintln(o.Out, "Outbound deliveries may reach loopback addresses (local sinks); link-local and metadata addresses stay blocked.")
	if o.Ready != nil {
		o.Ready(ln.Addr().String())
	}

	// The processors consume the queues in the background, as Lambda's
	// event source mappings do in AWS.
	pipeCtx, stopPipeline := context.WithCancel(context.Background())
	pipeDone := make(chan struct{})
	go func() {
		defer close(pipeDone)
		r := &runner.Runner{Queue: pq, Log: o.Log, OnResult: tracker.OnResult}
		_ = r.Run(pipeCtx, sources...)
	}()
	// Stop in order: no new requests, then no new batches, then close the
	// files (deferred above). A batch cut short by Ctrl-C is not deleted: it
	// comes back after its visibility timeout on the next start.
	defer func() { stopPipeline(); <-pipeDone }()

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

func printTable(w io.Writer, base string, providers []string, s secrets.Static, generated []string, dataDir string) {
	fmt.Fprintf(w, "Hookstack dev server on %s (inspector: %s/, data: %s)\n\n", base, base, dataDir)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PROVIDER\tURL\tSECRET")
	isNew := map[string]bool{}
	for _, p := range generated {
		isNew[p] = true
	}
	for _, p := range providers {
		list := s[p]
		secret := strings.Join(list, ",")
		if isNew[p] {
			secret += "  (generated)"
		}
		fmt.Fprintf(tw, "%s\t%s/webhooks/%s\t%s\n", p, base, p, secret)
	}
	_ = tw.Flush()
	fmt.Fprintln(w, "\nSet HOOKSTACK_SECRET_<PROVIDER> to use your own secrets (comma-separated, newest first).")
}
