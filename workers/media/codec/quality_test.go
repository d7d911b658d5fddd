package codec

import (
	"fmt"
	"testing"
)

// signal is one test signal at a given rate.
type signal struct {
	name string
	make func(t *testing.T, rate int) []int16
	// minCorr is the least correlation Opus at 32 kb/s must keep.
	minCorr float64
}

// signals are the round-trip test signals: two tones at -10 dBFS, the
// synthetic voice, and real (synthesized) speech when espeak-ng is there.
// The synthetic voice's bar is lower: a fifth of it is noise (its
// fricatives), which SILK codes by its spectrum, not its waveform, as it
// should.
var signals = []signal{
	{"440Hz", func(_ *testing.T, rate int) []int16 { return tone(rate, 440, rate, 10362) }, 0.9},
	{"1kHz", func(_ *testing.T, rate int) []int16 { return tone(rate, 1000, rate, 10362) }, 0.9},
	{"speechlike", func(_ *testing.T, rate int) []int16 { return speechLike(2*rate, rate) }, 0.85},
	{"espeak", espeak, 0.9},
}

// TestG711Quality checks the SNR of every signal through PCMU and PCMA:
// G.711 is a waveform codec with no delay, so the output is compared
// sample by sample. Its logarithmic companding keeps the SNR around
// 35-38 dB at any speech level; the requirement is more than 30 dB.
func TestG711Quality(t *testing.T) {
	for _, law := range []struct {
		name string
		enc  func() *G711Encoder
		dec  func() *G711Decoder
	}{{"PCMU", NewPCMUEncoder, NewPCMUDecoder}, {"PCMA", NewPCMAEncoder, NewPCMADecoder}} {
		for _, s := range signals {
			t.Run(law.name+"/"+s.name, func(t *testing.T) {
				sig := s.make(t, 8000)
				out, bytes := roundTrip(t, law.enc(), law.dec(), sig, 160)
				if bytes != len(out) {
					t.Errorf("%d bytes for %d samples", bytes, len(out))
				}
				got := snr(sig[:len(out)], out)
				t.Logf("SNR %.1f dB", got)
				if got <= 30 {
					t.Errorf("SNR %.1f dB, want > 30 dB", got)
				}
			})
		}
	}
}

// TestOpusQuality runs every signal through Opus at each internal rate
// (VOIP, 32 kb/s, complexity 5, FEC on, 20 ms frames), finds the codec's
// delay by cross-correlation, and requires the aligned output to
// correlate with the input by more than 0.9 (0.85 for the synthetic
// voice; Opus is not a waveform codec, so SNR says little, correlation
// checks it kept the waveform's shape and timing). The delay found for a
// tone is only known modulo its period; speech gives the real one,
// 6.5 ms (Opus's look-ahead). The measured figures are in docs/codecs.md.
func TestOpusQuality(t *testing.T) {
	for _, rate := range []int{8000, 16000, 48000} {
		for _, s := range signals {
			t.Run(fmt.Sprintf("%dHz/%s", rate, s.name), func(t *testing.T) {
				sig := s.make(t, rate)
				cfg := DefaultOpusConfig(rate)
				cfg.Bitrate = 32000
				enc, err := NewOpusEncoder(rate, cfg)
				if err != nil {
					t.Fatal(err)
				}
				dec, err := NewOpusDecoder(rate)
				if err != nil {
					t.Fatal(err)
				}
				out, bytes := roundTrip(t, enc, dec, sig, rate/50)
				kbps := float64(bytes*8) / (float64(len(out)) / float64(rate)) / 1000
				maxLag := rate / 25 // 40 ms
				lag, corr := align(sig, out, rate/10, len(out)-maxLag, maxLag)
				t.Logf("delay %.2f ms, correlation %.4f, SNR %.1f dB, %.1f kb/s",
					float64(lag)*1000/float64(rate), corr, snr(sig[rate/10:len(out)-lag], out[rate/10+lag:]), kbps)
				if corr <= s.minCorr {
					t.Errorf("correlation %.3f, want > %.2f", corr, s.minCorr)
				}
			})
		}
	}
}
