package integration

import (
	"bytes"
	"context"
	"fmt"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// How long a server may take to answer its readiness probe, and how often
// it is probed meanwhile.
const (
	readyTimeout  = 90 * time.Second
	readyInterval = 100 * time.Millisecond
	stopTimeout   = 10 * time.Second
)

// requireTool fails the test, naming what to install, when a program the
// suite needs is not on PATH. A missing prerequisite is a failure, never a
// skip: a suite that silently skips proves nothing.
func requireTool(t *testing.T, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("integration: %q is not on PATH; %s", name, install)
	}
	return p
}

// Ports handed out by freePort in this process: two servers started in
// parallel must never be given the same one.
var (
	portsMu   sync.Mutex
	portsUsed = map[int]bool{}
)

// freePort returns a loopback TCP port that was free a moment ago and
// that no other caller in this process has been given.
//
// It is chosen below the kernel's ephemeral range when it can be: a
// server that the suite stops and restarts on the same port would
// otherwise race every outgoing connection on the machine, any of which
// may be given that port as its local port while the server is down.
func freePort(t *testing.T) int {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	lo := ephemeralLow()
	const floor = 10000
	for range 200 {
		port := 0
		if lo-floor > 1000 {
			port = floor + mathrand.IntN(lo-floor)
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			if port == 0 {
				t.Fatalf("integration: no free loopback port: %v", err)
			}
			continue // taken; try another
		}
		got := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !portsUsed[got] {
			portsUsed[got] = true
			return got
		}
	}
	t.Fatal("integration: no unused loopback port after 200 tries")
	return 0
}

// ephemeralLow returns the first port of the kernel's ephemeral range, or
// 0 when it cannot be read (then freePort lets the kernel choose).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0
	}
	lo, err := strconv.Atoi(f[0])
	if err != nil {
		return 0
	}
	return lo
}

// logBuffer collects a child's stdout and stderr for the failure report.
// It keeps the most recent maxLog bytes.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

const maxLog = 256 << 10

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if over := b.buf.Len() - maxLog; over > 0 {
		b.buf.Next(over)
	}
	return len(p), nil
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// process is a server started by the suite. It runs in its own process
// group, so that stopping it also stops anything it spawned, and it gets
// SIGKILL if the test binary dies first.
type process struct {
	name string
	dir  string
	path string
	args []string
	env  []string
	log  *logBuffer
	// client asks for readiness; nil means plain HTTP with a timeout.
	client *http.Client

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when the current cmd has exited
	err  error         // its exit status, valid once done is closed
}

func newProcess(name, dir, path string, args, env []string) *process {
	return &process{name: name, dir: dir, path: path, args: args, env: env, log: &logBuffer{}}
}

// start launches the process. Callers then wait for readiness with
// [process.waitReady].
func (p *process) start(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		t.Fatalf("integration: %s is already running", p.name)
	}
	fmt.Fprintf(p.log, "\n--- %s: starting %s %s\n", time.Now().Format(time.RFC3339Nano), p.path, strings.Join(p.args, " "))
	cmd := exec.Command(p.path, p.args...)
	cmd.Dir = p.dir
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout = p.log
	cmd.Stderr = p.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = stopTimeout
	if err := cmd.Start(); err != nil {
		t.Fatalf("integration: starting %s: %v", p.name, err)
	}
	done := make(chan struct{})
	p.cmd, p.done = cmd, done
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		fmt.Fprintf(p.log, "\n--- %s: exited: %v\n", time.Now().Format(time.RFC3339Nano), err)
		close(done)
	}()
}

// stop kills the process group and waits for the process to exit. It is
// safe to call when the process is not running.
func (p *process) stop(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	// The negative pid addresses the whole group (Setpgid made the child
	// its leader).
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-done:
	case <-time.After(stopTimeout):
		t.Errorf("integration: %s (pid %d) did not exit within %v of SIGKILL", p.name, cmd.Process.Pid, stopTimeout)
	}
}

// exited returns a channel closed when the running process exits.
func (p *process) exited() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done == nil {
		c := make(chan struct{})
		close(c)
		return c
	}
	return p.done
}

// waitReady polls url until it answers 200, the process exits, or the
// deadline passes.
func (p *process) waitReady(t *testing.T, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	exited := p.exited()
	tick := time.NewTicker(readyInterval)
	defer tick.Stop()
	client := &http.Client{Timeout: 2 * time.Second}
	if p.client != nil {
		client = p.client
	}
	var last string
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			t.Fatalf("integration: readiness URL for %s: %v", p.name, err)
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = "HTTP " + strconv.Itoa(resp.StatusCode)
		} else {
			last = err.Error()
		}
		select {
		case <-exited:
			p.mu.Lock()
			err := p.err
			p.mu.Unlock()
			t.Fatalf("integration: %s exited before it was ready (%v); its log:\n%s", p.name, err, p.log.String())
		case <-ctx.Done():
			t.Fatalf("integration: %s not ready at %s within %v (last: %s); its log:\n%s", p.name, url, readyTimeout, last, p.log.String())
		case <-tick.C:
		}
	}
}

// cleanup stops the process when t ends and, if t failed, prints the
// server's log.
func (p *process) cleanup(t *testing.T) {
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("integration: log of %s:\n%s", p.name, p.log.String())
		}
	})
}

// run executes a setup command (a build or an install) and fails the test
// with its output when it fails.
func run(t *testing.T, ctx context.Context, dir string, env []string, name string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = stopTimeout
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("integration: %s %s (in %s) failed after %v: %v\n%s",
			name, strings.Join(args, " "), dir, time.Since(start).Round(time.Millisecond), err, out.String())
	}
	t.Logf("integration: %s %s took %v", name, strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
}
