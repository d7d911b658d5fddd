package codec

import (
	"math"
	"testing"
)

// TestPitchPeriod checks the pitch search on tones and pulse trains: the
// lag found must be a whole number of periods within half a sample.
func TestPitchPeriod(t *testing.T) {
	tests := []struct {
		name   string
		period float64 // in samples at 8 kHz
	}{
		{"100Hz", 80},
		{"200Hz", 40},
		{"70Hz", 8000.0 / 70},
		{"440Hz", 8000.0 / 440},
		{"1kHz", 8},
		{"150Hz", 8000.0 / 150},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := make([]float32, plcHistory)
			for i := range x {
				ph := float64(i) / tt.period
				x[i] = float32(8000*math.Sin(2*math.Pi*ph) + 3000*math.Sin(4*math.Pi*ph+1))
			}
			p := pitchPeriod(x)
			k := math.Round(float64(p) / tt.period)
			if k < 1 || math.Abs(float64(p)-k*tt.period) > 0.5 {
				t.Errorf("lag %d is not a multiple of the period %.2f", p, tt.period)
			}
		})
	}
	if p := pitchPeriod(make([]float32, plcHistory)); p != pitchMin {
		t.Errorf("silence: lag %d, want %d", p, pitchMin)
	}
}
