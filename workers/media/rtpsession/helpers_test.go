package rtpsession

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
)

var loopback = netip.MustParseAddr("127.0.0.1")

// nextBase hands every test its own slice of 24000-32000: below Linux's
// ephemeral range, so that other packages' tests running at the same time
// rarely hold a port in it, and disjoint between the tests of this one.
var nextBase atomic.Int32

// testPorts returns an allocator over a range of the given number of pairs
// in which every port was free when probed.
func testPorts(t testing.TB, pairs int) *Ports {
	t.Helper()
	for range 100 {
		span := int32(2 * pairs)
		base := 24000 + int(nextBase.Add(span)-span)
		if base+2*pairs > 32000 {
			t.Fatal("test port space exhausted")
		}
		if !rangeFree(base, 2*pairs) {
			continue
		}
		p, err := NewPorts(base, base+2*pairs-1)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Fatal("no free test port range")
	return nil
}

// rangeFree reports whether every UDP port of [base, base+n) can be bound
// on 127.0.0.1 right now.
func rangeFree(base, n int) bool {
	var conns []*net.UDPConn
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	for port := base; port < base+n; port++ {
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, uint16(port))))
		if err != nil {
			return false
		}
		conns = append(conns, c)
	}
	return true
}

// newTestSession creates a session on 127.0.0.1 with RTCP off unless the
// caller's mod turns it on, and closes it at cleanup.
func newTestSession(t testing.TB, ports *Ports, mod func(*Config)) *Session {
	t.Helper()
	cfg := Config{
		Ports:        ports,
		LocalIP:      loopback,
		ClockRate:    8000,
		PayloadType:  0,
		RTCPInterval: -1,
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// listen binds a plain UDP socket on 127.0.0.1 (a peer, relay or sink),
// closed at cleanup.
func listen(t testing.TB) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// addrOf is a socket's local address as a netip.AddrPort.
func addrOf(c *net.UDPConn) netip.AddrPort {
	return c.LocalAddr().(*net.UDPAddr).AddrPort()
}

// rtpPacket marshals a PCMU packet for raw sockets and direct handler calls.
func rtpPacket(t testing.TB, ssrc uint32, seq uint16, ts uint32, payload []byte) []byte {
	t.Helper()
	p := rtp.Packet{
		Header:  rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: seq, Timestamp: ts, SSRC: ssrc},
		Payload: payload,
	}
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sendTo writes b from c to addr.
func sendTo(t testing.TB, c *net.UDPConn, b []byte, addr netip.AddrPort) {
	t.Helper()
	if _, err := c.WriteToUDPAddrPort(b, addr); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond every few milliseconds, up to 10 s, and fails the test
// with what if it never holds. It is the only way the tests wait.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	const step = 2 * time.Millisecond
	for range int(10 * time.Second / step) {
		if cond() {
			return
		}
		time.Sleep(step)
	}
	if !cond() {
		t.Fatalf("timed out waiting for %s", what)
	}
}

// pace calls fn(i) for i in [0, n) once per period: a bounded sender loop
// whose media clock (samples per frame) matches real time, so that jitter
// measures the network and not a burst.
func pace(n int, period time.Duration, fn func(i int)) {
	tick := time.NewTicker(period)
	defer tick.Stop()
	for i := range n {
		fn(i)
		<-tick.C
	}
}

// relay is a UDP forwarder between two sessions that applies a policy to
// each datagram: drop, hold for reordering, or pass.
type relay struct {
	conn *net.UDPConn
	wg   sync.WaitGroup
}

// relayPolicy gets the index and a private copy of each datagram and
// returns the datagrams to forward now, in order.
type relayPolicy func(i int, pkt []byte) [][]byte

// startRelay forwards at most limit datagrams received on a new socket to
// to, through policy, until the test ends.
func startRelay(t testing.TB, to netip.AddrPort, limit int, policy relayPolicy) *relay {
	t.Helper()
	r := &relay{conn: listen(t)}
	r.wg.Go(func() {
		buf := make([]byte, 2048)
		for i := range limit {
			n, _, err := r.conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			for _, out := range policy(i, append([]byte(nil), buf[:n]...)) {
				if _, err := r.conn.WriteToUDPAddrPort(out, to); err != nil {
					return
				}
			}
		}
	})
	t.Cleanup(func() {
		_ = r.conn.Close()
		r.wg.Wait()
	})
	return r
}

func (r *relay) addr() netip.AddrPort { return addrOf(r.conn) }

// dropEvery drops the k-th, 2k-th, ... datagrams.
func dropEvery(k int) relayPolicy {
	return func(i int, pkt []byte) [][]byte {
		if (i+1)%k == 0 {
			return nil
		}
		return [][]byte{pkt}
	}
}

// swapPairs forwards datagrams 1,0,3,2,...: every adjacent pair reordered.
func swapPairs() relayPolicy {
	var held []byte
	return func(i int, pkt []byte) [][]byte {
		if i%2 == 0 {
			held = pkt
			return nil
		}
		return [][]byte{pkt, held}
	}
}

// passAll forwards everything.
func passAll() relayPolicy {
	return func(_ int, pkt []byte) [][]byte { return [][]byte{pkt} }
}
