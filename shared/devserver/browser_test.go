package devserver

// Browser tests of the inspector page: a real headless Chromium (Debian's
// `chromium`, installed by .ci/install-chromium) driven by chromedp against
// a real dev server. They skip when Chromium is absent, unless
// HOOKSTACK_REQUIRE_BROWSER=1, in which case they fail.

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/hookstack/hookstack/shared/envelope"
)

// chromiumPath is where Debian installs Chromium (HOOKSTACK_CHROMIUM overrides).
func chromiumPath() string {
	if p := os.Getenv("HOOKSTACK_CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// newBrowser starts headless Chromium with a fresh profile and returns a
// chromedp context for one tab, or skips the test when there is none.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath()
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("HOOKSTACK_REQUIRE_BROWSER") == "1" {
			t.Fatalf("HOOKSTACK_REQUIRE_BROWSER=1 but there is no Chromium at %s: run .ci/install-chromium (as root)", path)
		}
		t.Skipf("no Chromium at %s (run .ci/install-chromium; HOOKSTACK_REQUIRE_BROWSER=1 makes this a failure)", path)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1366, 900),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx, chromedp.WithErrorf(t.Logf))
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	// Start the browser now, on the long-lived context (see chromedp.Run).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// page wraps a browser tab with helpers that fail the test.
type page struct {
	t   *testing.T
	ctx context.Context
}

func (p page) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		// The live list re-renders while the test acts: a node found a moment
		// ago can be gone ("Could not find node with given id"). Resolve again.
		if err = chromedp.Do(ctx, steps...); err == nil || !staleNode(err) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		p.shot("failure")
		p.t.Fatalf("%s: %v", what, err)
	}
}

func staleNode(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "Could not find node with given id") || strings.Contains(msg, "No node with given id") ||
		strings.Contains(msg, "Node is detached")
}

// waitJS waits until the JavaScript expression is truthy.
func (p page) waitJS(what, expr string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		p.shot("failure")
		p.t.Fatalf("waiting for %s (%s): %v", what, expr, err)
	}
}

// openRow clicks the row sel until the detail panel shows and its summary
// contains want: the live list re-renders as statuses change, so a click can
// land on a row that is being replaced.
func (p page) openRow(what, sel, want string) {
	p.t.Helper()
	p.waitJS(what, `(() => {
		if (!document.getElementById('detail').hidden && document.getElementById('detail-summary').innerText.includes(`+js(want)+`)) return true;
		const r = document.querySelector(`+js(sel)+`); if (r) r.click(); return false; })()`)
}

func (p page) eval(expr string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		p.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// shot saves a full-page screenshot as .cache/artifacts/inspector-<name>.png.
func (p page) shot(name string) string {
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	dir := artifactsDir(p.t)
	file := filepath.Join(dir, "inspector-"+name+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		p.t.Logf("save screenshot: %v", err)
		return ""
	}
	p.t.Logf("screenshot: %s", file)
	return file
}

// artifactsDir is the repository's .cache/artifacts (HOOKSTACK_ARTIFACTS overrides).
func artifactsDir(t *testing.T) string {
	dir := os.Getenv("HOOKSTACK_ARTIFACTS")
	if dir == "" {
		root, err := filepath.Abs(".")
		if err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
				break
			}
			parent := filepath.Dir(root)
			if parent == root {
				t.Fatal("no go.mod above the test folder")
			}
			root = parent
		}
		dir = filepath.Join(root, ".cache", "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// js quotes s as a JavaScript string literal.
func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// setField sets a form field's value as a user would, firing event.
func setField(sel, value, event string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](`(() => { const f = document.querySelector(` + js(sel) + `); f.value = ` + js(value) +
		`; f.dispatchEvent(new Event(` + js(event) + `, {bubbles: true})); })()`)
}

func rowSel(id string) string { return `#events tr[data-id=` + js(id) + `]` }

// routeExists tells whether the dev server has an API route (the lead adds
// the outbound ones).
func routeExists(t *testing.T, url string) bool {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode != http.StatusNotFound
}

func TestInspectorInBrowser(t *testing.T) {
	ctx := newBrowser(t)
	const secret = "whsec_browser_test"
	base, stop := startDev(t, t.TempDir(), map[string]string{"HOOKSTACK_SECRET_STRIPE": secret})
	defer stop()
	p := page{t: t, ctx: ctx}

	p.do("open the inspector", chromedp.Navigate(base+"/"))
	p.waitJS("the live stream", `document.getElementById('conn').classList.contains('live')`)
	p.waitJS("the empty state", `!document.getElementById('events-empty').hidden`)

	// A signed event and a badly signed one appear, live, with their verdicts.
	good := sendSample(t, base, secret, "stripe", "payment_intent.succeeded", nil)
	goodID := good["id"].(string)
	h := http.Header{"Stripe-Signature": {"t=" + strconv.FormatInt(time.Now().Unix(), 10) + ",v1=" + strings.Repeat("0", 64)}, "Content-Type": {"application/json"}}
	if code, b := post(t, base+"/webhooks/stripe", h, []byte(`{"id":"evt_forged","type":"payment_intent.succeeded"}`)); code != 401 {
		t.Fatalf("bad signature: %d %s", code, b)
	}
	p.waitJS("the signed event, processed", `document.querySelector(`+js(rowSel(goodID)+`[data-status="processed"]`)+`) !== null`)
	p.waitJS("the rejected request", `document.querySelector('#events tr[data-status="rejected"]') !== null`)
	rejected := p.eval(`document.querySelector('#events tr[data-status="rejected"]').innerText`)
	if !strings.Contains(rejected, "stripe") || !strings.Contains(strings.ToLower(rejected), "signature") || !strings.Contains(rejected, "401") {
		t.Fatalf("rejected row = %q, want provider, 401 and the signature reason", rejected)
	}
	goodRow := p.eval(`document.querySelector(` + js(rowSel(goodID)) + `).innerText`)
	for _, want := range []string{"stripe", "payment_intent.succeeded", good["event_id"].(string), "processed"} {
		if !strings.Contains(goodRow, want) {
			t.Fatalf("row = %q, lacks %q", goodRow, want)
		}
	}
	if n := p.eval(`String(document.querySelectorAll('#events tr').length)`); n != "2" {
		t.Fatalf("%s rows, want 2", n)
	}
	p.shot("list")

	t.Run("filters", func(t *testing.T) {
		p := page{t: t, ctx: ctx}
		p.do("filter by status", setField("#f-status", "rejected", "change"))
		p.waitJS("only the rejected row", `[...document.querySelectorAll('#events tr')].every(r => r.dataset.status === 'rejected') && document.querySelectorAll('#events tr').length === 1`)
		p.do("reset, search by event id", setField("#f-status", "", "change"),
			chromedp.SendKeys(chromedp.CSS("#f-text"), good["event_id"].(string)))
		p.waitJS("only the searched row", `document.querySelectorAll('#events tr').length === 1 && document.querySelector(`+js(rowSel(goodID))+`) !== null`)
		p.do("search with no match", chromedp.SendKeys(chromedp.CSS("#f-text"), "zzz-no-such"))
		p.waitJS("the no-match state", `!document.getElementById('events-nomatch').hidden`)
		p.do("clear the search", setField("#f-text", "", "input"))
		p.waitJS("both rows again", `document.querySelectorAll('#events tr').length === 2`)
	})

	t.Run("detail by keyboard", func(t *testing.T) {
		p := page{t: t, ctx: ctx}
		p.do("open with Enter", chromedp.Focus(chromedp.CSS(rowSel(goodID))), chromedp.KeyEvent(kb.Enter))
		p.waitJS("the detail", `!document.getElementById('detail').hidden && document.getElementById('detail-body').textContent.includes('payment_intent')`)
		body := p.eval(`document.getElementById('detail-body').textContent`)
		if !strings.Contains(body, "\n  \"") || !strings.Contains(body, `"object": "event"`) {
			t.Fatalf("body not pretty-printed JSON:\n%.300s", body)
		}
		headers := p.eval(`document.getElementById('detail-headers').innerText`)
		if !strings.Contains(headers, "Stripe-Signature") || !strings.Contains(headers, envelope.Redacted) || strings.Contains(headers, "v1=") {
			t.Fatalf("headers not shown redacted:\n%s", headers)
		}
		env := p.eval(`document.getElementById('detail-envelope').textContent`)
		if !strings.Contains(env, `"queue": "payments"`) || !strings.Contains(env, goodID) {
			t.Fatalf("envelope:\n%.300s", env)
		}
		p.waitJS("the domain event and its record", `document.querySelector('#detail-notifications [data-notification]') !== null && [...document.querySelectorAll('#detail-notifications pre')].some(x => x.textContent.includes('"status": "succeeded"'))`)
		notes := p.eval(`document.getElementById('detail-notifications').innerText`)
		if !strings.Contains(notes, "payment.succeeded") || !strings.Contains(notes, "payment:pi_") {
			t.Fatalf("notifications:\n%s", notes)
		}
		p.waitJS("the deliveries section", `document.getElementById('detail-deliveries').textContent.trim() !== ''`)
		p.shot("detail")
		p.do("close with Escape", chromedp.KeyEvent(kb.Escape))
		p.waitJS("the detail closed and focus back on the row", `document.getElementById('detail').hidden && document.activeElement && document.activeElement.dataset.id === `+js(goodID))
	})

	t.Run("rejected detail", func(t *testing.T) {
		p := page{t: t, ctx: ctx}
		p.openRow("the rejected detail", `#events tr[data-status="rejected"]`, "rejected")
		if p.eval(`String(document.getElementById('replay').disabled)`) != "true" {
			t.Fatal("replay offered for a rejected request")
		}
		if body := p.eval(`document.getElementById('detail-body').textContent`); !strings.Contains(body, "evt_forged") {
			t.Fatalf("rejected body = %q", body)
		}
		p.do("close", chromedp.Click(chromedp.CSS("#detail-close")))
		p.waitJS("closed", `document.getElementById('detail').hidden`)
	})

	t.Run("dead message, replay and redrive", func(t *testing.T) {
		p := page{t: t, ctx: ctx}
		bad := sendSample(t, base, secret, "stripe", "payment_intent.succeeded", func([]byte) []byte {
			return []byte(`{"id":"evt_browser_bad","object":"event","type":"payment_intent.succeeded","created":1764417600,"data":{"object":{"id":12}}}`)
		})
		badID := bad["id"].(string)
		p.waitJS("the dead row with its reason", `(() => { const r = document.querySelector(`+js(rowSel(badID))+`); return r && r.dataset.status === 'dead' && r.querySelector('.reason') !== null; })()`)
		p.openRow("its detail", rowSel(badID), "evt_browser_bad")
		p.do("replay", chromedp.Click(chromedp.CSS("#replay")))
		p.waitJS("the replay message", `document.getElementById('detail-msg').textContent.includes('Replayed onto payments')`)
		p.do("close", chromedp.KeyEvent(kb.Escape))

		p.do("open the DLQ view", chromedp.Click(chromedp.CSS(`.tab[data-view="dlq"]`)))
		if !routeExists(t, base+"/api/dlq") {
			t.Log("GET /api/dlq answers 404 on this server: checking the page says so, redrive step skipped")
			p.waitJS("the not-available state", `document.getElementById('dlq-unavailable') !== null && document.getElementById('dlq-redrive').disabled`)
			return
		}
		p.waitJS("the dead letter with its reason", `document.querySelector('#dlq-table tbody tr .reason') !== null && document.querySelector('#dlq-table').innerText.includes('payments')`)
		p.shot("dlq")
		p.do("redrive", chromedp.Click(chromedp.CSS("#dlq-redrive")))
		p.waitJS("the redrive answer", `/Redr(o|i)ve/.test(document.getElementById('dlq-msg').textContent) && !document.getElementById('dlq-msg').classList.contains('error')`)
	})

	t.Run("endpoints", func(t *testing.T) {
		p := page{t: t, ctx: ctx}
		p.do("open the endpoints view", chromedp.Click(chromedp.CSS(`.tab[data-view="endpoints"]`)))
		if !routeExists(t, base+"/api/endpoints") {
			t.Log("GET /api/endpoints answers 404 on this server: checking the page says so, add step skipped")
			p.waitJS("the not-available state", `document.getElementById('endpoints-unavailable') !== null && document.getElementById('ep-add').disabled`)
			return
		}
		const url = "https://hooks.example.com/hookstack-browser-test"
		p.do("add an endpoint",
			setField("#ep-type", "http", "change"),
			chromedp.SendKeys(chromedp.CSS("#ep-url"), url),
			setField("#ep-events", "payment.succeeded, lead.created", "input"),
			chromedp.Click(chromedp.CSS("#ep-add")))
		p.waitJS("the new endpoint", `document.querySelector('#endpoints-table') !== null && document.querySelector('#endpoints-table').innerText.includes(`+js(url)+`)`)
		if msg := p.eval(`document.getElementById('endpoints-msg').innerText`); strings.Contains(msg, "cannot") {
			t.Fatalf("add answered: %s", msg)
		}
		p.shot("endpoints")
	})

	t.Run("send test event", func(t *testing.T) {
		p := page{t: t, ctx: ctx}
		p.do("open the send view", chromedp.Click(chromedp.CSS(`.tab[data-view="send"]`)))
		p.waitJS("the samples", `document.querySelectorAll('#send-provider option').length > 5`)
		p.do("pick github push",
			setField("#send-provider", "github", "change"),
			setField("#send-type", "push", "change"),
			chromedp.Click(chromedp.CSS("#send-submit")))
		p.waitJS("the answer", `document.getElementById('send-msg').textContent.includes('HTTP 200')`)
		p.do("open it", chromedp.Click(chromedp.CSS("#send-open")))
		p.waitJS("its detail", `!document.getElementById('view-events').hidden && !document.getElementById('detail').hidden && document.getElementById('detail-title').textContent === 'github push'`)
		p.waitJS("its row", `document.querySelector('#events tr[data-provider="github"]') !== null`)
	})
}

// TestInspectorFallsBackToPolling: without EventSource the page still
// updates, by polling.
func TestInspectorFallsBackToPolling(t *testing.T) {
	ctx := newBrowser(t)
	const secret = "whsec_browser_poll"
	base, stop := startDev(t, t.TempDir(), map[string]string{"HOOKSTACK_SECRET_STRIPE": secret})
	defer stop()
	p := page{t: t, ctx: ctx}
	p.do("open without EventSource",
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			return addScript(ctx, tg, `delete window.EventSource;`)
		}),
		chromedp.Navigate(base+"/"))
	p.waitJS("polling mode", `document.getElementById('conn').classList.contains('polling')`)
	reply := sendSample(t, base, secret, "stripe", "invoice.paid", nil)
	p.waitJS("the event, by polling", `document.querySelector(`+js(rowSel(reply["id"].(string)))+`) !== null`)
}

// addScript runs src in every new document before the page's own scripts.
func addScript(ctx context.Context, tg *chromedp.Target, src string) error {
	_, err := cdp.Call(ctx, tg, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: src})
	return err
}
