package audio

import (
	"math"
	"testing"
)

func sine(f, rate, amp float64, n int) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(amp * 32767 * math.Sin(2*math.Pi*f*float64(i)/rate))
	}
	return out
}

func TestMeasures(t *testing.T) {
	pcm := sine(1000, 8000, 0.5, 8000)
	if hz, rms := PeakFrequency(pcm, 8000, 10); hz != 1000 || math.Abs(rms-(-9.03)) > 0.1 {
		t.Errorf("peak %v Hz at %.2f dBFS, want 1000 Hz at -9.03", hz, rms)
	}
	if l := ToneLevel(pcm, 8000, 1000); math.Abs(l-(-9.03)) > 0.2 {
		t.Errorf("tone level %.2f, want -9.03", l)
	}
	if l := ToneLevel(pcm, 8000, 440); l > -60 {
		t.Errorf("absent tone at %.2f dBFS", l)
	}
	if hz, rms := PeakFrequency(nil, 8000, 10); hz != 0 || !math.IsInf(rms, -1) {
		t.Errorf("empty input: %v %v", hz, rms)
	}
}
