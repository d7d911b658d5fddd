package codec

import (
	"fmt"
	"testing"
	"time"

	"gopkg.in/hraban/opus.v2"

	"github.com/switchboard-voip/switchboard/workers/media/g711"
	"github.com/switchboard-voip/switchboard/workers/media/resample"
)

// benchFrames is 2 s of speechLike at rate cut into 20 ms frames, cycled
// through by the benchmarks so that the encoders see changing speech and
// silence rather than one frame over and over.
func benchFrames(rate int) [][]int16 {
	sig := speechLike(2*rate, rate)
	var frames [][]int16
	for i := 0; i+rate/50 <= len(sig); i += rate / 50 {
		frames = append(frames, sig[i:i+rate/50])
	}
	return frames
}

// benchPackets encodes benchFrames(rate) with DefaultOpusConfig: the far
// end's stream that the decode benchmarks decode.
func benchPackets(b *testing.B, rate int) [][]byte {
	enc, err := NewOpusEncoder(rate, DefaultOpusConfig(rate))
	if err != nil {
		b.Fatal(err)
	}
	var packets [][]byte
	buf := make([]byte, MaxPayload)
	for _, f := range benchFrames(rate) {
		n, err := enc.Encode(f, buf)
		if err != nil {
			b.Fatal(err)
		}
		packets = append(packets, append([]byte(nil), buf[:n]...))
	}
	return packets
}

// BenchmarkOpusEncode encodes one 20 ms frame per iteration at 8 and
// 48 kHz and complexity 1, 5 and 10 (DefaultOpusConfig otherwise: FEC on),
// and at complexity 5 without FEC, which shows what the redundancy costs
// (a second, low-bitrate SILK encoding of every active frame).
func BenchmarkOpusEncode(b *testing.B) {
	for _, rate := range []int{8000, 48000} {
		for _, c := range []struct {
			name       string
			complexity int
			fec        bool
		}{{"c0", 0, true}, {"c1", 1, true}, {"c3", 3, true}, {"c5", 5, true}, {"c10", 10, true}, {"c5/noFEC", 5, false}} {
			b.Run(fmt.Sprintf("%dk/%s", rate/1000, c.name), func(b *testing.B) {
				cfg := DefaultOpusConfig(rate)
				cfg.Complexity = c.complexity
				cfg.FEC = c.fec
				enc, err := NewOpusEncoder(rate, cfg)
				if err != nil {
					b.Fatal(err)
				}
				frames := benchFrames(rate)
				payload := make([]byte, MaxPayload)
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if _, err := enc.Encode(frames[i%len(frames)], payload); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		}
	}
}

// BenchmarkOpusDecode decodes one 20 ms packet per iteration; Conceal
// and DecodeFEC are the loss paths, per lost packet.
func BenchmarkOpusDecode(b *testing.B) {
	for _, rate := range []int{8000, 48000} {
		packets := benchPackets(b, rate)
		pcm := make([]int16, MaxPacketSamples(rate))
		b.Run(fmt.Sprintf("%dk", rate/1000), func(b *testing.B) {
			dec := mustOpusDecoder(b, rate)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := dec.Decode(packets[i%len(packets)], pcm); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		b.Run(fmt.Sprintf("%dk/Conceal", rate/1000), func(b *testing.B) {
			dec := mustOpusDecoder(b, rate)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				// Alternate a packet and a loss, so PLC always has
				// something to extend.
				if _, err := dec.Decode(packets[i%len(packets)], pcm); err != nil {
					b.Fatal(err)
				}
				if _, err := dec.Conceal(pcm); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		b.Run(fmt.Sprintf("%dk/DecodeFEC", rate/1000), func(b *testing.B) {
			dec := mustOpusDecoder(b, rate)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := dec.DecodeFEC(packets[(i+1)%len(packets)], pcm); err != nil {
					b.Fatal(err)
				}
				if _, err := dec.Decode(packets[(i+1)%len(packets)], pcm); err != nil {
					b.Fatal(err)
				}
				i += 2
			}
		})
	}
}

// BenchmarkG711 is the G.711 codecs' cost per 20 ms packet, and of a
// concealed one.
func BenchmarkG711(b *testing.B) {
	frames := benchFrames(8000)
	payload := make([]byte, 160)
	pcm := make([]int16, 160)
	b.Run("Encode", func(b *testing.B) {
		enc := NewPCMUEncoder()
		b.ReportAllocs()
		for b.Loop() {
			enc.Encode(frames[7], payload)
		}
	})
	b.Run("Decode", func(b *testing.B) {
		dec := NewPCMUDecoder()
		NewPCMUEncoder().Encode(frames[7], payload)
		b.ReportAllocs()
		for b.Loop() {
			dec.Decode(payload, pcm)
		}
	})
	b.Run("Conceal", func(b *testing.B) {
		dec := NewPCMUDecoder()
		NewPCMUEncoder().Encode(frames[7], payload)
		b.ReportAllocs()
		for b.Loop() {
			// a packet, then a loss: each iteration starts a new loss
			// (the pitch search) and ends it (the merge).
			dec.Decode(payload, pcm)
			dec.Conceal(pcm)
		}
	})
}

// BenchmarkTranscodedCall is the CPU of one G.711<->Opus call per 20 ms,
// both directions: µ-law in -> PCM -> Opus out, and Opus in -> PCM ->
// µ-law out, through this package; against bare libopus (hraban/opus.v2
// called directly) doing the same encode and decode at the same settings
// on the same audio. The two are interleaved in every iteration, so that
// machine noise hits both alike, and reported as bare-ns/frame,
// transcoded-ns/frame and their ratio (the target is at most 1.3).
// ns/op is the sum of both. Sub-benchmarks run Opus at 8 kHz (what a
// G.711 bridge should do) with complexity 1, 5 and 10, and at 48 kHz with
// the resampler between 8 and 48 kHz, against bare libopus at 48 kHz.
func BenchmarkTranscodedCall(b *testing.B) {
	for _, tc := range []struct {
		rate, complexity int
	}{{8000, 1}, {8000, 5}, {8000, 10}, {48000, 5}} {
		b.Run(fmt.Sprintf("opus%dk/c%d", tc.rate/1000, tc.complexity), func(b *testing.B) {
			benchTranscode(b, tc.rate, tc.complexity)
		})
	}
}

func benchTranscode(b *testing.B, rate, complexity int) {
	cfg := DefaultOpusConfig(rate)
	cfg.Complexity = complexity

	// The audio: the G.711 leg's µ-law packets, the same speech at the
	// Opus rate for bare libopus, and the Opus leg's packets.
	pcm8 := benchFrames(8000)
	ulaw := make([][]byte, len(pcm8))
	for i, f := range pcm8 {
		ulaw[i] = make([]byte, 160)
		g711.EncodeUlaw(ulaw[i], f)
	}
	pcmRate := benchFrames(rate)
	farOpus := benchPackets(b, rate)

	// Bare libopus.
	bareEnc, err := opus.NewEncoder(rate, 1, opus.AppVoIP)
	if err != nil {
		b.Fatal(err)
	}
	bareEnc.SetBitrate(cfg.Bitrate)
	bareEnc.SetComplexity(cfg.Complexity)
	bareEnc.SetInBandFEC(cfg.FEC)
	bareEnc.SetPacketLossPerc(cfg.PacketLossPerc)
	bareDec, err := opus.NewDecoder(rate, 1)
	if err != nil {
		b.Fatal(err)
	}

	// This package, plus resamplers when Opus is not at 8 kHz.
	gDec, gEnc := NewPCMUDecoder(), NewPCMUEncoder()
	oEnc, err := NewOpusEncoder(rate, cfg)
	if err != nil {
		b.Fatal(err)
	}
	oDec := mustOpusDecoder(b, rate)
	var up, down *resample.Resampler
	if rate != 8000 {
		up, _ = resample.New(8000, rate)
		down, _ = resample.New(rate, 8000)
	}

	payload := make([]byte, MaxPayload)
	out := make([]byte, MaxPayload)
	pcmA := make([]int16, 160)
	pcmR := make([]int16, MaxPacketSamples(rate))
	pcmB := make([]int16, MaxPacketSamples(rate))
	k := 0
	bareF := func() { bareCall(b, bareEnc, bareDec, pcmRate[k], farOpus[k], payload, pcmB) }
	transF := func() {
		transCall(b, gDec, gEnc, oEnc, oDec, up, down, ulaw[k], farOpus[k], payload, out, pcmA, pcmR, pcmB)
	}
	var bare, trans time.Duration
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k = i % len(pcm8)
		// Alternate which runs first, so that neither always finds the
		// caches warmed (or cooled) by the other.
		if i%2 == 0 {
			bare += timeIt(bareF)
			trans += timeIt(transF)
		} else {
			trans += timeIt(transF)
			bare += timeIt(bareF)
		}
		i++
	}
	iters := float64(i)
	b.ReportMetric(float64(bare.Nanoseconds())/iters, "bare-ns/frame")
	b.ReportMetric(float64(trans.Nanoseconds())/iters, "transcoded-ns/frame")
	b.ReportMetric(float64(trans)/float64(bare), "ratio")
}

func timeIt(f func()) time.Duration {
	t := time.Now()
	f()
	return time.Since(t)
}

// bareCall is one 20 ms of a call in bare libopus: encode our side,
// decode theirs.
func bareCall(b *testing.B, enc *opus.Encoder, dec *opus.Decoder, pcm []int16, far, payload []byte, pcmB []int16) {
	if _, err := enc.Encode(pcm, payload); err != nil {
		b.Fatal(err)
	}
	if _, err := dec.Decode(far, pcmB); err != nil {
		b.Fatal(err)
	}
}

// transCall is one 20 ms of a transcoded call through this package: the
// G.711 leg's packet to an Opus packet, and the Opus leg's packet to a
// G.711 packet, resampling if Opus does not run at 8 kHz.
func transCall(b *testing.B, gDec *G711Decoder, gEnc *G711Encoder, oEnc *OpusEncoder, oDec *OpusDecoder,
	up, down *resample.Resampler, ulaw, far, payload, out []byte, pcmA, pcmR, pcmB []int16) {
	if _, err := gDec.Decode(ulaw, pcmA); err != nil {
		b.Fatal(err)
	}
	in := pcmA
	if up != nil {
		w, _ := up.Process(pcmR, pcmA)
		in = pcmR[:w]
	}
	if _, err := oEnc.Encode(in, payload); err != nil {
		b.Fatal(err)
	}
	m, err := oDec.Decode(far, pcmB)
	if err != nil {
		b.Fatal(err)
	}
	back := pcmB[:m]
	if down != nil {
		w, _ := down.Process(pcmA, back)
		back = pcmA[:w]
	}
	if _, err := gEnc.Encode(back, out); err != nil {
		b.Fatal(err)
	}
}
