package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// platform is one `switchboard up` process: SIP, RTP, HTTP and the
// embedded NATS all on 127.0.0.1.
type platform struct {
	cmd      *exec.Cmd
	logPath  string
	logFile  *os.File
	sipPort  int
	httpAddr string
	natsURL  string
	done     chan struct{}
	waitErr  error
}

// platformConfig is how the bench starts the platform.
type platformConfig struct {
	bin            string
	dir            string // data dir and log live here
	rtpMin, rtpMax int
	extra          []string // more flags for `switchboard up`
}

// buildSwitchboard builds the binary as the Makefile does.
func buildSwitchboard(ctx context.Context, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "nolibopusfile", "-o", out, "./cmd/switchboard")
	cmd.Dir = moduleRoot()
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	return cmd.Run()
}

// moduleRoot is the directory of go.mod (the bench runs from anywhere in
// the module, as `go run ./test/bench` does from the root).
func moduleRoot() string {
	dir, _ := os.Getwd()
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}

// startPlatform runs `switchboard up` on free loopback ports and waits
// until /healthz says ready (every partition owned).
func startPlatform(ctx context.Context, cfg platformConfig) (*platform, error) {
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	p := &platform{
		sipPort: ports[0], httpAddr: "127.0.0.1:" + strconv.Itoa(ports[1]),
		natsURL: "nats://127.0.0.1:" + strconv.Itoa(ports[2]), done: make(chan struct{}),
		logPath: filepath.Join(cfg.dir, "switchboard.log"),
	}
	if p.logFile, err = os.Create(p.logPath); err != nil {
		return nil, err
	}
	args := []string{"up",
		"--sip-host", "127.0.0.1", "--sip-port", strconv.Itoa(p.sipPort), "--sip-advertise", "127.0.0.1",
		"--media-ip", "127.0.0.1",
		"--rtp-port-min", strconv.Itoa(cfg.rtpMin), "--rtp-port-max", strconv.Itoa(cfg.rtpMax),
		"--nats-host", "127.0.0.1", "--nats-port", strconv.Itoa(ports[2]),
		"--http", p.httpAddr, "--data", filepath.Join(cfg.dir, "data"), "--log-level", "warn",
	}
	args = append(args, cfg.extra...)
	p.cmd = exec.Command(cfg.bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.logFile, p.logFile
	p.cmd.Env = cleanEnv()
	// The platform dies with the bench, whatever happens to the bench.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		p.logFile.Close()
		return nil, err
	}
	go func() { p.waitErr = p.cmd.Wait(); close(p.done) }()

	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-p.done:
			return nil, fmt.Errorf("switchboard exited during start-up (%v); log %s:\n%s", p.waitErr, p.logPath, tail(p.logPath, 20))
		case <-ctx.Done():
			p.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if code, _ := httpGet("http://" + p.httpAddr + "/healthz"); code == http.StatusOK {
			return p, nil
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("switchboard not ready within 30s; log %s:\n%s", p.logPath, tail(p.logPath, 20))
		}
	}
}

// cleanEnv is the bench's environment without SB_* variables, so that a
// developer's settings cannot change what is measured.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SB_") {
			env = append(env, kv)
		}
	}
	return env
}

// stop interrupts the platform (SIGINT stops at once) and kills it if it
// has not exited within 10 s. It reports whether it exited by itself.
func (p *platform) stop() (clean bool) {
	defer p.logFile.Close()
	select {
	case <-p.done:
		return false
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.done:
		return true
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		return false
	}
}

// exited reports whether the process is gone (a crash during the run).
func (p *platform) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *platform) pid() int { return p.cmd.Process.Pid }

// metrics scrapes /metrics.
func (p *platform) metrics() (metrics, error) {
	code, body := httpGet("http://" + p.httpAddr + "/metrics")
	if code != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %d", code)
	}
	return parseMetrics(strings.NewReader(body)), nil
}

// waitIdle polls until the platform owns no calls (or d passes) and
// returns the last scrape.
func (p *platform) waitIdle(d time.Duration) (metrics, error) {
	deadline := time.Now().Add(d)
	for {
		m, err := p.metrics()
		if err == nil && m.sum("sb_calls_active") == 0 {
			return m, nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("%v calls still active after %v", m.sum("sb_calls_active"), d)
			}
			return m, err
		}
		time.Sleep(250 * time.Millisecond)
	}
}

var httpClient = &http.Client{Timeout: 5 * time.Second}

func httpGet(url string) (int, string) {
	res, err := httpClient.Get(url)
	if err != nil {
		return 0, ""
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// metrics is one scrape: every series ("name{labels}") and its value.
type metrics map[string]float64

// parseMetrics reads the Prometheus text format (only what the bench
// needs: sample lines; comments are skipped).
func parseMetrics(r io.Reader) metrics {
	m := metrics{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		m[line[:i]] = v
	}
	return m
}

// sum adds every series of a metric name (all label values).
func (m metrics) sum(name string) float64 {
	var s float64
	for k, v := range m {
		if k == name || strings.HasPrefix(k, name+"{") {
			s += v
		}
	}
	return s
}

// series returns the series of name, keyed by their label set.
func (m metrics) series(name string) map[string]float64 {
	out := map[string]float64{}
	for k, v := range m {
		if rest, ok := strings.CutPrefix(k, name+"{"); ok {
			out[strings.TrimSuffix(rest, "}")] = v
		}
	}
	return out
}

// delta is after minus before of a summed metric.
func delta(before, after metrics, name string) float64 { return after.sum(name) - before.sum(name) }

// deltaSeries is after minus before per label set, non-zero ones only.
func deltaSeries(before, after metrics, name string) map[string]float64 {
	out := map[string]float64{}
	b := before.series(name)
	for k, v := range after.series(name) {
		if d := v - b[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// freePorts returns n distinct ports that were free on 127.0.0.1 for both
// TCP and UDP a moment ago.
func freePorts(n int) ([]int, error) {
	var out []int
	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	for len(out) < n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		closers = append(closers, l)
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue
		}
		closers = append(closers, u)
		out = append(out, port)
	}
	return out, nil
}

// freeUDPPair returns an even port p such that p and p+2 (sipp's audio and
// video echo ports) are free on 127.0.0.1, searching from base.
func freeUDPPair(base int) (int, error) {
	for p := base &^ 1; p < base+2000; p += 4 {
		a, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			continue
		}
		b, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(p+2))
		a.Close()
		if err != nil {
			continue
		}
		b.Close()
		return p, nil
	}
	return 0, errors.New("no free UDP port pair for sipp's media")
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// logSummary counts the platform log's lines by level and keeps the first
// few warnings and errors (and any panic) as evidence.
type logSummary struct {
	warn, errors int
	panic        bool
	first        []string
}

func summarizeLog(path string) logSummary {
	var s logSummary
	f, err := os.Open(path)
	if err != nil {
		return s
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	seen := map[string]bool{}
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "panic:") || strings.HasPrefix(line, "fatal error:"):
			s.panic = true
		case strings.Contains(line, "level=WARN"):
			s.warn++
		case strings.Contains(line, "level=ERROR"):
			s.errors++
		default:
			continue
		}
		// Keep one example per message.
		msg := line
		if i := strings.Index(line, "msg="); i >= 0 {
			msg = line[i:]
			if j := strings.Index(msg, " call_id="); j > 0 {
				msg = msg[:j]
			}
		}
		if !seen[msg] && len(s.first) < 8 {
			seen[msg] = true
			s.first = append(s.first, line)
		}
	}
	return s
}
