package audio

import (
	"math"
	"math/cmplx"

	"github.com/switchboard-voip/switchboard/workers/media/resample"
)

// Align finds where x (a recording) best matches ref (the source): the lag
// in [lo, hi] at which x[i] lines up with ref[i+lag], and the normalised
// cross-correlation there,
//
//	Σ x[i]·ref[i+lag] / √(Σ x[i]² · Σ ref[i+lag]²)
//
// with the sums over the samples of x that overlap ref, and x's energy
// taken over all of x, so that a lag where x hangs off ref's end scores
// less, never more. 1 is x equal to a stretch of ref up to a gain, 0
// unrelated signals; a signal played backwards scores near 0 against its
// forward self. The correlation is computed for every lag at once by FFT,
// so searching a second at 8 kHz takes milliseconds. Both inputs must be
// at the same rate. With no overlap at any lag (or silence) it returns
// lo and 0.
func Align(ref, x []int16, lo, hi int) (lag int, corr float64) {
	lag = lo
	if len(ref) == 0 || len(x) == 0 || hi < lo {
		return lag, 0
	}
	n := 1
	for n < len(ref)+len(x) {
		n <<= 1
	}
	a, b := make([]complex128, n), make([]complex128, n)
	var ex float64
	for i, s := range ref {
		a[i] = complex(float64(s), 0)
	}
	for i, s := range x {
		b[i] = complex(float64(s), 0)
		ex += float64(s) * float64(s)
	}
	fft(a, false)
	fft(b, false)
	for i := range a {
		a[i] *= cmplx.Conj(b[i])
	}
	fft(a, true) // a[k mod n] = Σ_i ref[i+k]·x[i]
	// prefix[j] = Σ ref[:j]², for the reference's energy under x.
	prefix := make([]float64, len(ref)+1)
	for i, s := range ref {
		prefix[i+1] = prefix[i] + float64(s)*float64(s)
	}
	corr = 0
	for k := max(lo, 1-len(x)); k <= min(hi, len(ref)-1); k++ {
		er := prefix[min(len(ref), k+len(x))] - prefix[max(0, k)]
		if er <= 0 || ex <= 0 {
			continue
		}
		if c := real(a[(k%n+n)%n]) / math.Sqrt(er*ex); c > corr {
			lag, corr = k, c
		}
	}
	return lag, corr
}

// fft is an in-place iterative radix-2 FFT of a (len a power of 2); the
// inverse is scaled by 1/len(a).
func fft(a []complex128, inverse bool) {
	n := len(a)
	for i, j := 1, 0; i < n; i++ {
		bit := n >> 1
		for ; j&bit != 0; bit >>= 1 {
			j ^= bit
		}
		j ^= bit
		if i < j {
			a[i], a[j] = a[j], a[i]
		}
	}
	for size := 2; size <= n; size <<= 1 {
		ang := 2 * math.Pi / float64(size)
		if !inverse {
			ang = -ang
		}
		w := cmplx.Rect(1, ang)
		for start := 0; start < n; start += size {
			wk := complex(1, 0)
			for k := 0; k < size/2; k++ {
				u, v := a[start+k], a[start+k+size/2]*wk
				a[start+k], a[start+k+size/2] = u+v, u-v
				wk *= w
			}
		}
	}
	if inverse {
		for i := range a {
			a[i] /= complex(float64(n), 0)
		}
	}
}

// Resample converts pcm from one rate to another with the media worker's
// resampler (which also low-passes below the lower Nyquist frequency, e.g.
// to 3.4 kHz at 8 kHz), so that a wide-band recording can be compared with
// a narrow-band one. The filter's delay (a few ms) is left in.
func Resample(pcm []int16, from, to int) ([]int16, error) {
	r, err := resample.New(from, to)
	if err != nil {
		return nil, err
	}
	out := make([]int16, r.MaxOutLen(len(pcm)))
	n, err := r.Process(out, pcm)
	return out[:n], err
}
