package media

import (
	"math"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/switchboard-voip/switchboard/test/audio"
	"github.com/switchboard-voip/switchboard/workers/media/codec"
	"github.com/switchboard-voip/switchboard/workers/media/g711"
	"github.com/switchboard-voip/switchboard/workers/media/rtpsession"
	"github.com/switchboard-voip/switchboard/workers/media/sdp"
)

// bridgeLegs wires leg A (codec ca) to leg B (codec cb) as a bridge does,
// with real RTP sessions on loopback, and returns A's address and B's
// session.
func bridgeLegs(t *testing.T, ca, cb sdp.Codec) (netip.AddrPort, *rtpsession.Session) {
	t.Helper()
	ports, err := rtpsession.NewPorts(46000, 46199)
	if err != nil {
		t.Fatal(err)
	}
	a, b := &Call{ID: "a"}, &Call{ID: "b"}
	for _, x := range []struct {
		c  *Call
		cd sdp.Codec
	}{{a, ca}, {b, cb}} {
		f, err := newAudioFormat(x.cd)
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
		x.c.sess.Store(s)
	}
	a.forward.Store(b)
	return a.sess.Load().LocalAddr(), b.sess.Load()
}

// TestOpusToPCMUConcealsLoss: an Opus phone sends a 440 Hz tone with 5 %
// of its packets lost on the way; the G.711 leg still gets one frame every
// 20 ms of audio, with no hole, at the tone's frequency.
func TestOpusToPCMUConcealsLoss(t *testing.T) {
	aAddr, bSess := bridgeLegs(t, opus, sdp.PCMU)
	phoneB, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer phoneB.Close()
	bSess.SetRemote(phoneB.LocalAddr().(*net.UDPAddr).AddrPort(), netip.AddrPort{})
	phoneA, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(aAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer phoneA.Close()

	enc, err := codec.NewOpusEncoder(48000, codec.DefaultOpusConfig(48000))
	if err != nil {
		t.Fatal(err)
	}
	const frames, frame48 = 250, 960
	pcm := make([]int16, frame48)
	payload := make([]byte, codec.MaxPayload)
	buf := make([]byte, 1500)
	dropped := 0
	for i := 0; i < frames; i++ {
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
		time.Sleep(2 * time.Millisecond) // pace the sender so the socket buffer never overflows
		_ = buf
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
	if got != frames {
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
