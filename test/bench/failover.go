package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/test/peers"
	"github.com/switchboard-voip/switchboard/test/rtpcap"
)

// Scenario failover: the media gap a phone hears when the media worker
// owning its call is lost. One `switchboard up` runs the edge, NATS and the
// conference and dtmf roles; failoverWorkers `switchboard worker` processes
// run the media role. sipp places N echo calls streaming a tone; once all
// are up, the worker with the most calls is killed (kill -9) or drained
// (SIGTERM). dumpcap records the RTP reaching sipp; for every call that
// moved, the gap is the longest time without an echoed packet from the
// signal to a second after the call's call.migrated (packets are told
// apart by the owner's RTP port, old then new). call.migrated's own gap_ms
// (takeover to the re-INVITE's 2xx) is reported next to it.

const failoverWorkers = 3

// failoverResult is one (calls, how) step.
type failoverResult struct {
	N          int     `json:"calls"`
	How        string  `json:"how"` // kill or drain
	Load       string  `json:"loadavg_at_start"`
	BusyBefore float64 `json:"machine_busy_pct_before"`
	OK         int     `json:"successful"`
	Failed     int     `json:"failed"`
	Failures   string  `json:"failures,omitempty"`
	OnVictim   int     `json:"calls_on_lost_worker"`
	Moved      int     `json:"calls_moved"`
	NoEcho     int     `json:"moved_without_echo_after"` // fewer than 25 packets from the new owner in the second after the move
	GapP50     float64 `json:"phone_gap_p50_ms"`
	GapP99     float64 `json:"phone_gap_p99_ms"`
	GapMax     float64 `json:"phone_gap_max_ms"`
	// The same measure for the calls that did not move, over the same
	// window (the signal to a second after the last move): what the machine
	// and sipp alone cost, the baseline of the figures above.
	CtrlP50    float64 `json:"unmoved_gap_p50_ms"`
	CtrlP99    float64 `json:"unmoved_gap_p99_ms"`
	PlatP50    float64 `json:"gap_ms_event_p50"`
	PlatP99    float64 `json:"gap_ms_event_p99"`
	LastMoved  float64 `json:"last_moved_after_signal_ms"`
	Exit       float64 `json:"drained_worker_exit_ms,omitempty"`
	Captured   int     `json:"rtp_packets_captured"`
	CaptureErr string  `json:"capture_error,omitempty"`
	Completed  map[string]int
	Verdict    string `json:"verdict"`
	Command    string `json:"sipp_command"`
}

type workerProc struct {
	id, http string
	cmd      *exec.Cmd
	log      *os.File
	done     chan struct{}
}

func (w *workerProc) stop() {
	select {
	case <-w.done:
	default:
		_ = w.cmd.Process.Kill()
		<-w.done
	}
	w.log.Close()
}

func (b *bench) startWorker(ctx context.Context, dir, id, natsURL string) (*workerProc, error) {
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	w := &workerProc{id: id, http: "127.0.0.1:" + strconv.Itoa(ports[0]), done: make(chan struct{})}
	if w.log, err = os.Create(filepath.Join(dir, id+".log")); err != nil {
		return nil, err
	}
	w.cmd = exec.Command(b.bin, "worker", "--node-id", id, "--nats", natsURL, "--roles", "media",
		"--http", w.http, "--media-ip", "127.0.0.1", "--log-level", "warn",
		"--rtp-port-min", strconv.Itoa(b.rtpMin), "--rtp-port-max", strconv.Itoa(b.rtpMax))
	w.cmd.Stdout, w.cmd.Stderr = w.log, w.log
	w.cmd.Env = cleanEnv()
	w.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := w.cmd.Start(); err != nil {
		w.log.Close()
		return nil, err
	}
	go func() { _ = w.cmd.Wait(); close(w.done) }()
	for deadline := time.Now().Add(30 * time.Second); ; {
		if code, _ := httpGet("http://" + w.http + "/healthz"); code == http.StatusOK {
			return w, nil
		}
		select {
		case <-w.done:
			w.log.Close()
			return nil, fmt.Errorf("worker %s exited during start-up", id)
		case <-ctx.Done():
			w.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			w.stop()
			return nil, fmt.Errorf("worker %s not ready within 30s", id)
		}
	}
}

// moveLog collects the call events a failover step needs.
type moveLog struct {
	mu        sync.Mutex
	owner     map[string]string // call -> node that answered it
	local     map[string]string // call -> its RTP address there
	moved     map[string]moveEv
	completed map[string]int
}

type moveEv struct {
	at            time.Time
	from, to, rtp string
	gapMS         float64
}

func (l *moveLog) on(m *nats.Msg) {
	e, err := events.Parse(m.Data)
	if err != nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch d := e.Data.(type) {
	case *events.CallAnswered:
		l.owner[e.CallID], l.local[e.CallID] = e.Node, d.LocalRTP
	case *events.CallMigrated:
		if _, ok := l.moved[e.CallID]; !ok { // the first move (each call moves once here)
			l.moved[e.CallID] = moveEv{e.Time, d.FromNode, d.ToNode, d.LocalRTP, d.GapMS}
		}
	case *events.CallCompleted:
		l.completed[d.Status+"/"+d.HangupBy]++
	}
}

func (b *bench) runFailover(ctx context.Context, n int, how string) (*failoverResult, error) {
	name := "failover-" + how + "-" + strconv.Itoa(n)
	dir := filepath.Join(b.work, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	busy := b.waitQuiet(ctx)
	r := &failoverResult{N: n, How: how, Load: loadavg(), BusyBefore: busy}
	plat, err := startPlatform(ctx, platformConfig{bin: b.bin, dir: dir, rtpMin: b.rtpMin, rtpMax: b.rtpMax,
		extra: append([]string{"--roles", "conference,dtmf"}, b.platArgs...)})
	if err != nil {
		return nil, err
	}
	defer plat.stop()
	var ws []*workerProc
	defer func() {
		for _, w := range ws {
			w.stop()
		}
	}()
	for i := range failoverWorkers {
		w, err := b.startWorker(ctx, dir, "w"+strconv.Itoa(i+1), plat.natsURL)
		if err != nil {
			return nil, err
		}
		ws = append(ws, w)
	}
	if err := waitMediaSpread(ctx, b.bin, plat.natsURL, len(ws)); err != nil {
		return nil, err
	}

	nc, err := nats.Connect(plat.natsURL, nats.Name("switchboard bench"))
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	ml := &moveLog{owner: map[string]string{}, local: map[string]string{}, moved: map[string]moveEv{}, completed: map[string]int{}}
	sub, err := nc.Subscribe("sb.evt.call.*.*", ml.on)
	if err != nil {
		return nil, err
	}
	_ = sub.SetPendingLimits(-1, -1)
	if err := nc.Flush(); err != nil {
		return nil, err
	}

	// sipp: n calls at up to 50 a second, each long enough to be up well
	// after the move (rounds of 1 s, restarted by each re-INVITE).
	ramp := min(50, n)
	rampTime := time.Duration(n) * time.Second / time.Duration(ramp)
	rounds := int((rampTime + 20*time.Second) / time.Second)
	if err := os.WriteFile(filepath.Join(dir, "moving.xml"), []byte(peers.MovingCallScenario(rounds, 1000)), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "tone.ulaw"), tone(1000, 8000), 0o644); err != nil {
		return nil, err
	}
	lport, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	mp, err := freeUDPPair(b.sippMediaPort)
	if err != nil {
		return nil, err
	}
	capture, err := rtpcap.Start(dir, mp, mp+4*n-1, rampTime+2*time.Minute)
	if err != nil {
		return nil, err
	}
	defer func() { _, _ = capture.Stop() }()
	args := []string{"127.0.0.1:" + strconv.Itoa(plat.sipPort), "-sf", "moving.xml", "-s", "echo",
		"-i", "127.0.0.1", "-p", strconv.Itoa(lport[0]), "-mi", "127.0.0.1", "-mp", strconv.Itoa(mp),
		"-m", strconv.Itoa(n), "-l", strconv.Itoa(n), "-r", strconv.Itoa(ramp)}
	r.Command = "sipp " + shellJoin(args)
	type sippDone struct {
		run *sippRun
		err error
	}
	sippCh := make(chan sippDone, 1)
	go func() {
		run, err := runSipp(ctx, dir, rampTime+time.Duration(rounds+60)*time.Second, args, nil)
		sippCh <- sippDone{run, err}
	}()

	answered := func() int {
		ml.mu.Lock()
		defer ml.mu.Unlock()
		return len(ml.owner)
	}
	deadline := time.Now().Add(rampTime + 30*time.Second)
	for answered() < n && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
	}
	if got := answered(); got < n {
		r.Verdict = fmt.Sprintf("only %d of %d calls answered", got, n)
	}
	time.Sleep(2 * time.Second) // echo flowing everywhere

	// The victim: the worker with the most calls.
	ml.mu.Lock()
	count := map[string]int{}
	for _, w := range ml.owner {
		count[w]++
	}
	victim := ws[0]
	for _, w := range ws {
		if count[w.id] > count[victim.id] {
			victim = w
		}
	}
	var mine []string
	for c, w := range ml.owner {
		if w == victim.id {
			mine = append(mine, c)
		}
	}
	ml.mu.Unlock()
	r.OnVictim = len(mine)
	sig := syscall.SIGKILL
	if how == "drain" {
		sig = syscall.SIGTERM
	}
	signalled := time.Now()
	_ = victim.cmd.Process.Signal(sig)
	if how == "drain" {
		select {
		case <-victim.done:
			r.Exit = ms(time.Since(signalled))
		case <-time.After(40 * time.Second):
		}
	}
	movedAll := func() bool {
		ml.mu.Lock()
		defer ml.mu.Unlock()
		for _, c := range mine {
			if _, ok := ml.moved[c]; !ok {
				return false
			}
		}
		return true
	}
	for deadline := time.Now().Add(30 * time.Second); !movedAll() && time.Now().Before(deadline) && ctx.Err() == nil; {
		time.Sleep(100 * time.Millisecond)
	}

	sd := <-sippCh
	pkts, capErr := capture.Stop()
	if capErr != nil {
		r.CaptureErr = capErr.Error()
	}
	r.Captured = len(pkts)
	if sd.err != nil {
		return r, sd.err
	}
	st := sd.run.stats
	r.OK, r.Failed, r.Failures = st.int("SuccessfulCall(C)"), st.int("FailedCall(C)"), st.failures()
	time.Sleep(time.Second) // the last call.completed events
	ml.mu.Lock()
	defer ml.mu.Unlock()
	r.Completed = ml.completed

	bySrc := map[uint16][]time.Time{}
	for _, p := range pkts {
		bySrc[p.Src.Port()] = append(bySrc[p.Src.Port()], p.T)
	}
	var gaps, plat50 []time.Duration
	for _, c := range mine {
		m, ok := ml.moved[c]
		if !ok {
			continue
		}
		r.Moved++
		r.LastMoved = max(r.LastMoved, ms(m.at.Sub(signalled)))
		plat50 = append(plat50, time.Duration(m.gapMS*float64(time.Millisecond)))
		from, err1 := netip.ParseAddrPort(ml.local[c])
		to, err2 := netip.ParseAddrPort(m.rtp)
		if err1 != nil || err2 != nil {
			r.NoEcho++
			continue
		}
		if rtpcap.Count(bySrc[to.Port()], m.at, m.at.Add(time.Second)) < 25 {
			r.NoEcho++
			continue
		}
		ts := slices.SortedFunc(slices.Values(slices.Concat(bySrc[from.Port()], bySrc[to.Port()])), time.Time.Compare)
		gaps = append(gaps, rtpcap.LongestGap(ts, signalled, m.at.Add(time.Second)))
	}
	var ctrl []time.Duration
	victimCalls := map[string]bool{}
	for _, c := range mine {
		victimCalls[c] = true
	}
	end := signalled.Add(time.Duration(r.LastMoved*float64(time.Millisecond)) + time.Second)
	for c, addr := range ml.local {
		if victimCalls[c] {
			continue
		}
		if _, moved := ml.moved[c]; moved {
			continue
		}
		if src, err := netip.ParseAddrPort(addr); err == nil && len(bySrc[src.Port()]) > 0 {
			ctrl = append(ctrl, rtpcap.LongestGap(bySrc[src.Port()], signalled, end))
		}
	}
	slices.Sort(ctrl)
	if len(ctrl) > 0 {
		r.CtrlP50, r.CtrlP99 = ms(rtpcap.Percentile(ctrl, 50)), ms(rtpcap.Percentile(ctrl, 99))
	}
	slices.Sort(gaps)
	slices.Sort(plat50)
	if len(gaps) > 0 {
		r.GapP50, r.GapP99, r.GapMax = ms(rtpcap.Percentile(gaps, 50)), ms(rtpcap.Percentile(gaps, 99)), ms(gaps[len(gaps)-1])
	}
	if len(plat50) > 0 {
		r.PlatP50, r.PlatP99 = ms(rtpcap.Percentile(plat50, 50)), ms(rtpcap.Percentile(plat50, 99))
	}
	var bad []string
	if r.Verdict != "" {
		bad = append(bad, r.Verdict)
	}
	if r.OK != n || r.Failed != 0 {
		bad = append(bad, fmt.Sprintf("%d of %d calls successful at sipp", r.OK, n))
	}
	if r.Moved != r.OnVictim {
		bad = append(bad, fmt.Sprintf("%d of %d calls of the lost worker moved", r.Moved, r.OnVictim))
	}
	if r.NoEcho > 0 {
		bad = append(bad, fmt.Sprintf("%d moved calls without echo from the new owner", r.NoEcho))
	}
	if r.CaptureErr != "" {
		bad = append(bad, r.CaptureErr)
	}
	r.Verdict = "ok"
	if len(bad) > 0 {
		r.Verdict = strings.Join(bad, "; ")
	}
	return r, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// waitMediaSpread waits until `switchboard ctl nodes` shows every media
// partition owned, by `workers` nodes.
func waitMediaSpread(ctx context.Context, bin, natsURL string, workers int) error {
	var last string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		out, err := exec.CommandContext(ctx, bin, "ctl", "nodes", "--nats", natsURL, "--json").Output()
		if err == nil {
			var nodes []struct {
				ID         string           `json:"id"`
				Partitions map[string][]int `json:"partitions"`
			}
			if json.Unmarshal(out, &nodes) == nil {
				owners, total := 0, 0
				for _, nd := range nodes {
					if k := len(nd.Partitions[events.RoleMedia]); k > 0 {
						owners++
						total += k
					}
				}
				if owners == workers && total == events.DefaultPartitions {
					return nil
				}
				last = fmt.Sprintf("%d owners, %d partitions", owners, total)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return errors.New("media partitions not spread over the workers within 30s: " + last)
}

func printFailover(rs []*failoverResult) {
	if len(rs) == 0 {
		return
	}
	fmt.Println("\nfailover: media gap seen by sipp (longest silence from the signal to 1 s after the call moved)")
	fmt.Println("| calls | lost worker | its calls | moved | gap p50 | gap p99 | gap max | calls not moved: gap p50 / p99 | gap_ms p50/p99 (event) | last moved after | sipp ok | verdict |")
	fmt.Println("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
	for _, r := range rs {
		how := "kill -9"
		if r.How == "drain" {
			how = fmt.Sprintf("SIGTERM (exit after %.0f ms)", r.Exit)
		}
		fmt.Printf("| %d | %s | %d | %d | %.0f ms | %.0f ms | %.0f ms | %.0f / %.0f ms | %.0f / %.0f ms | %.0f ms | %d/%d | %s |\n",
			r.N, how, r.OnVictim, r.Moved, r.GapP50, r.GapP99, r.GapMax, r.CtrlP50, r.CtrlP99, r.PlatP50, r.PlatP99, r.LastMoved, r.OK, r.N, r.Verdict)
	}
}
