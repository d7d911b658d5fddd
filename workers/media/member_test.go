package media

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/pion/rtp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/switchboard-voip/switchboard/test/audio"
	"github.com/switchboard-voip/switchboard/test/natstest"
	"github.com/switchboard-voip/switchboard/workers/conference/frame"
	"github.com/switchboard-voip/switchboard/workers/media/codec"
	"github.com/switchboard-voip/switchboard/workers/media/rtpsession"
	"github.com/switchboard-voip/switchboard/workers/media/sdp"
)

// memberCall is a call of codec cd on loopback made a member of conf at
// rate, as attach does, with a role that has just what the member path
// uses. The playout shards run if run; the returned conn is the phone.
func memberCall(t testing.TB, nc *nats.Conn, cd sdp.Codec, conf string, rate int, run bool) (*Call, *net.UDPConn) {
	t.Helper()
	play := newPlayout(DefaultPlayoutConfig(), prometheus.NewCounter(prometheus.CounterOpts{Name: "late"}))
	if run {
		play.startShards()
	}
	t.Cleanup(play.close)
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "frames"}, []string{"direction", "result"})
	r := &Role{nc: nc, met: &metrics{confVec: vec, conf: newConfCounters(vec)}}
	ports, err := rtpsession.NewPorts(48400, 48499)
	if err != nil {
		t.Fatal(err)
	}
	c := &Call{ID: fmt.Sprintf("member-%d@test", time.Now().UnixNano()), play: play, Conference: conf, ConferenceRate: rate}
	f, err := newAudioFormat(cd, play.opusConfig())
	if err != nil {
		t.Fatal(err)
	}
	c.format.Store(f)
	s, err := rtpsession.New(rtpsession.Config{
		Ports: ports, LocalIP: netip.MustParseAddr("127.0.0.1"), ClockRate: cd.Rate, PayloadType: cd.PT,
		RTCPInterval: -1, OnPacket: func(p *rtp.Packet) { c.onAudio(p) },
	})
	if err != nil {
		t.Fatal(err)
	}
	c.sess.Store(&mediaBox{s})
	if err := r.startMember(c); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.stopMember(); _ = s.Close() })
	phone, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(s.LocalAddr()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { phone.Close() })
	return c, phone
}

// phonePackets makes n packets of ms each of a hz tone from a phone
// sending cd: RTP timestamps on cd's clock.
func phonePackets(t testing.TB, cd sdp.Codec, ms, n int, hz float64) [][]byte {
	t.Helper()
	rate := 8000
	var enc codec.Encoder = codec.NewPCMUEncoder()
	switch cd.Name {
	case "PCMA":
		enc = codec.NewPCMAEncoder()
	case "opus":
		rate = 48000
		e, err := codec.NewOpusEncoder(rate, codec.DefaultOpusConfig(rate))
		if err != nil {
			t.Fatal(err)
		}
		enc = e
	}
	size := rate * ms / 1000
	pcm := make([]int16, size)
	buf := make([]byte, codec.MaxPayload)
	var out [][]byte
	for i := range n {
		for j := range pcm {
			pcm[j] = int16(10000 * math.Sin(2*math.Pi*hz*float64(i*size+j)/float64(rate)))
		}
		m, err := enc.Encode(pcm, buf)
		if err != nil {
			t.Fatal(err)
		}
		ts := uint32(i * size * int(cd.Rate) / rate)
		b, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: cd.PT, SequenceNumber: uint16(1000 + i), Timestamp: 77 + ts, SSRC: 5, Marker: i == 0}, Payload: buf[:m]}).Marshal()
		out = append(out, b)
	}
	return out
}

// TestMemberLegRechunks: whatever a phone's packet time (10 to 60 ms,
// G.711 or Opus), the mixer gets exactly 20 ms frames at the room's rate,
// one every 20 ms rather than a packet's worth at once, and the phone's
// tone.
func TestMemberLegRechunks(t *testing.T) {
	srv := natstest.Run(t)
	nc := natstest.Connect(t, srv)
	for _, c := range []struct {
		cd   sdp.Codec
		ms   int
		rate int
	}{
		{sdp.PCMU, 30, 16000},
		{sdp.PCMU, 10, 48000},
		{sdp.PCMA, 60, 16000},
		{opus, 40, 48000},
		{opus, 60, 16000},
		{opus, 10, 8000},
	} {
		t.Run(fmt.Sprintf("%s-%dms-%d", c.cd.Name, c.ms, c.rate), func(t *testing.T) {
			conf := fmt.Sprintf("rechunk%d", c.rate)
			call, phone := memberCall(t, nc, c.cd, conf, c.rate, true)
			in := listenIn(t, nc, conf, call.ID)
			const seconds = 2
			pkts := phonePackets(t, c.cd, c.ms, seconds*1000/c.ms, 700)
			tick := time.NewTicker(time.Duration(c.ms) * time.Millisecond)
			for _, p := range pkts {
				<-tick.C
				if _, err := phone.Write(p); err != nil {
					t.Fatal(err)
				}
			}
			tick.Stop()
			want := seconds * 50
			in.waitFor(t, want*9/10, 3*time.Second)
			time.Sleep(200 * time.Millisecond) // no more than the audio sent
			hs := in.since(0)
			// At the end the last sound runs on for a few packets' worth
			// (concealment), as the jitter buffer cannot tell silence yet.
			if len(hs) < want*9/10 || len(hs) > want+maxConcealed*c.ms/20+1 {
				t.Errorf("%d frames for %d s of audio, want %d", len(hs), seconds, want)
			}
			if marked := checkStream(t, hs, c.rate); marked > maxGaps {
				t.Errorf("%d frames marked discontinuous; want the first (and a gap or two on a busy machine)", marked)
			}
			// One every 20 ms, not a packet's worth at once: most gaps are
			// about 20 ms, few (a busy machine's) next to none.
			var gaps []time.Duration
			for i := 6; i < len(hs)-5; i++ {
				gaps = append(gaps, hs[i].at.Sub(hs[i-1].at))
			}
			slices.Sort(gaps)
			median, bunched := gaps[len(gaps)/2], 0
			for _, g := range gaps {
				if g < 5*time.Millisecond {
					bunched++
				}
			}
			f, _ := audio.PeakFrequency(pcmOf(hs[10:]), float64(c.rate), 2)
			t.Logf("%d frames, median %v apart, %d of %d within 5 ms of the one before; %.0f Hz", len(hs), median.Round(time.Millisecond), bunched, len(gaps), f)
			if median < 15*time.Millisecond || median > 25*time.Millisecond || bunched > len(gaps)/5 {
				t.Errorf("frames %v apart (median), %d of %d bunched: want one every 20 ms", median, bunched, len(gaps))
			}
			if math.Abs(f-700) > 10 {
				t.Errorf("the mixer hears %.0f Hz, want 700", f)
			}
		})
	}
}

// TestMemberLegNoAllocs: a member's frame, from packet to published
// message, allocates nothing. The NATS server is stopped first (the
// client buffers what is published until it reconnects): what an
// in-process server allocates to route a message is not the member's.
func TestMemberLegNoAllocs(t *testing.T) {
	srv := natstest.Run(t)
	nc, err := nats.Connect(srv.ClientURL(), nats.MaxReconnects(-1), nats.ReconnectWait(time.Hour), nats.ReconnectBufSize(64<<20))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	type leg struct {
		name  string
		drive func()
	}
	var legs []leg
	for _, c := range []struct {
		cd   sdp.Codec
		rate int
	}{{sdp.PCMU, 16000}, {sdp.PCMA, 48000}, {opus, 48000}, {opus, 16000}} {
		call, _ := memberCall(t, nc, c.cd, "allocs", c.rate, false)
		legs = append(legs, leg{fmt.Sprintf("%s-%d", c.cd.Name, c.rate), memberDriver(t, call, c.cd)})
	}
	srv.Shutdown()
	natstest.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if st := nc.Status(); st != nats.RECONNECTING {
			return fmt.Errorf("client %v", st)
		}
		return nil
	})
	for _, l := range legs {
		for range 50 {
			l.drive() // the leg and its buffers warm up
		}
		if n := testing.AllocsPerRun(200, l.drive); n != 0 {
			t.Errorf("%s: %.1f allocations a frame", l.name, n)
		}
	}
}

// memberDriver returns a function that plays one 20 ms packet through the
// member leg of call, on a clock of its own: push, the playout clock's
// frame, the frame published.
func memberDriver(t testing.TB, call *Call, cd sdp.Codec) func() {
	t.Helper()
	raw := phonePackets(t, cd, 20, 50, 440)
	pkts := make([]rtp.Packet, len(raw))
	for i, b := range raw {
		if err := pkts[i].Unmarshal(b); err != nil {
			t.Fatal(err)
		}
	}
	in := call.format.Load()
	m := call.member.Load()
	t0 := time.Unix(1e9, 0)
	var l *leg
	i := 0
	step := uint32(cd.Rate / 50)
	return func() {
		p := &pkts[i%len(pkts)]
		p.SequenceNumber, p.Timestamp = uint16(i), uint32(i)*step
		arrival := t0.Add(time.Duration(i) * 20 * time.Millisecond)
		if l == nil {
			call.push(p, in, m)
			l = call.leg.Load()
			l.next = arrival
		} else {
			l.jb.Push(p, arrival)
		}
		due := arrival.Add(60 * time.Millisecond) // the start delay: every frame plays
		l.play(due, call.play)
		l.out.flush(due)
		i++
	}
}

// BenchmarkMemberLeg is one 20 ms frame of a member's audio, packet to
// published PCM frame: jitter buffer, decode (µ-law then resampling, or
// Opus at the room's rate), 20 ms frames, level, marshal, NATS publish.
func BenchmarkMemberLeg(b *testing.B) {
	srv := natstest.Run(b)
	nc := natstest.Connect(b, srv)
	for _, c := range []struct {
		cd   sdp.Codec
		rate int
	}{{sdp.PCMU, 16000}, {sdp.PCMU, 48000}, {opus, 16000}, {opus, 48000}} {
		b.Run(fmt.Sprintf("%s-%d", c.cd.Name, c.rate), func(b *testing.B) {
			call, _ := memberCall(b, nc, c.cd, "bench", c.rate, false)
			drive := memberDriver(b, call, c.cd)
			b.ReportAllocs()
			for b.Loop() {
				drive()
			}
		})
	}
}

// FuzzMemberOut: whatever arrives on a member's out-subject, the frame
// is counted once (sent, dropped, bad or wrong codec) and nothing panics.
func FuzzMemberOut(f *testing.F) {
	srv := natstest.Run(f)
	nc := natstest.Connect(f, srv)
	call, _ := memberCall(f, nc, opus, "fuzz", 48000, false)
	m := call.member.Load()
	for _, kind := range []frame.Codec{frame.PCMU, frame.PCMA, frame.Opus} {
		rate := 8000
		if kind == frame.Opus {
			rate = 48000
		}
		out := newMixerOut(f, kind, rate, 440, 8000)
		f.Add(out.next())
	}
	pcm, _ := (&frame.Frame{Codec: frame.PCM, Rate: 16000, Samples: 4, PCM: []int16{1, 2, 3, 4}}).MarshalBinary()
	f.Add(pcm)
	f.Add([]byte{})
	f.Add([]byte{1, 3, 0, 0, 0xbb, 0x80, 0, 0})
	total := func() float64 {
		var n float64
		for _, c := range []prometheus.Counter{m.met.outSent, m.met.outDropped, m.met.outBad, m.met.outWrongKind} {
			var pb dto.Metric
			_ = c.Write(&pb)
			n += pb.GetCounter().GetValue()
		}
		return n
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		before := total()
		m.onOut(call, data)
		if after := total(); after != before+1 {
			t.Fatalf("%x counted %v times", data, after-before)
		}
	})
}
