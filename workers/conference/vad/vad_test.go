package vad_test

import (
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/switchboard-voip/switchboard/workers/conference/vad"
)

const rate = 16000

// frameN is one 20 ms frame at rate.
const frameN = rate / 50

// spurt is one talkspurt found by run: its start and stop in seconds (stop
// is -1 if it had not stopped by the end) and the level Stopped reported.
type spurt struct {
	start, stop, level float64
}

// run feeds sig to a new detector frame by frame and returns the
// talkspurts it reported.
func run(t *testing.T, sig []int16) []spurt {
	t.Helper()
	d, err := vad.New(vad.Config{Rate: rate})
	if err != nil {
		t.Fatal(err)
	}
	var out []spurt
	for i := 0; i+frameN <= len(sig); i += frameN {
		r := d.Process(sig[i : i+frameN])
		at := float64(i+frameN) / rate
		switch r.Event {
		case vad.Started:
			out = append(out, spurt{start: at, stop: -1})
		case vad.Stopped:
			out[len(out)-1].stop, out[len(out)-1].level = at, r.Spurt
		}
	}
	return out
}

// noise is n samples of white noise at dbfs RMS.
func noise(n int, dbfs float64, seed uint64) []int16 {
	rng := rand.New(rand.NewPCG(seed, 1))
	sd := 32768 * math.Pow(10, dbfs/20)
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(max(min(rng.NormFloat64()*sd, 32767), -32768))
	}
	return s
}

// mixIn adds b to a, saturating.
func mixIn(a, b []int16) []int16 {
	out := make([]int16, len(a))
	for i := range a {
		out[i] = int16(max(min(int32(a[i])+int32(b[i%len(b)]), 32767), -32768))
	}
	return out
}

// tones is a 1 kHz sine at dbfs RMS switched on for on and off for off,
// count times, after lead seconds of nothing.
func tones(lead, on, off float64, count int, dbfs float64) []int16 {
	amp := 32768 * math.Sqrt2 * math.Pow(10, dbfs/20)
	var s []int16
	s = append(s, make([]int16, int(lead*rate))...)
	for range count {
		for i := range int(on * rate) {
			s = append(s, int16(amp*math.Sin(2*math.Pi*1000*float64(i)/rate)))
		}
		s = append(s, make([]int16, int(off*rate))...)
	}
	return s
}

// TestToneBursts: three 1 s bursts at -20 dBFS give three talkspurts that
// start within 60 ms of each burst (the 40 ms attack and a frame) and stop
// about 400 ms after it ends (the hangover), reporting the burst's level.
func TestToneBursts(t *testing.T) {
	for _, bed := range []float64{vad.Silence, -60, -50} {
		sig := tones(0.5, 1, 1, 3, -20)
		if bed > vad.Silence {
			sig = mixIn(sig, noise(len(sig), bed, 7))
		}
		got := run(t, sig)
		if len(got) != 3 {
			t.Fatalf("noise %v dBFS: %d talkspurts %+v, want 3", bed, len(got), got)
		}
		for i, s := range got {
			on, off := 0.5+2*float64(i), 1.5+2*float64(i)
			if s.start < on || s.start > on+0.06 || math.Abs(s.stop-(off+0.4)) > 0.03 || math.Abs(s.level-(-20)) > 0.5 {
				t.Errorf("noise %v dBFS: burst %d at %.2f-%.2f s: talkspurt %+v", bed, i, on, off, s)
			}
		}
	}
}

// TestNoiseIsNotTalk: constant noise at any level never starts talk, and a
// single loud frame (a click) does not either.
func TestNoiseIsNotTalk(t *testing.T) {
	for _, dbfs := range []float64{-70, -50, -40, -30, -15} {
		if got := run(t, noise(10*rate, dbfs, uint64(-dbfs))); len(got) != 0 {
			t.Errorf("noise at %v dBFS: %+v", dbfs, got)
		}
	}
	click := make([]int16, 2*rate)
	for i := range frameN {
		click[rate+i] = 20000
	}
	if got := run(t, click); len(got) != 0 {
		t.Errorf("one loud frame: %+v", got)
	}
}

// TestSteadyHum: a tone that never stops is talk at first, and becomes
// noise once it has filled the noise window: talk stops.
func TestSteadyHum(t *testing.T) {
	got := run(t, tones(0.5, 6, 0, 1, -25))
	if len(got) != 1 || got[0].stop < 2.5 || got[0].stop > 3.5 {
		t.Errorf("steady tone: %+v, want one talkspurt ending 2-3 s after it began", got)
	}
}

// speech reads testdata/speech-16k.raw (see its README).
func speech(t *testing.T) []int16 {
	t.Helper()
	b, err := os.ReadFile("testdata/speech-16k.raw")
	if err != nil {
		t.Fatal(err)
	}
	s := make([]int16, len(b)/2)
	for i := range s {
		s[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return s
}

// TestSpeech: espeak-ng's two sentences, alone and over constant noise,
// give exactly two talkspurts, one per sentence: none inside a sentence
// (no flapping in word gaps), each starting at the sentence's first word
// and stopping within the hangover of its last.
func TestSpeech(t *testing.T) {
	sp := speech(t)
	for _, bed := range []float64{vad.Silence, -60, -45} {
		sig := sp
		if bed > vad.Silence {
			sig = mixIn(sp, noise(len(sp), bed, 3))
		}
		got := run(t, sig)
		t.Logf("noise %v dBFS: %+v", bed, got)
		want := []struct{ start, stop float64 }{{0.5, 3.28}, {4.08, 5.43}} // sentence bounds incl. espeak's own silence
		if len(got) != len(want) {
			t.Fatalf("noise %v dBFS: %d talkspurts, want %d", bed, len(got), len(want))
		}
		for i, w := range want {
			if got[i].start < w.start || got[i].start > w.start+0.25 || got[i].stop < w.stop-0.3 || got[i].stop > w.stop+0.45 {
				t.Errorf("noise %v dBFS: sentence %d (%.2f-%.2f s): talkspurt %+v", bed, i, w.start, w.stop, got[i])
			}
			if got[i].level < -30 || got[i].level > -10 {
				t.Errorf("sentence %d level %.1f dBFS", i, got[i].level)
			}
		}
	}
}

// TestConfig: defaults, and rejected values.
func TestConfig(t *testing.T) {
	c := vad.Config{Rate: 8000}.Defaults()
	if c.Start != -40 || c.Margin != 12 || c.Hysteresis != 6 || c.Attack != 40*time.Millisecond || c.Hangover != 400*time.Millisecond {
		t.Errorf("defaults %+v", c)
	}
	for _, c := range []vad.Config{{}, {Rate: 8000, Start: 3}, {Rate: 8000, Hangover: -1}, {Rate: 8000, Margin: -1}} {
		if _, err := vad.New(c); !errors.Is(err, vad.ErrConfig) {
			t.Errorf("%+v: %v", c, err)
		}
	}
}

// TestNoAllocs: Process allocates nothing.
func TestNoAllocs(t *testing.T) {
	d, _ := vad.New(vad.Config{Rate: rate})
	f := noise(frameN, -30, 1)
	if a := testing.AllocsPerRun(100, func() { d.Process(f) }); a != 0 {
		t.Errorf("%v allocs per frame", a)
	}
}

// BenchmarkProcess is one member's 20 ms frame at 48 kHz.
func BenchmarkProcess(b *testing.B) {
	d, _ := vad.New(vad.Config{Rate: 48000})
	f := noise(960, -30, 1)
	b.ReportAllocs()
	for b.Loop() {
		d.Process(f)
	}
}
