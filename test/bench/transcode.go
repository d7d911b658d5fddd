package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// uasRun is the Opus sipp of the transcoding scenario, answering the
// platform's dials and echoing the Opus it receives.
type uasRun struct {
	port int
	args []string
	wg   sync.WaitGroup
	run  *sippRun
	err  error
}

// startUAS starts sipp as the called side (scenarios/uas_opus.xml) for n
// calls, in its own directory under the step's.
func (b *bench) startUAS(ctx context.Context, s *step, n int, timeout time.Duration) (*uasRun, error) {
	dir := filepath.Join(s.dir, "uas")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := prepareSippDir(dir, "uas_opus.xml"); err != nil {
		return nil, err
	}
	lport, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	mp, err := freeUDPPair(b.sippMediaPort + 100)
	if err != nil {
		return nil, err
	}
	u := &uasRun{port: lport[0]}
	u.args = []string{"-sf", "uas_opus.xml", "-i", "127.0.0.1", "-p", strconv.Itoa(u.port),
		"-mi", "127.0.0.1", "-mp", strconv.Itoa(mp), "-rtp_echo", "-m", strconv.Itoa(n)}
	u.wg.Go(func() { u.run, u.err = runSipp(ctx, dir, timeout, u.args, nil) })
	// sipp listens within a few ms; give it a moment before calls arrive.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && !udpBound(u.port) {
		time.Sleep(20 * time.Millisecond)
	}
	return u, nil
}

// wait waits for the UAS sipp to finish (it stops after n calls, or at
// its timeout).
func (u *uasRun) wait() { u.wg.Wait() }

// udpBound reports whether a UDP socket is bound to port on this machine.
func udpBound(port int) bool {
	for _, s := range readUDPSockets() {
		if s.port == port {
			return true
		}
	}
	return false
}

// transcoding fills the transcoding figures of r.
func (r *concResult) transcoding(s *step, u *uasRun) {
	r.Transcode = true
	r.UASCommand = "sipp " + shellJoin(u.args)
	if u.err != nil {
		r.extra["uas"] = "UAS sipp: " + u.err.Error()
	} else if u.run != nil {
		if ok := u.run.stats.int("SuccessfulCall(C)"); ok < r.N {
			r.extra["uas"] = fmt.Sprintf("UAS sipp: %d successful calls of %d (%s)", ok, r.N, u.run.stats.failures())
		}
	}
	r.DecodedPeak = s.peak("sb_media_decoded_legs")
	r.LateFrames = delta(s.before, s.after, "sb_media_late_frames_total")
	r.ComplexityMin, r.ComplexityMax = s.span("sb_media_opus_complexity")
	ev := s.ev
	ev.mu.Lock()
	defer ev.mu.Unlock()
	r.Dials, r.DialFailed = ev.dials, ev.dialFailed
	if ev.dialErr != "" {
		r.extra["dial"] = "last refused dial: " + ev.dialErr
	}
	r.Concealed, r.LatePackets = ev.concealed, ev.latePkts
	if ev.jbLegs > 0 {
		r.JBDelayMean = ev.jbDelaySum / float64(ev.jbLegs)
	}
	// Per bridged call: the events count both legs' seconds.
	r.CallSeconds /= 2
}

// span is the least and greatest value of a metric over the step's samples.
func (s *step) span(name string) (lo, hi float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	first := true
	for _, sm := range s.samples {
		if sm.m == nil {
			continue
		}
		v := sm.m.sum(name)
		if first {
			lo, hi, first = v, v, false
		}
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}
