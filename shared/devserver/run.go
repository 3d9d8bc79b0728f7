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

	"github.com/hookstack/hookstack/shared/blob/fileblob"
	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/eventlog"
	"github.com/hookstack/hookstack/shared/ingest"
	"github.com/hookstack/hookstack/shared/notify"
	"github.com/hookstack/hookstack/shared/notify/notifystore"
	"github.com/hookstack/hookstack/shared/process"
	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/queue/localq"
	"github.com/hookstack/hookstack/shared/runner"
	"github.com/hookstack/hookstack/shared/secrets"
	"github.com/hookstack/hookstack/shared/signature"
	"github.com/hookstack/hookstack/shared/store/localstore"
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
}

// MaxReceiveCount is the local queues' redrive setting, as in the stack.
const MaxReceiveCount = 5

// Run starts the dev server on the embedded backend and serves until ctx
// is done.
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
	providers := signature.Providers
	secretSource, generated, err := secrets.LoadLocal(filepath.Join(o.DataDir, "secrets.json"), o.Getenv, providers)
	if err != nil {
		return err
	}

	ncfg, err := notify.ConfigFromEnv(o.Getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	q, err := localq.Open(filepath.Join(o.DataDir, "queues.db"), localq.Config{
		Queues: envelope.AllQueues, MaxReceive: MaxReceiveCount,
		MaxReceiveFor: map[string]int{envelope.QueueDeliveries: DeliveryReceives(ncfg.Schedule)},
	})
	if err != nil {
		return fmt.Errorf("open local queues (is another hookstack dev using %s?): %w", o.DataDir, err)
	}
	defer q.Close()
	events, err := eventlog.Open(filepath.Join(o.DataDir, "events.db"))
	if err != nil {
		return err
	}
	defer events.Close()
	st, err := localstore.Open(filepath.Join(o.DataDir, "state.db"))
	if err != nil {
		return fmt.Errorf("open local store: %w", err)
	}
	defer st.Close()
	blobs, err := fileblob.New(filepath.Join(o.DataDir, "blobs"))
	if err != nil {
		return err
	}

	tracker := statusTracker{events: events, log: o.Log, maxReceive: func(string) int { return MaxReceiveCount }}
	observed := observedQueue{Queue: q, tracker: tracker}
	pcfg, err := process.ConfigFromEnv(o.Getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	pdeps := process.Deps{Queue: observed, Store: st, Blobs: blobs, Logger: o.Log, Notifications: true}
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
	fanout := &notify.FanOutHandler{Endpoints: cachedEndpoints, Queue: q, Logger: o.Log}
	deliverer := &notify.DeliverHandler{
		Deliverer: &notify.Deliverer{Client: notify.NewClient(guard, nil), Schedule: ncfg.Schedule, Timeout: ncfg.Timeout},
		Endpoints: cachedEndpoints, Disabler: endpoints, Log: deliveryLog, Queue: q, Logger: o.Log,
	}
	sources = append(sources,
		runner.Source{Queue: envelope.QueueNotifications, Invoker: runner.InvokerFunc(fanout.HandleSQS)},
		runner.Source{Queue: envelope.QueueDeliveries, Invoker: runner.InvokerFunc(deliverer.HandleSQS)},
	)
	outbound := &Outbound{Endpoints: endpoints, Deliveries: deliveryLog, Queues: localDeadLetters{q}}

	h, err := ingest.New(cfg, ingest.Deps{
		Queue: observed, Blobs: blobs, Secrets: secretSource,
		Observer: Recorder{Events: events, Log: o.Log}, Logger: o.Log,
	})
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           New(h, events, st, o.Log).WithOutbound(outbound).WithLive(Live{Queue: observed, Secrets: secretSource, PublicURL: cfg.PublicURL, Done: ctx.Done()}),
		ReadHeaderTimeout: ReadHeaderTimeout, ReadTimeout: ReadTimeout, WriteTimeout: WriteTimeout,
		ErrorLog: slog.NewLogLogger(o.Log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s (use --addr to pick another): %w", o.Addr, err)
	}
	base := "http://" + ln.Addr().String()
	printTable(o.Out, base, providers, secretSource, generated, o.DataDir)
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
		r := &runner.Runner{Queue: q, Log: o.Log, OnResult: tracker.OnResult}
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

// localDeadLetters lists and redrives the embedded queue's DLQs.
type localDeadLetters struct{ q *localq.Queue }

func (d localDeadLetters) Peek(name string, limit int) ([]queue.Message, error) {
	return d.q.List(context.Background(), name, limit)
}

func (d localDeadLetters) Redrive(ctx context.Context, dlq, source string) (int, error) {
	return d.q.Redrive(ctx, dlq, source)
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
