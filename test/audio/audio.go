// Package audio measures what tests hear: the level of a tone (Goertzel),
// the strongest frequency, and the RMS level, on 16-bit PCM. Tests assert
// on these rather than on "something arrived".
package audio

import "math"

// power is the Goertzel power of the f Hz component of pcm, with samples
// scaled to [-1, 1).
func power(pcm []int16, rate, f float64) float64 {
	coeff := 2 * math.Cos(2*math.Pi*f/rate)
	var s1, s2 float64
	for _, x := range pcm {
		s1, s2 = float64(x)/32768+coeff*s1-s2, s1
	}
	return math.Max(s1*s1+s2*s2-coeff*s1*s2, 0)
}

// ToneLevel is the level in dBFS of the f Hz component of pcm: a
// full-scale sine at f gives about -3 dBFS, like its RMS; -120 at least.
func ToneLevel(pcm []int16, rate, f float64) float64 {
	if len(pcm) == 0 {
		return math.Inf(-1)
	}
	amp := 2 * math.Sqrt(power(pcm, rate, f)) / float64(len(pcm))
	return math.Max(20*math.Log10(amp/math.Sqrt2), -120)
}

// RMS is the level of pcm in dBFS.
func RMS(pcm []int16) float64 {
	if len(pcm) == 0 {
		return math.Inf(-1)
	}
	var sq float64
	for _, s := range pcm {
		sq += float64(s) * float64(s)
	}
	return 20 * math.Log10(math.Sqrt(sq/float64(len(pcm)))/32768)
}

// PeakFrequency returns the strongest frequency of pcm between 100 and
// 3500 Hz, searched in steps of step Hz, and the RMS level in dBFS.
func PeakFrequency(pcm []int16, rate, step float64) (hz, rmsDBFS float64) {
	if len(pcm) == 0 {
		return 0, math.Inf(-1)
	}
	best := -1.0
	for f := 100.0; f <= 3500; f += step {
		if p := power(pcm, rate, f); p > best {
			hz, best = f, p
		}
	}
	return hz, RMS(pcm)
}
