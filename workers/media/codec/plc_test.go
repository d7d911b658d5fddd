package codec

import (
	"errors"
	"fmt"
	"math"
	"testing"
)

// lossy decodes packets of sig (frame samples each) and conceals every
// packet for which lost(i) is true, returning the output.
func lossy(t *testing.T, enc Encoder, dec Decoder, sig []int16, frame int, lost func(i int) bool) []int16 {
	t.Helper()
	out := make([]int16, 0, len(sig))
	payload := make([]byte, MaxPayload)
	pcm := make([]int16, MaxPacketSamples(dec.SampleRate()))
	for i := 0; (i+1)*frame <= len(sig); i++ {
		n, err := enc.Encode(sig[i*frame:(i+1)*frame], payload)
		if err != nil {
			t.Fatal(err)
		}
		var m int
		if lost(i) {
			m, err = dec.Conceal(pcm)
		} else {
			m, err = dec.Decode(payload[:n], pcm)
		}
		if err != nil {
			t.Fatal(err)
		}
		if m != frame {
			t.Fatalf("packet %d: %d samples, want %d", i, m, frame)
		}
		out = append(out, pcm[:m]...)
	}
	return out
}

// longestZeroRun returns the longest run of zero samples in s.
func longestZeroRun(s []int16) int {
	run, best := 0, 0
	for _, v := range s {
		if v == 0 {
			run++
			best = max(best, run)
		} else {
			run = 0
		}
	}
	return best
}

// maxStep returns the largest difference between neighbouring samples.
func maxStep(s []int16) int {
	best := 0
	for i := 1; i < len(s); i++ {
		d := int(s[i]) - int(s[i-1])
		best = max(best, d, -d)
	}
	return best
}

// TestConcealment drops one packet in twenty (5 % loss) and checks that
// each concealed packet fills the gap: no run of zeros of more than 8
// samples (1 ms at 8 kHz), a level within ±6 dB of the packet it
// replaces, and no click at either edge (no step between neighbouring
// samples more than twice the largest step of the clean output). The
// level bound is loose for libopus's PLC, which overshoots by up to 5 dB
// on a gliding voice; the G.711 concealment stays within 1 dB.
func TestConcealment(t *testing.T) {
	type codecCase struct {
		name string
		rate int
		enc  func(t *testing.T) Encoder
		dec  func(t *testing.T) Decoder
	}
	opusCase := func(rate int) codecCase {
		return codecCase{fmt.Sprintf("opus%dk", rate/1000), rate,
			func(t *testing.T) Encoder {
				e, err := NewOpusEncoder(rate, DefaultOpusConfig(rate))
				if err != nil {
					t.Fatal(err)
				}
				return e
			},
			func(t *testing.T) Decoder {
				d, err := NewOpusDecoder(rate)
				if err != nil {
					t.Fatal(err)
				}
				return d
			}}
	}
	cases := []codecCase{
		{"PCMU", 8000, func(*testing.T) Encoder { return NewPCMUEncoder() }, func(*testing.T) Decoder { return NewPCMUDecoder() }},
		{"PCMA", 8000, func(*testing.T) Encoder { return NewPCMAEncoder() }, func(*testing.T) Decoder { return NewPCMADecoder() }},
		opusCase(8000), opusCase(48000),
	}
	for _, c := range cases {
		for _, s := range []signal{signals[0], signals[1], {name: "voiced", make: func(_ *testing.T, rate int) []int16 {
			return voiced(2*rate, rate)
		}}} {
			t.Run(c.name+"/"+s.name, func(t *testing.T) {
				frame := c.rate / 50
				sig := s.make(t, c.rate)
				lost := func(i int) bool { return i%20 == 19 }
				clean := lossy(t, c.enc(t), c.dec(t), sig, frame, func(int) bool { return false })
				got := lossy(t, c.enc(t), c.dec(t), sig, frame, lost)
				limit := 2 * maxStep(clean)
				for i := 0; (i+1)*frame <= len(got); i++ {
					if !lost(i) {
						continue
					}
					f := got[i*frame : (i+1)*frame]
					if run := longestZeroRun(f); run > 8 {
						t.Errorf("packet %d: %d zero samples in a row", i, run)
					}
					d := energyDB(f) - energyDB(clean[i*frame:(i+1)*frame])
					if math.Abs(d) > 6 {
						t.Errorf("packet %d: concealed %+.1f dB from the clean packet", i, d)
					}
					edges := got[i*frame-4 : min((i+1)*frame+4, len(got))]
					if step := maxStep(edges); step > limit {
						t.Errorf("packet %d: step of %d, clean signal's largest is %d", i, step, limit/2)
					}
					t.Logf("packet %d: level %+.1f dB, correlation with the clean packet %.2f", i, d,
						correlation(f, clean[i*frame:(i+1)*frame]))
				}
			})
		}
	}
}

// voiced is a steady vowel-like voice: the first twelve harmonics (below
// 3.4 kHz) of a pitch gliding between 110 and 170 Hz, falling 6 dB per
// octave, at a constant level, so that a concealment's level can be judged
// against the packet it replaces.
func voiced(n, rate int) []int16 {
	s := make([]int16, n)
	for i := range s {
		tm := float64(i) / float64(rate)
		f0 := 140 + 30*math.Sin(2*math.Pi*0.5*tm)
		var v float64
		for h := 1; h <= 12 && float64(h)*f0 < 3400; h++ {
			v += math.Sin(2*math.Pi*float64(h)*voicePhase(tm)) / float64(h)
		}
		s[i] = int16(6000 * v)
	}
	return s
}

// voicePhase is the integral of the pitch 140 + 30·sin(2π·0.5·t), in
// cycles, so that the harmonics glide without phase jumps.
func voicePhase(t float64) float64 {
	return 140*t + 30/(2*math.Pi*0.5)*(1-math.Cos(2*math.Pi*0.5*t))
}

// TestConcealmentFades checks the shape of a long G.711 loss: 100 ms lost
// from a steady tone is at full level for the first 10 ms, fades, is
// silent from 60 ms on, and the next packet fades back in from silence
// without a step.
func TestConcealmentFades(t *testing.T) {
	sig := tone(8000, 440, 8000, 10000)
	enc, dec := NewPCMUEncoder(), NewPCMUDecoder()
	got := lossy(t, enc, dec, sig, 80, func(i int) bool { return i >= 20 && i < 30 }) // 10 ms packets
	seg := func(ms0, ms1 int) []int16 { return got[200*8+ms0*8 : 200*8+ms1*8] }
	first, second, fifth := energyDB(seg(0, 10)), energyDB(seg(10, 20)), energyDB(seg(40, 50))
	t.Logf("loss at 0-10 ms %.1f dB, 10-20 ms %.1f dB, 40-50 ms %.1f dB (clean %.1f dB)",
		first, second, fifth, energyDB(sig[:800]))
	if d := first - energyDB(sig[:800]); math.Abs(d) > 1 {
		t.Errorf("first 10 ms %+.1f dB from the clean level, want full level", d)
	}
	if !(second < first && fifth < second-6) {
		t.Error("concealment does not fade")
	}
	for i, v := range seg(60, 100) {
		if v != 0 {
			t.Fatalf("sample %d ms into the loss is %d, want silence after 60 ms", 60+i/8, v)
		}
	}
	after := got[300*8 : 300*8+80]
	if step := maxStep(got[300*8-1 : 300*8+80]); step > 2*maxStep(sig) {
		t.Errorf("step of %d as the signal returns", step)
	}
	if energyDB(after[:8]) > energyDB(after[72:])-6 {
		t.Error("the signal does not fade back in")
	}
}

// TestConcealErrors checks Conceal's buffer and first-packet rules.
func TestConcealErrors(t *testing.T) {
	opusDec, err := NewOpusDecoder(16000)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		dec  Decoder
		n    int
	}{
		{"PCMU", NewPCMUDecoder(), 160},
		{"PCMA", NewPCMADecoder(), 160},
		{"opus16k", opusDec, 320},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pcm := make([]int16, tt.n)
			for i := range pcm {
				pcm[i] = 99
			}
			if _, err := tt.dec.Conceal(pcm[:tt.n-1]); !errors.Is(err, ErrShortBuffer) {
				t.Errorf("short buffer: %v, want ErrShortBuffer", err)
			}
			n, err := tt.dec.Conceal(pcm)
			if err != nil || n != tt.n {
				t.Fatalf("Conceal before any packet = %d, %v; want %d samples", n, err, tt.n)
			}
			for i, v := range pcm {
				if v != 0 {
					t.Fatalf("sample %d = %d: concealing nothing must be silence", i, v)
				}
			}
		})
	}
}
