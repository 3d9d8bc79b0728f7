// Package rie runs a built Lambda bootstrap under the AWS Lambda Runtime
// Interface Emulator and invokes it, for tests that prove the deployable
// binaries work. The emulator crashes on concurrent invocations, so Invoke
// serialises them.
package rie

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Function is one bootstrap running under the emulator.
type Function struct {
	addr string
	cmd  *exec.Cmd
	log  *lockedWriter
	mu   sync.Mutex // one invocation at a time
	done chan struct{}
}

// Options start a function.
type Options struct {
	Emulator  string   // path of aws-lambda-rie
	Bootstrap string   // path of the built bootstrap
	Env       []string // the function's environment (KEY=value), added to a minimal base
	Timeout   time.Duration
}

// Start launches the emulator with the bootstrap on a free loopback port and
// waits until it accepts connections. A free port is found by binding and
// releasing it, so another process may take it before the emulator binds
// it: an emulator that exits with "address already in use" is started
// again on other ports (three tries).
func Start(ctx context.Context, o Options) (*Function, error) {
	for _, p := range []string{o.Emulator, o.Bootstrap} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("rie: %w", err)
		}
	}
	var err error
	for try := 0; try < 3; try++ {
		var f *Function
		if f, err = start(ctx, o); err == nil || !errors.Is(err, errPortTaken) {
			return f, err
		}
	}
	return nil, err
}

// errPortTaken: the emulator could not bind a port chosen for it.
var errPortTaken = errors.New("rie: port taken before the emulator bound it")

func start(ctx context.Context, o Options) (*Function, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	// The emulator's own Runtime API defaults to 127.0.0.1:9001: give each
	// emulator its own port so packages tested in parallel do not collide.
	apiAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	f := &Function{addr: addr, log: &lockedWriter{}, done: make(chan struct{})}
	f.cmd = exec.Command(o.Emulator, "--runtime-interface-emulator-address", addr, "--runtime-api-address", apiAddr, o.Bootstrap)
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	f.cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"AWS_LAMBDA_FUNCTION_TIMEOUT=" + fmt.Sprint(int(timeout.Seconds())),
		"AWS_LAMBDA_LOG_FORMAT=JSON",
	}, o.Env...)
	f.cmd.Stdout, f.cmd.Stderr = f.log, f.log
	f.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := f.cmd.Start(); err != nil {
		return nil, fmt.Errorf("rie: start: %w", err)
	}
	go func() { _ = f.cmd.Wait(); close(f.done) }()
	// Poll often at first: the emulator usually listens within a few
	// milliseconds, and every cold start of the benchmarks waits for it.
	deadline, wait := time.Now().Add(10*time.Second), time.Millisecond
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return f, nil
		}
		select {
		case <-f.done:
			if strings.Contains(f.Logs(), "address already in use") {
				return nil, fmt.Errorf("%w: %s", errPortTaken, f.Logs())
			}
			return nil, fmt.Errorf("rie: emulator exited: %s", f.Logs())
		case <-ctx.Done():
			f.Stop()
			return nil, ctx.Err()
		default:
		}
		if time.Now().After(deadline) {
			f.Stop()
			return nil, fmt.Errorf("rie: emulator did not listen on %s: %s", addr, f.Logs())
		}
		time.Sleep(wait)
		wait = min(2*wait, 50*time.Millisecond)
	}
}

// Invoke sends one event and returns the function's response payload. A
// function error (the runtime reported an error) is returned as *FunctionError.
func (f *Function) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		"http://"+f.addr+"/2015-03-31/functions/function/invocations", bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("rie: invoke: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("rie: read response: %w", err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Amz-Function-Error") != "" ||
		bytes.Contains(body, []byte(`"errorType"`)) && bytes.HasPrefix(bytes.TrimSpace(body), []byte(`{"errorMessage"`)) {
		return body, &FunctionError{Status: resp.StatusCode, Payload: string(body)}
	}
	return body, nil
}

// FunctionError is an invocation the runtime reported as failed.
type FunctionError struct {
	Status  int
	Payload string
}

func (e *FunctionError) Error() string {
	return fmt.Sprintf("function error (HTTP %d): %s", e.Status, e.Payload)
}

// Logs returns what the emulator and the function printed so far.
func (f *Function) Logs() string {
	f.log.mu.Lock()
	defer f.log.mu.Unlock()
	return f.log.buf.String()
}

// Stop ends the emulator and the function.
func (f *Function) Stop() {
	if f.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-f.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-f.done:
	case <-time.After(3 * time.Second):
		_ = syscall.Kill(-f.cmd.Process.Pid, syscall.SIGKILL)
		<-f.done
	}
}

// logWait is how long InitDuration and FirstReportDuration wait for their
// line: the emulator's output reaches Logs through a pipe, so a line it
// printed before answering an invocation may arrive just after the answer.
var logWait = 2 * time.Second

// InitDuration reads the function's INIT phase from the emulator's
// "INIT REPORT(durationMs: N)" line. (Its per-invocation REPORT line also
// says "Init Duration", but that figure is the emulator's own bookkeeping,
// tens of microseconds.)
func (f *Function) InitDuration() (time.Duration, error) {
	line, ok := f.waitLine(func(l string) bool { return strings.Contains(l, "INIT REPORT(durationMs: ") })
	if !ok {
		return 0, errors.New("rie: no INIT REPORT in the logs (invoke the function once first)")
	}
	var ms float64
	if _, err := fmt.Sscanf(line[strings.Index(line, "INIT REPORT("):], "INIT REPORT(durationMs: %f", &ms); err != nil {
		return 0, fmt.Errorf("rie: %q: %w", line, err)
	}
	return time.Duration(ms * float64(time.Millisecond)), nil
}

// FirstReportDuration reads the "Duration" of the emulator's first REPORT
// line, the first invocation's. The emulator starts the function on that
// invocation, so unlike Lambda's REPORT this figure includes INIT: it is
// the cold request's cost, INIT plus the first invocation.
func (f *Function) FirstReportDuration() (time.Duration, error) {
	line, ok := f.waitLine(func(l string) bool { return strings.HasPrefix(l, "REPORT RequestId: ") })
	if !ok {
		return 0, errors.New("rie: no REPORT in the logs (invoke the function once first)")
	}
	i := strings.Index(line, "\tDuration: ")
	if i < 0 {
		return 0, fmt.Errorf("rie: no Duration in %q", line)
	}
	var ms float64
	if _, err := fmt.Sscanf(line[i+1:], "Duration: %f ms", &ms); err != nil {
		return 0, fmt.Errorf("rie: %q: %w", line, err)
	}
	return time.Duration(ms * float64(time.Millisecond)), nil
}

// waitLine returns the first complete line of the logs that satisfies match,
// waiting up to logWait for it to arrive.
func (f *Function) waitLine(match func(string) bool) (string, bool) {
	for deadline := time.Now().Add(logWait); ; time.Sleep(time.Millisecond) {
		lines := strings.Split(f.Logs(), "\n")
		for _, line := range lines[:len(lines)-1] { // the last is not complete yet
			if match(line) {
				return line, true
			}
		}
		if time.Now().After(deadline) {
			return "", false
		}
	}
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("rie: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

type lockedWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}
