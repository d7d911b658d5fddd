package resample

import "math"

// chunk is how many input samples one pass of the filter handles; longer
// inputs are processed in pieces of this size. 960 is 20 ms at 48 kHz, the
// largest frame the media worker moves, so a frame takes one pass.
const chunk = 960

// Resampler converts one mono 16-bit stream from one rate to another. It
// keeps the filter's history between calls to Process, so frames of any
// size join without a discontinuity. It is not safe for concurrent use:
// each stream direction has its own.
type Resampler struct {
	in, out int
	l, m    int // out/in = l/m in lowest terms
	taps    int // taps per phase
	// coef holds the l phases one after the other, each reversed so that
	// a dot product with buf[n : n+taps] is the convolution at input n.
	coef []float32
	// buf is taps-1 samples of history followed by the chunk being
	// converted.
	buf []float32
	// t is the up-sampled time (in 1/l input samples) of the next output
	// sample, counted from the start of the next chunk; always < m.
	t int
}

// New returns a Resampler from in Hz to out Hz, with its filter designed
// (see the package documentation) and its history silent. Equal rates give
// a Resampler that copies.
func New(in, out int) (*Resampler, error) {
	if in <= 0 || out <= 0 {
		return nil, ErrRate
	}
	g := gcd(in, out)
	l, m := out/g, in/g
	if l > MaxFactor || m > MaxFactor {
		return nil, ErrRate
	}
	r := &Resampler{in: in, out: out, l: l, m: m}
	if l == 1 && m == 1 {
		r.taps = 1
		r.coef = []float32{1}
	} else {
		h := prototype(in, l, m)
		r.taps = len(h) / l
		r.coef = make([]float32, len(h))
		for p := range l {
			ph := r.coef[p*r.taps : (p+1)*r.taps]
			for j := range r.taps {
				ph[r.taps-1-j] = float32(h[p+j*l])
			}
		}
	}
	r.buf = make([]float32, r.taps-1+chunk)
	return r, nil
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// InRate returns the input sample rate in Hz.
func (r *Resampler) InRate() int { return r.in }

// OutRate returns the output sample rate in Hz.
func (r *Resampler) OutRate() int { return r.out }

// Taps returns the length of the prototype filter, which is what one
// output sample costs in multiply-adds times M/L (for down-sampling) or
// divided by L (for up-sampling): taps per phase is Taps()/L.
func (r *Resampler) Taps() int { return r.taps * r.l }

// Delay returns the filter's group delay in seconds: an event at input time
// x appears in the output at x + Delay. It is the same at every frequency
// (the filter is linear-phase), so a caller aligning two streams, or
// reporting latency, adds it once.
func (r *Resampler) Delay() float64 {
	if r.l == 1 && r.m == 1 {
		return 0
	}
	return float64(r.taps*r.l-1) / 2 / (float64(r.in) * float64(r.l))
}

// OutLen returns exactly how many samples the next Process of n input
// samples writes. It depends on the stream's position, because a ratio
// such as 2:3 does not produce a whole number of outputs for every input
// length; for 20 ms frames between 8, 16, 32 and 48 kHz it is always 20 ms
// of output.
func (r *Resampler) OutLen(n int) int {
	if n <= 0 {
		return 0
	}
	// Outputs are at t, t+m, ... while t < n·l.
	return (n*r.l - r.t + r.m - 1) / r.m
}

// MaxOutLen returns an upper bound of OutLen(n) at any stream position,
// for sizing a buffer once.
func (r *Resampler) MaxOutLen(n int) int {
	if n <= 0 {
		return 0
	}
	return (n*r.l + r.m - 1) / r.m
}

// Reset silences the history, as when a stream restarts after a gap (a new
// SSRC, a re-INVITE), so the old audio does not ring into the new one.
func (r *Resampler) Reset() {
	clear(r.buf)
	r.t = 0
}

// Process converts src and writes the result to dst, returning the number
// of samples written (OutLen(len(src))). All of src is consumed; if dst is
// too short nothing is and ErrShortBuffer is returned. Outputs are rounded
// and saturated to 16 bits.
func (r *Resampler) Process(dst, src []int16) (int, error) {
	if len(dst) < r.OutLen(len(src)) {
		return 0, ErrShortBuffer
	}
	w := 0
	for len(src) > 0 {
		n := min(len(src), chunk)
		w += r.pass(dst[w:], src[:n])
		src = src[n:]
	}
	return w, nil
}

// pass converts at most chunk samples.
func (r *Resampler) pass(dst, src []int16) int {
	k := r.taps
	hist := k - 1
	in := r.buf[hist : hist+len(src)]
	for i, v := range src {
		in[i] = float32(v)
	}
	nIn := len(src)
	w := 0
	// Output w is at up-sampled time t = n·l + p: input n, phase p.
	// Both advance by m per output without a division.
	n, p := r.t/r.l, r.t%r.l
	dn, dp := r.m/r.l, r.m%r.l
	for n < nIn {
		dst[w] = clamp(dot(r.coef[p*k:(p+1)*k], r.buf[n:n+k]))
		w++
		n += dn
		p += dp
		if p >= r.l {
			p -= r.l
			n++
		}
	}
	r.t = (n-nIn)*r.l + p
	copy(r.buf[:hist], r.buf[nIn:nIn+hist])
	return w
}

// dot is the inner product of the phase c and the input window x, with
// four accumulators so that the additions do not wait on each other.
func dot(c, x []float32) float32 {
	x = x[:len(c)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(c); i += 4 {
		s0 += c[i] * x[i]
		s1 += c[i+1] * x[i+1]
		s2 += c[i+2] * x[i+2]
		s3 += c[i+3] * x[i+3]
	}
	for ; i < len(c); i++ {
		s0 += c[i] * x[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// clamp rounds y to the nearest 16-bit sample, saturating.
func clamp(y float32) int16 {
	switch {
	case y >= math.MaxInt16:
		return math.MaxInt16
	case y <= math.MinInt16:
		return math.MinInt16
	case y >= 0:
		return int16(y + 0.5)
	default:
		return int16(y - 0.5)
	}
}
