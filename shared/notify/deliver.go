package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Outcome is what an attempt means for the delivery.
type Outcome int

// Outcomes; see the package documentation.
const (
	Delivered Outcome = iota + 1
	Retry
	Disable
	Permanent
)

func (o Outcome) String() string {
	switch o {
	case Delivered:
		return "delivered"
	case Retry:
		return "retry"
	case Disable:
		return "disable"
	case Permanent:
		return "permanent"
	}
	return "unknown"
}

// MarshalText writes the outcome's name.
func (o Outcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// Reasons used in Result.Reason (and the DLQ's reason attribute).
const (
	ReasonBlocked   = "blocked address"
	ReasonExhausted = "retries exhausted"
	ReasonTimeout   = "timeout"
	ReasonConnect   = "connection error"
	ReasonGone      = "gone (410)"
	ReasonRedirect  = "redirect not followed"
	ReasonSkipped   = "skipped"
)

// Response handling limits.
const (
	// SnippetBytes is how much of a response is kept (delivery log).
	SnippetBytes = 1 << 10
	// drainBytes is how much more is read (and discarded) so that the
	// connection can be reused; a longer body closes the connection.
	drainBytes = 64 << 10
	// DefaultTimeout is HOOKSTACK_DELIVERY_TIMEOUT's default.
	DefaultTimeout = 15 * time.Second
	// DefaultBodyWait bounds reading the response body once the headers
	// are in (never past Timeout).
	DefaultBodyWait = 2 * time.Second
)

// Result is one attempt's outcome and what the delivery log records.
type Result struct {
	Outcome    Outcome
	StatusCode int // 0 when no response was received
	Duration   time.Duration
	// Reason is short and fit for the DLQ reason attribute: "HTTP 500",
	// "timeout", "blocked address", "retries exhausted", ...
	Reason string
	// Error is the detail (never secrets or request bodies).
	Error string
	// ResponseSnippet is the first SnippetBytes of the response body, as
	// valid UTF-8.
	ResponseSnippet string
	// Delay and NextAttemptAt are set for Retry.
	Delay         time.Duration
	NextAttemptAt time.Time
	// RetryAfter is the server's Retry-After, when it sent one.
	RetryAfter time.Duration
}

// Deliverer makes delivery attempts. The zero value works with defaults but
// without an SSRF guard on Client: build Client with NewClient.
type Deliverer struct {
	// Client sends the requests; it must not follow redirects (NewClient).
	// nil means NewClient(nil, nil): the default guard.
	Client *http.Client
	// Schedule is the retry schedule; nil means DefaultSchedule().
	Schedule Schedule
	// Timeout bounds one attempt, connect to last byte read; 0 means
	// DefaultTimeout.
	Timeout time.Duration
	// BodyWait bounds reading the response body after the headers; 0 means
	// DefaultBodyWait. A slow-drip body is cut there.
	BodyWait time.Duration
	// UserAgent; "" means DefaultUserAgent().
	UserAgent string
	// Now is the clock for timestamps; nil means time.Now.
	Now func() time.Time
	// Rand returns a number in [0, 1) for the jitter; nil means math/rand/v2.
	Rand func() float64
}

// DefaultUserAgent is "Hookstack/<module version>" ("Hookstack/dev" for a
// development build).
func DefaultUserAgent() string { return defaultUserAgent() }

// defaultUserAgent reads the build information once, on the first attempt
// that needs it (never at start-up).
var defaultUserAgent = sync.OnceValue(func() string {
	v := "dev"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = strings.TrimPrefix(bi.Main.Version, "v")
	}
	return "Hookstack/" + v
})

// defaultClient is built on first use: the Lambda's Deliverer has its own
// Client, so the functions never build this one.
var defaultClient = sync.OnceValue(func() *http.Client { return NewClient(nil, nil) })

func (dl *Deliverer) now() time.Time {
	if dl.Now != nil {
		return dl.Now()
	}
	return time.Now()
}

func (dl *Deliverer) client() *http.Client {
	if dl.Client != nil {
		return dl.Client
	}
	return defaultClient()
}

func (dl *Deliverer) schedule() Schedule {
	if dl.Schedule != nil {
		return dl.Schedule
	}
	return DefaultSchedule()
}

func (dl *Deliverer) timeout() time.Duration {
	if dl.Timeout > 0 {
		return dl.Timeout
	}
	return DefaultTimeout
}

func (dl *Deliverer) userAgent() string {
	if dl.UserAgent != "" {
		return dl.UserAgent
	}
	return DefaultUserAgent()
}

func (dl *Deliverer) rand() float64 {
	if dl.Rand != nil {
		return dl.Rand()
	}
	return rand.Float64()
}

// outbound is a request to make.
type outbound struct {
	method string
	url    string
	body   []byte
	header http.Header
}

// Attempt makes attempt d.Attempt (1-based; 0 counts as 1) of delivery d to
// ep and classifies the answer. It never sleeps: a Retry carries the delay
// for the caller to realise.
//
// Per type:
//   - http: POST {"type","timestamp","data"} signed per Standard Webhooks
//     with every secret of ep (SignHeaders).
//   - slack: POST the incoming-webhook message of SlackMessage.
//   - mailchimp: lead.created and lead.updated PUT the member
//     (MailchimpRequest); any other type is a delivered no-op with Reason
//     "skipped: ..." and no request.
func (dl *Deliverer) Attempt(ctx context.Context, d Delivery, ep Endpoint) Result {
	if d.Attempt < 1 {
		d.Attempt = 1
	}
	start := time.Now()
	var (
		out  *outbound
		err  error
		skip string
	)
	// An endpoint stored before https was required for its type is
	// refused here too: its credential is never sent in clear text.
	err = CheckTransport(ep.Type, ep.URL)
	switch {
	case err != nil:
	case ep.Type == TypeHTTP:
		out, err = dl.httpRequest(d, ep)
	case ep.Type == TypeSlack:
		out, err = slackRequest(d.Event, ep)
	case ep.Type == TypeMailchimp:
		out, skip, err = mailchimpRequest(d.Event, ep)
	default:
		err = fmt.Errorf("%w: type %q", ErrInvalidEndpoint, ep.Type)
	}
	switch {
	case err != nil:
		return Result{Outcome: Permanent, Reason: "cannot build request", Error: err.Error(), Duration: time.Since(start)}
	case skip != "":
		return Result{Outcome: Delivered, Reason: ReasonSkipped + ": " + skip, Duration: time.Since(start)}
	}
	if out.header.Get("User-Agent") == "" {
		out.header.Set("User-Agent", dl.userAgent())
	}
	res := dl.exchange(ctx, out)
	res.Duration = time.Since(start)
	if res.Outcome == Retry {
		delay, ok := dl.schedule().Next(d.Attempt, res.RetryAfter, dl.rand())
		if !ok {
			last := res.Reason
			res.Outcome = Permanent
			res.Reason = ReasonExhausted
			res.Error = fmt.Sprintf("%s after %d attempts; last: %s", ReasonExhausted, d.Attempt, joinReason(last, res.Error))
		} else {
			res.Delay = delay
			res.NextAttemptAt = dl.now().Add(delay)
		}
	}
	return res
}

func joinReason(reason, detail string) string {
	if detail == "" || detail == reason {
		return reason
	}
	return reason + ": " + detail
}

// exchange sends out and classifies the answer.
func (dl *Deliverer) exchange(parent context.Context, out *outbound) Result {
	ctx, cancel := context.WithTimeout(parent, dl.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, out.method, out.url, bytes.NewReader(out.body))
	if err != nil {
		return Result{Outcome: Permanent, Reason: "cannot build request", Error: stripURL(err)}
	}
	req.Header = out.header
	resp, err := dl.client().Do(req)
	if err != nil {
		return classifyError(parent, ctx, err, dl.timeout())
	}
	defer resp.Body.Close()
	// The answer is in; the body gets at most BodyWait more (cancel ends
	// the read of a slow-drip body), and never past Timeout.
	wait := dl.BodyWait
	if wait <= 0 {
		wait = DefaultBodyWait
	}
	stop := time.AfterFunc(wait, cancel)
	defer stop.Stop()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, SnippetBytes))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainBytes))
	res := Result{StatusCode: resp.StatusCode, ResponseSnippet: strings.ToValidUTF8(string(snippet), "\uFFFD")}
	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		res.Outcome = Delivered
	case code == http.StatusGone:
		res.Outcome, res.Reason = Disable, ReasonGone
	case code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500:
		res.Outcome, res.Reason = Retry, "HTTP "+strconv.Itoa(code)
		if ra, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), dl.now()); ok {
			res.RetryAfter = ra
		}
	case code >= 300 && code < 400:
		res.Outcome, res.Reason = Permanent, ReasonRedirect
		res.Error = "HTTP " + strconv.Itoa(code) + ": redirects are not followed; update the endpoint URL"
	default:
		res.Outcome, res.Reason = Permanent, "HTTP "+strconv.Itoa(code)
	}
	return res
}

// classifyError turns a transport error into a Result.
func classifyError(parent, ctx context.Context, err error, timeout time.Duration) Result {
	var be *BlockedError
	switch {
	case errors.As(err, &be):
		return Result{Outcome: Permanent, Reason: ReasonBlocked, Error: be.Error()}
	case parent.Err() != nil:
		return Result{Outcome: Retry, Reason: "canceled", Error: parent.Err().Error()}
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return Result{Outcome: Retry, Reason: ReasonTimeout, Error: "no answer within " + timeout.String()}
	}
	return Result{Outcome: Retry, Reason: ReasonConnect, Error: stripURL(err)}
}

// stripURL drops the *url.Error wrapper, whose text repeats the URL (a Slack
// webhook URL is itself a credential).
func stripURL(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + ": " + ue.Err.Error()
	}
	return err.Error()
}
