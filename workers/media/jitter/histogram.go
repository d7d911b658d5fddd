package jitter

// histogram estimates a high quantile of the relative packet delay: the
// delay that covers all but a small share of packets, which is what the
// playout delay has to be for them to arrive in time. This is the percentile
// approach of Moon, Kurose and Towsley ("Packet audio playout delay
// adjustment: performance bounds and algorithms", Multimedia Systems 6(1),
// 1998) in the form WebRTC NetEq uses it (UnderrunOptimizer behind
// DelayManager in libwebrtc's modules/audio_coding/neteq):
//
//   - one sample per 500 ms: the largest relative delay of that interval,
//     so the estimate is of the worst packet of a typical half second,
//     not of a typical packet, and the cost per packet is O(1);
//   - an exponentially forgetting histogram (each sample scales the old
//     mass by f and adds 1-f to its bucket), with f at first 1-2/(n+1)
//     for the n-th sample (NetEq's start_forget_weight) so that the first
//     seconds of a call are not dominated by a prior;
//   - the target is the upper edge of the bucket where the cumulative mass
//     reaches the quantile.
//
// With f = 0.97 one interval weighs 3 %, less than the 5 % above the
// quantile: a late packet alone never moves the target, nor do two more
// than 6.5 s apart (3 % + 3 % x 0.97^13 < 5 %); that is the spike
// tracker's job (peak.go). A sample's weight halves in 23 intervals
// (11.4 s), so after jitter stops the estimate decays over 45-50 s: the
// buffer shrinks slowly, as it should, since the same network tends to
// jitter again.
type histogram struct {
	mass  []float64
	width int64 // bucket width, timestamp units
	n     int   // samples added

	interval int64 // resampling interval, timestamp units
	ivStart  int64
	ivMax    int64
	ivOpen   bool

	q     int64 // cached quantile; valid when n > 0
	haveQ bool
}

const (
	histInterval = 500  // ms, NetEq's resample_interval_ms
	histBucket   = 5    // ms; NetEq uses 20, finer costs nothing here
	histQuantile = 0.95 // NetEq's default quantile
	histForget   = 0.97 // per sample (500 ms); NetEq's is 0.983
	histStartW   = 2.0  // NetEq's start_forget_weight
)

// newHistogram covers [0, maxDelay] with one more bucket for anything
// above, in which case the quantile is above maxDelay and gets clamped.
func newHistogram(rate, maxDelay int64) histogram {
	width := max(rate*histBucket/1000, 1)
	return histogram{
		mass:     make([]float64, maxDelay/width+2),
		width:    width,
		interval: rate * histInterval / 1000,
	}
}

// observe feeds one packet's relative delay r at arrival time t. It
// returns true when an interval closed and the quantile was recomputed.
func (h *histogram) observe(t, r int64) bool {
	if !h.ivOpen {
		h.ivStart, h.ivMax, h.ivOpen = t, r, true
		return false
	}
	if t-h.ivStart >= h.interval || t < h.ivStart {
		h.add(h.ivMax)
		h.ivStart, h.ivMax = t, r
		return true
	}
	h.ivMax = max(h.ivMax, r)
	return false
}

// restart drops the open interval: its delays were measured against a
// timeline that has just ended. The learned distribution stays.
func (h *histogram) restart() { h.ivOpen = false }

// bucket is the index of value v: bucket i holds (i*w, (i+1)*w], bucket 0
// also holds 0, the last everything above.
func (h *histogram) bucket(v int64) int {
	i := int64(0)
	if v > 0 {
		i = (v - 1) / h.width
	}
	return int(min(i, int64(len(h.mass)-1)))
}

// add is one sample of the forgetting histogram.
func (h *histogram) add(v int64) {
	h.n++
	f := min(histForget, 1-histStartW/float64(h.n+1))
	f = max(f, 0)
	for i := range h.mass {
		h.mass[i] *= f
	}
	h.mass[h.bucket(v)] += 1 - f
	h.q, h.haveQ = h.quantile(histQuantile), true
}

// quantile returns the upper edge of the bucket where the cumulative mass
// reaches q. The mass sums to 1 (each add keeps the sum, and float error
// contracts rather than accumulates); the small tolerance keeps a bucket
// holding exactly 1-q from being counted in.
func (h *histogram) quantile(q float64) int64 {
	sum := 0.0
	for i, m := range h.mass {
		sum += m
		if sum >= q-1e-9 {
			return int64(i+1) * h.width
		}
	}
	return int64(len(h.mass)) * h.width
}
