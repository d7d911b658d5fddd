package jitter

import "math"

// peakTracker raises the target at once when the network has delay spikes:
// a stall after which a burst of packets arrives together (a Wi-Fi scan, a
// route flap, a busy link). The histogram needs several half-second
// intervals to move; a spike has to be covered from the moment it is seen.
//
// The idea is Ramjee, Kurose, Towsley and Schulzrinne's spike detection
// ("Adaptive playout mechanisms for packetized audio applications in
// wide-area networks", IEEE INFOCOM 1994, algorithm 4): when the delay
// jumps well above the estimate, switch to following the delay instead of
// averaging it. As in NetEq's former DelayPeakDetector, one outlier does not
// count: it takes two spike packets within 10 s, which a burst provides at
// once and a single packet on a different path does not. A spike packet is
// one whose relative delay exceeds the histogram's estimate by more than a
// frame.
//
// The peak then holds for 5 s and halves every 2 s after that, so the
// target falls back to the histogram's estimate within about 10 s of the
// last spike unless spikes keep coming ("grow quickly, shrink slowly").
type peakTracker struct {
	level int64 // timestamp units
	at    int64 // when level was set
	on    bool

	candAt, candR int64 // last spike packet seen
	cand          bool

	window, hold, halfLife int64 // timestamp units
}

const (
	spikeWindow  = 10000 // ms
	peakHold     = 5000  // ms
	peakHalfLife = 2000  // ms
)

func newPeakTracker(rate int64) peakTracker {
	return peakTracker{
		window:   rate * spikeWindow / 1000,
		hold:     rate * peakHold / 1000,
		halfLife: rate * peakHalfLife / 1000,
	}
}

// observe feeds relative delay r at time t; threshold is the delay above
// which r is a spike.
func (p *peakTracker) observe(t, r, threshold int64) {
	if r <= threshold {
		return
	}
	if p.cand && t-p.candAt <= p.window && t >= p.candAt {
		p.level, p.at, p.on = max(p.current(t), r, p.candR), t, true
	}
	p.candAt, p.candR, p.cand = t, r, true
}

// current is the peak level at time t after hold and decay; 0 when none.
func (p *peakTracker) current(t int64) int64 {
	if !p.on {
		return 0
	}
	age := t - p.at - p.hold
	if age <= 0 {
		return p.level
	}
	v := float64(p.level) * math.Exp2(-float64(age)/float64(p.halfLife))
	if v < 1 {
		return 0
	}
	return int64(v)
}
