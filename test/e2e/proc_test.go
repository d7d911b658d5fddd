package e2e

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the switchboard binary built once for the whole package, exactly
// as a user builds it.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sb-e2e-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "switchboard")
	build := exec.Command("go", "build", "-o", binary, "github.com/switchboard-voip/switchboard/cmd/switchboard")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// freeUDPPort returns a UDP port on 127.0.0.1 that was free a moment ago.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// syncBuf is a bytes.Buffer safe for a process writing and a test reading.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is a switchboard process started by a test.
type proc struct {
	cmd  *exec.Cmd
	out  *syncBuf
	done chan struct{}
	err  error
}

// startProc runs the binary with args; the process is killed when the test
// ends if it is still running.
func startProc(t *testing.T, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(binary, args...), out: &syncBuf{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	level := "info"
	if l := os.Getenv("SB_E2E_LOG_LEVEL"); l != "" {
		level = l // debug, to chase a flake
	}
	p.cmd.Env = append(os.Environ(), "SB_LOG_LEVEL="+level, "GOTRACEBACK=all")
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			if t.Failed() {
				// What every goroutine was doing when the test failed:
				// a stuck call shows itself here.
				_ = p.cmd.Process.Signal(syscall.SIGQUIT)
				select {
				case <-p.done:
				case <-time.After(3 * time.Second):
				}
			}
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("output of %v:\n%s", args, p.out.String())
		}
	})
	return p
}

func (p *proc) signal(s syscall.Signal) { _ = p.cmd.Process.Signal(s) }

// logValue waits for the process to log key=value and returns the value
// (the actual address of something bound to port 0, say).
func (p *proc) logValue(t *testing.T, key string) string {
	t.Helper()
	re := regexp.MustCompile(`\b` + regexp.QuoteMeta(key) + `=(\S+)`)
	var v string
	deadline := time.Now().Add(20 * time.Second)
	for v == "" {
		if m := re.FindStringSubmatch(p.out.String()); m != nil {
			v = m[1]
			break
		}
		select {
		case <-p.done:
			t.Fatalf("process exited before logging %s:\n%s", key, p.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("process did not log %s:\n%s", key, p.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return v
}

// wait returns the exit code, failing the test if the process does not end
// within d.
func (p *proc) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		t.Fatalf("process did not exit within %v:\n%s", d, p.out.String())
	}
	return p.cmd.ProcessState.ExitCode()
}

// ctl runs `switchboard ctl ...` and returns its standard output.
func ctl(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"ctl"}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("ctl %v: %v\n%s", args, err, errb.String())
	}
	return out.String()
}
