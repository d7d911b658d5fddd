package webrtcpeer

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/switchboard-voip/switchboard/workers/media/codec"
)

// BenchmarkWebRTCLegs measures what a WebRTC leg costs: N legs, each
// connected over ICE and DTLS-SRTP on 127.0.0.1 to a pion offerer in the
// same process, with 20 ms Opus frames both ways, for a fixed window
// (WEBRTC_BENCH_SECONDS, default 5). It reports the process CPU over the
// window (getrusage, user + system) per leg in percent of one core: both
// ends run here with the same pion stack and interceptors, so a leg's
// share is the total divided by 2N. "opus" legs also decode every frame
// they receive and encode every frame they send (48 kHz, complexity 5),
// as a leg bridged to G.711 or mixed does; the others relay pre-encoded
// frames, which is pion's cost alone. b.N is ignored: one run is one
// measurement.
//
//	go test -tags nolibopusfile -run '^$' -bench WebRTCLegs -benchtime 1x ./workers/media/webrtcpeer/
func BenchmarkWebRTCLegs(b *testing.B) {
	window := 5 * time.Second
	if s, err := strconv.Atoi(os.Getenv("WEBRTC_BENCH_SECONDS")); err == nil && s > 0 {
		window = time.Duration(s) * time.Second
	}
	for _, tc := range []struct {
		legs int
		opus bool
	}{{50, false}, {100, false}, {200, false}, {50, true}} {
		name := fmt.Sprintf("legs=%d", tc.legs)
		if tc.opus {
			name += "/opus"
		}
		b.Run(name, func(b *testing.B) { benchLegs(b, tc.legs, tc.opus, window) })
	}
}

// benchLeg is one leg of the benchmark and its far end.
type benchLeg struct {
	leg  *Leg
	o    *offerer
	got  atomic.Uint64 // packets the leg received
	dec  codec.Decoder
	enc  codec.Encoder
	pcm  []int16
	buf  []byte
	frac int // index into the pre-encoded frames
}

func benchLegs(b *testing.B, n int, opus bool, window time.Duration) {
	e := newEngine(b)
	frames := opusFrames(b, 440, 50)
	pcm := make([][]int16, 50) // what an opus leg encodes, made beforehand
	for i := range pcm {
		pcm[i] = toneFrame(i, 1000)
	}
	legs := make([]*benchLeg, n)
	for i := range legs {
		bl := &benchLeg{o: newOfferer(b, opusCodec), buf: make([]byte, codec.MaxPayload)}
		bl.o.countOnly = true
		if opus {
			var err error
			if bl.dec, err = codec.NewOpusDecoder(48000); err != nil {
				b.Fatal(err)
			}
			if bl.enc, err = codec.NewOpusEncoder(48000, codec.DefaultOpusConfig(48000)); err != nil {
				b.Fatal(err)
			}
			bl.pcm = make([]int16, codec.MaxPacketSamples(48000))
		}
		bl.leg = e.NewLeg(LegConfig{OnPacket: bl.onPacket})
		legs[i] = bl
	}
	defer func() {
		for _, bl := range legs {
			_ = bl.leg.Close()
		}
	}()

	// Connect a few at a time: every DTLS handshake is an ECDHE and two
	// signatures per side.
	start := time.Now()
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for _, bl := range legs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := bl.o.connect(bl.leg, 30*time.Second); err != nil {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if failed.Load() > 0 {
		b.Fatalf("%d of %d legs did not connect", failed.Load(), n)
	}
	setup := time.Since(start)

	// Two pacers, one per side, each sending a frame on every leg every
	// 20 ms, as the media worker's playout clock does.
	stop := make(chan struct{})
	var sent atomic.Uint64
	pace := func(send func(*benchLeg)) func() {
		return every20ms(stop, func() struct{} {
			for _, bl := range legs {
				send(bl)
			}
			return struct{}{}
		})
	}
	var pacers sync.WaitGroup
	pacers.Go(pace(func(bl *benchLeg) {
		f := frames[bl.frac%len(frames)]
		bl.frac++
		if bl.enc != nil { // encode a fresh frame, as a transcoding leg does
			k, err := bl.enc.Encode(pcm[bl.frac%len(pcm)], bl.buf)
			if err != nil {
				return
			}
			f = bl.buf[:k]
		}
		if bl.leg.WriteSample(f, 960, false) == nil {
			sent.Add(1)
		}
	}))
	var offered atomic.Uint64
	pacers.Go(pace(func(bl *benchLeg) {
		if bl.o.out.writeSample(frames[bl.frac%len(frames)], 960, false) == nil {
			offered.Add(1)
		}
	}))
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		pacers.Wait()
	}()

	time.Sleep(time.Second) // warm up: first reports, buffers, GC settles
	count := func() (legGot, offGot uint64) {
		for _, bl := range legs {
			legGot += bl.got.Load()
			offGot += bl.o.count.Load()
		}
		return
	}
	cpu0, wall0 := cpuTime(), time.Now()
	legGot0, offGot0 := count()
	sent0, offered0 := sent.Load(), offered.Load()
	time.Sleep(window)
	cpu1, wall1 := cpuTime(), time.Now()
	legGot1, offGot1 := count()
	sent1, offered1 := sent.Load(), offered.Load()
	close(stop)
	pacers.Wait()

	wall := wall1.Sub(wall0)
	cores := float64(cpu1-cpu0) / float64(wall)
	perLeg := 100 * cores / float64(2*n)
	loss := func(s, r uint64) float64 {
		if s == 0 {
			return 100
		}
		return 100 * math.Max(float64(s)-float64(r), 0) / float64(s)
	}
	b.ReportMetric(perLeg, "%core/leg")
	b.ReportMetric(100*cores, "%core_total")
	b.ReportMetric(setup.Seconds(), "s_setup")
	b.ReportMetric(loss(offered1-offered0, legGot1-legGot0), "%loss_to_leg")
	b.ReportMetric(loss(sent1-sent0, offGot1-offGot0), "%loss_from_leg")
	b.Logf("%d legs (opus=%v): %.2f cores over %s, %.3f%% of a core per leg; setup %s; packets to legs %d/%d, from legs %d/%d",
		n, opus, cores, wall.Round(time.Millisecond), perLeg, setup.Round(time.Millisecond),
		legGot1-legGot0, offered1-offered0, offGot1-offGot0, sent1-sent0)
}

// onPacket counts, and decodes when the leg transcodes.
func (bl *benchLeg) onPacket(p *rtp.Packet) {
	bl.got.Add(1)
	if bl.dec != nil {
		_, _ = bl.dec.Decode(p.Payload, bl.pcm)
	}
}

// opusFrames encodes count 20 ms frames of a freq Hz tone at 48 kHz.
func opusFrames(b *testing.B, freq float64, count int) [][]byte {
	enc, err := codec.NewOpusEncoder(48000, codec.DefaultOpusConfig(48000))
	if err != nil {
		b.Fatal(err)
	}
	out := make([][]byte, count)
	buf := make([]byte, codec.MaxPayload)
	for i := range out {
		n, err := enc.Encode(toneFrame(i, freq), buf)
		if err != nil {
			b.Fatal(err)
		}
		out[i] = append([]byte(nil), buf[:n]...)
	}
	return out
}

// toneFrame is the i-th 20 ms frame of a freq Hz tone at 48 kHz.
func toneFrame(i int, freq float64) []int16 {
	pcm := make([]int16, 960)
	for k := range pcm {
		pcm[k] = int16(8000 * math.Sin(2*math.Pi*freq*float64(i*960+k)/48000))
	}
	return pcm
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
