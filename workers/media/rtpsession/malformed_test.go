package rtpsession

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/switchboard-voip/switchboard/test/leak"
)

// header returns a valid 12-octet RTP header with first octet b0.
func header(b0 byte) []byte {
	return []byte{b0, 0, 0, 1, 0, 0, 0, 160, 0, 0, 0, 9}
}

func withTail(b []byte, tail ...byte) []byte { return append(append([]byte(nil), b...), tail...) }

// malformedRTP are datagrams the RTP port must count and drop.
func malformedRTP() map[string][]byte {
	random := make([]byte, 172)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range random {
		random[i] = byte(r.Uint32())
	}
	random[0] = 0x1f // version 0
	random[1] = 0x00 // not an RTCP type

	twoByteExtBad := withTail(header(0x90), 0x10, 0x00, 0, 1, 1, 10, 0, 0) // 10-octet element in a 4-octet block
	return map[string][]byte{
		"empty":                      {},
		"random bytes":               random,
		"version 1":                  withTail(header(0x40), make([]byte, 160)...),
		"version 0":                  withTail(header(0x00), make([]byte, 160)...),
		"version 3":                  withTail(header(0xc0), make([]byte, 160)...),
		"truncated header":           header(0x80)[:8],
		"bad CSRC count":             withTail(header(0x8f), make([]byte, 8)...),
		"extension header truncated": header(0x90),
		"huge extension length":      withTail(header(0x90), 0xbe, 0xde, 0xff, 0xff, 0, 0, 0, 0),
		"padding count zero":         withTail(header(0xa0), 1, 2, 3, 0),
		"padding beyond payload":     withTail(header(0xa0), 1, 2, 3, 200),
		"two-byte extension overrun": twoByteExtBad,
		"oversized datagram":         withTail(header(0x80), make([]byte, readBufSize+100)...),
	}
}

// malformedRTCP are datagrams the RTCP port must count and drop.
func malformedRTCP() map[string][]byte {
	return map[string][]byte{
		"empty":            {},
		"garbage":          []byte("not rtcp at all, really"),
		"version 1":        {0x41, 201, 0, 1, 0, 0, 0, 1},
		"length past end":  {0x80, 201, 0, 9, 0, 0, 0, 1},
		"truncated header": {0x80, 201, 0},
		"RR count lies":    {0x81, 201, 0, 1, 0, 0, 0, 1},
	}
}

// TestMalformedInput sends each bad datagram over UDP, then a good one, and
// checks every bad one was counted and the session still works.
func TestMalformedInput(t *testing.T) {
	leak.Check(t)
	var log frameLog
	var counters Counters
	s := newTestSession(t, testPorts(t, 1), func(c *Config) { c.OnPacket = log.onPacket; c.Counters = &counters })
	peer := listen(t)
	rtpBad, rtcpBad := malformedRTP(), malformedRTCP()
	for name, b := range rtpBad {
		if len(b) > 0 && checkRTP(b) == "" && name != "two-byte extension overrun" && name != "oversized datagram" {
			t.Fatalf("case %q passes checkRTP", name)
		}
		sendTo(t, peer, b, s.LocalAddr())
	}
	rtcpPort := nextPort(s.LocalAddr())
	for _, b := range rtcpBad {
		sendTo(t, peer, b, rtcpPort)
	}
	// rtcp-mux: a bad RTCP type on the RTP port is RTCP, and so is a good one.
	sendTo(t, peer, []byte{0x80, 200, 0, 50}, s.LocalAddr())
	rr, _ := (&rtcp.ReceiverReport{SSRC: 77}).Marshal()
	sendTo(t, peer, rr, s.LocalAddr())
	sendTo(t, peer, rtpPacket(t, 77, 1, 0, frame(5)), s.LocalAddr())
	sendTo(t, peer, rr, rtcpPort)

	waitFor(t, "the good packets", func() bool { return log.count() == 1 && s.Stats().RTCPReceived == 2 })
	st := s.Stats()
	if st.Malformed != uint64(len(rtpBad)) {
		t.Errorf("Malformed = %d, want %d", st.Malformed, len(rtpBad))
	}
	if st.RTCPMalformed != uint64(len(rtcpBad))+1 {
		t.Errorf("RTCPMalformed = %d, want %d", st.RTCPMalformed, len(rtcpBad)+1)
	}
	if st.PacketsReceived != 1 || st.RemoteSSRC != 77 {
		t.Errorf("received %d from %x", st.PacketsReceived, st.RemoteSSRC)
	}
	if got := counters.Malformed.Load(); got != st.Malformed+st.RTCPMalformed {
		t.Errorf("Counters.Malformed = %d", got)
	}
}

// TestCheckRTPAgreesWithPion checks our pre-parse checks reject nothing
// pion accepts, for version-2 packets.
func TestCheckRTPAgreesWithPion(t *testing.T) {
	for name, b := range malformedRTP() {
		if len(b) == 0 || b[0]>>6 != 2 || len(b) > readBufSize {
			continue
		}
		var p rtp.Packet
		if err := p.Unmarshal(b); err == nil {
			t.Errorf("%s: pion accepts it", name)
		}
	}
}

// TestHotPathsDoNotAllocate checks the per-packet paths with
// testing.AllocsPerRun: receive (with and without latching), send, and the
// periodic report.
func TestHotPathsDoNotAllocate(t *testing.T) {
	ports := testPorts(t, 3)
	sink := listen(t)
	from := netip.MustParseAddrPort("127.0.0.1:40000")
	var got int
	for _, latch := range []bool{false, true} {
		s := newTestSession(t, ports, func(c *Config) {
			c.Latch = latch
			c.Counters = &Counters{}
			c.OnPacket = func(p *rtp.Packet) { got += len(p.Payload) }
		})
		pkt := rtpPacket(t, 5, 0, 0, frame(0))
		seq := uint16(0)
		recv := func() {
			seq++
			binary.BigEndian.PutUint16(pkt[2:], seq)
			binary.BigEndian.PutUint32(pkt[4:], uint32(seq)*160)
			s.handleRTP(pkt, from, time.Now())
		}
		recv() // first packet starts the source
		if a := testing.AllocsPerRun(1000, recv); a != 0 {
			t.Errorf("receive (latch %v): %.2f allocs per packet", latch, a)
		}
	}
	s := newTestSession(t, ports, nil)
	s.SetRemote(addrOf(sink), netip.AddrPort{})
	payload := frame(0)
	if a := testing.AllocsPerRun(1000, func() { _ = s.WriteSample(payload, 160, false) }); a != 0 {
		t.Errorf("WriteSample: %.2f allocs per frame", a)
	}
	s.handleRTP(rtpPacket(t, 5, 0, 0, frame(0)), from, time.Now())
	buf := make([]byte, 0, reportBufSize)
	if a := testing.AllocsPerRun(100, func() { buf = s.buildReport(buf[:0], time.Now(), false) }); a != 0 {
		t.Errorf("buildReport: %.2f allocs per report", a)
	}
}
