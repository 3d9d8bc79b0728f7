// Package ingest is the webhook front door: it verifies a provider's request
// exactly as the provider signs it, wraps each event in an envelope and
// enqueues it to its domain queue before answering 2xx. One core (Handle)
// serves plain HTTP (the dev server) and API Gateway HTTP API v2 events
// (the Lambda), so both run the same code path.
package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/metrics"
	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/signature"
	"github.com/hookstack/hookstack/shared/ulidgen"
)

// Sender enqueues one message (queue.Queue satisfies it).
type Sender interface {
	Send(ctx context.Context, queue string, m queue.Outgoing) (string, error)
}

// BlobPutter stores a body too large for a queue message and returns its ref.
type BlobPutter interface {
	Put(ctx context.Context, key string, body []byte) (string, error)
}

// SecretSource returns a provider's active secrets, newest first.
type SecretSource interface {
	Secrets(ctx context.Context, provider string) ([]string, error)
}

// Observer is told of every request's outcome (the dev server records them
// for its inspector). It must not block.
type Observer interface {
	Observe(ctx context.Context, o Outcome)
}

// Request is one inbound HTTP request, adapter-neutral.
type Request struct {
	Method   string
	Provider string // the {provider} path segment
	// URL is the public URL the provider called (for URL-signing providers).
	URL      string
	Header   http.Header
	Body     []byte
	SourceIP netip.Addr
	// TooLarge is set by an adapter that stopped reading past the limit.
	TooLarge bool
}

// Response is what to answer.
type Response struct {
	Status      int
	ContentType string
	Body        []byte
}

// Outcome describes a handled request for observers and logs.
type Outcome struct {
	Provider   string
	Status     int
	Reason     string // why it was rejected or dead-lettered; empty when fine
	Envelopes  []envelope.Envelope
	Header     http.Header // the request headers (observers redact them)
	Body       []byte      // the raw body (observers redact it; never logged)
	ReceivedAt time.Time
	Duration   time.Duration
}

// Handler is the ingest core.
type Handler struct {
	cfg       Config
	providers map[string]signature.Verifier
	queue     Sender
	blobs     BlobPutter
	secrets   SecretSource
	observer  Observer
	log       *slog.Logger
	now       func() time.Time
	ids       ulidgen.Monotonic
}

// Deps are the handler's collaborators. Blobs and Observer may be nil.
type Deps struct {
	Queue    Sender
	Blobs    BlobPutter
	Secrets  SecretSource
	Observer Observer
	Logger   *slog.Logger
	Now      func() time.Time
}

// New builds a handler for the configured providers.
func New(cfg Config, d Deps) (*Handler, error) {
	if d.Queue == nil || d.Secrets == nil {
		return nil, errors.New("ingest: a queue and a secret source are required")
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Tolerance <= 0 {
		cfg.Tolerance = DefaultTolerance
	}
	if cfg.ClaimThreshold <= 0 {
		cfg.ClaimThreshold = DefaultClaimThreshold
	}
	names := cfg.Providers
	if names == nil {
		names = signature.Providers
	}
	h := &Handler{
		cfg: cfg, providers: map[string]signature.Verifier{},
		queue: d.Queue, blobs: d.Blobs, secrets: d.Secrets, observer: d.Observer,
		log: d.Logger, now: d.Now,
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.now == nil {
		h.now = time.Now
	}
	for _, p := range names {
		v, _, ok := signature.For(p, signature.Options{Tolerance: cfg.Tolerance, HubSpotLegacy: cfg.HubSpotLegacy})
		if !ok {
			return nil, fmt.Errorf("ingest: unknown provider %q", p)
		}
		h.providers[p] = v
		if why, refused := needsAllowlist[p]; refused && len(cfg.AllowCIDRs[p]) == 0 && !h.anyIP(p) {
			where := "every request is refused with 403"
			if cfg.LoopbackByDefault {
				where = "only loopback addresses are accepted"
			}
			h.log.Warn("ingest: "+p+" has no source allowlist: "+where, "provider", p, "reason", why)
		}
	}
	return h, nil
}

// needsAllowlist names the providers whose requests carry no secret (the
// Salesforce OrganizationId is not one), with the log reason given when one
// is refused for want of HOOKSTACK_ALLOW_CIDRS_<PROVIDER>.
var needsAllowlist = map[string]string{
	"salesforce": "salesforce needs HOOKSTACK_ALLOW_CIDRS_SALESFORCE: Salesforce's published IP ranges " +
		"(or " + EnvSalesforceAnyIP + "=true to accept any address)",
}

// anyIP reports whether provider accepts any source address without an
// allowlist.
func (h *Handler) anyIP(provider string) bool {
	return provider == "salesforce" && h.cfg.SalesforceAnyIP
}

// sourceAllowed applies the provider's source allowlist; reason is the log
// reason of a refusal.
func (h *Handler) sourceAllowed(provider string, ip netip.Addr, header http.Header) (ok bool, reason string) {
	if allow := h.cfg.AllowCIDRs[provider]; len(allow) > 0 {
		return allowed(allow, ip), "source address not allowed"
	}
	why, needs := needsAllowlist[provider]
	if !needs || h.anyIP(provider) {
		return true, ""
	}
	if h.cfg.LoopbackByDefault && ip.IsValid() && ip.Unmap().IsLoopback() {
		// A browser tab is on loopback too: any page the developer opens
		// could post there. Browsers mark their requests (Origin,
		// Sec-Fetch-Site); Salesforce and the CLI send neither.
		if header.Get("Origin") != "" || header.Get("Sec-Fetch-Site") != "" {
			return false, why + " (a browser's request from loopback is not enough)"
		}
		return true, ""
	}
	return false, why
}

// MaxBodyBytes is the configured body limit (adapters read at most this+1).
func (h *Handler) MaxBodyBytes() int64 { return h.cfg.MaxBodyBytes }

func (h *Handler) newID(t time.Time) string {
	return h.ids.Make(t)
}

// Errors answered to providers. Bodies never carry detail beyond these.
var (
	errBodyInvalidSignature = []byte(`{"error":"invalid signature"}` + "\n")
)

func jsonError(status int, msg string) Response {
	b, _ := json.Marshal(map[string]string{"error": msg})
	return Response{Status: status, ContentType: "application/json", Body: append(b, '\n')}
}

// Handle runs the ingest steps in order: method and size → provider →
// source address → verification → handshake → extract → envelope → enqueue.
func (h *Handler) Handle(ctx context.Context, r Request) Response {
	start := h.now()
	out := Outcome{Provider: r.Provider, Header: r.Header, Body: r.Body, ReceivedAt: start}
	resp := h.handle(ctx, r, start, &out)
	// Reasons can carry text from the request (a verifier's or extractor's
	// error): bounded before they are logged or shown.
	out.Reason = truncate(out.Reason, maxReasonBytes)
	out.Status = resp.Status
	out.Duration = time.Since(start)
	h.logOutcome(ctx, &out)
	if h.observer != nil {
		h.observer.Observe(ctx, out)
	}
	return resp
}

func (h *Handler) handle(ctx context.Context, r Request, now time.Time, out *Outcome) Response {
	_, known := h.providers[r.Provider]
	switch {
	case r.Method == http.MethodPost:
	case r.Method == http.MethodHead && r.Provider == "trello" && known:
		// Trello checks the callback URL with a HEAD when the webhook is created.
		out.Reason = "trello head check"
		return Response{Status: http.StatusOK}
	default:
		out.Reason = "method " + r.Method + " not allowed"
		return jsonError(http.StatusMethodNotAllowed, "method not allowed: use POST")
	}
	if r.TooLarge || int64(len(r.Body)) > h.cfg.MaxBodyBytes {
		out.Reason = "body too large"
		return jsonError(http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", h.cfg.MaxBodyBytes))
	}
	verifier, ok := h.providers[r.Provider]
	if !known || !ok {
		out.Reason = "unknown provider"
		if envelope.Known(r.Provider) {
			out.Reason = "provider not enabled (" + EnvProviders + ")"
		}
		return jsonError(http.StatusNotFound, "unknown provider "+strconvQuote(r.Provider))
	}
	if ok, why := h.sourceAllowed(r.Provider, r.SourceIP, r.Header); !ok {
		out.Reason = why
		return jsonError(http.StatusForbidden, "source address not allowed")
	}
	secrets, err := h.secrets.Secrets(ctx, r.Provider)
	if err != nil {
		out.Reason = "secrets unavailable: " + err.Error()
		return jsonError(http.StatusServiceUnavailable, "temporarily unavailable, retry later")
	}
	sreq := &signature.Request{Method: r.Method, URL: r.URL, Header: r.Header, Body: r.Body}
	matched, err := signature.Match(verifier, sreq, secrets, now)
	if err != nil {
		out.Reason = "signature: " + err.Error()
		if errors.Is(err, signature.ErrNoSecret) || errors.Is(err, signature.ErrNoURL) {
			// Our configuration is incomplete, not the request: answer so the
			// provider retries until the secret is filled in.
			return jsonError(http.StatusServiceUnavailable, "webhook secret not configured yet, retry later")
		}
		return Response{Status: http.StatusUnauthorized, ContentType: "application/json", Body: errBodyInvalidSignature}
	}

	// A handshake that answers with a secret (Zoom's URL validation) uses
	// the one that verified the request: during a rotation the provider may
	// still sign with the older one.
	secret := ""
	if matched >= 0 && matched < len(secrets) {
		secret = secrets[matched]
	}
	reply, handshake, err := envelope.Handshake(r.Provider, r.Header, r.Body, secret)
	if err != nil {
		out.Reason = "handshake: " + err.Error()
		return jsonError(http.StatusBadRequest, "bad handshake request")
	}
	if handshake && !reply.Enqueue {
		out.Reason = "handshake"
		return Response{Status: reply.Status, ContentType: reply.ContentType, Body: reply.Body}
	}

	envs, invalid := h.envelopes(r, now)
	out.Envelopes = envs
	if invalid != "" {
		out.Reason = invalid
	}
	if err := h.enqueue(ctx, envs); err != nil {
		out.Reason = "enqueue: " + err.Error()
		return jsonError(http.StatusServiceUnavailable, "queue unavailable, retry later")
	}
	if handshake {
		return Response{Status: reply.Status, ContentType: reply.ContentType, Body: reply.Body}
	}
	return accepted(envs)
}

// envelopes extracts the request's events. A verified body that cannot be
// parsed still becomes one envelope, marked Invalid, for the DLQ.
func (h *Handler) envelopes(r Request, now time.Time) ([]envelope.Envelope, string) {
	contentType := r.Header.Get("Content-Type")
	events, err := envelope.Extract(r.Provider, r.Header, r.Body, now)
	invalid := ""
	if err != nil {
		invalid = err.Error()
		events = []envelope.Event{envelope.Unparseable(r.Provider, r.Header, r.Body, now)}
	}
	envs := make([]envelope.Envelope, 0, len(events))
	invalid = truncate(invalid, maxReasonBytes)
	for i, ev := range events {
		// Values copied from the request are bounded, so an envelope always
		// fits a queue message: an absurd id or type makes the event
		// unparseable, kept header values are cut.
		if invalid == "" && (len(ev.ID) > maxIDBytes || len(ev.Type) > maxTypeBytes) {
			invalid = "event id or type too long"
			ev.ID, ev.Type = envelope.BodyHash(r.Body), "unparseable"
		}
		ev.Headers = boundHeaders(ev.Headers)
		e := envelope.Envelope{
			V: envelope.Version, ID: h.newID(now), Provider: r.Provider,
			EventID: ev.ID, Type: ev.Type, OccurredAt: ev.OccurredAt, ReceivedAt: now,
			ContentType: contentType, Headers: ev.Headers,
			Queue: envelope.Route(r.Provider, ev.Type), Body: ev.Body, BodyJSON: ev.JSON, Invalid: invalid,
		}
		if ev.ContentType != "" {
			e.ContentType = ev.ContentType
		}
		if len(events) > 1 {
			e.Part, e.Parts = i+1, len(events)
		}
		envs = append(envs, e)
	}
	return envs, invalid
}

// enqueue sends every envelope; any failure fails the request so the
// provider retries (processors are idempotent on event ids, so the envelopes
// already sent are harmless duplicates then).
func (h *Handler) enqueue(ctx context.Context, envs []envelope.Envelope) error {
	if len(envs) == 1 {
		return h.send(ctx, &envs[0])
	}
	const parallel = 8
	sem := make(chan struct{}, parallel)
	errs := make([]error, len(envs))
	var wg sync.WaitGroup
	for i := range envs {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = h.send(ctx, &envs[i])
		}(i)
	}
	wg.Wait()
	return errors.Join(errs...)
}

// envelopeBuffers recycles the buffers envelopes are encoded into: the
// queue adapters copy a message's body before Send returns (the queue.Queue
// contract), so a webhook's envelope bytes are garbage once sent.
var envelopeBuffers = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledEnvelope keeps buffers of unusual size out of the pool.
const maxPooledEnvelope = 64 << 10

func (h *Handler) send(ctx context.Context, e *envelope.Envelope) error {
	buf := envelopeBuffers.Get().(*[]byte)
	defer func() {
		if cap(*buf) <= maxPooledEnvelope {
			envelopeBuffers.Put(buf)
		}
	}()
	// A body over the threshold goes by reference for certain: decide before
	// encoding it (escaping a large body only to throw it away is most of the
	// cost of a large webhook).
	inline := len(e.Body) <= h.cfg.ClaimThreshold
	if inline {
		*buf = envelope.AppendEncode((*buf)[:0], *e)
		inline = len(*buf) <= h.cfg.ClaimThreshold
	}
	if !inline {
		if h.blobs == nil {
			return fmt.Errorf("envelope %s is %d bytes and no claim-check store is configured", e.ID, len(*buf))
		}
		ref, err := h.blobs.Put(ctx, "bodies/"+e.Provider+"/"+e.ID, e.Body)
		if err != nil {
			return fmt.Errorf("claim check %s: %w", e.ID, err)
		}
		e.BodyRef = ref
		body := e.Body
		e.Body = nil
		*buf = envelope.AppendEncode((*buf)[:0], *e)
		e.Body = body
	}
	q := e.Queue
	m := queue.Outgoing{Body: *buf}
	if e.Invalid != "" {
		// Verified but unparseable: the provider would only resend the same
		// bytes, so accept it and dead-letter it at once with the reason.
		q = queue.DLQ(q)
		m.Attributes = map[string]string{queue.AttrReason: truncate(unparseableReason(e.Invalid), maxReasonBytes)}
	}
	if _, err := h.queue.Send(ctx, q, m); err != nil {
		return fmt.Errorf("send %s to %s: %w", e.ID, q, err)
	}
	return nil
}

// Bounds on what an envelope copies from a request.
const (
	maxIDBytes      = 512
	maxTypeBytes    = 256
	maxHeaderBytes  = 1024
	maxReasonBytes  = 200 // log, observer and DLQ reasons (an envelope's Invalid too)
	truncatedSuffix = "…[truncated]"
)

// truncate cuts s to at most n bytes of valid UTF-8 (plus truncatedSuffix
// when cut).
func truncate(s string, n int) string {
	if len(s) <= n {
		if utf8.ValidString(s) {
			return s
		}
		return strings.ToValidUTF8(s, "\ufffd")
	}
	return strings.ToValidUTF8(s[:n], "") + truncatedSuffix
}

func boundHeaders(h map[string]string) map[string]string {
	var long []string
	for k, v := range h {
		if len(v) > maxHeaderBytes || len(k) > maxHeaderBytes {
			long = append(long, k)
		}
	}
	for _, k := range long {
		v := h[k]
		delete(h, k)
		h[truncate(k, maxHeaderBytes)] = truncate(v, maxHeaderBytes)
	}
	return h
}

type acceptedBody struct {
	ID      string `json:"id"`
	EventID string `json:"event_id"`
	// Batch deliveries (HubSpot) list every event.
	Events []acceptedEvent `json:"events,omitempty"`
}

type acceptedEvent struct {
	ID      string `json:"id"`
	EventID string `json:"event_id"`
}

func accepted(envs []envelope.Envelope) Response {
	b := acceptedBody{ID: envs[0].ID, EventID: envs[0].EventID}
	if len(envs) > 1 {
		for _, e := range envs {
			b.Events = append(b.Events, acceptedEvent{ID: e.ID, EventID: e.EventID})
		}
	}
	raw, _ := json.Marshal(b)
	return Response{Status: http.StatusOK, ContentType: "application/json", Body: append(raw, '\n')}
}

func allowed(prefixes []netip.Prefix, ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	ip = ip.Unmap()
	for _, p := range prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func (h *Handler) logOutcome(ctx context.Context, o *Outcome) {
	attrs := make([]slog.Attr, 0, 10)
	attrs = append(attrs,
		slog.String("provider", o.Provider),
		slog.Int("status", o.Status),
		slog.Float64("duration_ms", float64(o.Duration.Microseconds())/1000),
	)
	if len(o.Envelopes) > 0 {
		e := o.Envelopes[0]
		attrs = append(attrs, slog.String("event_id", e.EventID), slog.String("id", e.ID),
			slog.String("type", e.Type), slog.String("queue", e.Queue))
		if len(o.Envelopes) > 1 {
			attrs = append(attrs, slog.Int("events", len(o.Envelopes)))
		}
	}
	if o.Reason != "" {
		attrs = append(attrs, slog.String("reason", o.Reason))
	}
	rejected := 0.0
	if o.Status == http.StatusUnauthorized {
		rejected = 1
	}
	received := 0.0
	if o.Status < 300 {
		received = float64(max(len(o.Envelopes), 1))
	}
	provider := o.Provider
	if _, ok := h.providers[provider]; !ok {
		provider = "unknown" // bounded dimension values
	}
	attrs = append(attrs, metrics.EMF("Hookstack", [][]string{{"Provider"}}, map[string]string{"Provider": provider},
		metrics.Count("WebhooksReceived", received),
		metrics.Count("SignatureRejected", rejected),
		metrics.Milliseconds("IngestLatency", float64(o.Duration.Microseconds())/1000),
	)...)
	level := slog.LevelInfo
	switch {
	case o.Status >= 500:
		level = slog.LevelError
	case o.Status >= 400:
		level = slog.LevelWarn
	}
	h.log.LogAttrs(ctx, level, "webhook", attrs...)
}

func strconvQuote(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return fmt.Sprintf("%q", strings.ToValidUTF8(s, "?"))
}

// unparseableReason is the DLQ reason of a verified body that could not be
// parsed: the extraction error, which already says "unparseable body"
// (envelope.ErrUnparseable) but for the checks ingest adds itself.
func unparseableReason(invalid string) string {
	if strings.Contains(invalid, envelope.ErrUnparseable.Error()) {
		return invalid
	}
	return envelope.ErrUnparseable.Error() + ": " + invalid
}
