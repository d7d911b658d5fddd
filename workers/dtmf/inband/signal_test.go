package inband

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-voip/switchboard/workers/dtmf/digit"
	"github.com/switchboard-voip/switchboard/workers/dtmf/digit/digittest"
)

// tone describes one key press to synthesise.
type tone struct {
	d          digit.Digit
	low, high  float64 // levels in dBm0 per tone
	offL, offH float64 // frequency offsets, relative (0.015 = +1.5 %)
	dur        time.Duration
}

// amplitude returns the peak of a sine at level dBm0.
func amplitude(level float64) float64 {
	return math.Sqrt(2*dBm0Power) * math.Pow(10, level/20)
}

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func count(d time.Duration) int { return int(d * SampleRate / time.Second) }

// synth appends the press to pcm as float samples.
func (tn tone) synth(t *testing.T, pcm []float64) []float64 {
	t.Helper()
	fl, fh, ok := Tones(tn.d)
	if !ok {
		t.Fatalf("no tones for %q", tn.d)
	}
	fl *= 1 + tn.offL
	fh *= 1 + tn.offH
	al, ah := amplitude(tn.low), amplitude(tn.high)
	for i := range count(tn.dur) {
		ts := float64(i) / SampleRate
		pcm = append(pcm, al*math.Sin(2*math.Pi*fl*ts)+ah*math.Sin(2*math.Pi*fh*ts+1))
	}
	return pcm
}

func silence(pcm []float64, d time.Duration) []float64 {
	return append(pcm, make([]float64, count(d))...)
}

// pcm16 rounds and clips.
func pcm16(x []float64) []int16 {
	out := make([]int16, len(x))
	for i, v := range x {
		out[i] = int16(max(-32768, min(32767, math.Round(v))))
	}
	return out
}

// addNoise adds white Gaussian noise at level dBm0 (mean square).
func addNoise(x []float64, level float64, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	sd := math.Sqrt(dBm0Power * math.Pow(10, level/10))
	for i := range x {
		x[i] += rng.NormFloat64() * sd
	}
}

// speech returns the golden espeak-ng recording (see testdata/README.md).
func speech(t testing.TB) []int16 {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "speech_8k_s16le.raw"))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int16, len(raw)/2)
	for i := range out {
		out[i] = int16(uint16(raw[2*i]) | uint16(raw[2*i+1])<<8)
	}
	return out
}

// detect runs a fresh Detector over pcm in chunks of chunk samples and
// flushes it.
func detect(t testing.TB, pcm []int16, chunk int) []digit.Event {
	t.Helper()
	d, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	var evs []digit.Event
	for len(pcm) > 0 {
		k := min(chunk, len(pcm))
		evs = d.Write(evs, pcm[:k])
		pcm = pcm[k:]
	}
	return d.Flush(evs)
}

// presses returns the digits and durations of evs, failing the test unless
// they come as Started d, Ended d pairs.
func presses(t *testing.T, evs []digit.Event) (string, []time.Duration) {
	t.Helper()
	s, durs, err := digittest.Presses(evs)
	if err != nil {
		t.Fatal(err)
	}
	return s, durs
}
