package codec

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/switchboard-voip/switchboard/workers/media/resample"
)

// tone returns n samples of amp·sin(2πf·i/rate).
func tone(n int, f float64, rate int, amp float64) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(math.Round(amp * math.Sin(2*math.Pi*f*float64(i)/float64(rate))))
	}
	return s
}

// speechLike synthesizes n samples of a crude, deterministic voice: a
// glottal pulse train whose pitch glides between 100 and 220 Hz, shaped
// by three formant resonators that move from vowel to vowel, with
// syllable-rate amplitude and short noisy (fricative) stretches. It has
// what matters to a speech codec: a pitch, formants, onsets and
// unvoiced sounds. Its peaks are at -6 dBFS.
func speechLike(n, rate int) []int16 {
	fs := float64(rate)
	rng := rand.New(rand.NewPCG(7, 11))
	vowels := [][3]float64{{730, 1090, 2440}, {270, 2290, 3010}, {300, 870, 2240}, {530, 1840, 2480}, {570, 840, 2410}}
	type reson struct{ y1, y2 float64 }
	var rs [3]reson
	v := make([]float64, n)
	phase := 0.0
	peak := 0.0
	for i := range v {
		t := float64(i) / fs
		f0 := 160 + 60*math.Sin(2*math.Pi*0.7*t)
		phase += f0 / fs
		var src float64
		if phase >= 1 {
			phase--
			src = 1
		}
		syl := t * 4 // four syllables a second
		k := int(syl)
		env := math.Pow(math.Sin(math.Pi*(syl-float64(k))), 2)
		if k%5 == 3 { // a fricative
			src = (rng.Float64()*2 - 1) * 0.3
		}
		formants := vowels[k%len(vowels)]
		x := src
		var y float64
		for j := range rs {
			f := math.Min(formants[j], 0.45*fs)
			r := math.Exp(-math.Pi * (60 + 40*float64(j)) / fs)
			a1, a2 := 2*r*math.Cos(2*math.Pi*f/fs), -r*r
			o := (1-r)*x + a1*rs[j].y1 + a2*rs[j].y2
			rs[j].y2, rs[j].y1 = rs[j].y1, o
			y += o / float64(j+1)
		}
		v[i] = env * y
		peak = math.Max(peak, math.Abs(v[i]))
	}
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(math.Round(16000 * v[i] / peak)) // peaks at -6 dBFS
	}
	return out
}

// espeak returns a spoken English sentence at rate, made by espeak-ng and
// resampled from its 22.05 kHz, or skips the test if espeak-ng is not
// installed.
func espeak(t *testing.T, rate int) []int16 {
	t.Helper()
	bin, err := exec.LookPath("espeak-ng")
	if err != nil {
		t.Skip("espeak-ng not installed")
	}
	wav := filepath.Join(t.TempDir(), "speech.wav")
	cmd := exec.Command(bin, "-v", "en-us", "-s", "150", "-w", wav,
		"The quick brown fox jumps over the lazy dog. Please hold while we connect your call.")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("espeak-ng failed: %v: %s", err, out)
	}
	b, err := os.ReadFile(wav)
	if err != nil {
		t.Fatal(err)
	}
	pcm, in := parseWAV(t, b)
	r, err := resample.New(in, rate)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int16, r.MaxOutLen(len(pcm)))
	n, err := r.Process(out, pcm)
	if err != nil {
		t.Fatal(err)
	}
	return out[:n]
}

// parseWAV reads a 16-bit mono PCM WAV file (what espeak-ng writes).
func parseWAV(t *testing.T, b []byte) ([]int16, int) {
	t.Helper()
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		t.Fatal("not a WAV file")
	}
	rate := 0
	for p := 12; p+8 <= len(b); {
		id, size := string(b[p:p+4]), int(binary.LittleEndian.Uint32(b[p+4:]))
		body := b[p+8:]
		switch id {
		case "fmt ":
			if binary.LittleEndian.Uint16(body[0:]) != 1 || binary.LittleEndian.Uint16(body[2:]) != 1 ||
				binary.LittleEndian.Uint16(body[14:]) != 16 {
				t.Fatal("WAV is not 16-bit mono PCM")
			}
			rate = int(binary.LittleEndian.Uint32(body[4:]))
		case "data":
			size = min(size, len(body)) // espeak-ng writing to a file leaves sizes of 0x7ffff...
			pcm := make([]int16, size/2)
			for i := range pcm {
				pcm[i] = int16(binary.LittleEndian.Uint16(body[2*i:]))
			}
			return pcm, rate
		}
		p += 8 + size + size%2
	}
	t.Fatal("WAV has no data")
	return nil, 0
}

// snr returns the signal-to-noise ratio of got against ref, in dB.
func snr(ref, got []int16) float64 {
	var s, e float64
	for i := range ref {
		d := float64(got[i]) - float64(ref[i])
		s += float64(ref[i]) * float64(ref[i])
		e += d * d
	}
	return 10 * math.Log10(s/e)
}

// align finds the codec delay: the lag in [0, maxLag] at which got best
// matches ref (normalized cross-correlation over ref[from:to]), and
// returns it with the correlation coefficient there.
func align(ref, got []int16, from, to, maxLag int) (lag int, corr float64) {
	corr = -2
	for l := 0; l <= maxLag; l++ {
		if c := correlation(ref[from:to], got[from+l:to+l]); c > corr {
			lag, corr = l, c
		}
	}
	return lag, corr
}

// correlation is the normalized cross-correlation (Pearson's r without the
// mean, which audio does not have) of a and b.
func correlation(a, b []int16) float64 {
	var ab, aa, bb float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		ab += x * y
		aa += x * x
		bb += y * y
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}

// energyDB returns the mean power of s in dB relative to full scale.
func energyDB(s []int16) float64 {
	var e float64
	for _, v := range s {
		e += float64(v) * float64(v)
	}
	return 10 * math.Log10(e/float64(len(s))/(32768*32768)+1e-20)
}

// roundTrip encodes sig in frames of frame samples and decodes every
// packet, returning the decoded signal and the bytes sent.
func roundTrip(t testing.TB, enc Encoder, dec Decoder, sig []int16, frame int) ([]int16, int) {
	t.Helper()
	out := make([]int16, 0, len(sig))
	payload := make([]byte, MaxPayload)
	pcm := make([]int16, MaxPacketSamples(dec.SampleRate()))
	bytes := 0
	for i := 0; i+frame <= len(sig); i += frame {
		n, err := enc.Encode(sig[i:i+frame], payload)
		if err != nil {
			t.Fatalf("Encode: %v", err)
		}
		bytes += n
		m, err := dec.Decode(payload[:n], pcm)
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		out = append(out, pcm[:m]...)
	}
	return out, bytes
}
