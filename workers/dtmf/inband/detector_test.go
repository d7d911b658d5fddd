package inband

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-voip/switchboard/workers/dtmf/digit"
	"github.com/switchboard-voip/switchboard/workers/media/g711"
)

const all = "123A456B789C*0#D"

// sequence synthesises each digit of s with tn's settings, 60 ms of
// silence before each and after the last.
func sequence(t *testing.T, s string, tn tone) []float64 {
	t.Helper()
	var x []float64
	for i := range len(s) {
		x = silence(x, ms(60))
		tn.d = digit.Digit(s[i])
		x = tn.synth(t, x)
	}
	return silence(x, ms(60))
}

func TestAllDigits(t *testing.T) {
	evs := detect(t, pcm16(sequence(t, all, tone{low: -10, high: -10, dur: ms(100)})), 160)
	got, durs := presses(t, evs)
	if got != all {
		t.Fatalf("digits %q, want %q", got, all)
	}
	for i, d := range durs {
		if d < ms(85) || d > ms(115) {
			t.Errorf("digit %c: duration %s, want about 100ms", all[i], d)
		}
	}
}

func TestAcceptance(t *testing.T) {
	for _, tc := range []struct {
		name string
		tn   tone
		want bool
	}{
		{"-3 dBm0", tone{low: -3, high: -3}, true},
		{"-20 dBm0", tone{low: -20, high: -20}, true},
		{"-28 dBm0", tone{low: -28, high: -28}, true},
		{"-36 dBm0", tone{low: -36, high: -36}, false},
		{"-45 dBm0", tone{low: -45, high: -45}, false},
		{"high 7 dB weaker", tone{low: -6, high: -13}, true},
		{"high 10 dB weaker", tone{low: -6, high: -16}, false},
		{"high 3 dB stronger", tone{low: -13, high: -10}, true},
		{"high 6 dB stronger", tone{low: -16, high: -10}, false},
		{"+1.5 %", tone{low: -10, high: -10, offL: 0.015, offH: 0.015}, true},
		{"-1.5 %", tone{low: -10, high: -10, offL: -0.015, offH: -0.015}, true},
		{"+1.5 % -1.5 %", tone{low: -10, high: -10, offL: 0.015, offH: -0.015}, true},
		{"-1.5 % at -25 dBm0", tone{low: -25, high: -25, offL: -0.015, offH: -0.015}, true},
		{"+3.5 %", tone{low: -10, high: -10, offL: 0.035, offH: 0.035}, false},
		{"-3.5 %", tone{low: -10, high: -10, offL: -0.035, offH: -0.035}, false},
		{"low +3.5 %", tone{low: -10, high: -10, offL: 0.035}, false},
		{"low -3.5 %", tone{low: -10, high: -10, offL: -0.035}, false},
		{"high +3.5 %", tone{low: -10, high: -10, offH: 0.035}, false},
		{"high -3.5 %", tone{low: -10, high: -10, offH: -0.035}, false},
		{"high -3.5 %, 6 dB weaker", tone{low: -6, high: -12, offH: -0.035}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.tn.dur = ms(100)
			got, _ := presses(t, detect(t, pcm16(sequence(t, all, tc.tn)), 160))
			want := ""
			if tc.want {
				want = all
			}
			if got != want {
				t.Errorf("digits %q, want %q", got, want)
			}
		})
	}
}

func TestDurations(t *testing.T) {
	// Every alignment of the tone against the 102-sample blocks.
	for shift := 0; shift < BlockSize; shift += 17 {
		for _, tc := range []struct {
			dur  time.Duration
			want string
		}{
			{ms(10), ""}, {ms(20), ""}, {ms(40), "5"}, {ms(60), "5"}, {ms(2000), "5"},
		} {
			x := make([]float64, 400+shift)
			x = tone{d: '5', low: -6, high: -6, dur: tc.dur}.synth(t, x)
			x = silence(x, ms(100))
			got, durs := presses(t, detect(t, pcm16(x), 160))
			if got != tc.want {
				t.Errorf("shift %d, %s: %q, want %q", shift, tc.dur, got, tc.want)
			}
			if len(durs) == 1 && (durs[0] < tc.dur-ms(16) || durs[0] > tc.dur+ms(16)) {
				t.Errorf("shift %d, %s: measured %s", shift, tc.dur, durs[0])
			}
		}
	}
}

func TestPauses(t *testing.T) {
	for _, tc := range []struct {
		name      string
		tone, off time.Duration
		want      string
	}{
		{"40 ms pause separates two presses", ms(50), ms(40), "55"},
		{"10 ms drop-out does not split one", ms(100), ms(10), "5"},
	} {
		tn := tone{d: '5', low: -10, high: -10, dur: tc.tone}
		for shift := 0; shift < BlockSize; shift += 17 {
			x := tn.synth(t, make([]float64, 400+shift))
			x = tn.synth(t, silence(x, tc.off))
			if got, _ := presses(t, detect(t, pcm16(silence(x, ms(100))), 160)); got != tc.want {
				t.Errorf("%s, shift %d: %q", tc.name, shift, got)
			}
		}
	}
	// Two keys with no pause between them.
	x := tone{d: '1', low: -10, high: -10, dur: ms(100)}.synth(t, nil)
	x = tone{d: '9', low: -10, high: -10, dur: ms(100)}.synth(t, x)
	if got, _ := presses(t, detect(t, pcm16(silence(x, ms(60))), 160)); got != "19" {
		t.Errorf("back to back: %q", got)
	}
}

func TestNoise(t *testing.T) {
	for _, tc := range []struct {
		tone, noise float64
	}{{-10, -30}, {-20, -35}, {-25, -45}} {
		x := sequence(t, all, tone{low: tc.tone, high: tc.tone, dur: ms(80)})
		addNoise(x, tc.noise, 1)
		if got, _ := presses(t, detect(t, pcm16(x), 160)); got != all {
			t.Errorf("tones %v dBm0, noise %v dBm0: %q", tc.tone, tc.noise, got)
		}
	}
	// Noise alone, loud, is not a digit.
	x := make([]float64, 5*SampleRate)
	addNoise(x, -10, 2)
	if evs := detect(t, pcm16(x), 160); len(evs) != 0 {
		t.Errorf("noise: %v", evs)
	}
}

func TestSpeechDoesNotFire(t *testing.T) {
	sp := speech(t)
	for _, gain := range []float64{0.25, 0.5, 1, 1.5} {
		x := make([]float64, len(sp))
		for i, v := range sp {
			x[i] = float64(v) * gain
		}
		if evs := detect(t, pcm16(x), 160); len(evs) != 0 {
			t.Errorf("speech at gain %v: %v", gain, evs)
		}
	}
}

func TestToneInSpeech(t *testing.T) {
	sp := speech(t)
	x := make([]float64, len(sp))
	for i, v := range sp {
		x[i] = float64(v) * 0.5 // speech at about -23 dBm0 on average
	}
	// One digit every 700 ms, 120 ms long, at -6 dBm0 per tone, over the
	// speech.
	want := ""
	for i, at := 0, count(ms(300)); at+count(ms(200)) < len(x); i, at = i+1, at+count(ms(700)) {
		d := digit.Digit(all[i%len(all)])
		want += string(d)
		tn := tone{d: d, low: -6, high: -6, dur: ms(120)}.synth(t, nil)
		for j, v := range tn {
			x[at+j] += v
		}
	}
	got, _ := presses(t, detect(t, pcm16(x), 160))
	if got != want {
		t.Errorf("digits %q, want %q", got, want)
	}
}

func TestG711RoundTrip(t *testing.T) {
	pcm := pcm16(sequence(t, all, tone{low: -20, high: -20, dur: ms(60)}))
	enc := make([]byte, len(pcm))
	dec := make([]int16, len(pcm))
	for _, law := range []string{"ulaw", "alaw"} {
		if law == "ulaw" {
			g711.EncodeUlaw(enc, pcm)
			g711.DecodeUlaw(dec, enc)
		} else {
			g711.EncodeAlaw(enc, pcm)
			g711.DecodeAlaw(dec, enc)
		}
		if got, _ := presses(t, detect(t, dec, 160)); got != all {
			t.Errorf("%s: %q", law, got)
		}
	}
}

func TestChunkSizes(t *testing.T) {
	pcm := pcm16(sequence(t, "159#", tone{low: -10, high: -10, dur: ms(70)}))
	want := fmt.Sprint(detect(t, pcm, len(pcm)))
	for _, chunk := range []int{1, 7, 80, 160, 161, 1000} {
		if got := fmt.Sprint(detect(t, pcm, chunk)); got != want {
			t.Errorf("chunk %d: %s, want %s", chunk, got, want)
		}
	}
}

func TestPositionAndReset(t *testing.T) {
	d, _ := New(Config{})
	pcm := pcm16(tone{d: '7', low: -10, high: -10, dur: ms(100)}.synth(t, nil))
	evs := d.Write(nil, pcm)
	if d.Position() != ms(100) {
		t.Errorf("position %s", d.Position())
	}
	if len(evs) != 1 || evs[0].Kind != digit.Started {
		t.Fatalf("events %v", evs)
	}
	d.Reset()
	if d.Position() != 0 || len(d.Flush(nil)) != 0 {
		t.Error("reset kept state")
	}
}

func TestConfig(t *testing.T) {
	for _, cfg := range []Config{{MinLevel: 4}, {NormalTwist: -1}, {MinToneRatio: 1.5}, {RelativePeak: -2}} {
		if _, err := New(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: %v", cfg, err)
		}
	}
	if _, _, ok := Tones('x'); ok {
		t.Error("Tones of x")
	}
}

func TestNoAllocs(t *testing.T) {
	pcm := pcm16(sequence(t, "12", tone{low: -10, high: -10, dur: ms(100)}))
	d, _ := New(Config{})
	evs := make([]digit.Event, 0, 8)
	if n := testing.AllocsPerRun(10, func() {
		d.Reset()
		for i := 0; i+160 <= len(pcm); i += 160 {
			evs = d.Write(evs[:0], pcm[i:i+160])
		}
	}); n != 0 {
		t.Errorf("%v allocs", n)
	}
}
