package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// tailProc is a running `hookstack tail`.
type tailProc struct {
	cmd    *exec.Cmd
	lines  chan string
	ready  chan struct{}
	done   chan error
	mu     sync.Mutex
	stderr bytes.Buffer
}

func startTail(t *testing.T, env []string, args ...string) *tailProc {
	t.Helper()
	p := &tailProc{lines: make(chan string, 100), ready: make(chan struct{}), done: make(chan error, 1)}
	p.cmd = exec.Command(binary, append([]string{"tail"}, args...)...)
	p.cmd.Env = env
	p.cmd.Dir = t.TempDir()
	stdout, _ := p.cmd.StdoutPipe()
	stderr, _ := p.cmd.StderrPipe()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var readers sync.WaitGroup
	readers.Add(2)
	go func() {
		defer readers.Done()
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	go func() {
		defer readers.Done()
		sc := bufio.NewScanner(stderr)
		once := sync.Once{}
		for sc.Scan() {
			p.mu.Lock()
			p.stderr.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if strings.HasPrefix(sc.Text(), "following ") {
				once.Do(func() { close(p.ready) })
			}
		}
	}()
	go func() { readers.Wait(); p.done <- p.cmd.Wait() }()
	t.Cleanup(func() { _ = p.cmd.Process.Kill() })
	select {
	case <-p.ready:
	case err := <-p.done:
		t.Fatalf("tail exited: %v\n%s", err, p.errText())
	case <-time.After(20 * time.Second):
		t.Fatalf("tail did not start following:\n%s", p.errText())
	}
	return p
}

func (p *tailProc) errText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// waitLine returns the first line that match accepts; the lines before it
// are returned too.
func (p *tailProc) waitLine(t *testing.T, match func(string) bool) (string, []string) {
	t.Helper()
	var seen []string
	timeout := time.After(20 * time.Second)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				t.Fatalf("tail ended; saw %q\n%s", seen, p.errText())
			}
			if match(l) {
				return l, seen
			}
			seen = append(seen, l)
		case <-timeout:
			t.Fatalf("no matching line; saw %q\n%s", seen, p.errText())
		}
	}
}

// interrupt stops tail as Ctrl-C does and returns its exit code.
func (p *tailProc) interrupt(t *testing.T) int {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-p.done:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(10 * time.Second):
		t.Fatal("tail did not stop on SIGINT")
		return -1
	}
}

func TestCLITail(t *testing.T) {
	dev := startDev(t)
	trigger := func(t *testing.T, provider, event string) result {
		t.Helper()
		r := hookstack(t, dev.env(), "", "trigger", provider, event, "--json", "--data", dev.data)
		var res result
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &res) != nil {
			t.Fatalf("trigger: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		return res
	}
	earlier := trigger(t, "stripe", "invoice.paid")

	t.Run("json with history and filter", func(t *testing.T) {
		tail := startTail(t, dev.env(), "--since", "1h", "--provider", "stripe", "--json")
		var ev tailEvent
		line, _ := tail.waitLine(t, func(string) bool { return true })
		if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.EventID != earlier.EventID || ev.ID != earlier.ID {
			t.Fatalf("first line %q, want the earlier event %s from history", line, earlier.EventID)
		}
		if !strings.HasPrefix(line, `{"kind":"event",`) {
			t.Fatalf("first line %q: want the kind first", line)
		}
		trigger(t, "github", "ping") // filtered out
		now := trigger(t, "stripe", "payment_intent.succeeded")
		r := hookstack(t, dev.env(), "", "trigger", "stripe", "invoice.paid", "--secret", "whsec_wrong")
		if r.code == 0 {
			t.Fatal("a wrong secret was accepted")
		}
		var lines []string
		_, before := tail.waitLine(t, func(l string) bool {
			lines = append(lines, l)
			return json.Unmarshal([]byte(l), &ev) == nil && ev.Status == "rejected"
		})
		if ev.Reason == "" || ev.HTTPStatus != 401 || ev.Provider != "stripe" {
			t.Fatalf("rejected line: %+v", ev)
		}
		sawNew := false
		for _, l := range before {
			var e tailEvent
			if err := json.Unmarshal([]byte(l), &e); err != nil {
				t.Fatalf("not a JSON line: %q", l)
			}
			if e.Provider != "stripe" {
				t.Fatalf("the provider filter let through %q", l)
			}
			sawNew = sawNew || (e.EventID == now.EventID && e.Type == "payment_intent.succeeded")
		}
		if !sawNew {
			t.Fatalf("the new stripe event was not printed before the rejection: %q", before)
		}
		if code := tail.interrupt(t); code != 0 {
			t.Fatalf("Ctrl-C: exit %d\n%s", code, tail.errText())
		}
	})

	t.Run("delivery attempts", func(t *testing.T) {
		var hits atomic.Int32
		sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			if hits.Add(1) == 1 {
				w.WriteHeader(http.StatusServiceUnavailable) // the first attempt is retried
				return
			}
			w.WriteHeader(http.StatusNoContent)
		}))
		defer sink.Close()
		add := hookstack(t, dev.env(), "", "endpoints", "add", "--url", sink.URL+"/hooks", "--events", "github.*", "--dev-url", dev.url, "--json")
		var ep struct {
			ID string `json:"id"`
		}
		if add.code != 0 || json.Unmarshal([]byte(add.stdout), &ep) != nil || ep.ID == "" {
			t.Fatalf("endpoints add: exit %d\n%s\n%s", add.code, add.stdout, add.stderr)
		}
		// A github push is forwarded raw (github.push) each time it is sent.
		tail := startTail(t, dev.env(), "--type", "github.push")
		// The fan-out caches the endpoint list for 2 s: push until a
		// delivery shows.
		var line string
		for try := 0; line == "" && try < 8; try++ {
			trigger(t, "github", "push")
			timeout := time.After(2 * time.Second)
		wait:
			for {
				select {
				case l, ok := <-tail.lines:
					if !ok {
						t.Fatalf("tail ended\n%s", tail.errText())
					}
					if strings.Contains(l, " delivery ") && strings.Contains(l, "retry") {
						line = l
						break wait
					}
				case <-timeout:
					break wait
				}
			}
		}
		f := strings.Fields(line)
		if len(f) < 8 || f[2] != "github.push" || f[3] != ep.ID || f[5] != "(503)" || f[6] != "attempt" || f[7] != "1" || !strings.Contains(line, " next ") {
			t.Fatalf("retry line %q: want time, delivery, type, endpoint, retry (503), attempt 1, next", line)
		}
		tail.interrupt(t)
		rm := hookstack(t, dev.env(), "", "endpoints", "rm", ep.ID, "--json")
		if rm.code != 0 || !strings.Contains(rm.stdout, `"removed": true`) {
			t.Fatalf("endpoints rm --json: exit %d\n%s\n%s", rm.code, rm.stdout, rm.stderr)
		}
	})

	t.Run("text lines with status changes", func(t *testing.T) {
		tail := startTail(t, dev.env(), "--type", "payment_intent.succeeded")
		now := trigger(t, "stripe", "payment_intent.succeeded")
		line, _ := tail.waitLine(t, func(l string) bool { return strings.Contains(l, now.EventID) && strings.Contains(l, "processed") })
		f := strings.Fields(line)
		if len(f) != 5 || f[1] != "stripe" || f[2] != "payment_intent.succeeded" || f[3] != now.EventID || f[4] != "processed" {
			t.Fatalf("line %q: want time, provider, type, event id, status", line)
		}
		if _, err := time.Parse("15:04:05.000", f[0]); err != nil {
			t.Fatalf("time %q: %v", f[0], err)
		}
		tail.interrupt(t)
	})
}

func TestCLITailAndReplayWithoutServer(t *testing.T) {
	closed := "http://127.0.0.1:" + strconv.Itoa(freePort(t))
	for _, args := range [][]string{{"tail"}, {"tail", "--since", "5m"}, {"replay", "evt_1"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := hookstack(t, baseEnv("HOOKSTACK_DEV_URL="+closed), "", args...)
			if r.code == 0 || !strings.Contains(r.stderr, "start one with `make dev` or `hookstack dev`, or set HOOKSTACK_DEV_URL") {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
		})
	}
	t.Run("bad url", func(t *testing.T) {
		r := hookstack(t, baseEnv(), "", "tail", "--dev-url", "localhost:8080")
		if r.code == 0 || !strings.Contains(r.stderr, `--dev-url "localhost:8080" is not the dev server's base URL`) {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
	})
	// --url, the old name of --dev-url on tail and replay, still works, with
	// a notice.
	for _, args := range [][]string{{"tail", "--url", closed}, {"replay", "evt_1", "--url", closed}} {
		t.Run(strings.Join(args[:len(args)-1], " "), func(t *testing.T) {
			r := hookstack(t, baseEnv(), "", args...)
			if r.code == 0 || !strings.Contains(r.stderr, "--url is deprecated here: use --dev-url") || !strings.Contains(r.stderr, "no dev server answers at "+closed) {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
		})
	}
	t.Run("HOOKSTACK_BACKEND=local and --local", func(t *testing.T) {
		for _, r := range []run{
			hookstack(t, baseEnv("HOOKSTACK_BACKEND=Local"), "", "tail", "--dev-url", closed),
			hookstack(t, baseEnv("HOOKSTACK_BACKEND=aws", "HOOKSTACK_DEV_URL="+closed), "", "tail", "--local"),
		} {
			if r.code == 0 || !strings.Contains(r.stderr, "no dev server answers at "+closed) {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
		}
	})
	t.Run("unknown provider", func(t *testing.T) {
		r := hookstack(t, baseEnv(), "", "tail", "--provider", "paypal")
		if r.code == 0 || !strings.Contains(r.stderr, "unknown provider") {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
	})
}

func TestCLIReplay(t *testing.T) {
	dev := startDev(t)
	// A handled type whose payload is malformed: accepted, then dead.
	file := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(file, []byte(`{"id":"evt_cli_replay","object":"event","type":"payment_intent.succeeded","created":1764417600,"data":{"object":{"id":12}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := hookstack(t, dev.env(), "", "send", "stripe", file, "--data", dev.data); r.code != 0 {
		t.Fatalf("send: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	deadline := time.Now().Add(15 * time.Second)
	var ours string
	for {
		list := dev.events(t, "stripe")
		if len(list) == 1 && list[0].Status == "dead" {
			ours = list[0].ID
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never dead: %+v", list)
		}
		time.Sleep(100 * time.Millisecond)
	}

	t.Run("by provider id, json", func(t *testing.T) {
		r := hookstack(t, dev.env(), "", "replay", "evt_cli_replay", "--json")
		var res replayResult
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &res) != nil {
			t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		if res.ID != ours || res.MessageID == "" || res.Queue != "payments" || res.EventID != "evt_cli_replay" {
			t.Fatalf("result %+v", res)
		}
	})
	t.Run("by our id, text", func(t *testing.T) {
		r := hookstack(t, dev.env(), "", "replay", ours)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "replayed stripe payment_intent.succeeded evt_cli_replay (id "+ours+") onto payments: message ") {
			t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("unknown id", func(t *testing.T) {
		r := hookstack(t, dev.env(), "", "replay", "evt_never_seen")
		if r.code == 0 || !strings.Contains(r.stderr, `no event with id "evt_never_seen"`) || !strings.Contains(r.stderr, "hookstack tail --since") {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
	})
	t.Run("rejected request", func(t *testing.T) {
		hookstack(t, dev.env(), "", "send", "stripe", file, "--secret", "whsec_wrong")
		var rejected string
		for _, e := range dev.events(t, "stripe") {
			if e.Status == "rejected" {
				rejected = e.ID
			}
		}
		r := hookstack(t, dev.env(), "", "replay", rejected)
		if rejected == "" || r.code == 0 || !strings.Contains(r.stderr, "nothing to replay") {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
	})
	t.Run("no argument", func(t *testing.T) {
		r := hookstack(t, dev.env(), "", "replay")
		if r.code == 0 || !strings.Contains(r.stderr, "replay takes one event id") {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
	})
}

func TestCLITailReplayHelp(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"tail", "--help"}, []string{"Usage:", "Examples:", "--provider", "--type", "--since", "--json", "--dev-url", "--local", "--stack", "--aws", "--poll", "CloudWatch Logs", "delivery", `"kind"`, "HOOKSTACK_BACKEND=aws"}},
		{[]string{"replay", "--help"}, []string{"Usage:", "Examples:", "replay <event-id>", "--json", "--dev-url", "--local", "--stack", "--aws", "archive"}},
		{[]string{"--help"}, []string{"tail", "replay"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := hookstack(t, baseEnv(), "", tt.args...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("help lacks %q:\n%s", w, r.stdout)
				}
			}
			if strings.Contains(r.stdout, " --url") {
				t.Errorf("help shows the deprecated --url:\n%s", r.stdout)
			}
			// replay prints one object, not tail's one per line.
			if tt.args[0] == "replay" && strings.Contains(r.stdout, "per line") {
				t.Errorf("replay's --json help is tail's:\n%s", r.stdout)
			}
		})
	}
}

func TestSSEReader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []sseMessage
		err  error
	}{
		{"server's form", "event: hello\ndata: {}\n\n: ping\n\nevent: event\ndata: {\"id\":\"1\"}\n\n", []sseMessage{{"hello", []byte("{}")}, {"event", []byte(`{"id":"1"}`)}}, io.EOF},
		{"default event, CRLF, multi-line data", "data: a\r\ndata:b\r\nid: 7\r\nretry: 10\r\n\r\n", []sseMessage{{"message", []byte("a\nb")}}, io.EOF},
		{"event without data is not dispatched", "event: x\n\nevent: y\ndata: 1\n\n", []sseMessage{{"y", []byte("1")}}, io.EOF},
		{"cut short", "event: event\ndata: {\"id\"", nil, io.ErrUnexpectedEOF},
		{"empty", "", nil, io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newSSEReader(strings.NewReader(tt.in))
			var got []sseMessage
			var err error
			for {
				var m sseMessage
				if m, err = r.next(); err != nil {
					break
				}
				got = append(got, m)
			}
			if !errors.Is(err, tt.err) || len(got) != len(tt.want) {
				t.Fatalf("got %q, %v; want %q, %v", got, err, tt.want, tt.err)
			}
			for i := range got {
				if got[i].Event != tt.want[i].Event || !bytes.Equal(got[i].Data, tt.want[i].Data) {
					t.Fatalf("message %d = %q, want %q", i, got[i], tt.want[i])
				}
			}
		})
	}
	t.Run("line too long", func(t *testing.T) {
		r := newSSEReader(strings.NewReader("data: " + strings.Repeat("x", maxSSELine+10) + "\n\n"))
		if _, err := r.next(); err == nil || !strings.Contains(err.Error(), "longer than") {
			t.Fatalf("err = %v", err)
		}
	})
}

func FuzzSSEReader(f *testing.F) {
	for _, s := range []string{"event: hello\ndata: {}\n\n", "data: a\r\ndata:b\r\n\r\n", ": c\n\n", "event: x", "data\n\n", "\n\n\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := newSSEReader(bytes.NewReader(in))
		for i := 0; i <= len(in); i++ {
			m, err := r.next()
			if err != nil {
				return
			}
			if m.Event == "" {
				t.Fatalf("dispatched a message without an event name: %q", m)
			}
		}
		t.Fatalf("more messages than input bytes from %q", in)
	})
}
