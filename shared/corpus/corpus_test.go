package corpus

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookstack/hookstack/shared/blob/fileblob"
	"github.com/hookstack/hookstack/shared/devserver"
	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/eventlog"
	"github.com/hookstack/hookstack/shared/ingest"
	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/queue/localq"
	"github.com/hookstack/hookstack/shared/secrets"
	"github.com/hookstack/hookstack/shared/signature"
)

// corpusDir is the checked-in corpus, relative to this package.
const corpusDir = "../../events/bad"

// minCases is the floor.
const minCases = 200

// publicURL is the base URL both the direct handler and the dev server sign
// and verify against (HOOKSTACK_PUBLIC_URL).
const publicURL = "https://hooks.example.test"

// Fixed test secrets, per provider, and a wrong one of the same shape.
var (
	testSecrets = secrets.Static{
		"stripe":     {"whsec_corpusStripeTestSecret0123456789"},
		"github":     {"corpus-github-secret"},
		"shopify":    {"corpus-shopify-secret"},
		"slack":      {"corpus-slack-signing-secret"},
		"standard":   {"whsec_" + base64.StdEncoding.EncodeToString([]byte("corpus-standard-signing-key-0001"))},
		"livechat":   {"corpus-livechat-secret-key"},
		"trello":     {"corpus-trello-secret"},
		"hubspot":    {"corpus-hubspot-client-secret"},
		"twilio":     {"corpus-twilio-auth-token"},
		"zoom":       {"corpus-zoom-secret-token"},
		"salesforce": {"00D5g000004SzKZ"},
	}
	wrongSecrets = map[string]string{
		"stripe":     "whsec_someoneElsesSecret0123456789",
		"github":     "wrong-github-secret",
		"shopify":    "wrong-shopify-secret",
		"slack":      "wrong-slack-signing-secret",
		"standard":   "whsec_" + base64.StdEncoding.EncodeToString([]byte("wrong-standard-signing-key-00001")),
		"livechat":   "wrong-livechat-secret-key",
		"trello":     "wrong-trello-secret",
		"hubspot":    "wrong-hubspot-client-secret",
		"twilio":     "wrong-twilio-auth-token",
		"zoom":       "wrong-zoom-secret-token",
		"salesforce": "00D5g000004SzKA",
	}
)

func loadCorpus(t *testing.T) []Case {
	t.Helper()
	cases, err := Load(os.DirFS(corpusDir))
	if err != nil {
		t.Fatal(err)
	}
	return cases
}

// TestCorpusShape checks the corpus itself: enough cases, each buildable,
// every provider covered.
func TestCorpusShape(t *testing.T) {
	cases := loadCorpus(t)
	if len(cases) < minCases {
		t.Errorf("%d cases in %s, want at least %d", len(cases), corpusDir, minCases)
	}
	perProvider := map[string]int{}
	for _, c := range cases {
		perProvider[c.Provider]++
		if c.Note == "" {
			t.Errorf("%s: no note saying why the case exists", c.Name)
		}
		if _, err := build(c, time.Now()); err != nil {
			t.Errorf("%s: %v", c.Name, err)
		}
	}
	for _, p := range signature.Providers {
		if perProvider[p] < 8 {
			t.Errorf("provider %s has %d cases, want at least 8", p, perProvider[p])
		}
	}
}

// skipKnownBug skips a case marked known-bug, unless
// HOOKSTACK_CORPUS_KNOWN_BUGS=1 (to see whether the bug is still there).
func skipKnownBug(t *testing.T, c Case) {
	if c.KnownBug != "" && os.Getenv("HOOKSTACK_CORPUS_KNOWN_BUGS") != "1" {
		t.Skip("known bug: " + c.KnownBug)
	}
}

// request is a case made concrete: signed, with the after-sign edits.
type request struct {
	Method string
	URL    string // the public URL, with the query
	Header http.Header
	Body   []byte
}

func build(c Case, now time.Time) (request, error) {
	times := NewTimes(now)
	h, err := c.Header(times)
	if err != nil {
		return request{}, err
	}
	body, err := c.Body()
	if err != nil {
		return request{}, err
	}
	u := publicURL + ingest.RoutePrefix + c.Provider
	if c.Query != "" {
		u += "?" + c.Query
	}
	r := &signature.Request{Method: c.Method, URL: u, Header: h, Body: body}
	if c.Sign != SignNone {
		_, signer, ok := signature.For(c.Provider, signature.Options{})
		if !ok {
			return request{}, fmt.Errorf("sign: unknown provider %q", c.Provider)
		}
		secret, at := testSecrets[c.Provider][0], times.Now
		switch c.Sign {
		case SignWrongSecret:
			secret = wrongSecrets[c.Provider]
		case SignStale:
			at = times.Stale
		case SignFuture:
			at = times.Future
		}
		if err := signer.Sign(r, secret, at); err != nil {
			return request{}, fmt.Errorf("sign: %w (use sign: false for bodies the signer cannot read)", err)
		}
	}
	body, err = c.ApplyAfterSign(r.Header, r.Body, times)
	if err != nil {
		return request{}, err
	}
	return request{Method: c.Method, URL: r.URL, Header: r.Header, Body: body}, nil
}

// answer is what came back, from either transport.
type answer struct {
	Status      int
	ContentType string
	Body        []byte
}

// checkAnswer applies the assertions every transport shares.
func checkAnswer(t *testing.T, c Case, a answer, errorBody string, head bool) {
	t.Helper()
	if a.Status >= 500 && c.Expect < 500 {
		t.Errorf("5xx on bad input: got %d, want %d; body %.300q", a.Status, c.Expect, a.Body)
		return
	}
	if a.Status != c.Expect {
		t.Errorf("status %d, want %d; body %.300q", a.Status, c.Expect, a.Body)
		return
	}
	if head {
		return // HEAD answers carry no body over HTTP
	}
	for _, want := range c.ExpectBody {
		if !bytes.Contains(a.Body, []byte(want)) {
			t.Errorf("body %.300q does not contain %q", a.Body, want)
		}
	}
	if a.Status >= 400 && a.Status < 500 {
		switch errorBody {
		case ErrorBodyJSON:
			var e struct {
				Error *string `json:"error"`
			}
			if err := json.Unmarshal(a.Body, &e); err != nil || e.Error == nil || *e.Error == "" {
				t.Errorf(`%d body %.300q is not {"error": "..."}`, a.Status, a.Body)
			}
			if !strings.HasPrefix(a.ContentType, "application/json") {
				t.Errorf("%d Content-Type %q, want application/json", a.Status, a.ContentType)
			}
		case ErrorBodyPlain:
			if len(bytes.TrimSpace(a.Body)) == 0 {
				t.Errorf("%d with an empty body", a.Status)
			}
		}
	}
}

// outcomes records the handler's Outcome (the reason of a rejection).
type outcomes struct {
	mu   sync.Mutex
	list []ingest.Outcome
}

func (o *outcomes) Observe(_ context.Context, out ingest.Outcome) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.list = append(o.list, out)
}

// TestCorpusDirect runs every case (except http/raw-only ones) through
// ingest.Handler.Handle with a real embedded queue and claim-check store of
// its own, and checks exactly what landed in which queue.
func TestCorpusDirect(t *testing.T) {
	for _, c := range loadCorpus(t) {
		if c.Transport != TransportBoth && c.Transport != TransportDirect {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			skipKnownBug(t, c)
			runDirect(t, c)
		})
	}
}

func runDirect(t *testing.T, c Case) {
	dir := t.TempDir()
	q, err := localq.Open(filepath.Join(dir, "queues.db"), localq.Config{Queues: envelope.AllQueues, MaxReceive: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	blobs, err := fileblob.New(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	obs := &outcomes{}
	// Salesforce signs nothing: the corpus checks what its bodies get, so its
	// source address is not restricted here (TestSalesforceNeedsAllowlist in
	// shared/ingest covers the allowlist).
	h, err := ingest.New(ingest.Config{PublicURL: publicURL, SalesforceAnyIP: true}, ingest.Deps{
		Queue: q, Blobs: blobs, Secrets: testSecrets, Observer: obs,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := build(c, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	req := ingest.Request{
		Method: r.Method, Provider: c.Provider, URL: r.URL, Header: r.Header, Body: r.Body,
		SourceIP: netip.MustParseAddr("203.0.113.7"),
	}
	resp, panicked := handleRecover(h, req)
	if panicked != nil {
		t.Fatalf("panic on bad input: %v", panicked)
	}
	checkAnswer(t, c, answer{Status: resp.Status, ContentType: resp.ContentType, Body: resp.Body}, ErrorBodyJSON, false)

	obs.mu.Lock()
	if len(obs.list) != 1 {
		t.Errorf("observer saw %d outcomes, want 1", len(obs.list))
	} else if out := obs.list[0]; (resp.Status >= 400 || c.Outcome == OutcomeDead) && out.Reason == "" {
		t.Errorf("status %d (%s) with no reason recorded", resp.Status, c.Outcome)
	}
	obs.mu.Unlock()
	checkQueues(t, c, q)
}

func handleRecover(h *ingest.Handler, req ingest.Request) (resp ingest.Response, panicked any) {
	defer func() { panicked = recover() }()
	return h.Handle(context.Background(), req), nil
}

// checkQueues asserts where the request's envelopes went.
func checkQueues(t *testing.T, c Case, q *localq.Queue) {
	t.Helper()
	ctx := context.Background()
	var domain, dead []queue.Message
	var deadQueue string
	for _, name := range envelope.AllQueues {
		m, err := q.List(ctx, name, 5000)
		if err != nil {
			t.Fatal(err)
		}
		domain = append(domain, m...)
		d, err := q.List(ctx, queue.DLQ(name), 5000)
		if err != nil {
			t.Fatal(err)
		}
		if len(d) > 0 {
			deadQueue = queue.DLQ(name)
		}
		dead = append(dead, d...)
	}
	// Nothing stored may hold a secret: LiveChat's secret_key is removed
	// from what is queued, and never-stored names other such text.
	never := c.NeverStored
	if c.Provider == "livechat" {
		never = append(never, testSecrets["livechat"][0])
	}
	for _, m := range append(slices.Clone(domain), dead...) {
		e, err := envelope.Decode(m.Body)
		if err != nil {
			t.Fatalf("message is not an envelope: %v", err)
		}
		for _, s := range never {
			if bytes.Contains(m.Body, []byte(s)) || bytes.Contains(e.Body, []byte(s)) {
				t.Errorf("a stored message contains %q", s)
			}
		}
	}
	switch c.Outcome {
	case OutcomeQueued:
		if len(domain) != c.Events || len(dead) != 0 {
			t.Fatalf("%d messages queued and %d dead-lettered, want %d queued and none dead", len(domain), len(dead), c.Events)
		}
		for _, m := range domain {
			e, err := envelope.Decode(m.Body)
			if err != nil {
				t.Fatalf("queued message is not an envelope: %v", err)
			}
			if e.Invalid != "" || e.Provider != c.Provider {
				t.Errorf("queued envelope provider %q invalid %q", e.Provider, e.Invalid)
			}
		}
	case OutcomeDead:
		if len(dead) != 1 || len(domain) != 0 {
			t.Fatalf("%d messages dead-lettered and %d queued, want exactly 1 dead and none queued", len(dead), len(domain))
		}
		if want := queue.DLQ(envelope.Route(c.Provider, envelope.TypeUnparseable)); deadQueue != want {
			t.Errorf("dead letter in %s, want the route queue's DLQ %s", deadQueue, want)
		}
		if reason := dead[0].Attributes[queue.AttrReason]; strings.TrimSpace(strings.TrimPrefix(reason, "unparseable body:")) == "" {
			t.Errorf("dead letter without a reason: attributes %v", dead[0].Attributes)
		}
		e, err := envelope.Decode(dead[0].Body)
		if err != nil {
			t.Fatalf("dead letter is not an envelope: %v", err)
		}
		if e.Invalid == "" || e.Type != envelope.TypeUnparseable {
			t.Errorf("dead envelope type %q invalid %q, want type %q and a reason", e.Type, e.Invalid, envelope.TypeUnparseable)
		}
	default:
		if len(domain)+len(dead) != 0 {
			t.Errorf("%d messages queued and %d dead-lettered, want none (%s)", len(domain), len(dead), c.Outcome)
		}
	}
}

// devServer is one `hookstack dev` (devserver.Run) for the HTTP cases.
type devServer struct {
	base, addr string
	logs       *lockedBuffer
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func startDev(t *testing.T) *devServer {
	t.Helper()
	env := map[string]string{"HOOKSTACK_PUBLIC_URL": publicURL}
	for p, s := range testSecrets {
		env[secrets.EnvName(p)] = strings.Join(s, ",")
	}
	logs := &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan string, 1), make(chan error, 1)
	go func() {
		done <- devserver.Run(ctx, devserver.Options{
			Addr: "127.0.0.1:0", DataDir: t.TempDir(), Getenv: func(k string) string { return env[k] },
			Out: io.Discard, Log: slog.New(slog.NewTextHandler(logs, nil)),
			Ready: func(addr string) { ready <- addr },
		})
	}()
	select {
	case addr := <-ready:
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("dev server: %v", err)
			}
		})
		return &devServer{base: "http://" + addr, addr: addr, logs: logs}
	case err := <-done:
		cancel()
		t.Fatalf("dev server did not start: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("dev server did not start in time")
	}
	return nil
}

// TestCorpusHTTP runs the cases the Go client can send (and the raw ones)
// against the real dev server, over TCP, with its listener settings.
func TestCorpusHTTP(t *testing.T) {
	if testing.Short() {
		t.Skip("short: the dev server path is skipped")
	}
	dev := startDev(t)
	client := &http.Client{
		Timeout:       2 * time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	t.Run("cases", func(t *testing.T) {
		for _, c := range loadCorpus(t) {
			if c.Transport == TransportDirect {
				continue
			}
			t.Run(c.Name, func(t *testing.T) {
				t.Parallel()
				if c.KnownBug != "" {
					t.Skip("known bug: " + c.KnownBug)
				}
				runHTTP(t, c, dev, client)
			})
		}
	})
	if logs := dev.logs.String(); strings.Contains(logs, "panic") {
		t.Errorf("the dev server logged a panic:\n%s", logs)
	}
}

func runHTTP(t *testing.T, c Case, dev *devServer, client *http.Client) {
	r, err := build(c, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	target := dev.base + strings.TrimPrefix(r.URL, publicURL)
	if c.Path != "" {
		target = dev.base + c.Path
		if c.Query != "" {
			target += "?" + c.Query
		}
	}
	var a answer
	if c.Transport == TransportRaw {
		a = sendRaw(t, dev.addr, r, strings.TrimPrefix(target, dev.base))
	} else {
		var body io.Reader = bytes.NewReader(r.Body)
		if c.Chunked {
			body = io.MultiReader(bytes.NewReader(r.Body)) // unknown length: chunked
		}
		req, err := http.NewRequest(r.Method, target, body)
		if err != nil {
			t.Fatalf("build request (use transport: direct for what Go's client cannot send): %v", err)
		}
		req.Header = r.Header
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("request failed (use transport: direct or raw for what Go's client cannot send): %v", err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("read answer: %v", err)
		}
		a = answer{Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Body: b}
	}
	checkAnswer(t, c, a, c.ErrorBody, r.Method == http.MethodHead)
	if t.Failed() {
		return
	}
	switch c.Outcome {
	case OutcomeDead:
		e := findEvent(t, dev, c, r, a)
		if e.Status != eventlog.StatusDead || e.Reason == "" {
			t.Errorf("event %s: status %q reason %q, want dead with a reason", e.ID, e.Status, e.Reason)
		}
		if e.Envelope == nil || e.Envelope.Invalid == "" {
			t.Errorf("event %s: envelope without the invalid reason", e.ID)
		}
	case OutcomeQueued:
		if c.Provider == "salesforce" {
			return // the SOAP ack carries no id; the direct run counts the queue
		}
		var ack struct {
			ID     string `json:"id"`
			Events []struct {
				ID string `json:"id"`
			} `json:"events"`
		}
		if err := json.Unmarshal(a.Body, &ack); err != nil || ack.ID == "" {
			t.Fatalf("2xx body %.200q has no id", a.Body)
		}
		if c.Events > 1 && len(ack.Events) != c.Events {
			t.Errorf("%d events acknowledged, want %d", len(ack.Events), c.Events)
		}
		var e eventlog.Entry
		if st := getJSON(t, dev.base+"/api/events/"+ack.ID, &e); st != http.StatusOK {
			t.Fatalf("GET /api/events/%s: %d", ack.ID, st)
		}
		if e.Envelope == nil || e.Envelope.Invalid != "" {
			t.Errorf("event %s: envelope %+v, want a valid one", ack.ID, e.Envelope)
		}
	}
}

// findEvent finds the dead-lettered event of a request: by the id in the
// ingest's answer, or (Salesforce's SOAP ack has none) by its event id.
func findEvent(t *testing.T, dev *devServer, c Case, r request, a answer) eventlog.Entry {
	t.Helper()
	var ack struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(a.Body, &ack) == nil && ack.ID != "" {
		var e eventlog.Entry
		if st := getJSON(t, dev.base+"/api/events/"+ack.ID, &e); st != http.StatusOK {
			t.Fatalf("GET /api/events/%s: %d", ack.ID, st)
		}
		return e
	}
	want := envelope.Unparseable(c.Provider, r.Header, r.Body, time.Now()).ID
	var list []eventlog.Summary
	u := dev.base + "/api/events?limit=1000&provider=" + url.QueryEscape(c.Provider)
	if st := getJSON(t, u, &list); st != http.StatusOK {
		t.Fatalf("GET %s: %d", u, st)
	}
	for _, s := range list {
		if s.EventID == want {
			var e eventlog.Entry
			getJSON(t, dev.base+"/api/events/"+s.ID, &e)
			return e
		}
	}
	t.Fatalf("no event with event id %s in the event log", want)
	return eventlog.Entry{}
}

func getJSON(t *testing.T, u string, v any) int {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return resp.StatusCode
}

// sendRaw writes the request as raw bytes, header values exactly as given
// (CR, LF and all), and reads the answer.
func sendRaw(t *testing.T, addr string, r request, target string) answer {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Minute))
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", r.Method, target, addr)
	hasLength := false
	for k, vs := range r.Header {
		if strings.EqualFold(k, "Content-Length") || strings.EqualFold(k, "Transfer-Encoding") {
			hasLength = true
		}
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	if !hasLength {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(r.Body))
	}
	b.WriteString("Connection: close\r\n\r\n")
	b.Write(r.Body)
	// Write while reading: the server may answer (431) before it has read
	// everything.
	go func() { _, _ = conn.Write(b.Bytes()) }()
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: r.Method})
	if err != nil {
		t.Fatalf("read raw answer: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return answer{Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Body: body}
}

// TestParse covers the case format itself.
func TestParse(t *testing.T) {
	good := "provider: stripe\nheader: X-A: \"a\\r\\nb\"\nsign: true\nexpect: 200\noutcome: dead\nnote: n\n\n{\"x\":1}\n"
	c, err := Parse("good", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if string(c.RawBody) != `{"x":1}` || c.Headers[0].Value != "a\r\nb" || c.Sign != SignValid || c.Outcome != OutcomeDead {
		t.Errorf("parsed %+v", c)
	}
	esc, err := Parse("esc", []byte("provider: x\nexpect: 404\nbody-escapes: true\nnote: n\n\na\\x00b\\xffc\\xZZ"))
	if err != nil || string(esc.RawBody) != "a\x00b\xffc\\xZZ" {
		t.Errorf("escapes: %q %v", esc.RawBody, err)
	}
	for name, bad := range map[string]string{
		"no expect":      "provider: stripe\nnote: n\n\n",
		"2xx no outcome": "provider: stripe\nexpect: 200\n\n",
		"unknown key":    "provider: stripe\nexpect: 401\nfoo: bar\n\n",
		"twice":          "provider: stripe\nprovider: github\nexpect: 401\n\n",
		"bad sign":       "provider: stripe\nexpect: 401\nsign: maybe\n\n",
		"gen and body":   "provider: stripe\nexpect: 401\ngenerate: \"x\"\n\nbody",
		"bad expr":       "provider: stripe\nexpect: 401\ngenerate: repeat(\"x\")\n\n",
		"bad op":         "provider: stripe\nexpect: 401\nafter-sign: explode\n\n",
		"no colon":       "provider stripe\n\n",
	} {
		if _, err := Parse(name, []byte(bad)); err == nil {
			t.Errorf("%s: parsed without error", name)
		}
	}
}

func TestEval(t *testing.T) {
	for expr, want := range map[string]string{
		`"ab"`:                         "ab",
		`"[" + repeat("x", 3) + "]"`:   "[xxx]",
		"`raw` + repeat(\"\\x00\", 2)": "raw\x00\x00",
		`repeat("ab", 0) + "z"`:        "z",
		`"a\"+b" + "c"`:                "a\"+bc",
	} {
		got, err := Eval(expr)
		if err != nil || string(got) != want {
			t.Errorf("Eval(%s) = %q, %v; want %q", expr, got, err, want)
		}
	}
	gz, err := Eval(`gzip("hello")`)
	if err != nil || len(gz) < 10 || gz[0] != 0x1f || gz[1] != 0x8b {
		t.Errorf("gzip: % x %v", gz, err)
	}
	for _, bad := range []string{``, `"a" "b"`, `repeat("a", -1)`, `repeat("a", 99999999999)`, `gzip("a"`, `x`} {
		if _, err := Eval(bad); err == nil {
			t.Errorf("Eval(%s): no error", bad)
		}
	}
}

// FuzzParse: the case parser never panics, and what it accepts builds.
func FuzzParse(f *testing.F) {
	f.Add([]byte("provider: stripe\nsign: true\nexpect: 200\noutcome: dead\nnote: n\n\n{\"id\":"))
	f.Add([]byte("provider: github\nexpect: 401\ngenerate: \"[\" + repeat(\"[\", 10)\nafter-sign: replace \"[\" \"{\"\nnote: n\n\n"))
	f.Add([]byte("provider: twilio\nheader-gen: X: repeat(\"a\", 3)\nexpect: 403\n\nBody=1"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz", data)
		if err != nil {
			return
		}
		if len(c.Generate) > 0 || len(c.Headers) > 0 {
			return // generated sizes are bounded by MaxGenerated, but keep fuzzing fast
		}
		_, _ = build(c, time.Unix(1767225600, 0))
	})
}
