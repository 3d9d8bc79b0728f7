package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	hookevents "github.com/hookstack/hookstack/events"
	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/queue/sqsq"
	"github.com/hookstack/hookstack/shared/rie"
	"github.com/hookstack/hookstack/shared/sample"
	"github.com/hookstack/hookstack/shared/secrets"
)

// BenchmarkColdStart measures each built bootstrap under the Runtime
// Interface Emulator, beside the smallest aws-lambda-go function (hello,
// built from shared/rie/testdata/hello by `make bench`) and each function's
// SDK floor (sdkfloor-ingest, sdkfloor-processor, sdkfloor-notify for the
// fan-out, sdkfloor-deliverer, built from shared/rie/testdata by `make
// bench`): hello plus the AWS SDK clients
// the function builds, built the same way, and nothing else — so that a
// function's INIT splits into what the SDK costs and what is Hookstack's:
//
//   - init-ms: INIT, the emulator's INIT REPORT (process start to the
//     first Next call), the median of the cold starts;
//   - first-ms: INIT plus the first invocation, the median: the
//     emulator's first REPORT duration, which includes INIT because the
//     emulator starts the function on that invocation (rie's
//     FirstReportDuration). It is what a cold request costs, so that work moved
//     out of INIT into the first request is not hidden. The first
//     invocation does real work: ingest verifies a signed Stripe webhook and
//     sends its envelope to SQS; each processor handles the envelope ingest
//     produced for its queue (records read and written in DynamoDB, events
//     sent to the notifications queue). SQS and DynamoDB are a stub in this
//     process answering every call at once (it adds one loopback round trip
//     per call, no emulator latency). fanout and deliverer get an empty
//     batch: their real path needs endpoints in the table and a receiver.
//   - warm-µs: a warm no-op invocation (an empty batch, a 405 for ingest),
//     mostly the emulator's own overhead;
//   - MiB: the bootstrap's size;
//   - init-x-hello, init-x-floor, first-x-hello: paired ratios. In every
//     iteration of a function's sub-benchmark hello and the function's floor
//     are cold-started too (a floor's sub-benchmark pairs with hello only),
//     their emulators started together beforehand and the cold starts made
//     back to back, in an order that rotates from one iteration to the next;
//     each metric is the median over the iterations of that iteration's
//     ratio (the function's INIT over hello's, over its floor's; INIT plus
//     the first invocation over hello's). On a shared machine the speed
//     drifts over the seconds between two sub-benchmarks by more than the
//     differences measured here, so dividing the medians of different
//     sub-benchmarks is not a fair comparison; the paired cold starts, a few
//     milliseconds apart, see the same machine.
//
// The functions start with a complete configuration, as the stack gives it
// (the claim-check bucket included, so ingest and the processors build
// their S3 client at start-up as they do in AWS; the providers' secrets are
// in the environment rather than Secrets Manager ARNs), and do no network
// I/O during INIT.
//
//	make bench   (or: make build-amd64, the hello and sdkfloor-* bootstraps as the bench target builds them, then
//	HOOKSTACK_LAMBDA_BIN=$PWD/.cache/lambda-amd64 HOOKSTACK_RIE=$PWD/.cache/tools/aws-lambda-rie \
//	go test -run '^$' -bench ColdStart -benchtime 10x ./shared/e2e/)
func BenchmarkColdStart(b *testing.B) {
	if os.Getenv(rie.EnvLambdaBin) == "" || os.Getenv(rie.EnvEmulator) == "" {
		b.Skipf("%s/%s not set: run `make bench`", rie.EnvLambdaBin, rie.EnvEmulator)
	}
	aws := newAWSStub(b)
	const secret = "whsec_coldstart"
	env := []string{"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "HOOKSTACK_TABLE=hookstack",
		"AWS_ENDPOINT_URL_SQS=" + aws.URL, "AWS_ENDPOINT_URL_DYNAMODB=" + aws.URL, "HOOKSTACK_PUBLIC_URL=https://hooks.example.com",
		"HOOKSTACK_CLAIM_BUCKET=hookstack-claims", "AWS_ENDPOINT_URL_S3=" + aws.URL}
	for _, p := range []string{"stripe", "shopify", "hubspot", "github"} {
		env = append(env, secrets.EnvName(p)+"="+secret)
	}
	for _, q := range envelope.AllQueues {
		for _, name := range []string{q, queue.DLQ(q)} {
			env = append(env, sqsq.EnvVar(name)+"="+aws.URL+"/000000000000/"+name)
		}
	}

	// The first invocations: signed webhooks for ingest, and the envelopes
	// ingest sends for them, one per processor's queue.
	webhooks := map[string][]byte{}
	for _, s := range []struct{ provider, name string }{
		{"stripe", "payment_intent.succeeded"}, {"shopify", "inventory_levels_update"},
		{"hubspot", "contact.creation"}, {"github", "push"},
	} {
		webhooks[s.provider] = signedWebhook(b, s.provider, s.name, secret)
	}
	first := map[string][]byte{"hello": []byte(`{}`), "ingest": webhooks["stripe"]}
	f := rie.StartBuilt(b, "ingest", env)
	for p, payload := range webhooks {
		out, err := f.Invoke(b.Context(), payload)
		if err != nil || !strings.Contains(string(out), `"statusCode":202`) && !strings.Contains(string(out), `"statusCode":200`) {
			b.Fatalf("ingest %s: %v %s\n%s", p, err, out, f.Logs())
		}
	}
	f.Stop()
	for _, q := range envelope.DomainQueues {
		body := aws.lastSent(q)
		if body == "" {
			b.Fatalf("ingest sent nothing to %s", q)
		}
		ev := events.SQSEvent{Records: []events.SQSMessage{{
			MessageId: "cold-1", ReceiptHandle: "cold-1", Body: body, EventSource: "aws:sqs",
			EventSourceARN: "arn:aws:sqs:us-east-1:000000000000:" + q,
			Attributes:     map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": strconv.FormatInt(time.Now().UnixMilli(), 10)},
		}}}
		payload, err := json.Marshal(ev)
		if err != nil {
			b.Fatal(err)
		}
		first[q] = payload
	}
	warmPayload := map[string]string{
		"hello":  `{}`,
		"ingest": `{"version":"2.0","rawPath":"/webhooks/none","requestContext":{"http":{"method":"GET","path":"/webhooks/none"}}}`,
	}

	firstPayload := func(fn string) []byte {
		if p := first[fn]; p != nil {
			return p
		}
		return []byte(warmOf(warmPayload, fn))
	}

	for _, fn := range []string{"hello", "sdkfloor-ingest", "sdkfloor-processor", "sdkfloor-notify", "sdkfloor-deliverer",
		"ingest", "payments", "inventory", "leads", "relay", "fanout", "deliverer"} {
		b.Run(fn, func(b *testing.B) {
			warm := []byte(warmOf(warmPayload, fn))
			parts := coldStartParticipants(fn)
			var running []*rie.Function
			b.Cleanup(func() {
				for _, f := range running {
					f.Stop()
				}
			})
			var inits, firsts []time.Duration
			var initXHello, initXFloor, firstXHello []float64
			var warmTotal time.Duration
			warmN := 0
			for i := 0; b.Loop(); i++ {
				var fs []*rie.Function
				var got map[string]coldSample
				for attempt := 1; ; attempt++ {
					var err error
					fs, err = startAll(b.Context(), parts, env)
					running = fs
					if err == nil {
						got, err = coldStarts(b.Context(), parts, fs, rotation(len(parts), i), firstPayload)
					}
					if err == nil {
						break
					}
					stopAll(fs)
					running = nil
					if !errors.Is(err, errPortClash) || attempt == 3 {
						b.Fatal(err)
					}
				}
				f := fs[len(fs)-1] // parts ends with fn
				for range coldStartWarmInvokes {
					start := time.Now()
					if _, err := f.Invoke(b.Context(), warm); err != nil && !strings.Contains(err.Error(), "405") {
						b.Fatalf("warm invoke: %v\n%s", err, f.Logs())
					}
					warmTotal += time.Since(start)
					warmN++
				}
				stopAll(fs)
				running = nil
				self := got[fn]
				inits, firsts = append(inits, self.init), append(firsts, self.first)
				if h, ok := got["hello"]; ok && fn != "hello" {
					initXHello = append(initXHello, durRatio(self.init, h.init))
					firstXHello = append(firstXHello, durRatio(self.first, h.first))
				}
				if fl := coldStartFloor[fn]; fl != "" {
					initXFloor = append(initXFloor, durRatio(self.init, got[fl].init))
				}
			}
			if st, err := os.Stat(filepath.Join(os.Getenv(rie.EnvLambdaBin), fn, "bootstrap")); err == nil {
				b.ReportMetric(float64(st.Size())/(1<<20), "MiB")
			}
			b.ReportMetric(medianMs(inits), "init-ms")
			b.ReportMetric(medianMs(firsts), "first-ms")
			b.ReportMetric(float64(warmTotal.Microseconds())/float64(warmN), "warm-µs")
			if len(initXHello) > 0 {
				b.ReportMetric(median(initXHello), "init-x-hello")
				b.ReportMetric(median(firstXHello), "first-x-hello")
			}
			if len(initXFloor) > 0 {
				b.ReportMetric(median(initXFloor), "init-x-floor")
			}
		})
	}
}

// coldStartWarmInvokes is the number of warm invocations after each cold
// start of the measured function (the references get none).
const coldStartWarmInvokes = 10

// coldStartFloor is each function's SDK floor: hello plus the SDK clients
// (and operations) it uses. benchreport pairs the same functions.
var coldStartFloor = map[string]string{
	"ingest": "sdkfloor-ingest", "payments": "sdkfloor-processor", "inventory": "sdkfloor-processor",
	"leads": "sdkfloor-processor", "relay": "sdkfloor-processor", "fanout": "sdkfloor-notify", "deliverer": "sdkfloor-deliverer",
}

// coldStartParticipants are the binaries cold-started in each iteration of
// fn's sub-benchmark: hello, fn's floor when it has one, and fn last.
// hello's own sub-benchmark starts only hello; a floor's pairs with hello.
func coldStartParticipants(fn string) []string {
	if fn == "hello" {
		return []string{"hello"}
	}
	if fl := coldStartFloor[fn]; fl != "" {
		return []string{"hello", fl, fn}
	}
	return []string{"hello", fn}
}

// rotation is the order in which iteration i cold-starts n binaries: it
// begins one further each iteration (0 1 2, 1 2 0, 2 0 1, ...), so that no
// binary is always the first (or last) to start after the emulators.
func rotation(n, i int) []int {
	out := make([]int, n)
	for k := range out {
		out[k] = (i + k) % n
	}
	return out
}

func warmOf(payloads map[string]string, fn string) string {
	if p := payloads[fn]; p != "" {
		return p
	}
	return `{"Records":[]}`
}

// startAll starts the emulators of fns at once. An emulator starts its
// function only on the first invocation, so this is not yet a cold start:
// it keeps the emulators' own start-up (tens of milliseconds each) out of
// the gap between the paired cold starts that follow. rie picks each
// emulator's ports by asking for a free one and closing it, so two emulators
// started at once may be given the same port: the loser exits, and its
// start or first invocation fails with errPortClash.
func startAll(ctx context.Context, fns []string, env []string) ([]*rie.Function, error) {
	out := make([]*rie.Function, len(fns))
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Go(func() {
			out[i], errs[i] = rie.Start(ctx, rie.Options{
				Emulator:  os.Getenv(rie.EnvEmulator),
				Bootstrap: filepath.Join(os.Getenv(rie.EnvLambdaBin), fn, "bootstrap"),
				Env:       env,
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			err = fmt.Errorf("start %s: %w", fns[i], err)
			if strings.Contains(err.Error(), addrInUse) {
				err = fmt.Errorf("%w: %w", errPortClash, err)
			}
			return out, err
		}
	}
	return out, nil
}

// errPortClash is an emulator that could not listen on the port rie chose
// for it: another emulator of the same iteration was given it too.
var errPortClash = errors.New("emulator port taken")

const addrInUse = "address already in use"

func stopAll(fs []*rie.Function) {
	var wg sync.WaitGroup
	for _, f := range fs {
		if f != nil {
			wg.Go(f.Stop)
		}
	}
	wg.Wait()
}

// coldSample is one cold start: INIT, and INIT plus the first invocation.
type coldSample struct{ init, first time.Duration }

// coldStarts cold-starts fns[k] for each k of order, back to back: the
// first invocation of each (so that its emulator starts the function), then
// its INIT and first REPORT read from the emulator's log.
func coldStarts(ctx context.Context, fns []string, fs []*rie.Function, order []int, payload func(string) []byte) (map[string]coldSample, error) {
	// A clashing emulator exits within milliseconds of its start: look for
	// it before any invocation, which could otherwise reach the emulator
	// that holds the port and start the wrong function.
	for i, f := range fs {
		if strings.Contains(f.Logs(), addrInUse) {
			return nil, fmt.Errorf("%w: %s:\n%s", errPortClash, fns[i], f.Logs())
		}
	}
	got := map[string]coldSample{}
	for _, k := range order {
		fn, f := fns[k], fs[k]
		fail := func(format string, args ...any) (map[string]coldSample, error) {
			err := fmt.Errorf("%s: "+format+"\n%s", append(append([]any{fn}, args...), f.Logs())...)
			if strings.Contains(f.Logs(), addrInUse) {
				err = fmt.Errorf("%w: %w", errPortClash, err)
			}
			return nil, err
		}
		out, err := f.Invoke(ctx, payload(fn))
		if err != nil && !strings.Contains(err.Error(), "405") {
			return fail("first invoke: %v", err)
		}
		if strings.Contains(string(out), `"batchItemFailures":[{`) || strings.Contains(string(out), `"statusCode":5`) {
			return fail("first invoke failed: %s", out)
		}
		if strings.Contains(f.Logs(), addrInUse) {
			return fail("port clash")
		}
		d, err := f.InitDuration()
		if err != nil {
			return fail("%v", err)
		}
		first, err := f.FirstReportDuration()
		if err != nil {
			return fail("%v", err)
		}
		got[fn] = coldSample{init: d, first: first}
	}
	return got, nil
}

func durRatio(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + m) / 2
	}
	return m
}

func medianMs(ds []time.Duration) float64 {
	ms := make([]float64, len(ds))
	for i, d := range ds {
		ms[i] = float64(d.Microseconds()) / 1000
	}
	return median(ms)
}

// signedWebhook is an API Gateway HTTP API (v2) event carrying the sample
// provider/name, signed fresh with secret.
func signedWebhook(b *testing.B, provider, name, secret string) []byte {
	b.Helper()
	all, err := sample.LoadProvider(hookevents.FS, provider)
	if err != nil {
		b.Fatal(err)
	}
	i := slices.IndexFunc(all, func(s sample.Sample) bool { return s.Name == name })
	if i < 0 {
		b.Fatalf("no sample %s/%s", provider, name)
	}
	p := "/webhooks/" + provider
	r, err := sample.Sign(all[i], "https://hooks.example.com"+p, secret, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	headers := map[string]string{}
	for k, v := range r.Header {
		headers[strings.ToLower(k)] = strings.Join(v, ",")
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "ANY /webhooks/{provider}", RawPath: p, Headers: headers,
		PathParameters: map[string]string{"provider": provider}, Body: string(r.Body),
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: http.MethodPost, Path: p, SourceIP: "203.0.113.7"},
		},
	}
	out, err := json.Marshal(ev)
	if err != nil {
		b.Fatal(err)
	}
	return out
}

// awsStub answers the SQS and DynamoDB JSON protocols at once: every send
// succeeds (and is remembered by queue), every DynamoDB read finds nothing
// and every write succeeds.
type awsStub struct {
	*httptest.Server
	mu   sync.Mutex
	sent map[string]string // queue name → last message body
}

func newAWSStub(b *testing.B) *awsStub {
	s := &awsStub{sent: map[string]string{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	b.Cleanup(s.Close)
	return s
}

func (s *awsStub) lastSent(q string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent[q]
}

func (s *awsStub) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	target := r.Header.Get("X-Amz-Target")
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	var in struct {
		QueueURL    string `json:"QueueUrl"`
		MessageBody string
		Entries     []struct{ ID, MessageBody string }
	}
	_ = json.Unmarshal(body, &in)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch target {
	case "AmazonSQS.SendMessage":
		s.sent[path.Base(in.QueueURL)] = in.MessageBody
		_, _ = io.WriteString(w, `{"MessageId":"stub-1"}`)
	case "AmazonSQS.SendMessageBatch":
		var ok []map[string]string
		for _, e := range in.Entries {
			s.sent[path.Base(in.QueueURL)] = e.MessageBody
			ok = append(ok, map[string]string{"Id": e.ID, "MessageId": "stub-" + e.ID})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"Successful": ok, "Failed": []any{}})
	default:
		_, _ = io.WriteString(w, `{}`)
	}
}
