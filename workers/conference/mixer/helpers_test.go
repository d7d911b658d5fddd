package mixer_test

import (
	"math"
	"testing"

	"github.com/switchboard-voip/switchboard/workers/conference/mixer"
)

// tone is n samples of a sine of f Hz at amp (a fraction of full scale)
// and rate, starting at phase 0.
func tone(f float64, rate int, amp float64, n int) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(math.Round(amp * 32767 * math.Sin(2*math.Pi*f*float64(i)/float64(rate))))
	}
	return s
}

// newMixer returns a mixer at rate with the given members, all with
// default settings.
func newMixer(t testing.TB, rate int, ids ...string) *mixer.Mixer {
	t.Helper()
	x, err := mixer.New(mixer.Config{Rate: rate})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if err := x.Add(id, mixer.Settings{}); err != nil {
			t.Fatal(err)
		}
	}
	return x
}

// room drives a mixer tick by tick and records what every member heard.
type room struct {
	t     testing.TB
	x     *mixer.Mixer
	tick  int
	heard map[string][]int16 // member -> every sample it received
	got   map[string]int     // member -> ticks in which it received audio
}

func newRoom(t testing.TB, x *mixer.Mixer) *room {
	return &room{t: t, x: x, heard: map[string][]int16{}, got: map[string]int{}}
}

// step puts the current frame of each signal (silence for a nil one) and
// mixes one tick.
func (r *room) step(signals map[string][]int16) *mixer.Output {
	r.t.Helper()
	n := r.x.FrameSamples()
	for id, sig := range signals {
		if sig == nil {
			continue
		}
		if err := r.x.Put(id, sig[r.tick*n:(r.tick+1)*n]); err != nil {
			r.t.Fatalf("Put(%s): %v", id, err)
		}
	}
	out := r.x.Mix()
	seen := map[string]bool{}
	for _, g := range out.Listeners {
		for _, id := range g.Members {
			r.record(id, out.Everyone, seen)
		}
	}
	for _, s := range out.Speakers {
		r.record(s.Member, s.PCM, seen)
	}
	r.tick++
	return out
}

func (r *room) record(id string, pcm []int16, seen map[string]bool) {
	r.t.Helper()
	if seen[id] {
		r.t.Fatalf("tick %d: %s got two outputs", r.tick, id)
	}
	if len(pcm) != r.x.FrameSamples() {
		r.t.Fatalf("tick %d: %s got %d samples", r.tick, id, len(pcm))
	}
	seen[id] = true
	r.heard[id] = append(r.heard[id], pcm...)
	r.got[id]++
}

// since is what id heard from tick k on.
func (r *room) since(id string, k int) []int16 {
	return r.heard[id][k*r.x.FrameSamples():]
}

// maxStep is the largest difference between consecutive samples.
func maxStep(pcm []int16) int {
	m := 0
	for i := 1; i < len(pcm); i++ {
		d := int(pcm[i]) - int(pcm[i-1])
		m = max(m, d, -d)
	}
	return m
}

// residual is the level, in dB relative to pcm's, of what is left of pcm
// once its components at freqs (least-squares sines and cosines) are
// taken out: the harmonics, intermodulation and gain modulation that a
// nonlinear stage added. pcm should span many periods of every frequency.
func residual(pcm []int16, rate int, freqs []float64) float64 {
	res := make([]float64, len(pcm))
	var total float64
	for i, s := range pcm {
		res[i] = float64(s)
		total += res[i] * res[i]
	}
	for _, f := range freqs {
		w := 2 * math.Pi * f / float64(rate)
		var a, b float64
		for i, r := range res {
			a += r * math.Sin(w*float64(i))
			b += r * math.Cos(w*float64(i))
		}
		a, b = 2*a/float64(len(res)), 2*b/float64(len(res))
		for i := range res {
			res[i] -= a*math.Sin(w*float64(i)) + b*math.Cos(w*float64(i))
		}
	}
	var left float64
	for _, r := range res {
		left += r * r
	}
	return 10 * math.Log10(max(left, 1e-9)/total)
}
