// Package exampletest runs an example program's main in a child process,
// so that its tests see what an operator sees: the exit status, the
// output, and what a signal does.
package exampletest

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
)

const runMain = "BEARERKIT_EXAMPLE_RUN_MAIN"

// Main runs the tests, or, in a child started by [Start], the example's
// main. Call it from TestMain.
func Main(m *testing.M, main func()) {
	if os.Getenv(runMain) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Process is an example's main running in a child process.
type Process struct {
	cmd    *exec.Cmd
	lines  chan string
	stderr lockedBuffer
	done   chan struct{}
	err    error
}

// Start runs the example's main with args and the environment given (and
// nothing of the test's own environment but PATH and HOME). The child is
// killed when the test ends, if it is still running.
func Start(t *testing.T, env []string, args ...string) *Process {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...) // TestMain runs main before the testing flags are parsed
	cmd.Env = append([]string{runMain + "=1", "PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	p := &Process{cmd: cmd, lines: make(chan string, 64), done: make(chan struct{})}
	cmd.Stderr = &p.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			p.lines <- s.Text()
		}
		close(p.lines)
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	return p
}

// Line returns the next line of standard output that starts with prefix,
// skipping others; it fails the test if the output ends first.
func (p *Process) Line(t *testing.T, prefix string) string {
	t.Helper()
	for line := range p.lines {
		if strings.HasPrefix(line, prefix) {
			return line
		}
	}
	<-p.done
	t.Fatalf("the program ended (%v) without printing %q; stderr:\n%s", p.err, prefix, p.stderr.String())
	return ""
}

// Terminate sends SIGTERM.
func (p *Process) Terminate(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
}

// Wait waits for the child to end and returns its exit code and standard
// error.
func (p *Process) Wait() (code int, stderr string) {
	for range p.lines {
	}
	<-p.done
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode(), p.stderr.String()
	}
	if p.err != nil {
		return -1, p.stderr.String() + p.err.Error()
	}
	return 0, p.stderr.String()
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
