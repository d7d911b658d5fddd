package codec

import "math"

// Pitch search range of the G.711 concealment, as in ITU-T G.711
// Appendix I: periods of 5 to 15 ms (200 Hz down to 66.7 Hz) at 8 kHz.
// Shorter periods (higher voices, tones) are found as a multiple of their
// period, which repeats just as well.
const (
	pitchMin = 40
	pitchMax = 120
	// pitchWindow is the span of most recent history correlated against
	// its delayed copy: 20 ms, so that at least one full period of the
	// longest pitch takes part, plus a margin.
	pitchWindow = 160
)

// pitchPeriod returns the lag in [pitchMin, pitchMax] at which the last
// pitchWindow samples of x look most like themselves one lag earlier: the
// maximum of the normalized cross-correlation Σ x[i]x[i-P] / √Σ x[i-P]²,
// Appendix I's criterion. Appendix I searches coarsely first (every other
// lag over every other sample) and refines around the best coarse lag;
// this searches every lag at full resolution, because the coarse pass can
// settle on the wrong multiple of a short period (a 440 Hz tone repeats
// best at 109 samples, six periods, but coarsely at 54, three periods
// less exactly). It runs once per loss, about 10 µs. x must hold at least
// pitchWindow+pitchMax samples. Silence returns pitchMin.
func pitchPeriod(x []float32) int {
	end := len(x)
	best, bestScore := pitchMin, 0.0
	for p := pitchMin; p <= pitchMax; p++ {
		var corr, energy float64
		for i := end - pitchWindow; i < end; i++ {
			d := float64(x[i-p])
			corr += float64(x[i]) * d
			energy += d * d
		}
		if energy == 0 || corr <= 0 {
			continue
		}
		if s := corr / math.Sqrt(energy); s > bestScore {
			best, bestScore = p, s
		}
	}
	return best
}
