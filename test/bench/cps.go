package main

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// cpsResult is one call rate: sipp places calls to the echo route (answer,
// ACK, BYE at once, no media) at a fixed rate for a fixed number of calls.
type cpsResult struct {
	Rate        int     `json:"target_cps"`
	Calls       int     `json:"calls"`
	Load        string  `json:"loadavg_at_start"`
	BusyBefore  float64 `json:"machine_busy_pct_before"`
	OK          int     `json:"successful"`
	Failed      int     `json:"failed"`
	Failures    string  `json:"failures,omitempty"`
	Achieved    float64 `json:"achieved_cps"`
	Retrans     int     `json:"sipp_retransmissions"`
	DeadCall    int     `json:"sipp_dead_call_msgs"` // responses for calls sipp had finished
	SIPDrops    uint64  `json:"platform_sip_socket_drops"`
	InviteMean  float64 `json:"invite_200_mean_ms"`
	InviteP50   float64 `json:"invite_200_p50_ms"`
	InviteP99   float64 `json:"invite_200_p99_ms"`
	InviteMax   float64 `json:"invite_200_max_ms"`
	ByeP50      float64 `json:"bye_200_p50_ms"`
	ByeP99      float64 `json:"bye_200_p99_ms"`
	CPUPerCall  float64 `json:"platform_cpu_ms_per_call"`
	PlatCPU     float64 `json:"platform_cpu_pct_of_core"`
	SippCPU     float64 `json:"sipp_cpu_pct_of_core"`
	Machine     float64 `json:"machine_busy_pct"`
	SIPErrors   float64 `json:"sb_sip_errors_delta"`
	Completed   float64 `json:"sb_calls_completed_delta"`
	PeakActive  float64 `json:"peak_sb_calls_active"`
	PeakRSSMB   float64 `json:"peak_rss_mb"`
	Goroutines  [2]float64
	Verdict     string   `json:"verdict"`
	Evidence    []string `json:"evidence,omitempty"`
	Command     string   `json:"sipp_command"`
	sippBound   bool
	platformErr bool
}

func (b *bench) runCPS(ctx context.Context, rate int) (*cpsResult, error) {
	calls := rate * b.cpsSeconds
	s, err := b.newStep(ctx, "cps-"+strconv.Itoa(rate))
	if err != nil {
		return nil, err
	}
	if err := prepareSippDir(s.dir, "cps.xml"); err != nil {
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
	// -l bounds the calls sipp keeps open: a platform that falls behind
	// makes sipp slow down (the achieved rate drops) instead of piling up.
	limit := max(100, 4*rate)
	args := []string{"127.0.0.1:" + strconv.Itoa(s.plat.sipPort), "-sf", "cps.xml", "-s", "echo",
		"-i", "127.0.0.1", "-p", strconv.Itoa(lport[0]), "-mi", "127.0.0.1", "-mp", strconv.Itoa(mp),
		"-m", strconv.Itoa(calls), "-r", strconv.Itoa(rate), "-l", strconv.Itoa(limit), "-d", "0",
		"-recv_timeout", "5000"}
	timeout := time.Duration(calls/rate)*time.Second + 60*time.Second

	if err := s.begin(); err != nil {
		return nil, err
	}
	sctx, stopSampling := context.WithCancel(ctx)
	wg := s.sampleEvery(sctx, 500*time.Millisecond)
	s.sipp, err = runSipp(ctx, s.dir, timeout, args, func(pid int) {
		s.mu.Lock()
		s.sippPid = pid
		s.mu.Unlock()
	})
	s.sippDone()
	s.finish(40 * time.Second)
	stopSampling()
	wg.Wait()
	if err != nil {
		return nil, err
	}

	st := s.sipp.stats
	r := &cpsResult{
		Rate: rate, Calls: calls, Load: s.load, BusyBefore: s.busyBefore,
		OK: st.int("SuccessfulCall(C)"), Failed: st.int("FailedCall(C)"), Failures: st.failures(),
		Achieved:   st.float("CallRate(C)"), // calls created / elapsed, sipp's own figure
		Retrans:    st.int("Retransmissions(C)"),
		DeadCall:   st.int("DeadCallMsgs(C)"),
		SIPDrops:   s.sipDrops.drops(),
		SIPErrors:  delta(s.before, s.after, "sb_sip_errors_total"),
		Completed:  delta(s.before, s.after, "sb_calls_completed_total"),
		PeakActive: s.peak("sb_calls_active"), PeakRSSMB: s.peak("process_resident_memory_bytes") / 1e6,
		Goroutines: [2]float64{s.before.sum("go_goroutines"), s.after.sum("go_goroutines")},
		Machine:    busyPct(s.cpu0, s.cpuMid),
		Command:    "sipp " + shellJoin(s.sipp.args),
	}
	if inv := s.sipp.rtt[1]; len(inv) > 0 {
		l := summarize(inv)
		r.InviteMean, r.InviteP50, r.InviteP99, r.InviteMax = l.mean, l.p50, l.p99, l.maxv
	} else {
		r.InviteMean = st.ms("ResponseTime1(C)")
	}
	if bye := s.sipp.rtt[2]; len(bye) > 0 {
		l := summarize(bye)
		r.ByeP50, r.ByeP99 = l.p50, l.p99
	}
	cpu := delta(s.before, s.after, "process_cpu_seconds_total")
	if r.OK > 0 {
		r.CPUPerCall = 1000 * cpu / float64(r.OK)
	}
	// Shares of a core while sipp ran (the wait for leftover calls after it
	// would dilute them).
	wall := s.cpuMid.at.Sub(s.cpu0.at).Seconds()
	r.PlatCPU = 100 * delta(s.before, s.mid, "process_cpu_seconds_total") / wall
	r.SippCPU = 100 * s.sipp.cpu / wall
	r.sippBound = r.SippCPU >= 90

	r.Evidence = s.evidence()
	switch {
	case s.crashed || s.log.panic:
		r.Verdict, r.platformErr = "platform crashed", true
	case r.Failed > 0 || r.OK < calls:
		r.Verdict = fmt.Sprintf("FAIL: %d of %d calls failed", calls-r.OK, calls)
	case r.SIPErrors > 0:
		r.Verdict, r.platformErr = fmt.Sprintf("FAIL: %0.f SIP errors at the edge", r.SIPErrors), true
	case r.Achieved < 0.95*float64(rate):
		r.Verdict = fmt.Sprintf("rate not reached (%.0f cps)", r.Achieved)
	default:
		r.Verdict = "ok"
	}
	if r.sippBound {
		r.Verdict += "; sipp-bound"
	}
	if s.idleErr != nil {
		r.Verdict += "; calls left over"
	}
	return r, nil
}
