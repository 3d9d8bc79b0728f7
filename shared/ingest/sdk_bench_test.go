package ingest

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/tidwall/gjson"

	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/queue/sqsq"
	"github.com/hookstack/hookstack/shared/secrets"
	"github.com/hookstack/hookstack/shared/signature"
)

// The SDK benchmarks run the full ingest handler with the real SQS adapter
// (sqsq over the AWS SDK v2 client: serialisation, SigV4 signing, retry
// middleware, response parsing and the SDK's MD5 check of the message body)
// against a stub HTTP client that answers SendMessage locally, and compare it
// with a bare SDK SendMessage of the same envelope bytes through the same
// stub. Figures: BENCHMARKS.md, "Ingest with the SDK".

const sdkStubQueueURL = "http://sqs.stub.invalid/000000000000/payments"

// sqsStub is an aws.HTTPClient answering SendMessage (AWS JSON 1.0) the way
// SQS does: a MessageId and the MD5 of the message body it received, which
// the SDK checks against the body it sent.
type sqsStub struct {
	n     atomic.Int64
	mu    sync.Mutex
	last  []byte // the last MessageBody received
	keep  bool   // record last (off in the timed loop)
	calls atomic.Int64
}

func (s *sqsStub) Do(r *http.Request) (*http.Response, error) {
	s.calls.Add(1)
	if got := r.Header.Get("X-Amz-Target"); got != "AmazonSQS.SendMessage" {
		return stubResponse(http.StatusBadRequest,
			`{"__type":"com.amazonaws.sqs#UnsupportedOperation","message":"stub answers SendMessage only, got `+got+`"}`), nil
	}
	if r.Header.Get("Authorization") == "" {
		return stubResponse(http.StatusForbidden, `{"__type":"com.amazonaws.sqs#MissingAuthenticationToken","message":"unsigned"}`), nil
	}
	req, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, fmt.Errorf("sqs stub: read request: %w", err)
	}
	_ = r.Body.Close()
	msg := gjson.GetBytes(req, "MessageBody").String()
	if s.keep {
		s.mu.Lock()
		s.last = []byte(msg)
		s.mu.Unlock()
	}
	sum := md5.Sum([]byte(msg))
	id := strconv.FormatInt(s.n.Add(1), 10)
	return stubResponse(http.StatusOK,
		`{"MessageId":"00000000-0000-0000-0000-`+id+`","MD5OfMessageBody":"`+hex.EncodeToString(sum[:])+`"}`), nil
}

func stubResponse(status int, body string) *http.Response {
	return &http.Response{
		StatusCode:    status,
		Status:        strconv.Itoa(status) + " " + http.StatusText(status),
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": {"application/x-amz-json-1.0"}, "X-Amzn-Requestid": {"stub"}},
		Body:          io.NopCloser(bytes.NewReader([]byte(body))),
		ContentLength: int64(len(body)),
	}
}

// lastBody returns a copy of the last MessageBody the stub received.
func (s *sqsStub) lastBody() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.last...)
}

// stubSQSClient is the SDK client the Lambda builds, pointed at the stub.
// Static credentials (wrapped in the cache, as config.LoadDefaultConfig
// does) keep SigV4 signing in the measured path.
func stubSQSClient(stub *sqsStub) *sqs.Client {
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider("AKIDBENCH", "bench-secret", "")),
		HTTPClient:  stub,
	}
	return sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String("http://sqs.stub.invalid") })
}

// benchBlobs is an in-memory claim-check store: it copies the body into a
// reused buffer (the cost of handing the bytes over) and returns a ref. The
// real S3 upload (SDK, SHA-256 of the payload for SigV4, network) is not in
// this figure.
type benchBlobs struct {
	mu   sync.Mutex
	buf  []byte
	puts int
}

func (m *benchBlobs) Put(_ context.Context, key string, body []byte) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.buf = append(m.buf[:0], body...)
	m.puts++
	return "mem://" + key, nil
}

// countingWriter counts the log bytes and lines written.
type countingWriter struct{ bytes, lines atomic.Int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.bytes.Add(int64(len(p)))
	w.lines.Add(int64(bytes.Count(p, []byte{'\n'})))
	return len(p), nil
}

// bigStripeBody pads the 2 KB sample to size bytes with an extra top-level
// string field, keeping it a valid Stripe event.
func bigStripeBody(b *testing.B, size int) []byte {
	b.Helper()
	body := benchBody(b)
	i := bytes.IndexByte(body, '{')
	if i < 0 {
		b.Fatal("sample is not a JSON object")
	}
	prefix := `{"x_padding":"`
	suffix := `",`
	pad := size - len(body) - len(prefix) - len(suffix) + 1
	if pad <= 0 {
		b.Fatalf("size %d smaller than the sample", size)
	}
	out := make([]byte, 0, size)
	out = append(out, prefix...)
	out = append(out, bytes.Repeat([]byte("a"), pad)...)
	out = append(out, suffix...)
	out = append(out, body[i+1:]...)
	if len(out) != size || !gjson.ValidBytes(out) {
		b.Fatalf("padded body: %d bytes, valid %v", len(out), gjson.ValidBytes(out))
	}
	return out
}

// sdkHandler builds ingest.New over sqsq and the stubbed SDK client, and a
// signed Stripe request for body.
func sdkHandler(b *testing.B, stub *sqsStub, blobs BlobPutter, body []byte, logs io.Writer) (*Handler, Request) {
	b.Helper()
	now := time.Now()
	q := sqsq.New(stubSQSClient(stub), map[string]string{
		envelope.QueuePayments: sdkStubQueueURL, queue.DLQ(envelope.QueuePayments): sdkStubQueueURL + "-dlq",
	})
	h, err := New(Config{Providers: []string{"stripe"}}, Deps{
		Queue: q, Blobs: blobs, Secrets: secrets.Static{"stripe": {benchSecret}},
		Logger: slog.New(slog.NewJSONHandler(logs, nil)), Now: func() time.Time { return now },
	})
	if err != nil {
		b.Fatal(err)
	}
	sr := &signature.Request{Method: "POST", Header: http.Header{"Content-Type": {"application/json"}}, Body: body}
	_, signer, _ := signature.For("stripe", signature.Options{})
	if err := signer.Sign(sr, benchSecret, now); err != nil {
		b.Fatal(err)
	}
	return h, Request{Method: "POST", Provider: "stripe", Header: sr.Header, Body: body}
}

// warmUp sends one request with the stub recording, checks the outcome and
// returns the envelope bytes that went to SQS.
func warmUp(b *testing.B, stub *sqsStub, h *Handler, req Request) []byte {
	b.Helper()
	stub.keep = true
	if resp := h.Handle(context.Background(), req); resp.Status != http.StatusOK {
		b.Fatalf("warm-up: status %d: %s", resp.Status, resp.Body)
	}
	stub.keep = false
	sent := stub.lastBody()
	e, err := envelope.Decode(sent)
	if err != nil {
		b.Fatalf("warm-up: the stub received no envelope: %v", err)
	}
	if e.Provider != "stripe" || e.Type != "payment_intent.succeeded" {
		b.Fatalf("warm-up: envelope %s/%s", e.Provider, e.Type)
	}
	return sent
}

func benchIngestSDK(b *testing.B, body []byte, wantClaimCheck bool) {
	stub := &sqsStub{}
	blobs := &benchBlobs{}
	logs := &countingWriter{}
	h, req := sdkHandler(b, stub, blobs, body, logs)
	sent := warmUp(b, stub, h, req)
	if logs.lines.Load() != 1 {
		b.Fatalf("warm-up wrote %d log lines, want 1", logs.lines.Load())
	}
	logBytes := logs.bytes.Load()
	e, _ := envelope.Decode(sent)
	if claimed := e.BodyRef != ""; claimed != wantClaimCheck || (blobs.puts > 0) != wantClaimCheck {
		b.Fatalf("claim check: ref %q, puts %d, want claim-checked %v", e.BodyRef, blobs.puts, wantClaimCheck)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	before := stub.calls.Load()
	for b.Loop() {
		if resp := h.Handle(context.Background(), req); resp.Status != http.StatusOK {
			b.Fatalf("status %d: %s", resp.Status, resp.Body)
		}
	}
	if stub.calls.Load() == before {
		b.Fatal("the handler never reached the SQS stub")
	}
	// Reported after the loop (b.Loop resets reported metrics): the bytes
	// sent to SQS and the size of the request's log line with its EMF
	// metrics, inputs of the cost model (shared/cost).
	b.ReportMetric(float64(len(sent)), "sqs-bytes")
	b.ReportMetric(float64(logBytes), "log-bytes")
}

func benchBareSendMessage(b *testing.B, body []byte) {
	stub := &sqsStub{}
	h, req := sdkHandler(b, stub, &benchBlobs{}, body, io.Discard)
	sent := warmUp(b, stub, h, req)
	client := stubSQSClient(stub)
	in := &sqs.SendMessageInput{QueueUrl: aws.String(sdkStubQueueURL), MessageBody: aws.String(string(sent))}
	ctx := context.Background()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		out, err := client.SendMessage(ctx, in)
		if err != nil || aws.ToString(out.MessageId) == "" {
			b.Fatalf("send: %v", err)
		}
	}
	b.ReportMetric(float64(len(sent)), "sqs-bytes")
}

// BenchmarkIngestSDKStripe2KB: the whole handler on a 2 KB Stripe event,
// enqueueing through sqsq and the SDK to the stub.
func BenchmarkIngestSDKStripe2KB(b *testing.B) { benchIngestSDK(b, benchBody(b), false) }

// BenchmarkSDKSendMessage2KB: a bare SDK SendMessage of the same envelope
// bytes through the same stub.
func BenchmarkSDKSendMessage2KB(b *testing.B) { benchBareSendMessage(b, benchBody(b)) }

// BenchmarkIngestSDKStripe256KB: a 256 KB event, above the claim-check
// threshold: the body goes to the (in-memory) blob store and SQS gets an
// envelope carrying its reference.
func BenchmarkIngestSDKStripe256KB(b *testing.B) { benchIngestSDK(b, bigStripeBody(b, 256<<10), true) }

// BenchmarkSDKSendMessage256KB: the bare SendMessage of that (small,
// claim-checked) envelope.
func BenchmarkSDKSendMessage256KB(b *testing.B) { benchBareSendMessage(b, bigStripeBody(b, 256<<10)) }

// BenchmarkSDKStubOnly2KB: the stub's own cost for one 2 KB SendMessage
// (parse the request JSON, MD5 the body, build the response), to subtract
// from the figures above when judging the SDK.
func BenchmarkSDKStubOnly2KB(b *testing.B) {
	stub := &sqsStub{}
	h, req := sdkHandler(b, stub, &benchBlobs{}, benchBody(b), io.Discard)
	sent := warmUp(b, stub, h, req)
	reqBody := []byte(`{"QueueUrl":"` + sdkStubQueueURL + `","MessageBody":` + strconv.Quote(string(sent)) + `}`)
	if gjson.GetBytes(reqBody, "MessageBody").String() != string(sent) {
		b.Fatal("request body does not round-trip")
	}
	b.ReportAllocs()
	for b.Loop() {
		r, _ := http.NewRequest(http.MethodPost, "http://sqs.stub.invalid/", bytes.NewReader(reqBody))
		r.Header.Set("X-Amz-Target", "AmazonSQS.SendMessage")
		r.Header.Set("Authorization", "AWS4-HMAC-SHA256 stub")
		resp, err := stub.Do(r)
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("stub: %v", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
	}
}
