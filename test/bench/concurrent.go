package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// concResult is one concurrency level: sipp ramps up to N calls to the echo
// route, each streaming a µ-law tone that the platform sends back, holds
// them all for a while, then hangs them up.
type concResult struct {
	N          int     `json:"calls"`
	Ramp       int     `json:"ramp_cps"`
	HoldMS     int     `json:"sipp_d_ms"`
	Load       string  `json:"loadavg_at_start"`
	BusyBefore float64 `json:"machine_busy_pct_before"`
	OK         int     `json:"successful"`
	Failed     int     `json:"failed"`
	Failures   string  `json:"failures,omitempty"`
	Retrans    int     `json:"sipp_retransmissions"`
	DeadCall   int     `json:"sipp_dead_call_msgs"`
	SIPDrops   uint64  `json:"platform_sip_socket_drops"`
	InviteP50  float64 `json:"invite_200_p50_ms"`
	InviteP99  float64 `json:"invite_200_p99_ms"`
	Peak       float64 `json:"peak_sb_calls_active"`
	Plateau    float64 `json:"plateau_seconds"`

	// RTP, from the platform's counters (deltas over the run).
	RTPIn      float64 `json:"rtp_received"`
	RTPOut     float64 `json:"rtp_sent"`
	EchoLoss   float64 `json:"echo_loss_pct"`        // 1 - sent/received
	SeqLoss    float64 `json:"inbound_seq_loss_pct"` // RFC 3550, final call.media_stats
	SeqLost    uint64  `json:"inbound_seq_lost"`
	SockDrops  uint64  `json:"platform_socket_drops"` // kernel, /proc/net/udp
	Softnet    uint64  `json:"softnet_drops"`
	AtSipp     uint64  `json:"echo_seen_at_sipp_socket"`
	JitterMean float64 `json:"jitter_mean_ms"`
	JitterMax  float64 `json:"jitter_max_ms"`
	PPSPerCall float64 `json:"rtp_in_pps_per_call_plateau"` // nominal 50
	Delivered  float64 `json:"rtp_in_vs_nominal_pct"`       // received / (50 pps x call-seconds)

	// Cost.
	CallSeconds   float64 `json:"call_seconds"`
	CPUPerCallSec float64 `json:"platform_cpu_ms_per_call_second"`
	PlatCPUPlat   float64 `json:"platform_cpu_pct_of_core_plateau"`
	SippCPUPlat   float64 `json:"sipp_cpu_pct_of_core_plateau"`
	MachinePlat   float64 `json:"machine_busy_pct_plateau"`
	RSSBeforeMB   float64 `json:"rss_before_mb"`
	RSSPeakMB     float64 `json:"rss_peak_mb"`
	RSSAfterMB    float64 `json:"rss_after_mb"`
	KBPerCall     float64 `json:"rss_kb_per_call"`
	Goroutines    [3]float64
	SocketsAfter  int `json:"platform_rtp_sockets_after"`
	MaxSockets    int `json:"platform_rtp_sockets_peak"`

	SIPErrors float64           `json:"sb_sip_errors_delta"`
	Completed map[string]int    `json:"completed_by_status"`
	Verdict   string            `json:"verdict"`
	Evidence  []string          `json:"evidence,omitempty"`
	Command   string            `json:"sipp_command"`
	extra     map[string]string // notes for the report

	// Transcoding (-scenario transcode): each call is bridged by a dial to
	// an Opus sipp that echoes, so the platform decodes and re-encodes
	// both ways. Call-seconds and CPU are then per bridged call (two legs).
	Transcode     bool    `json:"transcode,omitempty"`
	Dials         int     `json:"dials,omitempty"`
	DialFailed    int     `json:"dials_failed,omitempty"`
	DecodedPeak   float64 `json:"peak_sb_media_decoded_legs,omitempty"`
	LateFrames    float64 `json:"late_frames,omitempty"`
	ComplexityMin float64 `json:"opus_complexity_min,omitempty"`
	ComplexityMax float64 `json:"opus_complexity_max,omitempty"`
	Concealed     uint64  `json:"concealed_frames,omitempty"`
	LatePackets   uint64  `json:"jitter_late_packets,omitempty"`
	JBDelayMean   float64 `json:"jitter_buffer_ms_mean,omitempty"`
	UASCommand    string  `json:"uas_sipp_command,omitempty"`
}

func (b *bench) runConcurrent(ctx context.Context, n int, transcode bool) (*concResult, error) {
	ramp := b.ramp
	if ramp <= 0 {
		ramp = max(50, n/10)
	}
	// Every call lasts the ramp plus the plateau, so that the first call
	// ends only after the last one started: all n are up together for
	// b.hold.
	rampTime := time.Duration(n) * time.Second / time.Duration(ramp)
	holdMS := int((rampTime + b.hold) / time.Millisecond)

	name, service := "concurrent-"+strconv.Itoa(n), "echo"
	if transcode {
		name, service = "transcode-"+strconv.Itoa(n), "bench" // the app route: rings until dialed
	}
	s, err := b.newStep(ctx, name)
	if err != nil {
		return nil, err
	}
	if err := prepareSippDir(s.dir, "rtp.xml"); err != nil {
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
	s.sippDrops = newDropTracker(func(p int) bool { return p == mp })
	args := []string{"127.0.0.1:" + strconv.Itoa(s.plat.sipPort), "-sf", "rtp.xml", "-s", service,
		"-i", "127.0.0.1", "-p", strconv.Itoa(lport[0]), "-mi", "127.0.0.1", "-mp", strconv.Itoa(mp),
		"-m", strconv.Itoa(n), "-l", strconv.Itoa(n), "-r", strconv.Itoa(ramp), "-d", strconv.Itoa(holdMS),
		"-recv_timeout", "10000"}
	timeout := 2*rampTime + b.hold + 60*time.Second

	s.ev, err = watchEvents(s.plat.natsURL)
	if err != nil {
		return nil, err
	}
	var uas *uasRun
	if transcode {
		if uas, err = b.startUAS(ctx, s, n, timeout); err != nil {
			return nil, err
		}
		if err := s.ev.dialOnIncoming("sip:uas@127.0.0.1:" + strconv.Itoa(uas.port)); err != nil {
			return nil, err
		}
	}
	if err := s.begin(); err != nil {
		return nil, err
	}
	sctx, stopSampling := context.WithCancel(ctx)
	wg := s.sampleEvery(sctx, time.Second)
	s.sipp, err = runSipp(ctx, s.dir, timeout, args, func(pid int) {
		s.mu.Lock()
		s.sippPid = pid
		s.mu.Unlock()
	})
	s.sippDone()
	s.finish(45 * time.Second)
	stopSampling()
	wg.Wait()
	s.ev.settle(int(delta(s.before, s.after, "sb_calls_started_total")), 5*time.Second)
	if err != nil {
		return nil, err
	}
	if uas != nil {
		uas.wait()
	}

	st := s.sipp.stats
	r := &concResult{
		N: n, Ramp: ramp, HoldMS: holdMS, Load: s.load, BusyBefore: s.busyBefore,
		OK: st.int("SuccessfulCall(C)"), Failed: st.int("FailedCall(C)"), Failures: st.failures(),
		Retrans: st.int("Retransmissions(C)"), DeadCall: st.int("DeadCallMsgs(C)"), Peak: s.peak("sb_calls_active"),
		RTPIn:     delta(s.before, s.after, "sb_rtp_packets_received_total"),
		RTPOut:    delta(s.before, s.after, "sb_rtp_packets_sent_total"),
		SockDrops: s.platDrops.drops(), AtSipp: s.sippDrops.drops(), SIPDrops: s.sipDrops.drops(),
		Softnet:      s.softnet1 - s.softnet0,
		SIPErrors:    delta(s.before, s.after, "sb_sip_errors_total"),
		RSSBeforeMB:  s.before.sum("process_resident_memory_bytes") / 1e6,
		RSSPeakMB:    s.peak("process_resident_memory_bytes") / 1e6,
		RSSAfterMB:   s.after.sum("process_resident_memory_bytes") / 1e6,
		Goroutines:   [3]float64{s.before.sum("go_goroutines"), s.peak("go_goroutines"), s.after.sum("go_goroutines")},
		SocketsAfter: s.platDrops.open, MaxSockets: s.platDrops.maxOpen,
		Command: "sipp " + shellJoin(s.sipp.args), extra: map[string]string{},
	}
	if inv := s.sipp.rtt[1]; len(inv) > 0 {
		l := summarize(inv)
		r.InviteP50, r.InviteP99 = l.p50, l.p99
	}
	if r.RTPIn > 0 {
		r.EchoLoss = 100 * (1 - r.RTPOut/r.RTPIn)
	}
	if r.Peak > 0 {
		r.KBPerCall = 1000 * (r.RSSPeakMB - r.RSSBeforeMB) / r.Peak
	}
	ev := s.ev
	ev.mu.Lock()
	r.Completed = ev.completed
	r.CallSeconds = ev.duration
	r.SeqLost = ev.lost
	if ev.rtpIn+ev.lost > 0 {
		r.SeqLoss = 100 * float64(ev.lost) / float64(ev.rtpIn+ev.lost)
	}
	if ev.final > 0 {
		r.JitterMean = ev.jitterSum / float64(ev.final)
	}
	r.JitterMax = ev.jitterMax
	if ev.final != r.OK {
		r.extra["media_stats"] = fmt.Sprintf("final call.media_stats for %d calls (sipp: %d successful)", ev.final, r.OK)
	}
	ev.mu.Unlock()

	if transcode {
		r.transcoding(s, uas)
	}
	cpu := delta(s.before, s.after, "process_cpu_seconds_total")
	if r.CallSeconds > 0 {
		r.CPUPerCallSec = 1000 * cpu / r.CallSeconds
		r.Delivered = 100 * r.RTPIn / (50 * r.CallSeconds)
		if transcode {
			r.Delivered /= 2 // both legs' packets come in: 100 pps a bridged call
		}
	}
	// The plateau: every sample with (nearly) all calls up.
	if p, ok := s.plateau(max(1, 0.99*r.Peak)); ok && p.dur > 0 {
		r.Plateau = p.dur.Seconds()
		r.PlatCPUPlat = 100 * p.cpu / p.dur.Seconds()
		r.SippCPUPlat = 100 * p.sippCPU / p.dur.Seconds()
		r.MachinePlat = p.machine
		if p.meanActive > 0 {
			r.PPSPerCall = p.rtpIn / p.dur.Seconds() / p.meanActive
		}
	}

	r.Evidence = s.evidence()
	if r.SocketsAfter > 0 {
		r.Evidence = append(r.Evidence, fmt.Sprintf("%d platform RTP sockets still open after every call ended", r.SocketsAfter))
	}
	switch {
	case s.crashed || s.log.panic:
		r.Verdict = "platform crashed"
	case r.Failed > 0 || r.OK < n:
		r.Verdict = fmt.Sprintf("FAIL: %d of %d calls failed", n-r.OK, n)
	case r.Peak < float64(n):
		r.Verdict = fmt.Sprintf("only %.0f of %d calls up at once", r.Peak, n)
	case r.SIPErrors > 0:
		r.Verdict = fmt.Sprintf("FAIL: %.0f SIP errors at the edge", r.SIPErrors)
	default:
		r.Verdict = "ok"
	}
	if r.SippCPUPlat >= 90 {
		r.Verdict += "; sipp-bound"
	}
	if r.PPSPerCall > 0 && r.PPSPerCall < 47.5 {
		r.Verdict += fmt.Sprintf("; RTP in %.1f pps/call (nominal 50)", r.PPSPerCall)
	}
	if s.idleErr != nil {
		r.Verdict += "; calls left over"
	}
	if transcode && strings.HasPrefix(r.Verdict, "ok") {
		switch {
		case r.DialFailed > 0 || r.Dials < n:
			r.Verdict = fmt.Sprintf("FAIL: %d dials for %d calls, %d refused", r.Dials, n, r.DialFailed)
		case r.DecodedPeak < float64(2*n):
			r.Verdict = fmt.Sprintf("only %.0f of %d legs transcoded at once", r.DecodedPeak, 2*n)
		case r.LateFrames > 0:
			r.Verdict += fmt.Sprintf("; %.0f late frames", r.LateFrames)
		}
	}
	return r, nil
}
