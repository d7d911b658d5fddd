package media

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-voip/switchboard/test/audio"
	"github.com/switchboard-voip/switchboard/workers/media/codec"
	"github.com/switchboard-voip/switchboard/workers/media/g711"
	"github.com/switchboard-voip/switchboard/workers/media/rtpsession"
	"github.com/switchboard-voip/switchboard/workers/media/sdp"
)

// bridgeLegs wires leg A (codec ca) to leg B (codec cb) as a bridge does,
// with real RTP sessions on loopback and a running playout clock.
func bridgeLegs(t *testing.T, ca, cb sdp.Codec) (a, b *Call) {
	t.Helper()
	ports, err := rtpsession.NewPorts(46000, 46199)
	if err != nil {
		t.Fatal(err)
	}
	play := newPlayout(DefaultPlayoutConfig(), prometheus.NewCounter(prometheus.CounterOpts{Name: "late"}))
	play.startShards() // no governor: the tests set the complexity
	t.Cleanup(play.close)
	a, b = &Call{ID: "a", play: play}, &Call{ID: "b", play: play}
	for _, x := range []struct {
		c  *Call
		cd sdp.Codec
	}{{a, ca}, {b, cb}} {
		f, err := newAudioFormat(x.cd, play.opusConfig())
		if err != nil {
			t.Fatal(err)
		}
		x.c.format.Store(f)
		call := x.c
		s, err := rtpsession.New(rtpsession.Config{
			Ports: ports, LocalIP: netip.MustParseAddr("127.0.0.1"), ClockRate: x.cd.Rate, PayloadType: x.cd.PT,
			RTCPInterval: -1, OnPacket: func(p *rtp.Packet) { call.onAudio(p) },
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		x.c.sess.Store(&mediaBox{s})
	}
	a.forward.Store(b)
	return a, b
}

// bridgePhones bridges legs of codecs ca and cb and gives each a phone on
// loopback: phoneA sends to leg A, phoneB receives what leg B sends.
func bridgePhones(t *testing.T, ca, cb sdp.Codec) (a, b *Call, phoneA, phoneB *net.UDPConn) {
	t.Helper()
	a, b = bridgeLegs(t, ca, cb)
	phoneB, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { phoneB.Close() })
	b.rtp().SetRemote(phoneB.LocalAddr().(*net.UDPAddr).AddrPort(), netip.AddrPort{})
	phoneA, err = net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(a.rtp().LocalAddr()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { phoneA.Close() })
	return a, b, phoneA, phoneB
}

// TestOpusToPCMUConcealsLoss: an Opus phone sends a 440 Hz tone with 5 %
// of its packets lost on the way; the G.711 leg still gets one frame every
// 20 ms of audio, with no hole, at the tone's frequency.
func TestOpusToPCMUConcealsLoss(t *testing.T) {
	_, _, phoneA, phoneB := bridgePhones(t, opus, sdp.PCMU)

	enc, err := codec.NewOpusEncoder(48000, codec.DefaultOpusConfig(48000))
	if err != nil {
		t.Fatal(err)
	}
	const frames, frame48 = 150, 960
	pcm := make([]int16, frame48)
	payload := make([]byte, codec.MaxPayload)
	buf := make([]byte, 1500)
	dropped := 0
	pace := time.NewTicker(20 * time.Millisecond) // a phone's clock: the playout clock expects real time
	defer pace.Stop()
	for i := 0; i < frames; i++ {
		<-pace.C
		for j := range pcm {
			pcm[j] = int16(8000 * math.Sin(2*math.Pi*440*float64(i*frame48+j)/48000))
		}
		n, err := enc.Encode(pcm, payload)
		if err != nil {
			t.Fatal(err)
		}
		if i%20 == 10 { // 5 % loss, never two in a row
			dropped++
			continue
		}
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: opus.PT, SequenceNumber: uint16(60000 + i), Timestamp: uint32(i * frame48), SSRC: 7}, Payload: payload[:n]}
		b, _ := pkt.Marshal()
		if _, err := phoneA.Write(b); err != nil {
			t.Fatal(err)
		}
	}

	// Collect what leg B sent until it has been quiet for a while.
	var out []int16
	got := 0
	_ = phoneB.SetReadDeadline(time.Now().Add(3 * time.Second))
	for got < frames {
		n, err := phoneB.Read(buf)
		if err != nil {
			break
		}
		var p rtp.Packet
		if p.Unmarshal(buf[:n]) != nil || p.PayloadType != 0 {
			continue
		}
		dec := make([]int16, len(p.Payload))
		g711.DecodeUlaw(dec, p.Payload)
		out = append(out, dec...)
		got++
		_ = phoneB.SetReadDeadline(time.Now().Add(time.Second))
	}
	t.Logf("sent %d Opus frames (%d lost on the way), leg B got %d PCMU frames", frames-dropped, dropped, got)
	// Every frame, the lost ones made up; at the end the last sound may run
	// on for up to maxConcealed frames while the buffer waits for more.
	if got < frames || got > frames+maxConcealed {
		t.Fatalf("leg B got %d frames for %d sent and %d lost: lost frames were not concealed", got, frames-dropped, dropped)
	}
	// No hole: no 10 ms stretch of near silence after the codec's start.
	run, longest := 0, 0
	for _, v := range out[800:] {
		if v > -200 && v < 200 {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	if longest > 80 {
		t.Errorf("a %d-sample silent stretch in the output: a gap", longest)
	}
	f, level := audio.PeakFrequency(out[800:], 8000, 5)
	t.Logf("leg B audio: peak %.0f Hz at %.1f dBFS, longest near-silent run %d samples", f, level, longest)
	if math.Abs(f-440) > 440*0.02 || level < -25 {
		t.Errorf("leg B hears %.0f Hz at %.1f dBFS, want 440 Hz", f, level)
	}
}

// TestPCMUToOpusThroughJitterBuffer: a G.711 phone whose packets arrive in
// pairs swapped (jitter beyond a frame) reaches the Opus leg in order, one
// 20 ms Opus packet per frame with RFC 7587 48 kHz timestamps, nothing made
// up, at the tone's frequency; and the Opus encoder follows the CPU
// governor's complexity.
func TestPCMUToOpusThroughJitterBuffer(t *testing.T) {
	a, b, phoneA, phoneB := bridgePhones(t, sdp.PCMU, opus)

	const frames = 100
	packet := func(i int) []byte {
		pcm := make([]int16, 160)
		for j := range pcm {
			pcm[j] = int16(8000 * math.Sin(2*math.Pi*1000*float64(i*160+j)/8000))
		}
		ulaw := make([]byte, 160)
		g711.EncodeUlaw(ulaw, pcm)
		b, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: uint16(65500 + i), Timestamp: uint32(4e9) + uint32(i*160), SSRC: 9}, Payload: ulaw}).Marshal()
		return b
	}
	pace := time.NewTicker(20 * time.Millisecond)
	defer pace.Stop()
	for i := 0; i < frames; i += 2 {
		<-pace.C
		if i == frames/2 {
			a.play.gov.cur.Store(2) // the governor lowered the complexity
		}
		for _, k := range []int{i + 1, i} { // the second packet overtakes the first
			if _, err := phoneA.Write(packet(k)); err != nil {
				t.Fatal(err)
			}
		}
		<-pace.C
	}

	var pkts []rtp.Packet
	buf := make([]byte, 1500)
	_ = phoneB.SetReadDeadline(time.Now().Add(3 * time.Second))
	for len(pkts) < frames {
		n, err := phoneB.Read(buf)
		if err != nil {
			break
		}
		var p rtp.Packet
		if p.Unmarshal(buf[:n]) != nil || p.PayloadType != opus.PT {
			continue
		}
		p.Payload = append([]byte(nil), p.Payload...)
		pkts = append(pkts, p)
		_ = phoneB.SetReadDeadline(time.Now().Add(time.Second))
	}
	if len(pkts) != frames {
		t.Fatalf("the Opus leg got %d packets for %d sent", len(pkts), frames)
	}
	dec, err := codec.NewOpusDecoder(8000)
	if err != nil {
		t.Fatal(err)
	}
	var out []int16
	pcm := make([]int16, codec.MaxPacketSamples(8000))
	for i, p := range pkts {
		if i > 0 && (p.SequenceNumber != pkts[i-1].SequenceNumber+1 || p.Timestamp != pkts[i-1].Timestamp+960) {
			t.Fatalf("packet %d: seq %d ts %d after seq %d ts %d: not one 20 ms frame later", i, p.SequenceNumber, p.Timestamp, pkts[i-1].SequenceNumber, pkts[i-1].Timestamp)
		}
		n, err := dec.Decode(p.Payload, pcm)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, pcm[:n]...)
	}
	f, level := audio.PeakFrequency(out[800:], 8000, 5)
	t.Logf("Opus leg: %d packets in order, peak %.0f Hz at %.1f dBFS", len(pkts), f, level)
	if math.Abs(f-1000) > 20 || level < -25 {
		t.Errorf("the Opus leg hears %.0f Hz at %.1f dBFS, want 1000 Hz", f, level)
	}
	js := a.leg.Load().jb.Stats()
	t.Logf("jitter buffer: %d reordered, %d lost, %d late, delay %v", js.Reordered, js.Lost, js.Late, js.Delay)
	if js.Reordered == 0 || js.Lost != 0 || js.Late != 0 {
		t.Errorf("jitter buffer: %d reordered, %d lost, %d late: the swapped pairs were not put back in order", js.Reordered, js.Lost, js.Late)
	}
	if got := b.format.Load().enc.(*codec.OpusEncoder).Config().Complexity; got != 2 {
		t.Errorf("encoder complexity %d, want the governor's 2", got)
	}
}

// TestPreferring: a dial to bridge an Opus caller offers Opus first, one to
// bridge a PCMA caller PCMA first; an unknown codec leaves our order.
func TestPreferring(t *testing.T) {
	names := func(cs []sdp.Codec) (s []string) {
		for _, c := range cs {
			s = append(s, c.Name)
		}
		return s
	}
	for _, c := range []struct {
		other sdp.Codec
		want  string
	}{
		{sdp.Codec{PT: 96, Name: "OPUS", Rate: 48000, Channels: 2}, "[opus PCMU PCMA]"},
		{sdp.PCMA, "[PCMA PCMU opus]"},
		{sdp.PCMU, "[PCMU PCMA opus]"},
		{sdp.Codec{}, "[PCMU PCMA opus]"},
	} {
		if got := fmt.Sprint(names(preferring(c.other))); got != c.want {
			t.Errorf("preferring %s: %s, want %s", c.other.Name, got, c.want)
		}
	}
}
