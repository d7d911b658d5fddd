package audio

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// voiceLike is band-limited noise with a syllable-like envelope: like
// speech, it correlates with itself only at the right lag.
func voiceLike(n int, seed uint64) []int16 {
	rng := rand.New(rand.NewPCG(seed, 1))
	out := make([]int16, n)
	var y1, y2 float64
	for i := range out {
		// A two-pole resonator at ~700 Hz (8 kHz) driven by noise.
		y := rng.NormFloat64() + 1.6*y1 - 0.9*y2
		y1, y2 = y, y1
		env := 0.5 + 0.5*math.Sin(2*math.Pi*4*float64(i)/8000)
		out[i] = int16(max(-32768, min(32767, 800*env*y)))
	}
	return out
}

func TestAlign(t *testing.T) {
	ref := voiceLike(16000, 1)
	// x: 0.5 s of ref from sample 3000, at half the level, with noise.
	noise := voiceLike(4000, 2)
	x := make([]int16, 4000)
	for i := range x {
		x[i] = ref[3000+i]/2 + noise[i]/20
	}
	lag, c := Align(ref, x, 2000, 4000)
	t.Logf("found lag %d, correlation %.3f", lag, c)
	if lag != 3000 || c < 0.95 || c > 1 {
		t.Errorf("lag %d, correlation %.3f; want 3000 and ≥ 0.95", lag, c)
	}
	// An exact copy correlates 1 (up to rounding).
	if lag, c := Align(ref, ref[500:4500], -1000, 1000); lag != 500 || math.Abs(c-1) > 1e-9 {
		t.Errorf("copy: lag %d, correlation %.12f; want 500 and 1", lag, c)
	}
	// A negative lag: x starts 500 samples before ref. The part off ref's
	// start counts against the match (√(3500/4000) of the energy overlaps).
	if lag, c := Align(ref[500:], ref[:4000], -1000, 0); lag != -500 || c > 0.98 || c < 0.8 {
		t.Errorf("x before ref: lag %d, correlation %.3f; want -500 and 0.8–0.98", lag, c)
	}
	// The right lag is outside the search: no good match.
	if _, c := Align(ref, x, 0, 2000); c > 0.3 {
		t.Errorf("outside the search range: correlation %.3f; want < 0.3", c)
	}
	// The same signal backwards, and an unrelated one, do not correlate.
	rev := slices.Clone(x)
	slices.Reverse(rev)
	if _, c := Align(ref, rev, 0, 12000); c > 0.3 {
		t.Errorf("reversed: correlation %.3f; want < 0.3", c)
	}
	if _, c := Align(ref, voiceLike(4000, 3), 0, 12000); c > 0.3 {
		t.Errorf("unrelated: correlation %.3f; want < 0.3", c)
	}
	if lag, c := Align(nil, x, 5, 10); lag != 5 || c != 0 {
		t.Errorf("empty ref: %d %v", lag, c)
	}
	if _, c := Align(ref, make([]int16, 100), 0, 100); c != 0 {
		t.Errorf("silence: %v", c)
	}
}

func TestResample(t *testing.T) {
	pcm := sine(1000, 48000, 0.5, 48000)
	out, err := Resample(pcm, 48000, 8000)
	if err != nil || len(out) != 8000 {
		t.Fatalf("%d samples, %v", len(out), err)
	}
	if hz, rms := PeakFrequency(out[400:], 8000, 10); hz != 1000 || math.Abs(rms+9.03) > 0.2 {
		t.Errorf("peak %v Hz at %.2f dBFS; want 1000 Hz at -9.03", hz, rms)
	}
	if _, err := Resample(pcm, 48000, 0); err == nil {
		t.Error("rate 0 accepted")
	}
}
