package jitter

// estimator turns packet arrivals into the target playout delay.
//
// Every delay is relative: the transit time of a packet (arrival minus RTP
// timestamp, both in timestamp units, RFC 3550 §6.4.1) contains the
// unknown offset between the sender's and our clocks, so only differences
// mean anything. A packet's relative delay r is its transit minus the least
// transit of the last 2 s (minWindow): how much later than the fastest
// recent packet it came. A frame played with playout delay D (measured the
// same way) is in time if its packet's r <= D; the target is therefore a
// high quantile of r (histogram), raised at once by delay spikes (peak).
//
// The RFC 3550 A.8 interarrival jitter is computed as well, for Stats and
// RTCP reports, but it does not set the target: it is a mean of the
// difference between consecutive transits, blind to slow delay ramps and
// rare spikes, and a tail quantile is what decides late loss.
type estimator struct {
	win        minWindow
	minTransit int64
	timeline   bool // a packet of the current timeline was seen

	lastTransit int64
	jitter16    int64 // RFC 3550 A.8 J, scaled by 16 as in A.8's code

	hist histogram
	peak peakTracker
}

func newEstimator(rate, maxDelay int64) estimator {
	return estimator{
		win:  minWindow{blockLen: rate * 250 / 1000},
		hist: newHistogram(rate, maxDelay),
		peak: newPeakTracker(rate),
	}
}

// restart begins a new timeline (new SSRC, resync): transit times of the
// old one are not comparable. The jitter estimate, the histogram and the
// peak stay, as rtpsession keeps its jitter on a sequence restart: the
// network path is usually the same one (a transfer behind the same SBC).
func (e *estimator) restart() {
	e.win.reset()
	e.timeline = false
	e.hist.restart()
}

// observe takes one packet (extended timestamp ts) arriving at arrival and
// returns its relative delay. fallback is the estimate to compare spikes
// against while the histogram is empty, frame the learned packet duration.
func (e *estimator) observe(arrival, ts, fallback, frame int64) int64 {
	transit := arrival - ts
	if e.timeline {
		// RFC 3550 A.8: J += (|D| - J) / 16, D the transit difference of
		// consecutive arrivals.
		d := transit - e.lastTransit
		if d < 0 {
			d = -d
		}
		e.jitter16 += d - (e.jitter16+8)>>4
	}
	e.lastTransit, e.timeline = transit, true
	e.minTransit = e.win.add(arrival, transit)
	r := transit - e.minTransit
	e.hist.observe(arrival, r)
	e.peak.observe(arrival, r, e.base(fallback)+frame)
	return r
}

// base is the histogram's estimate, or fallback before its first sample.
func (e *estimator) base(fallback int64) int64 {
	if e.hist.haveQ {
		return e.hist.q
	}
	return fallback
}

// target is the unclamped target delay at time t.
func (e *estimator) target(t, fallback int64) int64 {
	return max(e.base(fallback), e.peak.current(t))
}

// jitter is the RFC 3550 A.8 estimate in timestamp units, as carried in an
// RTCP reception report.
func (e *estimator) jitter() int64 { return e.jitter16 >> 4 }
