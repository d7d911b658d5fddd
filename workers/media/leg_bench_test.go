package media

import (
	"fmt"
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/prometheus/client_golang/prometheus"
	hopus "gopkg.in/hraban/opus.v2"

	"github.com/switchboard-voip/switchboard/workers/media/codec"
	"github.com/switchboard-voip/switchboard/workers/media/g711"
	"github.com/switchboard-voip/switchboard/workers/media/rtpsession"
	"github.com/switchboard-voip/switchboard/workers/media/sdp"
)

// BenchmarkTranscodedLegs is one 20 ms frame of a G.711<->Opus bridge
// through the worker's whole decoded path, both directions: each leg's
// packet into its jitter buffer, the playout clock's Pop, decode (µ-law;
// Opus), encode for the other leg (Opus; µ-law) with the governor's
// complexity check, and the RTP write (to a session with no remote, so the
// socket's cost is left out, as it is of the reference). In the same
// iteration, bare libopus encodes and decodes the same frames at the same
// settings; ratio = worker/bare (the aim: at most 1.3).
func BenchmarkTranscodedLegs(b *testing.B) {
	for _, cx := range []int{1, 5} {
		b.Run(fmt.Sprintf("c%d", cx), func(b *testing.B) { benchLegs(b, cx) })
	}
}

func benchLegs(b *testing.B, complexity int) {
	cfg := DefaultPlayoutConfig()
	cfg.Opus.Complexity = complexity
	play := newPlayout(cfg, prometheus.NewCounter(prometheus.CounterOpts{Name: "late"})) // not started: the loop drives the legs
	ports, err := rtpsession.NewPorts(46400, 46499)
	if err != nil {
		b.Fatal(err)
	}
	g, o := &Call{ID: "g711", play: play}, &Call{ID: "opus", play: play}
	for _, x := range []struct {
		c  *Call
		cd sdp.Codec
	}{{g, sdp.PCMU}, {o, opus}} {
		f, err := newAudioFormat(x.cd, play.opusConfig())
		if err != nil {
			b.Fatal(err)
		}
		x.c.format.Store(f)
		s, err := rtpsession.New(rtpsession.Config{Ports: ports, LocalIP: netip.MustParseAddr("127.0.0.1"), ClockRate: x.cd.Rate, PayloadType: x.cd.PT, RTCPInterval: -1})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = s.Close() })
		x.c.sess.Store(&mediaBox{s})
	}
	g.forward.Store(o)
	o.forward.Store(g)
	lg, lo := g.startLeg(g.format.Load(), nil), o.startLeg(o.format.Load(), nil)

	// One second of speech-like audio (a pitch-modulated harmonic tone),
	// as µ-law packets from the G.711 phone and Opus packets from the Opus
	// phone (48 kHz, as phones send it).
	const frames = 50
	pcm := make([][]int16, frames)
	ulaw := make([][]byte, frames)
	far := make([][]byte, frames)
	farEnc, err := codec.NewOpusEncoder(48000, codec.DefaultOpusConfig(48000))
	if err != nil {
		b.Fatal(err)
	}
	pcm48 := make([]int16, 960)
	for i := range frames {
		pcm[i] = make([]int16, 160)
		for j := range pcm[i] {
			t := float64(i*160+j) / 8000
			f0 := 140 + 30*math.Sin(2*math.Pi*3*t)
			for h := 1; h <= 8; h++ {
				pcm[i][j] += int16(2500 / float64(h) * math.Sin(2*math.Pi*f0*float64(h)*t))
			}
			for k := range 6 {
				pcm48[j*6+k] = pcm[i][j]
			}
		}
		ulaw[i] = make([]byte, 160)
		g711.EncodeUlaw(ulaw[i], pcm[i])
		buf := make([]byte, codec.MaxPayload)
		n, err := farEnc.Encode(pcm48, buf)
		if err != nil {
			b.Fatal(err)
		}
		far[i] = buf[:n]
	}

	bareEnc, err := hopus.NewEncoder(transcodeRate, 1, hopus.AppVoIP)
	if err != nil {
		b.Fatal(err)
	}
	_ = bareEnc.SetBitrate(cfg.Opus.Bitrate)
	_ = bareEnc.SetComplexity(complexity)
	_ = bareEnc.SetInBandFEC(cfg.Opus.FEC)
	_ = bareEnc.SetPacketLossPerc(cfg.Opus.PacketLossPerc)
	bareDec, err := hopus.NewDecoder(transcodeRate, 1)
	if err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, codec.MaxPayload)
	out := make([]int16, codec.MaxPacketSamples(transcodeRate))

	t0 := time.Unix(1e9, 0)
	pg := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SSRC: 1}}
	po := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: opus.PT, SSRC: 2}}
	var bare, worker time.Duration
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		k := i % frames
		arrival := t0.Add(time.Duration(i) * 20 * time.Millisecond)
		start := time.Now()
		pg.SequenceNumber, pg.Timestamp, pg.Payload = uint16(i), uint32(i*160), ulaw[k]
		po.SequenceNumber, po.Timestamp, po.Payload = uint16(i), uint32(i*960), far[k]
		lg.jb.Push(&pg, arrival)
		lo.jb.Push(&po, arrival)
		due := arrival.Add(60 * time.Millisecond) // the start delay: every frame plays
		lg.play(due, play)
		lo.play(due, play)
		mid := time.Now()
		n, err := bareEnc.Encode(pcm[k], payload)
		if err != nil || n == 0 {
			b.Fatal(err)
		}
		if _, err := bareDec.Decode(far[k], out); err != nil {
			b.Fatal(err)
		}
		end := time.Now()
		worker += mid.Sub(start)
		bare += end.Sub(mid)
		i++
	}
	if lg.concealed.Load() != 0 || lo.concealed.Load() != 0 {
		b.Fatalf("frames concealed (%d, %d): the loop fed the buffers late", lg.concealed.Load(), lo.concealed.Load())
	}
	b.ReportMetric(float64(worker.Nanoseconds())/float64(i), "worker-ns/frame")
	b.ReportMetric(float64(bare.Nanoseconds())/float64(i), "bare-ns/frame")
	b.ReportMetric(float64(worker)/float64(bare), "ratio")
}
