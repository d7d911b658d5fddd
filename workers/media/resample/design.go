package resample

import "math"

// Filter design constants. They are what the quality tests and
// docs/codecs.md measure; changing one changes every ratio's cost.
const (
	// DesignAttenuation is the stop-band attenuation in dB the prototype
	// is designed for. 70 dB leaves 10 dB of margin over the 60 dB of
	// aliasing rejection the media worker requires, and is below what
	// a 16-bit signal routed through G.711 (≈38 dB SNR) can show anyway.
	DesignAttenuation = 70.0

	// PassbandFraction is where the pass band ends, as a fraction of the
	// lower of the two Nyquist frequencies: 3.4 kHz at 8 kHz, which is the
	// top of the G.711 telephone band, so nothing a narrow-band call
	// carries is lost, and the stop band can start right at 4 kHz.
	PassbandFraction = 0.85

	// MaxFactor bounds L and M of the reduced ratio L/M, and so the
	// number of filter phases kept per stream (L × taps per phase).
	MaxFactor = 1000
)

// kaiserBeta is Kaiser's β for a stop-band attenuation of a dB
// (Oppenheim & Schafer, eq. 7.62).
func kaiserBeta(a float64) float64 {
	switch {
	case a > 50:
		return 0.1102 * (a - 8.7)
	case a >= 21:
		return 0.5842*math.Pow(a-21, 0.4) + 0.07886*(a-21)
	default:
		return 0
	}
}

// kaiserLength is the number of taps Kaiser's formula gives for
// attenuation a dB and a transition width dw in radians per sample
// (Oppenheim & Schafer, eq. 7.63).
func kaiserLength(a, dw float64) int {
	return int(math.Ceil((a-7.95)/(2.285*dw))) + 1
}

// besselI0 is the zeroth-order modified Bessel function of the first kind,
// by its power series, which converges fast for the β used here.
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	q := x * x / 4
	for k := 1; k < 200; k++ {
		term *= q / float64(k*k)
		sum += term
		if term < sum*1e-17 {
			break
		}
	}
	return sum
}

// prototype designs the low-pass filter for converting in Hz by L/M: a
// sinc with its cutoff midway between the pass-band edge and the lower
// Nyquist frequency, shaped by a Kaiser window, running at in·L Hz. Its
// length is a multiple of 2L, so that every phase has the same number of
// taps and a conversion and its inverse together delay by a whole number
// of samples, and its gain is L at DC, which the zero-stuffing of up-sampling by
// L divides away.
func prototype(in, l, m int) []float64 {
	fsP := float64(in) * float64(l)
	nyq := float64(min(in, in*l/m)) / 2
	pass := PassbandFraction * nyq
	dw := 2 * math.Pi * (nyq - pass) / fsP
	n := kaiserLength(DesignAttenuation, dw)
	n = (n + 2*l - 1) / (2 * l) * (2 * l)
	fc := (pass + nyq) / 2 / fsP // cycles per sample
	beta := kaiserBeta(DesignAttenuation)
	i0b := besselI0(beta)
	h := make([]float64, n)
	centre := float64(n-1) / 2
	var sum float64
	for i := range h {
		x := float64(i) - centre
		s := 2 * fc
		if x != 0 {
			s = math.Sin(2*math.Pi*fc*x) / (math.Pi * x)
		}
		r := 2*float64(i)/float64(n-1) - 1
		w := besselI0(beta*math.Sqrt(max(0, 1-r*r))) / i0b
		h[i] = s * w
		sum += h[i]
	}
	for i := range h {
		h[i] *= float64(l) / sum
	}
	return h
}
