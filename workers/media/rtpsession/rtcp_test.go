package rtpsession

import (
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtcp"
)

func TestNTPConversions(t *testing.T) {
	if got := ntpTime(time.Unix(0, 0)); got != ntpEpochOffset<<32 {
		t.Errorf("ntpTime(1970) = %#x", got)
	}
	if got := ntpTime(time.Unix(10, 500_000_000)); got != (ntpEpochOffset+10)<<32|0x80000000 {
		t.Errorf("ntpTime(10.5 s) = %#x", got)
	}
	tests := []struct {
		d     time.Duration
		units uint32
	}{
		{0, 0},
		{-time.Second, 0},
		{time.Second, 1 << 16},
		{1500 * time.Millisecond, 0x18000},
		{100 * time.Hour, 0xffffffff}, // saturates: the field covers 18 h
	}
	for _, tt := range tests {
		if got := toShortNTP(tt.d); got != tt.units {
			t.Errorf("toShortNTP(%v) = %#x, want %#x", tt.d, got, tt.units)
		}
	}
	if got := fromShortNTP(0x18000); got != 1500*time.Millisecond {
		t.Errorf("fromShortNTP = %v", got)
	}
}

// feed delivers RTP packets seqs of ssrc to s's receive path directly.
func feed(t *testing.T, s *Session, from netip.AddrPort, ssrc uint32, seqs ...uint16) {
	t.Helper()
	now := time.Now()
	for _, seq := range seqs {
		s.handleRTP(rtpPacket(t, ssrc, seq, uint32(seq)*160, make([]byte, 160)), from, now)
	}
}

func TestBuildReportParsesWithPion(t *testing.T) {
	remote := netip.MustParseAddrPort("127.0.0.1:9") // discard: nothing listens there
	from := netip.MustParseAddrPort("127.0.0.1:40000")
	tests := []struct {
		name      string
		send      int      // frames written before the report
		recv      []uint16 // sequence numbers received before it
		bye       bool
		wantType  rtcp.PacketType
		wantBlock bool
		wantLost  uint32
		wantExt   uint32
	}{
		{"fresh: RR, no block", 0, nil, false, rtcp.TypeReceiverReport, false, 0, 0},
		{"receiver: RR with block", 0, []uint16{100, 101, 103, 104}, false, rtcp.TypeReceiverReport, true, 1, 104},
		{"sender: SR", 3, nil, false, rtcp.TypeSenderReport, false, 0, 0},
		{"both: SR with block", 2, []uint16{7, 8, 9}, false, rtcp.TypeSenderReport, true, 0, 9},
		{"bye", 1, []uint16{1}, true, rtcp.TypeSenderReport, true, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestSession(t, testPorts(t, 1), nil)
			s.SetRemote(remote, netip.AddrPort{})
			for range tt.send {
				if err := s.WriteSample(make([]byte, 160), 160, false); err != nil {
					t.Fatal(err)
				}
			}
			feed(t, s, from, 0xfeed, tt.recv...)
			raw := s.buildReport(nil, time.Now(), tt.bye)
			pkts, err := rtcp.Unmarshal(raw)
			if err != nil {
				t.Fatalf("pion cannot parse our report: %v", err)
			}
			if err := rtcp.CompoundPacket(pkts).Validate(); err != nil {
				t.Errorf("not a valid compound packet (RFC 3550 §6.1): %v", err)
			}
			cname, err := rtcp.CompoundPacket(pkts).CNAME()
			if err != nil || cname != s.cname || len(cname) < 16 {
				t.Errorf("CNAME %q (%v), want %q", cname, err, s.cname)
			}
			var reports []rtcp.ReceptionReport
			switch p := pkts[0].(type) {
			case *rtcp.SenderReport:
				if tt.wantType != rtcp.TypeSenderReport {
					t.Fatalf("got SR, want %v", tt.wantType)
				}
				if p.SSRC != s.SSRC() || p.PacketCount != uint32(tt.send) || p.OctetCount != uint32(160*tt.send) {
					t.Errorf("SR ssrc %x packets %d octets %d", p.SSRC, p.PacketCount, p.OctetCount)
				}
				reports = p.Reports
			case *rtcp.ReceiverReport:
				if tt.wantType != rtcp.TypeReceiverReport {
					t.Fatalf("got RR, want %v", tt.wantType)
				}
				if p.SSRC != s.SSRC() {
					t.Errorf("RR ssrc %x", p.SSRC)
				}
				reports = p.Reports
			default:
				t.Fatalf("first packet is %T", p)
			}
			if (len(reports) == 1) != tt.wantBlock {
				t.Fatalf("%d report blocks, want block=%v", len(reports), tt.wantBlock)
			}
			if tt.wantBlock {
				rr := reports[0]
				if rr.SSRC != 0xfeed || rr.TotalLost != tt.wantLost || rr.LastSequenceNumber != tt.wantExt {
					t.Errorf("block %+v, want lost %d ext %d", rr, tt.wantLost, tt.wantExt)
				}
			}
			var sawBye bool
			for _, p := range pkts {
				if g, ok := p.(*rtcp.Goodbye); ok && len(g.Sources) == 1 && g.Sources[0] == s.SSRC() {
					sawBye = true
				}
			}
			if sawBye != tt.bye {
				t.Errorf("BYE present = %v, want %v", sawBye, tt.bye)
			}
			// A second report without new RTP is an RR.
			if tt.send > 0 {
				again, _ := rtcp.Unmarshal(s.buildReport(nil, time.Now(), false))
				if _, ok := again[0].(*rtcp.ReceiverReport); !ok {
					t.Errorf("report after no new RTP is %T, want RR", again[0])
				}
			}
		})
	}
}

// TestNegativeLostEncoding checks duplicates produce a negative 24-bit
// cumulative loss on the wire (RFC 3550 §6.4.1) and 0 in Stats.
func TestNegativeLostEncoding(t *testing.T) {
	s := newTestSession(t, testPorts(t, 1), nil)
	feed(t, s, netip.MustParseAddrPort("127.0.0.1:40000"), 5, 1, 2, 2, 2, 3)
	pkts, err := rtcp.Unmarshal(s.buildReport(nil, time.Now(), false))
	if err != nil {
		t.Fatal(err)
	}
	rr := pkts[0].(*rtcp.ReceiverReport).Reports[0]
	if rr.TotalLost != 0xfffffe {
		t.Errorf("TotalLost = %#x, want -2 in 24 bits", rr.TotalLost)
	}
	if st := s.Stats(); st.Lost != 0 || st.ExpectedPackets != 3 || st.PacketsReceived != 5 {
		t.Errorf("stats lost %d expected %d received %d", st.Lost, st.ExpectedPackets, st.PacketsReceived)
	}
}

// TestRTTFromReport drives RFC 3550 §6.4.1 with a synthetic clock: an SR
// sent at t0, echoed in an RR arriving at t0+600 ms with DLSR 500 ms.
func TestRTTFromReport(t *testing.T) {
	s := newTestSession(t, testPorts(t, 1), nil)
	s.SetRemote(netip.MustParseAddrPort("127.0.0.1:9"), netip.AddrPort{})
	if err := s.WriteSample(make([]byte, 160), 160, false); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	pkts, _ := rtcp.Unmarshal(s.buildReport(nil, t0, false))
	sr := pkts[0].(*rtcp.SenderReport)

	peer := netip.MustParseAddrPort("127.0.0.1:40001")
	tests := []struct {
		name    string
		sender  uint32
		lsr     uint32
		dlsr    uint32
		at      time.Duration
		wantRTT time.Duration
	}{
		{"no SR seen yet", 77, 0, 0, time.Second, 0},
		{"unknown LSR", 77, uint32(sr.NTPTime>>16) + 12345, 0x8000, 600 * time.Millisecond, 0},
		{"DLSR longer than elapsed", 77, uint32(sr.NTPTime >> 16), 0x10000, 600 * time.Millisecond, 0},
		{"valid", 77, uint32(sr.NTPTime >> 16), 0x8000, 600 * time.Millisecond, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.rxMu.Lock()
			s.rtt = 0
			s.rxMu.Unlock()
			rr := &rtcp.ReceiverReport{SSRC: tt.sender, Reports: []rtcp.ReceptionReport{{
				SSRC: s.SSRC(), FractionLost: 64, TotalLost: 0xffffff, LastSequenceNumber: 1,
				Jitter: 12, LastSenderReport: tt.lsr, Delay: tt.dlsr,
			}}}
			raw, err := rr.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			s.handleRTCP(raw, peer, t0.Add(tt.at), false)
			st := s.Stats()
			if st.RTT != tt.wantRTT {
				t.Errorf("RTT = %v, want %v", st.RTT, tt.wantRTT)
			}
			if st.Peer.FractionLost != 0.25 || st.Peer.Lost != -1 || st.Peer.Jitter != 12 {
				t.Errorf("peer report %+v", st.Peer)
			}
		})
	}
}

// TestRTCPFromOtherSSRCIgnored checks reports from an SSRC other than the
// RTP source we receive do not touch RTT or the peer view.
func TestRTCPFromOtherSSRCIgnored(t *testing.T) {
	s := newTestSession(t, testPorts(t, 1), nil)
	from := netip.MustParseAddrPort("127.0.0.1:40000")
	feed(t, s, from, 0xaaaa, 1, 2)
	rr := &rtcp.ReceiverReport{SSRC: 0xbbbb, Reports: []rtcp.ReceptionReport{{SSRC: s.SSRC(), FractionLost: 200}}}
	raw, _ := rr.Marshal()
	s.handleRTCP(raw, from, time.Now(), false)
	if st := s.Stats(); !st.Peer.At.IsZero() || st.RTCPReceived != 1 {
		t.Errorf("foreign report used: %+v", st.Peer)
	}
	bye, _ := (&rtcp.Goodbye{Sources: []uint32{0xbbbb}}).Marshal()
	s.handleRTCP(bye, from, time.Now(), false)
	if s.Stats().RemoteBye {
		t.Error("BYE of another SSRC taken as the remote's")
	}
	bye, _ = (&rtcp.Goodbye{Sources: []uint32{0xaaaa}}).Marshal()
	s.handleRTCP(bye, from, time.Now(), false)
	if !s.Stats().RemoteBye {
		t.Error("remote's BYE not seen")
	}
}
