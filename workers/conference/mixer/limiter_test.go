package mixer_test

import (
	"fmt"
	"math"
	"testing"
)

// TestLimiterTHD sends one 1 kHz sine through the mixer at several levels
// and measures what the limiter adds (harmonics and gain modulation, as a
// level relative to the output). Below the -3 dBFS knee the sine must come
// out bit-exact; above it, the limiter holds the peak near the knee with
// little distortion.
func TestLimiterTHD(t *testing.T) {
	const rate, ticks = 48000, 50
	n := rate / 50
	for _, c := range []struct {
		dbfs   float64 // peak level of the sine
		maxTHD float64 // dB relative to the output
	}{
		{-20, math.Inf(-1)}, {-6, math.Inf(-1)}, {-3.1, math.Inf(-1)}, {0, -60}, {6, -60}, {12, -60},
	} {
		t.Run(fmt.Sprint(c.dbfs, "dBFS"), func(t *testing.T) {
			amp := math.Pow(10, c.dbfs/20)
			sig := make([]int16, ticks*n)
			for i := range sig { // two speakers for levels above full scale
				v := amp * 32767 * math.Sin(2*math.Pi*1000*float64(i)/rate)
				sig[i] = int16(math.Round(v / 4))
			}
			ids := []string{"ear", "s1", "s2", "s3", "s4"}
			r := newRoom(t, newMixer(t, rate, ids...))
			signals := map[string][]int16{"s1": sig, "s2": sig, "s3": sig, "s4": sig}
			for range ticks {
				r.step(signals)
			}
			got := r.since("ear", 10)
			exact := true
			for i, y := range got {
				if int(y) != 4*int(sig[10*n+i]) {
					exact = false
					break
				}
			}
			harm := []float64{1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000}
			thd := residual(got, rate, harm[:1]) // everything but the fundamental
			t.Logf("peak %.2f dBFS: out peak %.2f dBFS, THD+N %.1f dB, bit-exact %v",
				c.dbfs, 20*math.Log10(float64(peak(got))/32768), thd, exact)
			if math.IsInf(c.maxTHD, -1) && !exact {
				t.Errorf("below the knee the sine was changed")
			}
			if !math.IsInf(c.maxTHD, -1) && thd > c.maxTHD {
				t.Errorf("THD+N %.1f dB, want below %.0f", thd, c.maxTHD)
			}
		})
	}
}
