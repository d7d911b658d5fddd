package browser

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// NeedTools skips the test when a program is missing on a developer's
// machine, and fails it in CI (CI set), where test/install-peers.sh has
// installed every one. Call it before InLoopbackNetns, so that a skip
// costs no child process.
func NeedTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			need(t, tool)
		}
	}
}

// Config describes the browser Start launches.
type Config struct {
	// FakeAudio is a WAV file the fake microphone plays in a loop
	// (--use-file-for-fake-audio-capture); empty means Chromium's own
	// beep.
	FakeAudio string
	// Timeout bounds the browser's whole life; zero means two minutes.
	Timeout time.Duration
}

// Flags are the Chromium switches that work headless as root here
// (PEERS.md): fake media devices granted without a prompt, loopback ICE
// candidates allowed (Chromium drops them otherwise), nothing contacting
// Google, and audio that may start without a user gesture.
var Flags = []chromedp.ExecAllocatorOption{
	chromedp.Headless,
	chromedp.NoSandbox,
	chromedp.DisableGPU,
	chromedp.NoFirstRun,
	chromedp.NoDefaultBrowserCheck,
	chromedp.Flag("use-fake-ui-for-media-stream", true),
	chromedp.Flag("use-fake-device-for-media-stream", true),
	chromedp.Flag("allow-loopback-in-peer-connection", true),
	chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
	chromedp.Flag("disable-background-networking", true),
	chromedp.Flag("disable-component-update", true),
	chromedp.Flag("disable-sync", true),
	chromedp.Flag("disable-quic", true),
	chromedp.Flag("disable-dev-shm-usage", true),
	chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
}

// Start launches headless Chromium with a fresh profile and returns a
// chromedp context for its first tab. The browser is closed, and its
// profile removed, when the test ends.
func Start(t *testing.T, cfg Config) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		need(t, "chromium")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Minute
	}
	// Not t.TempDir: Chromium's helpers may still write to the profile
	// for a moment after the browser exits, and TempDir's removal would
	// fail the test.
	profile, err := os.MkdirTemp("", "switchboard-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append([]chromedp.ExecAllocatorOption{chromedp.ExecPath(path), chromedp.UserDataDir(profile)}, Flags...)
	if cfg.FakeAudio != "" {
		opts = append(opts, chromedp.Flag("use-file-for-fake-audio-capture", cfg.FakeAudio))
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Timeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithErrorf(t.Logf))
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		cancel()
		for range 50 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	// Start the browser now, so that a failure to launch is reported here.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return bctx
}
