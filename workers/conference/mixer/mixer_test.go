package mixer_test

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/switchboard-voip/switchboard/test/audio"
	"github.com/switchboard-voip/switchboard/workers/conference/mixer"
)

var fourTones = map[string]float64{"a": 300, "b": 500, "c": 700, "d": 900}

// fourMembers returns a room of four members at rate, each sending its
// tone of fourTones at -20 dBFS peak (three of them sum below the knee, so
// the mix is linear and the absence of a tone is exact).
func fourMembers(t *testing.T, rate, ticks int) (*room, map[string][]int16) {
	x := newMixer(t, rate, "a", "b", "c", "d")
	sig := map[string][]int16{}
	for id, f := range fourTones {
		sig[id] = tone(f, rate, 0.2, ticks*rate/50)
	}
	return newRoom(t, x), sig
}

// checkTones asserts that id heard, from tick k on, the tones of want at
// about -17 dBFS (0.2 of full scale) and nothing of the others.
func checkTones(t *testing.T, r *room, rate int, id string, k int, want map[string]bool) {
	t.Helper()
	pcm := r.since(id, k)
	for other, f := range fourTones {
		lvl := audio.ToneLevel(pcm, float64(rate), f)
		if want[other] {
			if math.Abs(lvl-(-16.99)) > 0.1 {
				t.Errorf("%s hears %s's %v Hz at %.2f dBFS, want -16.99", id, other, f, lvl)
			}
		} else if lvl > -90 {
			t.Errorf("%s hears %s's %v Hz at %.2f dBFS, want nothing", id, other, f, lvl)
		}
	}
}

// TestMixMinus: each of four members hears the three others and not
// itself; muting one removes it from everyone's mix; the muted member
// still hears the other three, now through the shared mix.
func TestMixMinus(t *testing.T) {
	for _, rate := range []int{16000, 48000} {
		t.Run(fmt.Sprint(rate), func(t *testing.T) {
			r, sig := fourMembers(t, rate, 100)
			for range 50 {
				out := r.step(sig)
				if len(out.Speakers) != 4 || out.Everyone != nil || len(out.Listeners) != 0 {
					t.Fatalf("tick %d: %d speakers, %d listener groups", r.tick, len(out.Speakers), len(out.Listeners))
				}
			}
			for id := range fourTones {
				others := map[string]bool{"a": true, "b": true, "c": true, "d": true}
				delete(others, id)
				checkTones(t, r, rate, id, 1, others)
			}

			if err := r.x.Set("a", mixer.Settings{Muted: true}); err != nil {
				t.Fatal(err)
			}
			r.step(sig) // a fades out
			for range 49 {
				out := r.step(sig)
				if len(out.Speakers) != 3 || len(out.Listeners) != 1 || out.Listeners[0].Members[0] != "a" {
					t.Fatalf("tick %d with a muted: %+v", r.tick, out)
				}
			}
			for id := range fourTones {
				others := map[string]bool{"b": true, "c": true, "d": true}
				delete(others, id)
				checkTones(t, r, rate, id, 51, others)
			}
		})
	}
}

// TestDeaf: a deaf member gets no output and costs no output work, but the
// others still hear it.
func TestDeaf(t *testing.T) {
	r, sig := fourMembers(t, 16000, 42)
	if err := r.x.Set("d", mixer.Settings{Deaf: true}); err != nil {
		t.Fatal(err)
	}
	for range 40 {
		r.step(sig)
	}
	if r.got["d"] != 0 {
		t.Errorf("deaf member got audio in %d ticks", r.got["d"])
	}
	checkTones(t, r, 16000, "a", 1, map[string]bool{"b": true, "c": true, "d": true})

	// A silent deaf member is neither listener nor speaker either.
	delete(sig, "d")
	out := r.step(sig)
	out = r.step(sig)
	for _, g := range out.Listeners {
		for _, id := range g.Members {
			if id == "d" {
				t.Error("silent deaf member listed as a listener")
			}
		}
	}
}

// TestLevelIndependentOfSize: one speaker is heard at the same level (here
// bit-exact) in a room of 2 and a room of 10: the mixer never divides by
// the number of members.
func TestLevelIndependentOfSize(t *testing.T) {
	const rate = 48000
	sig := tone(440, rate, 0.5, 60*rate/50)
	level := func(members int) ([]int16, float64) {
		ids := []string{"talker"}
		for i := 1; i < members; i++ {
			ids = append(ids, fmt.Sprint("m", i))
		}
		r := newRoom(t, newMixer(t, rate, ids...))
		for range 60 {
			out := r.step(map[string][]int16{"talker": sig})
			if len(out.Speakers) != 1 || len(out.Listeners) != 1 || len(out.Listeners[0].Members) != members-1 {
				t.Fatalf("%d members: %d speakers, listeners %+v", members, len(out.Speakers), out.Listeners)
			}
		}
		pcm := r.since("m1", 1)
		return pcm, audio.ToneLevel(pcm, rate, 440)
	}
	p2, l2 := level(2)
	p10, l10 := level(10)
	if math.Abs(l2-l10) > 0.1 {
		t.Errorf("level in 2-member room %.3f dBFS, in 10-member room %.3f dBFS", l2, l10)
	}
	// Below the knee, the speaker passes untouched (after the fade-in).
	n := rate / 50
	for i := range p2 {
		if p2[i] != sig[n+i] || p10[i] != sig[n+i] {
			t.Fatalf("sample %d: %d and %d, sent %d", i, p2[i], p10[i], sig[n+i])
		}
	}
}

// TestFiveLoudSpeakers: five speakers at -3 dBFS each (a sum up to 5x full
// scale) never wrap: every sample has the sign of the true sum, peaks stay
// under full scale, and once the limiter has caught the onset they stay
// close to the knee.
func TestFiveLoudSpeakers(t *testing.T) {
	const rate, ticks = 16000, 100
	freqs := []float64{210, 330, 470, 610, 790}
	sig := map[string][]int16{}
	ids := []string{"listener"}
	for i, f := range freqs {
		id := fmt.Sprint("s", i)
		ids = append(ids, id)
		sig[id] = tone(f, rate, 0.708, ticks*rate/50)
	}
	r := newRoom(t, newMixer(t, rate, ids...))
	for range ticks {
		r.step(sig)
	}
	n := rate / 50
	got := r.since("listener", 1)
	var overKnee, flips int
	late := 0
	for i, y := range got {
		var sum float64
		for _, s := range sig {
			sum += float64(s[n+i])
		}
		if math.Abs(sum) > 200 && (sum > 0) != (y > 0) {
			flips++
		}
		if y == math.MaxInt16 || y == math.MinInt16 || y == -math.MaxInt16 {
			t.Fatalf("sample %d hit full scale (%d): hard clip", i, y)
		}
		if y > 23197 || y < -23197 {
			overKnee++
			if i > rate/10 {
				late = max(late, int(math.Abs(float64(y))))
			}
		}
	}
	if flips > 0 {
		t.Errorf("%d samples have the wrong sign: the mix wrapped", flips)
	}
	peakDB := 20 * math.Log10(float64(late)/32768)
	// What is not one of the five tones is distortion and intermodulation.
	products := residual(got[rate/5:], rate, freqs)
	t.Logf("%d of %d samples above the -3 dBFS knee; after 100 ms, peak %.2f dBFS; products %.1f dB below the mix",
		overKnee, len(got), peakDB, -products)
	if late > 0 && peakDB > -1.5 {
		t.Errorf("after 100 ms peaks reach %.2f dBFS, want the limiter to hold them near -3", peakDB)
	}
	if products > -30 {
		t.Errorf("distortion products %.1f dB below the mix, want at least 30", -products)
	}
	// Each speaker's mix-minus is limited the same way.
	if p := peak(r.since("s0", 5)); p > 27500 { // -1.5 dBFS
		t.Errorf("s0's mix-minus peaks at %d", p)
	}
}

func peak(pcm []int16) int {
	p := 0
	for _, s := range pcm {
		p = max(p, int(s), -int(s))
	}
	return p
}

// TestNoClicks: a member joining, leaving, being muted or unmuted, or
// stopping without warning mid-waveform never makes a step larger than the
// signals' own steepest slope plus one fade's worth of its amplitude.
func TestNoClicks(t *testing.T) {
	const rate, ticks = 16000, 80
	n := rate / 50
	bed := tone(440, rate, 0.3, ticks*n)
	// 200 Hz at a phase that puts a large sample at every frame start.
	joiner := make([]int16, ticks*n)
	for i := range joiner {
		joiner[i] = int16(0.5 * 32767 * math.Cos(2*math.Pi*200*float64(i)/rate+0.3))
	}
	fade := 5 * rate / 1000
	limit := float64(maxStep(bed)+maxStep(joiner)) + 0.5*32767/float64(fade) + 2
	r := newRoom(t, newMixer(t, rate, "bed", "ear"))
	sig := map[string][]int16{"bed": bed}
	steps := []struct {
		tick int
		do   func()
	}{
		{5, func() { must(t, r.x.Add("j", mixer.Settings{})); sig["j"] = joiner }},
		{15, func() { must(t, r.x.Set("j", mixer.Settings{Muted: true})) }},
		{25, func() { must(t, r.x.Set("j", mixer.Settings{})) }},
		{35, func() { sig["j"] = nil }}, // stops sending: its last sample ramps down
		{40, func() { sig["j"] = joiner }},
		{50, func() { // leaves after its frame was put
			must(t, r.x.Put("j", joiner[50*n:51*n]))
			delete(sig, "j")
			must(t, r.x.Remove("j"))
		}},
		{60, func() { must(t, r.x.Add("j", mixer.Settings{})) }},
		{70, func() { delete(sig, "j"); must(t, r.x.Remove("j")) }}, // leaves with no frame
	}
	for r.tick < ticks {
		for _, s := range steps {
			if s.tick == r.tick {
				s.do()
			}
		}
		r.step(sig)
	}
	heard := r.heard["ear"]
	if got := maxStep(heard); float64(got) > limit {
		for i := 1; i < len(heard); i++ {
			if d := math.Abs(float64(heard[i]) - float64(heard[i-1])); d > limit {
				t.Errorf("step of %v at sample %d (tick %d), limit %.0f", d, i, i/n, limit)
			}
		}
	}
	// Without the fade the joiner would start with a step of ~0.5 x 32767.
	if got := maxStep(heard); got > 4000 {
		t.Errorf("largest step %d", got)
	}
	if x := r.x.Len(); x != 2 {
		t.Errorf("%d members left, want 2", x)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestErrors covers the member bookkeeping errors.
func TestErrors(t *testing.T) {
	if _, err := mixer.New(mixer.Config{Rate: 8000}); !errors.Is(err, mixer.ErrConfig) {
		t.Errorf("rate 8000: %v", err)
	}
	x := newMixer(t, 16000, "a")
	for _, c := range []struct {
		name string
		err  error
		want error
	}{
		{"add twice", x.Add("a", mixer.Settings{}), mixer.ErrExists},
		{"put short", x.Put("a", make([]int16, 319)), mixer.ErrFrameSize},
		{"put unknown", x.Put("zz", make([]int16, 320)), mixer.ErrNoMember},
		{"set unknown", x.Set("zz", mixer.Settings{}), mixer.ErrNoMember},
		{"remove unknown", x.Remove("zz"), mixer.ErrNoMember},
	} {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, c.err, c.want)
		}
	}
	must(t, x.Remove("a"))
	if err := x.Put("a", make([]int16, 320)); !errors.Is(err, mixer.ErrNoMember) {
		t.Errorf("put after remove: %v", err)
	}
}

// TestSilentRoom: with nobody speaking, listeners get zeros and Silent.
func TestSilentRoom(t *testing.T) {
	x := newMixer(t, 16000, "a", "b")
	out := x.Mix()
	if !out.Silent || len(out.Everyone) != 320 || peak(out.Everyone) != 0 || len(out.Listeners[0].Members) != 2 {
		t.Errorf("silent room: %+v", out)
	}
}

// TestGroups: listeners are grouped by Settings.Group, speakers carry
// theirs.
func TestGroups(t *testing.T) {
	x := newMixer(t, 16000)
	for i, g := range []int{1, 2, 1, 3, 2} {
		must(t, x.Add(fmt.Sprint(i), mixer.Settings{Group: g}))
	}
	must(t, x.Put("3", tone(300, 16000, 0.1, 320)))
	out := x.Mix()
	got := map[int]int{}
	for _, g := range out.Listeners {
		got[g.Key] += len(g.Members)
	}
	if fmt.Sprint(got) != "map[1:2 2:2]" || len(out.Speakers) != 1 || out.Speakers[0].Group != 3 {
		t.Errorf("groups %v, speakers %+v", got, out.Speakers)
	}
}
