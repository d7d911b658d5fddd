package inband

import (
	"testing"

	"github.com/switchboard-voip/switchboard/workers/dtmf/digit"
)

// benchFrames runs the detector over pcm one 20 ms frame (160 samples) per
// op, round and round.
func benchFrames(b *testing.B, pcm []int16) {
	d, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	evs := make([]digit.Event, 0, 8)
	frames := len(pcm) / 160
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		f := i % frames
		evs = d.Write(evs[:0], pcm[f*160:(f+1)*160])
	}
}

// BenchmarkFrameSpeech is the usual case: speech, rejected early.
func BenchmarkFrameSpeech(b *testing.B) {
	benchFrames(b, speech(b))
}

// BenchmarkFrameTone is the dearest case: every block is a digit and runs
// the frequency check.
func BenchmarkFrameTone(b *testing.B) {
	var t testing.T
	benchFrames(b, pcm16(tone{d: '5', low: -10, high: -10, dur: ms(2000)}.synth(&t, nil)))
}

// BenchmarkFrameSilence is a muted line.
func BenchmarkFrameSilence(b *testing.B) {
	benchFrames(b, make([]int16, 1600))
}
