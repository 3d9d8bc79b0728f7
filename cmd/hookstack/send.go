package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookstack/hookstack/shared/sample"
	"github.com/hookstack/hookstack/shared/signature"
)

// defaultDevURL is where `hookstack dev` listens unless told otherwise.
const defaultDevURL = "http://127.0.0.1:8080"

// httpClient does not follow redirects: a provider does not either, and a
// followed POST would turn into a GET. The 3xx is reported instead.
var httpClient = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// maxResponseBytes caps how much of an answer is read and shown.
const maxResponseBytes = 1 << 20

// deliveryFlags are the flags send and trigger share.
type deliveryFlags struct {
	url       string
	devURL    string
	signedURL string
	secret    string
	dataDir   string
	json      bool
	timeout   time.Duration
}

func (f *deliveryFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.url, "url", "", "the full URL to POST to, e.g. a tunnel or API Gateway URL (a URL without a path gets /webhooks/<provider>; default <dev-url>/webhooks/<provider>)")
	cmd.Flags().StringVar(&f.devURL, "dev-url", "", devURLUsage+": POST to <dev-url>/webhooks/<provider>")
	cmd.Flags().StringVar(&f.signedURL, "signed-url", "", "the URL to sign for trello, hubspot and twilio when the server sees another one than --url (behind a proxy or tunnel; default: --url)")
	cmd.Flags().StringVar(&f.secret, "secret", "", "signing secret (default: HOOKSTACK_SECRET_<PROVIDER>, else the dev server's <data>/secrets.json); for salesforce the OrganizationId, for livechat the secret_key")
	cmd.Flags().StringVar(&f.dataDir, "data", ".hookstack", "the dev server's data folder, where its secrets.json is")
	cmd.Flags().BoolVar(&f.json, "json", false, "print the result as JSON")
	cmd.Flags().DurationVar(&f.timeout, "timeout", 30*time.Second, "give up waiting for the answer after this long")
}

func newSendCmd(getenv func(string) string) *cobra.Command {
	var (
		f         deliveryFlags
		headers   []string
		eventType string
	)
	cmd := &cobra.Command{
		Use:   "send <provider> <file|->",
		Short: "Sign a webhook body exactly as the provider does and POST it",
		Long: `send reads a request body from a file (or - for standard input), signs it the way
<provider> signs its webhooks (fresh timestamp, the provider's headers), POSTs it and
prints the answer's status, body and timing. It exits non-zero when the answer is not 2xx.

The body is sent as it is: send changes no ids (use "hookstack trigger" for fresh
sample events). Standard Webhooks requests get a fresh webhook-id unless one is given,
GitHub and Shopify requests get the delivery ids those providers always send. Some
providers sign by editing the body: livechat writes secret_key into it, salesforce
the OrganizationId.

Headers: next to file.json, a file.headers ("Name: value" lines, as in events/) is
used when present; --header adds or replaces headers; Content-Type defaults from the
body (JSON, XML or form). --type sets the event-type header of the providers that
carry it in a header (github X-GitHub-Event, shopify X-Shopify-Topic).

The secret is --secret, else the first of HOOKSTACK_SECRET_<PROVIDER>, else the dev
server's --data/secrets.json; stderr says which was used.

Providers: ` + strings.Join(signature.Providers, ", ") + `.`,
		Example: `  hookstack send stripe events/stripe/payment_intent.succeeded.json
  hookstack send github payload.json --type push
  cat order.json | hookstack send shopify - --type orders/create
  hookstack send standard lead.json --secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw --json
  hookstack send stripe event.json --dev-url http://127.0.0.1:9000
  hookstack send trello card.json --url https://abc123.execute-api.eu-west-1.amazonaws.com`,
		Args: exactArgs(2, "hookstack send github payload.json --type push (or - to read the body from standard input)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSend(cmd, getenv, f, args[0], args[1], headers, eventType)
		},
	}
	f.register(cmd)
	cmd.Flags().StringArrayVarP(&headers, "header", "H", nil, "extra request header 'Name: value' (repeatable)")
	cmd.Flags().StringVar(&eventType, "type", "", "event type, for providers that carry it in a header (github, shopify)")
	return cmd
}

// typeHeaders are the providers that carry the event type in a header.
var typeHeaders = map[string]string{"github": "X-GitHub-Event", "shopify": "X-Shopify-Topic"}

func runSend(cmd *cobra.Command, getenv func(string) string, f deliveryFlags, provider, file string, headers []string, eventType string) error {
	if err := checkProvider(provider); err != nil {
		return err
	}
	s := sample.Sample{Provider: provider, Header: http.Header{}, Path: file}
	var err error
	if file == "-" {
		s.Body, err = io.ReadAll(cmd.InOrStdin())
	} else {
		s.Body, err = os.ReadFile(file)
	}
	if err != nil {
		return fmt.Errorf("read the body: %w", err)
	}
	if file != "-" {
		sidecar := strings.TrimSuffix(file, filepath.Ext(file)) + ".headers"
		raw, err := os.ReadFile(sidecar)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return fmt.Errorf("read %s: %w", sidecar, err)
		default:
			if s.Header, err = sample.ParseHeaders(raw); err != nil {
				return fmt.Errorf("%s: %w", sidecar, err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "using headers from %s\n", sidecar)
		}
	}
	for _, h := range headers {
		name, value, err := sample.ParseHeader(h)
		if err != nil {
			return fmt.Errorf("--header %q: %w", h, err)
		}
		s.Header.Set(name, value)
	}
	if eventType != "" {
		name, ok := typeHeaders[provider]
		if !ok {
			return fmt.Errorf("--type applies to github and shopify only: %s carries the event type in the body", provider)
		}
		s.Header.Set(name, eventType)
	}
	if name, ok := typeHeaders[provider]; ok && s.Header.Get(name) == "" {
		return fmt.Errorf("%s sends the event type in the %s header: pass --type (e.g. --type %s)", provider, name,
			map[string]string{"github": "push", "shopify": "orders/create"}[provider])
	}
	if s.Header.Get("Content-Type") == "" {
		s.Header.Set("Content-Type", sample.ContentTypeOf(s.Body))
	}
	if err := sample.Complete(&s, time.Now(), rand.Reader); err != nil {
		return err
	}
	res, err := deliver(cmd, getenv, f, s)
	if err != nil {
		return err
	}
	return report(cmd, f, res)
}

func checkProvider(provider string) error {
	if !slices.Contains(signature.Providers, provider) {
		return fmt.Errorf("unknown provider %q: use one of %s", provider, strings.Join(signature.Providers, ", "))
	}
	return nil
}

// result is what send and trigger print (as JSON with --json).
type result struct {
	Provider     string          `json:"provider"`
	Type         string          `json:"type,omitempty"`
	Sample       string          `json:"sample,omitempty"`
	Method       string          `json:"method"`
	URL          string          `json:"url"`
	Status       int             `json:"status"`
	OK           bool            `json:"ok"`
	DurationMS   float64         `json:"duration_ms"`
	SecretSource string          `json:"secret_source"`
	Location     string          `json:"location,omitempty"` // of a redirect
	ID           string          `json:"id,omitempty"`
	EventID      string          `json:"event_id,omitempty"`
	Response     json.RawMessage `json:"response"`
	// responseText is the answer as read, for the human output.
	responseText string
}

// deliver signs s for its provider and POSTs it.
func deliver(cmd *cobra.Command, getenv func(string) string, f deliveryFlags, s sample.Sample) (*result, error) {
	postURL, err := targetURL(getenv, f.url, f.devURL, s.Provider)
	if err != nil {
		return nil, err
	}
	secret, source, err := resolveSecret(getenv, f.secret, f.dataDir, s.Provider)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "signing with the %s secret from %s\n", s.Provider, source)
	signedURL := postURL
	if f.signedURL != "" {
		signedURL = f.signedURL
	}
	req, err := sample.Sign(s, signedURL, secret, time.Now())
	if err != nil {
		return nil, fmt.Errorf("sign the request: %w", err)
	}
	if req.URL != signedURL {
		// The signer added parameters (Twilio's bodySHA256): send them too.
		if postURL, err = withQueryOf(postURL, req.URL); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), f.timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, postURL, bytes.NewReader(req.Body))
	if err != nil {
		return nil, fmt.Errorf("build the request for %s: %w", postURL, err)
	}
	hreq.Header = req.Header
	if ua := hreq.Header.Get("User-Agent"); ua == "" {
		hreq.Header.Set("User-Agent", "hookstack/"+version)
	}
	res := &result{Provider: s.Provider, Method: http.MethodPost, URL: postURL, SecretSource: source}
	start := time.Now()
	resp, err := httpClient.Do(hreq)
	if err != nil {
		return nil, unreachable(postURL, f, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	res.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	if err != nil {
		return nil, fmt.Errorf("read the answer from %s: %w", postURL, err)
	}
	res.Status, res.OK = resp.StatusCode, resp.StatusCode >= 200 && resp.StatusCode < 300
	res.Location = resp.Header.Get("Location")
	res.responseText = string(body)
	if json.Valid(body) && len(bytes.TrimSpace(body)) > 0 {
		res.Response = json.RawMessage(bytes.TrimSpace(body))
		var ids struct {
			ID      string `json:"id"`
			EventID string `json:"event_id"`
		}
		if json.Unmarshal(body, &ids) == nil {
			res.ID, res.EventID = ids.ID, ids.EventID
		}
	} else {
		res.Response, _ = json.Marshal(string(body))
	}
	return res, nil
}

func unreachable(postURL string, f deliveryFlags, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("no answer from %s within %s: is the server busy or stuck? (raise --timeout to wait longer): %w", postURL, f.timeout, err)
	}
	return fmt.Errorf("could not reach %s: is `hookstack dev` running? (start it, or pass --dev-url / set HOOKSTACK_DEV_URL to where it runs, or --url to another server): %w", postURL, err)
}

// report prints res and returns an error saying what to do next when the
// answer is not 2xx.
func report(cmd *cobra.Command, f deliveryFlags, res *result) error {
	out := cmd.OutOrStdout()
	if f.json {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		what := res.Provider
		if res.Type != "" {
			what += " " + res.Type
		}
		fmt.Fprintf(out, "%d %s  %s %s  (%s, %.1f ms)\n", res.Status, http.StatusText(res.Status), res.Method, res.URL, what, res.DurationMS)
		if text := strings.TrimRight(res.responseText, "\n"); text != "" {
			fmt.Fprintln(out, text)
		}
	}
	if res.OK {
		return nil
	}
	if res.Location != "" && res.Status >= 300 && res.Status < 400 {
		return fmt.Errorf("%s answered %d, a redirect to %s: providers do not follow redirects; pass the final URL with --url", res.URL, res.Status, res.Location)
	}
	return fmt.Errorf("%s answered %d: %s", res.URL, res.Status, hint(res.Status, res.Provider))
}

// hint says what to do about a non-2xx answer.
func hint(status int, provider string) string {
	switch status {
	case http.StatusUnauthorized:
		return "the server rejected the signature: is --secret the secret the server uses? " +
			"(hookstack dev prints it at start-up; it is kept in .hookstack/secrets.json; " +
			"if you just ran `hookstack secrets set`, a dev server older than this version needs a restart)" +
			map[string]string{
				"trello":  "; trello signs the URL: pass --signed-url with the URL the server sees (its HOOKSTACK_PUBLIC_URL)",
				"hubspot": "; hubspot signs the URL: pass --signed-url with the URL the server sees (its HOOKSTACK_PUBLIC_URL)",
				"twilio":  "; twilio signs the URL: pass --signed-url with the URL the server sees (its HOOKSTACK_PUBLIC_URL)",
			}[provider]
	case http.StatusForbidden:
		return "the server does not accept requests from this address: check its HOOKSTACK_ALLOW_CIDRS_" + strings.ToUpper(provider)
	case http.StatusNotFound:
		return "nothing answers there: check --url (the server takes POST /webhooks/<provider>) and that the provider is enabled"
	case http.StatusMethodNotAllowed:
		return "the URL does not take POST: check --url points at /webhooks/<provider>"
	case http.StatusRequestEntityTooLarge:
		return "the body is larger than the server takes: send a smaller one or raise HOOKSTACK_MAX_BODY_BYTES"
	case http.StatusBadRequest:
		return "the server could not use the request: check the body is what " + provider + " sends (see events/" + provider + "/)"
	case http.StatusServiceUnavailable:
		return "the server is not ready (secret not configured or queue unavailable): retry shortly, or look at the server's log"
	}
	if status >= 500 {
		return "the server failed: look at its log (hookstack dev prints it on stderr)"
	}
	return "not a 2xx answer: see the response above"
}

// targetURL is where to POST: flagURL (with /webhooks/<provider> added when
// it has no path), else <devURL>/webhooks/<provider> with devURL from
// --dev-url, else HOOKSTACK_DEV_URL, else the default dev server.
func targetURL(getenv func(string) string, flagURL, devURL, provider string) (string, error) {
	if flagURL == "" {
		base, err := mgmtDevURL(getenv, devURL, "--dev-url")
		if err != nil {
			return "", err
		}
		return base + "/webhooks/" + provider, nil
	}
	if devURL != "" {
		return "", errors.New("--url is the full URL to POST to, --dev-url the dev server's base URL (the POST goes to <dev-url>/webhooks/<provider>): give one of them")
	}
	u, err := url.Parse(flagURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("--url %q is not an http(s) URL: use e.g. %s/webhooks/%s", flagURL, defaultDevURL, provider)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/webhooks/" + provider
	}
	return u.String(), nil
}

// withQueryOf returns target with the query parameters of signed that it
// lacks added.
func withQueryOf(target, signed string) (string, error) {
	t, err := url.Parse(target)
	if err != nil {
		return "", err
	}
	s, err := url.Parse(signed)
	if err != nil {
		return "", err
	}
	q := t.Query()
	for k, v := range s.Query() {
		if !q.Has(k) {
			q[k] = v
		}
	}
	t.RawQuery = q.Encode()
	return t.String(), nil
}

// resolveSecret picks the signing secret: flag, else the first of
// HOOKSTACK_SECRET_<PROVIDER>, else the newest in the dev server's
// secrets.json. source says which, for the user (never the secret).
func resolveSecret(getenv func(string) string, flag, dataDir, provider string) (secret, source string, err error) {
	if flag != "" {
		return flag, "--secret", nil
	}
	env := "HOOKSTACK_SECRET_" + strings.ToUpper(provider)
	for _, s := range strings.Split(getenv(env), ",") {
		if s = strings.TrimSpace(s); s != "" {
			return s, env, nil
		}
	}
	path := filepath.Join(dataDir, "secrets.json")
	raw, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", "", fmt.Errorf("read %s: %w", path, err)
	}
	if err == nil {
		var stored map[string][]string
		if err := json.Unmarshal(raw, &stored); err != nil {
			return "", "", fmt.Errorf("%s is not the dev server's secrets file (a JSON object of provider → secrets): %w", path, err)
		}
		for _, s := range stored[provider] {
			if s != "" {
				return s, path + " (the dev server's)", nil
			}
		}
	}
	abs, aerr := filepath.Abs(path)
	if aerr != nil {
		abs = path
	}
	checked := abs + " does not exist"
	if err == nil {
		checked = abs + " has no " + provider + " secret"
	}
	return "", "", fmt.Errorf("no %s secret: pass --secret, set %s, or point at the dev server's secrets file: %s. "+
		"Run this from the folder where `hookstack dev` runs (it keeps its secrets in <that folder>/.hookstack/secrets.json), "+
		"or pass --data <its data folder> (the --data it was started with)",
		provider, env, checked)
}
