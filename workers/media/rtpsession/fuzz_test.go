package rtpsession

import (
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// outcome is the sum of the counters one datagram may move: each datagram
// must move exactly one of them.
func outcome(s *Session) uint64 {
	st := s.Stats()
	return st.Malformed + st.RTCPMalformed + st.RTCPReceived + st.Ignored + st.PacketsReceived
}

// seeds are valid and near-valid datagrams of both protocols.
func seeds(f *testing.F) {
	good := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: 7, Timestamp: 160, SSRC: 1}, Payload: make([]byte, 160)}
	b, _ := good.Marshal()
	f.Add(b)
	ext := good
	ext.Header.Extension = true
	ext.Header.ExtensionProfile = 0xbede
	_ = ext.Header.SetExtension(1, []byte{0x12, 0x34})
	ext.Header.CSRC = []uint32{1, 2}
	b, _ = ext.Marshal()
	f.Add(b)
	pad := good
	pad.Header.Padding = true
	pad.Header.PaddingSize = 4
	b, _ = pad.Marshal()
	f.Add(b)
	sr := &rtcp.SenderReport{SSRC: 1, NTPTime: 1 << 40, Reports: []rtcp.ReceptionReport{{SSRC: 2, LastSenderReport: 5, Delay: 9}}}
	b, _ = rtcp.Marshal([]rtcp.Packet{sr, rtcp.NewCNAMESourceDescription(1, "x"), &rtcp.Goodbye{Sources: []uint32{1}}})
	f.Add(b)
	for _, m := range malformedRTP() {
		if len(m) <= readBufSize {
			f.Add(m)
		}
	}
	for _, m := range malformedRTCP() {
		f.Add(m)
	}
}

// resetReceive puts the receive side back to a fixed state, so that every
// fuzz input runs from the same starting point: the fuzzer's minimizer
// needs an input's coverage to be reproducible.
func resetReceive(s *Session, from netip.AddrPort, now time.Time) {
	s.rxMu.Lock()
	s.latcher.reset()
	s.latches = 0
	s.rtcpLearned = netip.AddrPort{}
	s.rx = reception{}
	s.packetsRecv, s.octetsRecv, s.ignored, s.rtcpReceived = 0, 0, 0, 0
	s.remoteSR = remoteSR{}
	s.rtt = 0
	s.peer = PeerReport{}
	s.remoteBye = false
	s.rxMu.Unlock()
	s.malformed.Store(0)
	s.rtcpBad.Store(0)
	// One packet from the source: the fuzzed datagram meets a live stream.
	s.handleRTP(primer[:], from, now)
}

// primer is a valid 160-octet PCMU packet (SSRC 1, seq 100) prepared once:
// a fuzz run is only as fast as its slowest step.
var primer = func() (b [rtpHeaderSize + 160]byte) {
	copy(b[:], []byte{0x80, 0, 0, 100, 0, 0, 0x3e, 0x80, 0, 0, 0, 1})
	return b
}()

// FuzzSessionReceive feeds arbitrary datagrams to the RTP port's handler:
// it must never panic, must account for each datagram exactly once, and
// must hand OnPacket only payloads inside the datagram.
func FuzzSessionReceive(f *testing.F) {
	seeds(f)
	var cur []byte
	s := newTestSession(f, testPorts(f, 1), func(c *Config) {
		c.Latch = true
		c.OnPacket = func(p *rtp.Packet) {
			if p.Version != 2 || len(p.Payload) > max(len(cur), 160) {
				panic("OnPacket got an invalid packet")
			}
		}
	})
	s.SetRemote(netip.MustParseAddrPort("127.0.0.1:9"), netip.AddrPort{})
	from := netip.MustParseAddrPort("127.0.0.1:40000")
	t0 := time.Now()
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > readBufSize {
			return // the read loop rejects these before the handler
		}
		resetReceive(s, from, t0)
		cur = b
		before := outcome(s)
		s.handleRTP(b, from, t0.Add(20*time.Millisecond))
		if d := outcome(s) - before; d != 1 {
			t.Fatalf("datagram moved %d counters, want 1", d)
		}
	})
}

// FuzzRTCPReceive feeds arbitrary datagrams to the RTCP port's handler.
func FuzzRTCPReceive(f *testing.F) {
	seeds(f)
	s := newTestSession(f, testPorts(f, 1), func(c *Config) { c.Latch = true })
	s.SetRemote(netip.MustParseAddrPort("127.0.0.1:9"), netip.AddrPort{})
	if err := s.WriteSample(make([]byte, 160), 160, false); err != nil {
		f.Fatal(err)
	}
	t0 := time.Now()
	s.buildReport(nil, t0, false) // an SR of ours for report blocks to refer to
	rtpFrom := netip.MustParseAddrPort("127.0.0.1:40000")
	from := netip.MustParseAddrPort("127.0.0.1:40001")
	f.Fuzz(func(t *testing.T, b []byte) {
		resetReceive(s, rtpFrom, t0)
		st := s.Stats()
		before := st.RTCPMalformed + st.RTCPReceived
		s.handleRTCP(b, from, t0.Add(time.Second), false)
		st = s.Stats()
		if d := st.RTCPMalformed + st.RTCPReceived - before; d != 1 {
			t.Fatalf("datagram moved %d counters, want 1", d)
		}
		if st.RTT < 0 {
			t.Fatalf("negative RTT %v", st.RTT)
		}
	})
}
