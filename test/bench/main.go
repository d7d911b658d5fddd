// Command bench is switchboard's whole-system load harness: it starts
// `switchboard up` as a separate process (SIP, RTP, HTTP and the embedded
// NATS on 127.0.0.1), drives it with sipp, scrapes /metrics before, during
// and after, and prints what it measured.
//
//	go run ./test/bench -scenario cps         calls per second, no media
//	go run ./test/bench -scenario concurrent  N calls at once with RTP both ways
//	go run ./test/bench -scenario failover    media gap when a media worker is killed or drained
//	go run ./test/bench -scenario all          (cps, concurrent, transcode)
//
// Each step (one rate, or one concurrency level) gets a fresh platform, so
// that one overloaded step cannot spoil the next. Every sipp run is bounded
// in calls (-m) and time (-timeout), and traffic stays on loopback.
//
// These are whole-system measurements on a shared machine, not
// micro-benchmarks: the report gives the load average when each step
// started and how busy the whole machine was, so that a run disturbed by
// other work can be recognized and repeated. docs/benchmarks.md has the
// figures and how to read them.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// bench holds the settings of a run.
type bench struct {
	bin            string
	work           string
	rtpMin, rtpMax int
	sippMediaPort  int
	cpsSeconds     int
	quiet          float64       // wait until the machine is less busy than this (%)
	quietMax       time.Duration // but no longer than this
	ramp           int
	hold           time.Duration
	platArgs       []string
}

func main() {
	os.Exit(run())
}

func run() int {
	var (
		scenario = flag.String("scenario", "all", "cps, concurrent, transcode, failover or all (all: the first three)")
		rates    = flag.String("rates", "100,300,500,1000,2000", "cps: call rates to try, comma-separated")
		seconds  = flag.Int("cps-seconds", 10, "cps: seconds of calls per rate (sipp -m = rate x this)")
		calls    = flag.String("calls", "500,1000,2000", "concurrent: numbers of simultaneous calls, comma-separated")
		tcalls   = flag.String("transcode-calls", "250,500", "transcode: numbers of simultaneous G.711<->Opus bridged calls, comma-separated")
		fcalls   = flag.String("failover-calls", "100,500", "failover: numbers of live echo calls over three media workers, comma-separated")
		fhow     = flag.String("failover-how", "kill,drain", "failover: how the worker is lost: kill (kill -9), drain (SIGTERM), comma-separated")
		ramp     = flag.Int("ramp", 0, "concurrent: sipp -r while ramping up (0: max(50, calls/10), a 10 s ramp)")
		hold     = flag.Duration("hold", 20*time.Second, "concurrent: how long all calls are up together")
		bin      = flag.String("bin", "", "switchboard binary (default: build one from this module)")
		rtpMin   = flag.Int("rtp-port-min", 21000, "platform RTP ports, lowest (2 per call)")
		rtpMax   = flag.Int("rtp-port-max", 26999, "platform RTP ports, highest")
		sippMP   = flag.Int("sipp-media-port", 27000, "first port tried for sipp's media socket (-mp)")
		work     = flag.String("work", "", "directory for logs and sipp files (default: a new temporary one)")
		keep     = flag.Bool("keep", false, "keep the work directory even when every step passed")
		jsonOut  = flag.String("json", "", "also write the results as JSON to this file")
		quiet    = flag.Float64("quiet", 25, "before each step, wait until the machine is less than this % busy over 3 s (0: do not wait)")
		quietMax = flag.Duration("quiet-max", 3*time.Minute, "longest wait for -quiet")
		platArgs = flag.String("platform-args", "", "more flags for `switchboard up`, space-separated (e.g. \"--opus-complexity 1\")")
	)
	flag.Parse()

	b := &bench{bin: *bin, rtpMin: *rtpMin, rtpMax: *rtpMax, sippMediaPort: *sippMP, cpsSeconds: *seconds, ramp: *ramp, hold: *hold, quiet: *quiet, quietMax: *quietMax, platArgs: strings.Fields(*platArgs)}
	doCPS := *scenario == "cps" || *scenario == "all"
	doConc := *scenario == "concurrent" || *scenario == "all"
	doTrans := *scenario == "transcode" || *scenario == "all"
	doFail := *scenario == "failover"
	if !doCPS && !doConc && !doTrans && !doFail {
		fmt.Fprintf(os.Stderr, "bench: unknown -scenario %q (cps, concurrent, transcode, failover or all)\n", *scenario)
		return 2
	}
	failList, err := ints(*fcalls)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: -failover-calls:", err)
		return 2
	}
	var hows []string
	for _, h := range strings.Split(*fhow, ",") {
		switch h = strings.TrimSpace(h); h {
		case "kill", "drain":
			hows = append(hows, h)
		default:
			fmt.Fprintf(os.Stderr, "bench: -failover-how: %q is neither kill nor drain\n", h)
			return 2
		}
	}
	if doFail {
		if _, err := exec.LookPath("dumpcap"); err != nil {
			fmt.Fprintln(os.Stderr, "bench: failover needs dumpcap (apt-get install tshark, or test/install-peers.sh)")
			return 2
		}
	}
	rateList, err := ints(*rates)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: -rates:", err)
		return 2
	}
	callList, err := ints(*calls)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: -calls:", err)
		return 2
	}
	transList, err := ints(*tcalls)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: -transcode-calls:", err)
		return 2
	}
	if _, err := exec.LookPath("sipp"); err != nil {
		fmt.Fprintln(os.Stderr, "bench: sipp is not installed (apt-get install sip-tester, or test/install-peers.sh)")
		return 2
	}
	if pairs := (b.rtpMax - b.rtpMin + 1) / 2; doConc && pairs < maxOf(callList) || doTrans && pairs < 2*maxOf(transList) {
		fmt.Fprintf(os.Stderr, "bench: RTP range %d-%d has %d port pairs, fewer than the legs asked for\n", b.rtpMin, b.rtpMax, pairs)
		return 2
	}
	if busy := socketsIn(b.rtpMin, b.rtpMax); busy > 0 {
		fmt.Fprintf(os.Stderr, "bench: warning: %d UDP sockets already bound in %d-%d; choose another -rtp-port-min/max if calls fail for want of ports\n", busy, b.rtpMin, b.rtpMax)
	}

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()

	if b.work == "" {
		if *work != "" {
			b.work = *work
			err = os.MkdirAll(b.work, 0o755)
		} else {
			b.work, err = os.MkdirTemp("", "sb-bench-")
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 2
		}
	}
	if b.bin == "" {
		b.bin = filepath.Join(b.work, "switchboard")
		fmt.Fprintln(os.Stderr, "bench: building switchboard ...")
		if err := buildSwitchboard(ctx, b.bin); err != nil {
			fmt.Fprintln(os.Stderr, "bench: build:", err)
			return 2
		}
	} else if b.bin, err = filepath.Abs(b.bin); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}

	rep := report{Machine: machine(), Started: time.Now().UTC().Format(time.RFC3339), Work: b.work}
	fmt.Printf("machine: %s\nwork dir: %s\n\n", rep.Machine, b.work)
	allOK := true
	if doCPS {
		for _, rate := range rateList {
			if ctx.Err() != nil {
				break
			}
			fmt.Fprintf(os.Stderr, "bench: cps %d (%d calls), load %s ...\n", rate, rate*b.cpsSeconds, loadavg())
			r, err := b.runCPS(ctx, rate)
			if err != nil {
				fmt.Fprintf(os.Stderr, "bench: cps %d: %v\n", rate, err)
				allOK = false
				continue
			}
			allOK = allOK && r.Verdict == "ok"
			rep.CPS = append(rep.CPS, r)
			printCPSDetail(r)
		}
	}
	if doConc {
		for _, n := range callList {
			if ctx.Err() != nil {
				break
			}
			fmt.Fprintf(os.Stderr, "bench: concurrent %d, load %s ...\n", n, loadavg())
			r, err := b.runConcurrent(ctx, n, false)
			if err != nil {
				fmt.Fprintf(os.Stderr, "bench: concurrent %d: %v\n", n, err)
				allOK = false
				continue
			}
			allOK = allOK && r.Verdict == "ok"
			rep.Concurrent = append(rep.Concurrent, r)
			printConcDetail(r)
		}
	}
	if doTrans {
		for _, n := range transList {
			if ctx.Err() != nil {
				break
			}
			fmt.Fprintf(os.Stderr, "bench: transcode %d, load %s ...\n", n, loadavg())
			r, err := b.runConcurrent(ctx, n, true)
			if err != nil {
				fmt.Fprintf(os.Stderr, "bench: transcode %d: %v\n", n, err)
				allOK = false
				continue
			}
			allOK = allOK && r.Verdict == "ok"
			rep.Transcode = append(rep.Transcode, r)
			printConcDetail(r)
		}
	}
	if doFail {
		for _, n := range failList {
			for _, how := range hows {
				if ctx.Err() != nil {
					break
				}
				fmt.Fprintf(os.Stderr, "bench: failover %s, %d calls, load %s ...\n", how, n, loadavg())
				r, err := b.runFailover(ctx, n, how)
				if err != nil {
					fmt.Fprintf(os.Stderr, "bench: failover %s %d: %v\n", how, n, err)
					allOK = false
					if r == nil {
						continue
					}
				}
				allOK = allOK && r.Verdict == "ok"
				rep.Failover = append(rep.Failover, r)
			}
		}
	}
	rep.print()
	printFailover(rep.Failover)
	if *jsonOut != "" {
		if j, err := json.MarshalIndent(rep, "", "  "); err == nil {
			_ = os.WriteFile(*jsonOut, j, 0o644)
		}
	}
	if allOK && !*keep && *work == "" {
		os.RemoveAll(b.work)
	} else {
		fmt.Printf("\nlogs, sipp statistics and error files: %s\n", b.work)
	}
	if ctx.Err() != nil {
		return 1
	}
	return 0
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func maxOf(v []int) int {
	m := 0
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

func socketsIn(lo, hi int) int {
	n := 0
	for _, s := range readUDPSockets() {
		if s.port >= lo && s.port <= hi {
			n++
		}
	}
	return n
}

// machine describes where the figures come from.
func machine() string {
	cpu := "?"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	sippV := "?"
	if out, _ := exec.Command("sipp", "-v").CombinedOutput(); len(out) > 0 { // sipp -v exits 1
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, "SIPp v") {
				sippV = strings.TrimSpace(l)
				break
			}
		}
	}
	kernel := "?"
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = strings.TrimSpace(string(b))
	}
	return fmt.Sprintf("%d CPUs (%s), Linux %s, %s, %s, loadavg %s", runtime.NumCPU(), cpu, kernel, runtime.Version(), sippV, loadavg())
}

func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t'\"$") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func splitLines(s string, n int) []string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[:n]
	}
	return l
}
