package jitter

// minWindow is the minimum of the transit times (arrival minus RTP
// timestamp, RFC 3550 §6.4.1) seen over the last 2 s. The packet with the
// least transit is the one that crossed the network fastest; every
// packet's relative delay is measured from it, as WebRTC NetEq measures
// its "relative arrival delay" over a 2 s history. A window rather than
// an all-time minimum lets the reference follow clock drift between sender
// and receiver (tens of ppm: a few ms per minute) and route changes.
//
// It keeps the minimum per quarter second in eight blocks: O(1) memory and
// time, no allocation, and the window is 1.75-2 s long.
type minWindow struct {
	blockLen int64 // timestamp units
	idx      [windowBlocks]int64
	min      [windowBlocks]int64
	used     [windowBlocks]bool
}

const windowBlocks = 8

// reset empties the window (a new timeline: the old transits mean nothing).
func (w *minWindow) reset() {
	w.used = [windowBlocks]bool{}
}

// add records transit v at arrival time t and returns the window minimum,
// v included.
func (w *minWindow) add(t, v int64) int64 {
	b := floorDiv(t, w.blockLen)
	s := b % windowBlocks
	if s < 0 {
		s += windowBlocks
	}
	if !w.used[s] || w.idx[s] != b {
		w.idx[s], w.min[s], w.used[s] = b, v, true
	} else if v < w.min[s] {
		w.min[s] = v
	}
	m := v
	for i := range windowBlocks {
		if w.used[i] && w.idx[i] > b-windowBlocks && w.idx[i] <= b && w.min[i] < m {
			m = w.min[i]
		}
	}
	return m
}
