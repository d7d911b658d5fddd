package rtpsession

import (
	"encoding/binary"
	"net/netip"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/switchboard-voip/switchboard/workers/media/g711"
)

// BenchmarkReceivePath is the per-datagram work of the RTP reader after the
// socket read: validation, parse, latch, A.1/A.8 statistics, OnPacket.
func BenchmarkReceivePath(b *testing.B) {
	for _, latch := range []bool{false, true} {
		name := "plain"
		if latch {
			name = "latch"
		}
		b.Run(name, func(b *testing.B) {
			var octets int
			s := newTestSession(b, testPorts(b, 1), func(c *Config) {
				c.Latch = latch
				c.Counters = &Counters{}
				c.OnPacket = func(p *rtp.Packet) { octets += len(p.Payload) }
			})
			from := netip.MustParseAddrPort("127.0.0.1:40000")
			pkt := rtpPacket(b, 5, 0, 0, make([]byte, 160))
			seq := uint16(0)
			b.ReportAllocs()
			b.SetBytes(int64(len(pkt)))
			for b.Loop() {
				seq++
				binary.BigEndian.PutUint16(pkt[2:], seq)
				binary.BigEndian.PutUint32(pkt[4:], uint32(seq)*160)
				s.handleRTP(pkt, from, time.Now())
			}
			if octets == 0 {
				b.Fatal("OnPacket not called")
			}
		})
	}
}

// BenchmarkWriteSample is one 160-octet frame sent: header build, copy and
// the sendto syscall on loopback (to a socket nobody reads). The syscall
// sub-benchmark is the bare socket write of the same datagram, the floor
// WriteSample adds its own cost to.
func BenchmarkWriteSample(b *testing.B) {
	b.Run("session", func(b *testing.B) {
		s := newTestSession(b, testPorts(b, 1), nil)
		s.SetRemote(addrOf(listen(b)), netip.AddrPort{})
		payload := make([]byte, 160)
		b.ReportAllocs()
		b.SetBytes(int64(len(payload)))
		for b.Loop() {
			if err := s.WriteSample(payload, 160, false); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("syscall", func(b *testing.B) {
		conn, to := listen(b), addrOf(listen(b))
		pkt := make([]byte, rtpHeaderSize+160)
		b.ReportAllocs()
		b.SetBytes(160)
		for b.Loop() {
			if _, err := conn.WriteToUDPAddrPort(pkt, to); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRTCPReportBuild is building one compound report: SR with a
// report block, SDES CNAME (what every interval sends while media flows).
func BenchmarkRTCPReportBuild(b *testing.B) {
	s := newTestSession(b, testPorts(b, 1), nil)
	s.handleRTP(rtpPacket(b, 5, 1, 0, make([]byte, 160)), netip.MustParseAddrPort("127.0.0.1:40000"), time.Now())
	buf := make([]byte, 0, reportBufSize)
	b.ReportAllocs()
	for b.Loop() {
		s.sendMu.Lock()
		s.packetsSent++ // as if a frame went out: every report is an SR
		s.sendMu.Unlock()
		buf = s.buildReport(buf[:0], time.Now(), false)
	}
	if len(buf) == 0 || buf[1] != typeSR {
		b.Fatal("not an SR")
	}
}

// BenchmarkBridgeUDP is the bridge of the media worker end to end over
// loopback: leg A's reader gets a PCMU frame, transcodes it to PCMA and
// writes it on leg B, whose peer receives it. It reports the CPU cost per
// bridged packet (both syscalls and both goroutine hand-offs included).
func BenchmarkBridgeUDP(b *testing.B) {
	ports := testPorts(b, 4)
	var delivered atomic.Int64
	sink := newTestSession(b, ports, func(c *Config) {
		c.OnPacket = func(*rtp.Packet) { delivered.Add(1) }
	})
	var legB atomic.Pointer[Session]
	var pcma [160]byte
	legA := newTestSession(b, ports, func(c *Config) {
		c.OnPacket = func(p *rtp.Packet) {
			n := g711.UlawToAlaw(pcma[:], p.Payload)
			_ = legB.Load().WriteSample(pcma[:n], 160, p.Marker)
		}
	})
	lb := newTestSession(b, ports, func(c *Config) { c.PayloadType = 8 })
	legB.Store(lb)
	lb.SetRemote(sink.LocalAddr(), netip.AddrPort{})
	phone := newTestSession(b, ports, nil)
	phone.SetRemote(legA.LocalAddr(), netip.AddrPort{})

	payload := make([]byte, 160)
	const batch = 32 // stays far below the socket buffers: no drops
	b.ReportAllocs()
	sent := 0
	for b.Loop() {
		if err := phone.WriteSample(payload, 160, false); err != nil {
			b.Fatal(err)
		}
		sent++
		if sent%batch == 0 {
			waitDelivered(b, &delivered, sent)
		}
	}
	waitDelivered(b, &delivered, sent)
}

// waitDelivered spins, bounded, until n packets reached the sink.
func waitDelivered(b *testing.B, delivered *atomic.Int64, n int) {
	deadline := time.Now().Add(10 * time.Second)
	for delivered.Load() < int64(n) {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d packets delivered", delivered.Load(), n)
		}
		runtime.Gosched()
	}
}
