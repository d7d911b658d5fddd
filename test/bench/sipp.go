package main

import (
	"bufio"
	"context"
	"embed"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/switchboard-voip/switchboard/workers/media/g711"
)

//go:embed scenarios/*.xml
var scenarios embed.FS

// prepareSippDir writes a scenario and the tone rtp_stream plays into dir.
func prepareSippDir(dir, scenario string) error {
	b, err := scenarios.ReadFile("scenarios/" + scenario)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, scenario), b, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "tone.ulaw"), tone(1000, 8000), 0o644)
}

// tone is one second of a 1 kHz sine at -6 dBFS in headerless µ-law, the
// format sipp's rtp_stream plays (160 octets per 20 ms packet). A whole
// number of periods per second makes the loop seamless.
func tone(freq, rate int) []byte {
	pcm := make([]int16, rate)
	for i := range pcm {
		pcm[i] = int16(0.5 * 32767 * math.Sin(2*math.Pi*float64(freq)*float64(i)/float64(rate)))
	}
	out := make([]byte, rate)
	g711.EncodeUlaw(out, pcm)
	return out
}

// sippRun is one sipp invocation and what it left behind.
type sippRun struct {
	args    []string
	dir     string
	code    int
	cpu     float64 // user+system seconds of sipp's process
	wall    time.Duration
	stats   sippStats
	rtt     map[int][]float64 // response times in ms, by rtd number
	errLog  string            // first lines of sipp's error log
	outTail string            // end of sipp's screen output
}

// runSipp runs sipp in dir with args (plus the tracing options the bench
// parses) and waits at most timeout for it. onStart gets its pid.
func runSipp(ctx context.Context, dir string, timeout time.Duration, args []string, onStart func(pid int)) (*sippRun, error) {
	args = append(slices.Clone(args),
		"-nostdin", "-timeout", strconv.Itoa(int(timeout.Seconds())), "-timeout_error",
		"-trace_stat", "-stf", "stat.csv", "-fd", "1",
		"-trace_err", "-error_file", "errors.log",
		"-trace_rtt", "-rtt_freq", "1",
	)
	r := &sippRun{args: args, dir: dir, rtt: map[int][]float64{}}
	ctx, cancel := context.WithTimeout(ctx, timeout+30*time.Second)
	defer cancel()
	out, err := os.Create(filepath.Join(dir, "sipp.out"))
	if err != nil {
		return nil, err
	}
	defer out.Close()
	cmd := exec.CommandContext(ctx, "sipp", args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("sipp: %w", err)
	}
	if onStart != nil {
		onStart(cmd.Process.Pid)
	}
	_ = cmd.Wait()
	r.wall = time.Since(start)
	r.code = cmd.ProcessState.ExitCode()
	r.cpu = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()

	if r.stats, err = readSippStats(filepath.Join(dir, "stat.csv")); err != nil {
		return r, fmt.Errorf("sipp exit %d, no statistics (%v); output:\n%s", r.code, err, tail(filepath.Join(dir, "sipp.out"), 30))
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*_rtt.csv")); len(files) > 0 {
		r.rtt, _ = readSippRTT(files[0])
	}
	r.errLog = head(filepath.Join(dir, "errors.log"), 40)
	r.outTail = tail(filepath.Join(dir, "sipp.out"), 25)
	return r, nil
}

// sippStats are the cumulative figures of the last line of sipp's
// -trace_stat file.
type sippStats struct {
	fields map[string]string
}

func (s sippStats) int(name string) int {
	v, _ := strconv.Atoi(s.fields[name])
	return v
}

func (s sippStats) float(name string) float64 {
	v, _ := strconv.ParseFloat(s.fields[name], 64)
	return v
}

// ms reads one of sipp's durations, HH:MM:SS:uuuuuu, in milliseconds.
func (s sippStats) ms(name string) float64 { return parseSippDuration(s.fields[name]) }

func parseSippDuration(v string) float64 {
	p := strings.Split(v, ":")
	if len(p) != 4 {
		return math.NaN()
	}
	var n [4]float64
	for i, s := range p {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return math.NaN()
		}
		n[i] = f
	}
	return (n[0]*3600+n[1]*60+n[2])*1000 + n[3]/1000
}

// failedCounters are the "(C)" failure columns worth naming in a report.
var failedCounters = []string{
	"FailedCannotSendMessage", "FailedMaxUDPRetrans", "FailedUnexpectedMessage", "FailedCallRejected",
	"FailedCmdNotSent", "FailedOutboundCongestion", "FailedTimeoutOnRecv", "FailedTimeoutOnSend",
}

// failures names the non-zero failure reasons, e.g. "FailedTimeoutOnRecv=3".
func (s sippStats) failures() string {
	var out []string
	for _, f := range failedCounters {
		if n := s.int(f + "(C)"); n > 0 {
			out = append(out, fmt.Sprintf("%s=%d", strings.TrimPrefix(f, "Failed"), n))
		}
	}
	return strings.Join(out, " ")
}

func readSippStats(path string) (sippStats, error) {
	f, err := os.Open(path)
	if err != nil {
		return sippStats{}, err
	}
	defer f.Close()
	return parseSippStats(f)
}

func parseSippStats(r io.Reader) (sippStats, error) {
	cr := csv.NewReader(r)
	cr.Comma = ';'
	cr.FieldsPerRecord = -1
	rows, err := cr.ReadAll()
	if err != nil {
		return sippStats{}, err
	}
	if len(rows) < 2 {
		return sippStats{}, fmt.Errorf("%d lines of statistics", len(rows))
	}
	h, last := rows[0], rows[len(rows)-1]
	s := sippStats{fields: map[string]string{}}
	for i, name := range h {
		if i < len(last) {
			s.fields[name] = last[i]
		}
	}
	return s, nil
}

// readSippRTT reads -trace_rtt's file: "date_ms;response_time_ms;rtd_no".
func readSippRTT(path string) (map[int][]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[int][]float64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Split(strings.TrimSpace(sc.Text()), ";")
		if len(p) < 3 {
			continue
		}
		v, err1 := strconv.ParseFloat(p[1], 64)
		n, err2 := strconv.Atoi(p[2])
		if err1 != nil || err2 != nil {
			continue // the header
		}
		out[n] = append(out[n], v)
	}
	return out, sc.Err()
}

// percentile of sorted values (nearest rank); NaN if none.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// latency summarizes response times: mean, p50, p99, max (ms).
type latency struct {
	n                    int
	mean, p50, p99, maxv float64
}

func summarize(v []float64) latency {
	if len(v) == 0 {
		return latency{mean: math.NaN(), p50: math.NaN(), p99: math.NaN(), maxv: math.NaN()}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	var sum float64
	for _, x := range s {
		sum += x
	}
	return latency{n: len(s), mean: sum / float64(len(s)), p50: percentile(s, 50), p99: percentile(s, 99), maxv: s[len(s)-1]}
}

// head returns the first n lines of a file.
func head(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() && len(lines) < n {
		lines = append(lines, sc.Text())
	}
	return strings.Join(lines, "\n")
}
