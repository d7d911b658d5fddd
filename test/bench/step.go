package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/switchboard-voip/switchboard/events"
)

// step is one measurement: a fresh platform, one sipp run against it, and
// everything observed around it.
type step struct {
	name       string
	dir        string
	plat       *platform
	load       string  // /proc/loadavg when the step started
	busyBefore float64 // machine busy % over the 3 s before it

	before, after metrics
	mid           metrics  // when sipp ended
	cpuMid        cpuTimes // when sipp ended
	cpu0, cpu1    cpuTimes // machine
	softnet0      uint64
	softnet1      uint64
	platDrops     *dropTracker // the platform's RTP sockets
	sipDrops      *dropTracker // the platform's SIP socket
	sippDrops     *dropTracker // sipp's media socket
	idleErr       error        // calls left after sipp ended
	cleanExit     bool
	crashed       bool
	log           logSummary

	sipp    *sippRun
	sippPid int

	mu      sync.Mutex
	samples []sample

	ev *eventTally
}

// sample is one look at the platform and the machine during a step.
type sample struct {
	t        time.Time
	m        metrics // nil if the scrape failed
	cpu      cpuTimes
	sippCPU  float64
	platCPU  float64
	platOpen int // the platform's open RTP sockets
}

// newStep waits for the machine to be quiet, then starts a fresh platform
// in its own directory.
func (b *bench) newStep(ctx context.Context, name string) (*step, error) {
	dir := filepath.Join(b.work, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	busy := b.waitQuiet(ctx)
	s := &step{name: name, dir: dir, load: loadavg(), busyBefore: busy}
	var err error
	s.plat, err = startPlatform(ctx, platformConfig{bin: b.bin, dir: dir, rtpMin: b.rtpMin, rtpMax: b.rtpMax, extra: b.platArgs})
	if err != nil {
		return nil, err
	}
	s.platDrops = newDropTracker(func(p int) bool { return p >= b.rtpMin && p <= b.rtpMax })
	s.sipDrops = newDropTracker(func(p int) bool { return p == s.plat.sipPort })
	return s, nil
}

// waitQuiet waits until the whole machine is less than b.quiet % busy
// over 3 s (other work on a shared machine would distort the figures), or
// b.quietMax passes. It returns the last busy figure.
func (b *bench) waitQuiet(ctx context.Context) float64 {
	deadline := time.Now().Add(b.quietMax)
	for announced := false; ; {
		a := readCPU()
		select {
		case <-ctx.Done():
			return math.NaN()
		case <-time.After(3 * time.Second):
		}
		busy := busyPct(a, readCPU())
		if b.quiet <= 0 || busy < b.quiet {
			return busy
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "bench: machine still %.0f%% busy after %v; measuring anyway\n", busy, b.quietMax)
			return busy
		}
		if !announced {
			fmt.Fprintf(os.Stderr, "bench: machine %.0f%% busy (other work); waiting for < %.0f%% ...\n", busy, b.quiet)
			announced = true
		}
	}
}

// begin takes the "before" figures right before sipp starts.
func (s *step) begin() error {
	var err error
	if s.before, err = s.plat.metrics(); err != nil {
		return err
	}
	s.cpu0, s.softnet0 = readCPU(), softnetDropped()
	return nil
}

// sampleEvery looks at the platform every d until ctx ends.
func (s *step) sampleEvery(ctx context.Context, d time.Duration) *sync.WaitGroup {
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			s.look()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
	return &wg
}

func (s *step) look() {
	m, _ := s.plat.metrics()
	s.platDrops.look()
	s.sipDrops.look()
	if s.sippDrops != nil {
		s.sippDrops.look()
	}
	sm := sample{t: time.Now(), m: m, cpu: readCPU(), platCPU: procCPU(s.plat.pid()), platOpen: s.platDrops.open}
	s.mu.Lock()
	if s.sippPid > 0 {
		sm.sippCPU = procCPU(s.sippPid)
	}
	s.samples = append(s.samples, sm)
	s.mu.Unlock()
}

// sippDone takes the figures of the moment sipp ended, before the wait for
// leftover calls, so that rates are over the time sipp was sending.
func (s *step) sippDone() {
	s.mid, _ = s.plat.metrics()
	s.cpuMid = readCPU()
}

// finish waits for the platform to be idle, takes the "after" figures and
// stops the platform.
func (s *step) finish(idleWait time.Duration) {
	s.after, s.idleErr = s.plat.waitIdle(idleWait)
	s.cpu1, s.softnet1 = readCPU(), softnetDropped()
	s.platDrops.look()
	s.sipDrops.look()
	s.crashed = s.plat.exited()
	s.cleanExit = s.plat.stop()
	s.log = summarizeLog(s.plat.logPath)
	os.RemoveAll(filepath.Join(s.dir, "data")) // the JetStream store: large and not evidence
}

// peak is the highest value of a summed metric over the samples.
func (s *step) peak(name string) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var p float64
	for _, sm := range s.samples {
		if sm.m != nil {
			p = max(p, sm.m.sum(name))
		}
	}
	return p
}

// plateau is the span during which at least threshold calls were active:
// its length, the platform CPU used in it, RTP received in it, and the
// mean number of active calls.
type plateau struct {
	dur        time.Duration
	cpu        float64
	rtpIn      float64
	rtpOut     float64
	meanActive float64
	machine    float64 // machine busy %
	sippCPU    float64 // seconds
}

func (s *step) plateau(threshold float64) (plateau, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	first, last := -1, -1
	for i, sm := range s.samples {
		if sm.m != nil && sm.m.sum("sb_calls_active") >= threshold {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 || last <= first {
		return plateau{}, false
	}
	a, b := s.samples[first], s.samples[last]
	var act float64
	for _, sm := range s.samples[first : last+1] {
		act += sm.m.sum("sb_calls_active")
	}
	p := plateau{
		dur:        b.t.Sub(a.t),
		cpu:        b.m.sum("process_cpu_seconds_total") - a.m.sum("process_cpu_seconds_total"),
		rtpIn:      b.m.sum("sb_rtp_packets_received_total") - a.m.sum("sb_rtp_packets_received_total"),
		rtpOut:     b.m.sum("sb_rtp_packets_sent_total") - a.m.sum("sb_rtp_packets_sent_total"),
		meanActive: act / float64(last-first+1),
		machine:    busyPct(a.cpu, b.cpu),
	}
	if a.sippCPU > 0 && b.sippCPU > 0 {
		p.sippCPU = b.sippCPU - a.sippCPU
	}
	return p, true
}

// eventTally sums the call events the platform publishes: the final media
// statistics of every call (the platform's own RFC 3550 loss and jitter)
// and how calls completed.
type eventTally struct {
	mu        sync.Mutex
	nc        *nats.Conn
	sub       *nats.Subscription
	completed map[string]int // by status
	duration  float64        // answered seconds, all calls
	final     int            // calls with final media statistics
	rtpIn     uint64
	rtpOut    uint64
	lost      uint64
	jitterSum float64
	jitterMax float64
	bad       int

	// Transcoding scenario: every call ringing on the app route is bridged
	// by a dial to dialTo (the Opus sipp).
	dialTo     string
	inbox      string
	dials      int
	dialFailed int
	dialErr    string
	concealed  uint64  // frames made up on decoded legs
	latePkts   uint64  // packets the jitter buffers dropped as late
	jbDelaySum float64 // jitter buffer delay, ms, summed over decoded legs
	jbLegs     int
}

// dialOnIncoming makes the tally bridge every incoming app-route call to
// to, as an application would: dial with bridge_to.
func (t *eventTally) dialOnIncoming(to string) error {
	t.dialTo, t.inbox = to, t.nc.NewRespInbox()
	sub, err := t.nc.Subscribe(t.inbox, func(m *nats.Msg) {
		var r struct {
			Code  int    `json:"code"`
			Error string `json:"error"`
		}
		_ = json.Unmarshal(m.Data, &r)
		t.mu.Lock()
		defer t.mu.Unlock()
		if r.Code/100 != 2 {
			t.dialFailed++
			t.dialErr = fmt.Sprintf("%d %s", r.Code, r.Error)
		}
	})
	if err != nil {
		return err
	}
	_ = sub.SetPendingLimits(-1, -1)
	return t.nc.Flush()
}

func watchEvents(url string) (*eventTally, error) {
	nc, err := nats.Connect(url, nats.Name("switchboard bench"))
	if err != nil {
		return nil, err
	}
	t := &eventTally{nc: nc, completed: map[string]int{}}
	t.sub, err = nc.Subscribe("sb.evt.call.*.*", t.on)
	if err != nil {
		nc.Close()
		return nil, err
	}
	_ = t.sub.SetPendingLimits(-1, -1)
	if err := nc.Flush(); err != nil {
		nc.Close()
		return nil, err
	}
	return t, nil
}

func (t *eventTally) on(m *nats.Msg) {
	e, err := events.Parse(m.Data)
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		t.bad++
		return
	}
	switch d := e.Data.(type) {
	case *events.CallIncoming:
		if t.dialTo != "" && d.Route == "app" {
			b, _ := json.Marshal(events.Dial{To: t.dialTo, BridgeTo: e.CallID})
			if err := t.nc.PublishRequest("sb.cmd.dial", t.inbox, b); err != nil {
				t.dialFailed++
				t.dialErr = err.Error()
			}
			t.dials++
		}
	case *events.CallCompleted:
		t.completed[d.Status]++
		t.duration += d.Duration
	case *events.CallMediaStats:
		if !d.Final {
			return
		}
		t.final++
		t.rtpIn += d.PacketsReceived
		t.rtpOut += d.PacketsSent
		t.lost += d.PacketsLost
		t.jitterSum += d.JitterMS
		t.jitterMax = max(t.jitterMax, d.JitterMS)
		if d.JitterBufferMS > 0 {
			t.jbLegs++
			t.jbDelaySum += d.JitterBufferMS
		}
		t.concealed += d.ConcealedFrames
		t.latePkts += d.LatePackets
	}
}

// settle waits until n calls have completed (or d passes), then stops.
func (t *eventTally) settle(n int, d time.Duration) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		t.mu.Lock()
		done := 0
		for _, c := range t.completed {
			done += c
		}
		t.mu.Unlock()
		if done >= n {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = t.sub.Unsubscribe()
	t.nc.Close()
}

func (t *eventTally) completedTotal() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, c := range t.completed {
		n += c
	}
	return n
}

// evidence collects what a failing step leaves for a bug report.
func (s *step) evidence() []string {
	var out []string
	if s.crashed {
		out = append(out, "platform process exited during the run; log: "+s.plat.logPath)
	}
	if s.idleErr != nil {
		out = append(out, "after sipp ended: "+s.idleErr.Error())
	}
	if s.log.panic {
		out = append(out, "PANIC in the platform log "+s.plat.logPath)
	}
	if s.log.warn+s.log.errors > 0 {
		out = append(out, fmt.Sprintf("platform log: %d WARN, %d ERROR lines (%s); first of each kind:", s.log.warn, s.log.errors, s.plat.logPath))
		for _, l := range s.log.first {
			out = append(out, "    "+truncate(l, 300))
		}
	}
	if s.sipp != nil {
		if f := s.sipp.stats.failures(); f != "" {
			out = append(out, "sipp failures: "+f)
		}
		if n := s.sipp.stats.int("Retransmissions(C)"); n > 0 {
			out = append(out, "sipp retransmissions: "+strconv.Itoa(n))
		}
		if s.sipp.errLog != "" {
			out = append(out, "sipp error log ("+filepath.Join(s.sipp.dir, "errors.log")+"), first lines:")
			for _, l := range splitLines(s.sipp.errLog, 12) {
				out = append(out, "    "+truncate(l, 300))
			}
		}
	}
	for reason, d := range deltaSeries(s.before, s.after, "sb_sip_errors_total") {
		out = append(out, fmt.Sprintf("sb_sip_errors_total{%s} +%.0f", reason, d))
	}
	if d := delta(s.before, s.after, "sb_media_sip_bad_total"); d > 0 {
		out = append(out, fmt.Sprintf("sb_media_sip_bad_total +%.0f", d))
	}
	if d := delta(s.before, s.after, "sb_rtp_malformed_total"); d > 0 {
		out = append(out, fmt.Sprintf("sb_rtp_malformed_total +%.0f", d))
	}
	return out
}
