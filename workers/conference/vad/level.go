package vad

import "math"

// Silence is the level given to digital silence, and the lowest level
// this package reports, in dBFS.
const Silence = -127.0

// Level is the RMS level of pcm in dBFS, where a full-scale sine is
// −3 dBFS (the convention of test/audio.RMS), and at least Silence.
func Level(pcm []int16) float64 {
	if len(pcm) == 0 {
		return Silence
	}
	var sq int64
	for _, s := range pcm {
		sq += int64(s) * int64(s)
	}
	return powerDB(float64(sq) / float64(len(pcm)))
}

// powerDB converts a mean square (in int16 units squared) to dBFS.
func powerDB(ms float64) float64 {
	if ms <= 0 {
		return Silence
	}
	return max(10*math.Log10(ms/(32768*32768)), Silence)
}
