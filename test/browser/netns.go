// Package browser runs tests against a real browser: headless Chromium
// driven by github.com/chromedp/chromedp, inside a network namespace whose
// only interface is loopback, so that everything the browser, the test and
// the platform it starts send stays on 127.0.0.1 (PEERS.md's network
// rule) and nothing can reach the machine's other addresses.
//
// # The namespace
//
// A browser started in a namespace of its own (`unshare -n chromium`)
// could not reach the test's 127.0.0.1, which belongs to the root
// namespace. So the whole test moves instead: InLoopbackNetns re-executes
// the test binary, running only the calling test, as a child in a new
// network namespace (clone(2) with CLONE_NEWNET, the system call behind
// `unshare -n`), and the child brings its loopback interface up (the
// SIOCSIFFLAGS ioctl behind `ip link set lo up`). The test body then runs
// in the child, where the test's servers, the platform and Chromium share
// one loopback and see no other interface. The parent waits for the child
// and reports its output and verdict. It needs root (CAP_SYS_ADMIN), as
// CI has; elsewhere the test is skipped, and fails under CI=true.
//
// By hand, the same is:
//
//	go test -c -tags nolibopusfile -race -o /tmp/browser.test ./test/browser
//	cd test/browser
//	unshare -n sh -c 'ip link set lo up && SWITCHBOARD_TEST_NETNS=TestBrowserLeg /tmp/browser.test -test.run TestBrowserLeg -test.v'
//
// where SWITCHBOARD_TEST_NETNS tells the test it is already inside.
package browser

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// EnvNetns names the environment variable that tells a re-executed test
// binary it runs inside the namespace made for the test it names.
const EnvNetns = "SWITCHBOARD_TEST_NETNS"

// InLoopbackNetns moves the calling test into a loopback-only network
// namespace. Called first in a test, it returns true in the child, where
// the test goes on; in the parent it runs the child, waits for it, passes
// on its verdict (failure, skip) and returns false, and the test must
// return at once:
//
//	func TestX(t *testing.T) {
//		if !browser.InLoopbackNetns(t) {
//			return
//		}
//		... // only 127.0.0.1 exists here
//	}
func InLoopbackNetns(t *testing.T) bool {
	t.Helper()
	if os.Getenv(EnvNetns) == t.Name() {
		if err := loopbackUp(); err != nil {
			t.Fatalf("bring loopback up in the test's namespace: %v", err)
		}
		if err := onlyLoopback(); err != nil {
			t.Fatal(err)
		}
		return true
	}

	ctx := context.Background()
	if d, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d.Add(-5*time.Second))
		defer cancel()
	}
	args := []string{"-test.run=" + runPattern(t.Name()), "-test.count=1", "-test.v"}
	if d, ok := ctx.Deadline(); ok {
		args = append(args, "-test.timeout="+time.Until(d).Round(time.Second).String())
	}
	if testing.Short() {
		args = append(args, "-test.short")
	}
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), EnvNetns+"="+t.Name())
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNET,
		Pdeathsig:  syscall.SIGKILL, // the child dies with the parent
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	// Pdeathsig follows the thread that forked, not the process: keep
	// that thread for this goroutine until the child is done.
	runtime.LockOSThread()
	err := cmd.Run()
	runtime.UnlockOSThread()
	if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EINVAL) {
		need(t, fmt.Sprintf("a network namespace (clone CLONE_NEWNET needs root): %v", err))
		return false
	}
	t.Logf("ran in a loopback-only network namespace (%s):\n%s", time.Since(start).Round(time.Millisecond), indent(out.String()))
	switch {
	case err != nil:
		t.Fatalf("test in the namespace failed: %v", err)
	case strings.Contains(out.String(), "--- SKIP: "+t.Name()):
		t.Skip("skipped in the namespace (see its output)")
	case !strings.Contains(out.String(), "--- PASS: "+t.Name()):
		t.Fatalf("test in the namespace did not report a pass")
	}
	return false
}

// runPattern is a -test.run pattern matching exactly the test name, each
// level of subtests anchored on its own.
func runPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}

// loopbackUp sets IFF_UP on lo, which a new network namespace has down.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

// onlyLoopback checks that the namespace has lo, up, and nothing else.
func onlyLoopback() error {
	ifs, err := net.Interfaces()
	if err != nil {
		return err
	}
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback == 0 {
			return fmt.Errorf("interface %s in the test's namespace: not loopback-only", i.Name)
		}
		if i.Flags&net.FlagUp == 0 {
			return fmt.Errorf("loopback %s is down", i.Name)
		}
	}
	if len(ifs) == 0 {
		return errors.New("no interface in the test's namespace")
	}
	return nil
}

// need skips the test on a developer's machine, and fails it in CI, where
// everything it needs is installed.
func need(t *testing.T, what string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("missing %s; CI must have it (test/install-peers.sh)", what)
	}
	t.Skipf("missing %s (test/install-peers.sh installs what the tests need)", what)
}

func indent(s string) string {
	return "\t" + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n\t")
}
