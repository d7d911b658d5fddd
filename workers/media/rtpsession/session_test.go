package rtpsession

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/switchboard-voip/switchboard/test/leak"
)

func TestNewConfigErrors(t *testing.T) {
	ports := testPorts(t, 1)
	tests := []struct {
		name string
		mod  func(*Config)
		want error
	}{
		{"no ports", func(c *Config) { c.Ports = nil }, ErrConfig},
		{"no local IP", func(c *Config) { c.LocalIP = netip.Addr{} }, ErrConfig},
		{"no clock rate", func(c *Config) { c.ClockRate = 0 }, ErrConfig},
		{"payload type 128", func(c *Config) { c.PayloadType = 128 }, ErrConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Ports: ports, LocalIP: loopback, ClockRate: 8000}
			tt.mod(&cfg)
			if _, err := New(cfg); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if ports.InUse() != 0 {
		t.Errorf("a failed New kept a port pair")
	}
}

// frameLog records the frame numbers (first two payload octets) a session
// hands to OnPacket.
type frameLog struct {
	mu     sync.Mutex
	frames []int
	ssrcs  map[uint32]int
}

func (f *frameLog) onPacket(p *rtp.Packet) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ssrcs == nil {
		f.ssrcs = map[uint32]int{}
	}
	f.ssrcs[p.SSRC]++
	if len(p.Payload) >= 2 {
		f.frames = append(f.frames, int(binary.BigEndian.Uint16(p.Payload)))
	}
}

func (f *frameLog) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.frames)
}

// frame is a 160-octet payload numbered i.
func frame(i int) []byte {
	b := make([]byte, 160)
	binary.BigEndian.PutUint16(b, uint16(i))
	for j := 2; j < len(b); j++ {
		b[j] = byte(i + j)
	}
	return b
}

// TestTwoSessionsExchange sends 250 frames each way between two sessions
// at a pace that matches the media clock (2 ms frames of 16 samples).
func TestTwoSessionsExchange(t *testing.T) {
	leak.Check(t)
	ports := testPorts(t, 2)
	var counters Counters
	var logA, logB frameLog
	a := newTestSession(t, ports, func(c *Config) { c.OnPacket = logA.onPacket; c.Counters = &counters })
	b := newTestSession(t, ports, func(c *Config) { c.OnPacket = logB.onPacket; c.Counters = &counters })
	a.SetRemote(b.LocalAddr(), netip.AddrPort{})
	b.SetRemote(a.LocalAddr(), netip.AddrPort{})

	const n = 250
	pace(n, 2*time.Millisecond, func(i int) {
		if err := a.WriteSample(frame(i), 16, i == 0); err != nil {
			t.Error(err)
		}
		if err := b.WriteSample(frame(i), 16, i == 0); err != nil {
			t.Error(err)
		}
	})
	waitFor(t, "both sides to receive every frame", func() bool { return logA.count() == n && logB.count() == n })

	for name, c := range map[string]struct {
		s, peer *Session
		log     *frameLog
	}{"A": {a, b, &logA}, "B": {b, a, &logB}} {
		st := c.s.Stats()
		if st.PacketsSent != n || st.OctetsSent != n*160 || st.PacketsReceived != n || st.OctetsReceived != n*160 {
			t.Errorf("%s: sent %d/%d received %d/%d", name, st.PacketsSent, st.OctetsSent, st.PacketsReceived, st.OctetsReceived)
		}
		if st.ExpectedPackets != n || st.Lost != 0 || st.Malformed != 0 || st.Ignored != 0 {
			t.Errorf("%s: expected %d lost %d malformed %d ignored %d", name, st.ExpectedPackets, st.Lost, st.Malformed, st.Ignored)
		}
		if st.RemoteSSRC != c.peer.SSRC() || st.SSRC != c.s.SSRC() {
			t.Errorf("%s: remote SSRC %x, want %x", name, st.RemoteSSRC, c.peer.SSRC())
		}
		if st.JitterDuration > 50*time.Millisecond || st.JitterDuration != unitsDuration(st.Jitter, 8000) {
			t.Errorf("%s: jitter %d units = %v, not small", name, st.Jitter, st.JitterDuration)
		}
		if st.LastReceived.IsZero() || st.Latched {
			t.Errorf("%s: last received %v latched %v", name, st.LastReceived, st.Latched)
		}
		t.Logf("%s: jitter %v", name, st.JitterDuration)
		for i, f := range c.log.frames {
			if f != i {
				t.Fatalf("%s: frame %d arrived as number %d", name, i, f)
			}
		}
	}
	if counters.PacketsIn.Load() != 2*n || counters.PacketsOut.Load() != 2*n || counters.OctetsOut.Load() != 2*n*160 {
		t.Errorf("counters in %d out %d", counters.PacketsIn.Load(), counters.PacketsOut.Load())
	}
}

// TestEcho is the worker's echo mode: OnPacket writes the payload back.
func TestEcho(t *testing.T) {
	leak.Check(t)
	ports := testPorts(t, 2)
	var echoer atomic.Pointer[Session]
	b := newTestSession(t, ports, func(c *Config) {
		c.OnPacket = func(p *rtp.Packet) {
			if s := echoer.Load(); s != nil {
				_ = s.WriteSample(p.Payload, 160, p.Marker)
			}
		}
	})
	echoer.Store(b)
	var logA frameLog
	a := newTestSession(t, ports, func(c *Config) { c.OnPacket = logA.onPacket })
	a.SetRemote(b.LocalAddr(), netip.AddrPort{})
	b.SetRemote(a.LocalAddr(), netip.AddrPort{})
	const n = 50
	pace(n, time.Millisecond, func(i int) {
		if err := a.WriteSample(frame(i), 8, false); err != nil {
			t.Error(err)
		}
	})
	waitFor(t, "echoes", func() bool { return logA.count() == n })
	for i, f := range logA.frames {
		if f != i {
			t.Fatalf("echo %d is frame %d", i, f)
		}
	}
}

// TestRelayLossAndReorder puts a UDP relay between A and B that drops or
// reorders A's packets and checks B's A.3 figures and the RR A gets back.
func TestRelayLossAndReorder(t *testing.T) {
	const n = 250
	tests := []struct {
		name         string
		policy       relayPolicy
		wantReceived uint64
		wantExpected uint64
		wantLost     uint64
	}{
		// The 10th, 20th, ... 250th are dropped: the last one is not
		// counted lost, since nothing after it shows it was sent.
		{"drop every 10th", dropEvery(10), 225, 249, 24},
		{"reorder adjacent pairs", swapPairs(), 250, 250, 0},
		{"clean", passAll(), 250, 250, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leak.Check(t)
			ports := testPorts(t, 2)
			a := newTestSession(t, ports, nil)
			b := newTestSession(t, ports, nil)
			r := startRelay(t, b.LocalAddr(), n, tt.policy)
			a.SetRemote(r.addr(), netip.AddrPort{})
			b.SetRemote(a.LocalAddr(), netip.AddrPort{})
			pace(n, time.Millisecond, func(i int) {
				if err := a.WriteSample(frame(i), 8, false); err != nil {
					t.Error(err)
				}
			})
			waitFor(t, "relayed packets", func() bool { return b.Stats().PacketsReceived == tt.wantReceived })

			// One report over the whole stream: FractionLost covers it all.
			b.sendReport(time.Now(), false)
			st := b.Stats()
			if st.ExpectedPackets != tt.wantExpected || st.Lost != tt.wantLost || st.Ignored != 0 {
				t.Errorf("expected %d lost %d ignored %d, want %d %d 0", st.ExpectedPackets, st.Lost, st.Ignored, tt.wantExpected, tt.wantLost)
			}
			wantFraction := float64(tt.wantLost) / float64(tt.wantExpected)
			if st.FractionLost > wantFraction || st.FractionLost < wantFraction-1.0/256 {
				t.Errorf("FractionLost %.4f, want %.4f (8-bit)", st.FractionLost, wantFraction)
			}
			waitFor(t, "A to get B's report", func() bool { return !a.Stats().Peer.At.IsZero() })
			peer := a.Stats().Peer
			if peer.Lost != int32(tt.wantLost) || peer.FractionLost != st.FractionLost {
				t.Errorf("A sees peer report %+v, want lost %d fraction %.4f", peer, tt.wantLost, st.FractionLost)
			}
			t.Logf("lost %d/%d fraction %.4f jitter %v", st.Lost, st.ExpectedPackets, st.FractionLost, st.JitterDuration)
		})
	}
}

// latchedPair returns A (Latch, SDP remote pointing at a wrong socket) and
// B (sending to A), after B's first two packets made A latch.
func latchedPair(t *testing.T, logA *frameLog) (a, b *Session) {
	t.Helper()
	ports := testPorts(t, 2)
	wrong := listen(t)
	a = newTestSession(t, ports, func(c *Config) { c.Latch = true; c.OnPacket = logA.onPacket })
	b = newTestSession(t, ports, nil)
	a.SetRemote(addrOf(wrong), netip.AddrPort{})
	b.SetRemote(a.LocalAddr(), netip.AddrPort{})

	if err := b.WriteSample(frame(0), 160, true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "first packet", func() bool { return a.Stats().PacketsReceived == 1 })
	if st := a.Stats(); st.Latched || a.Remote() != addrOf(wrong) {
		t.Fatalf("latched after one packet: %+v", st)
	}
	if err := b.WriteSample(frame(1), 160, false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "latch", func() bool { return a.Stats().Latched })
	return a, b
}

func TestLatching(t *testing.T) {
	leak.Check(t)
	var logA frameLog
	a, b := latchedPair(t, &logA)
	st := a.Stats()
	if a.Remote() != b.LocalAddr() || st.Latches != 1 || st.LatchedTo != b.LocalAddr() {
		t.Fatalf("remote %s latches %d to %s, want %s", a.Remote(), st.Latches, st.LatchedTo, b.LocalAddr())
	}
	if got, want := a.remote.Load().rtcp, nextPort(b.LocalAddr()); got != want {
		t.Errorf("RTCP goes to %s, want %s", got, want)
	}
	if logA.count() != 2 {
		t.Errorf("OnPacket saw %d packets, want both (media flows before the latch)", logA.count())
	}
	// Replies now reach the peer's real port.
	for i := range 3 {
		if err := a.WriteSample(frame(i), 160, false); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "peer to receive replies", func() bool { return b.Stats().PacketsReceived == 3 })
}

// TestHijackIgnored sends from a third socket after the latch, interleaved
// with the real source: nothing it sends is accepted and A keeps sending
// to the real source.
func TestHijackIgnored(t *testing.T) {
	leak.Check(t)
	var logA frameLog
	a, b := latchedPair(t, &logA)
	hijacker := listen(t)
	const n = 10
	for i := range n {
		if err := b.WriteSample(frame(2+i), 160, false); err != nil {
			t.Fatal(err)
		}
		sendTo(t, hijacker, rtpPacket(t, 0xbad, uint16(i), uint32(i)*160, frame(1000+i)), a.LocalAddr())
	}
	waitFor(t, "all packets handled", func() bool {
		st := a.Stats()
		return st.Ignored == n && st.PacketsReceived == 2+n
	})
	st := a.Stats()
	if a.Remote() != b.LocalAddr() || st.Latches != 1 || st.LatchedTo != b.LocalAddr() || st.RemoteSSRC != b.SSRC() {
		t.Fatalf("hijacked: remote %s latches %d", a.Remote(), st.Latches)
	}
	if logA.ssrcs[0xbad] != 0 {
		t.Errorf("OnPacket saw %d hijack packets", logA.ssrcs[0xbad])
	}
	for i := range 3 {
		if err := a.WriteSample(frame(i), 160, false); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "peer to receive replies", func() bool { return b.Stats().PacketsReceived == 3 })
	// On loopback a datagram is queued on its destination during sendto:
	// had A sent to the hijacker, it would be readable now.
	_ = hijacker.SetReadDeadline(time.Now())
	if n, _, err := hijacker.ReadFromUDPAddrPort(make([]byte, 2048)); err == nil {
		t.Errorf("hijacker received a %d-octet datagram", n)
	}
}

// TestRelatchAfterSilence drives the receive path with a synthetic clock:
// after 1.5 s of silence, five packets from a new source move the latch.
func TestRelatchAfterSilence(t *testing.T) {
	leak.Check(t)
	s := newTestSession(t, testPorts(t, 1), func(c *Config) { c.Latch = true })
	x := netip.MustParseAddrPort("127.0.0.1:40000")
	y := netip.MustParseAddrPort("127.0.0.1:41000")
	s.SetRemote(netip.MustParseAddrPort("127.0.0.1:9"), netip.AddrPort{})
	t0 := time.Now()
	for i := range 2 {
		s.handleRTP(rtpPacket(t, 1, uint16(i), uint32(i)*160, frame(i)), x, t0)
	}
	if s.Remote() != x {
		t.Fatalf("not latched to %s: %s", x, s.Remote())
	}
	for i := range 5 {
		s.handleRTP(rtpPacket(t, 2, uint16(100+i), 0, frame(i)), y, t0.Add(300*time.Millisecond))
	}
	if s.Remote() != x {
		t.Fatal("relatched while the source was alive")
	}
	for i := range 5 {
		if i < 4 && s.Remote() != x {
			t.Fatalf("relatched after %d packets", i)
		}
		s.handleRTP(rtpPacket(t, 2, uint16(200+i), 0, frame(i)), y, t0.Add(1500*time.Millisecond))
	}
	st := s.Stats()
	if s.Remote() != y || st.Latches != 2 || st.LatchedTo != y || st.RemoteSSRC != 2 || st.Ignored != 9 {
		t.Errorf("after silence: remote %s latches %d ssrc %d ignored %d", s.Remote(), st.Latches, st.RemoteSSRC, st.Ignored)
	}
	if got := s.remote.Load().rtcp; got != nextPort(y) {
		t.Errorf("RTCP to %s, want %s", got, nextPort(y))
	}
}

// TestSetRemoteReinvite checks the latch survives a re-INVITE with the same
// SDP address, is forgotten when it moves, and keeps a=rtcp (RFC 3605)
// when the source is the SDP address itself.
func TestSetRemoteReinvite(t *testing.T) {
	leak.Check(t)
	s := newTestSession(t, testPorts(t, 1), func(c *Config) { c.Latch = true })
	sdp1 := netip.MustParseAddrPort("127.0.0.1:9")
	sdp2 := netip.MustParseAddrPort("127.0.0.1:11")
	x := netip.MustParseAddrPort("127.0.0.1:40000")
	rtcpX := netip.MustParseAddrPort("127.0.0.1:40555")
	now := time.Now()
	seq := uint16(0)
	send := func(from netip.AddrPort, k int) {
		for range k {
			s.handleRTP(rtpPacket(t, 7, seq, uint32(seq)*160, frame(int(seq))), from, now)
			seq++
		}
	}
	s.SetRemote(sdp1, netip.AddrPort{})
	send(x, 2)
	if s.Remote() != x {
		t.Fatal("no latch")
	}
	s.SetRemote(sdp1, netip.AddrPort{})
	if s.Remote() != x || !s.Stats().Latched {
		t.Errorf("same-address re-INVITE dropped the latch: %s", s.Remote())
	}
	s.SetRemote(sdp2, netip.AddrPort{})
	if s.Remote() != sdp2 || s.Stats().Latched {
		t.Errorf("moved re-INVITE kept the latch: %s", s.Remote())
	}
	if got := s.remote.Load().rtcp; got != nextPort(sdp2) {
		t.Errorf("RTCP default %s, want RTP+1", got)
	}
	s.SetRemote(x, rtcpX)
	send(x, 2)
	if st := s.Stats(); !st.Latched || st.Latches != 2 || s.remote.Load().rtcp != rtcpX {
		t.Errorf("latch onto SDP address: latched %v latches %d rtcp %s", st.Latched, st.Latches, s.remote.Load().rtcp)
	}
}

// TestRTCPSourceLearned checks that with Latch an RTCP packet from the RTP
// source's SSRC redirects our reports to where it came from, and that one
// from another SSRC does not.
func TestRTCPSourceLearned(t *testing.T) {
	leak.Check(t)
	s := newTestSession(t, testPorts(t, 1), func(c *Config) { c.Latch = true })
	s.SetRemote(netip.MustParseAddrPort("127.0.0.1:9"), netip.AddrPort{})
	peerRTP, peerRTCP, stranger := listen(t), listen(t), listen(t)
	for i := range 2 {
		sendTo(t, peerRTP, rtpPacket(t, 0x1234, uint16(i), 0, frame(i)), s.LocalAddr())
	}
	waitFor(t, "latch", func() bool { return s.Stats().Latched })
	rtcpPort := nextPort(s.LocalAddr())

	rr, _ := (&rtcp.ReceiverReport{SSRC: 0x9999}).Marshal()
	sendTo(t, stranger, rr, rtcpPort)
	waitFor(t, "stranger's RTCP", func() bool { return s.Stats().RTCPReceived == 1 })
	if got := s.remote.Load().rtcp; got != nextPort(addrOf(peerRTP)) {
		t.Fatalf("RTCP address %s after a stranger's report", got)
	}
	rr, _ = (&rtcp.ReceiverReport{SSRC: 0x1234}).Marshal()
	sendTo(t, peerRTCP, rr, rtcpPort)
	waitFor(t, "RTCP address learned", func() bool { return s.remote.Load().rtcp == addrOf(peerRTCP) })
}

// TestRTCPExchangeRTT runs both sides with 50 ms reports until each has a
// round-trip time from the other's reports.
func TestRTCPExchangeRTT(t *testing.T) {
	leak.Check(t)
	ports := testPorts(t, 2)
	fast := func(c *Config) { c.RTCPInterval = 50 * time.Millisecond }
	a := newTestSession(t, ports, fast)
	b := newTestSession(t, ports, fast)
	a.SetRemote(b.LocalAddr(), netip.AddrPort{})
	b.SetRemote(a.LocalAddr(), netip.AddrPort{})
	done := false
	for i := 0; i < 2000 && !done; i++ {
		_ = a.WriteSample(frame(i), 40, false)
		_ = b.WriteSample(frame(i), 40, false)
		sa, sb := a.Stats(), b.Stats()
		done = sa.RTT > 0 && sb.RTT > 0
		if !done {
			time.Sleep(5 * time.Millisecond)
		}
	}
	if !done {
		t.Fatalf("no RTT: A %v B %v", a.Stats().RTT, b.Stats().RTT)
	}
	for name, s := range map[string]*Session{"A": a, "B": b} {
		st := s.Stats()
		if st.RTT > time.Second || st.RTCPSent == 0 || st.RTCPReceived == 0 || st.Peer.At.IsZero() || st.RTCPMalformed != 0 {
			t.Errorf("%s: RTT %v sent %d received %d peer %+v", name, st.RTT, st.RTCPSent, st.RTCPReceived, st.Peer)
		}
		t.Logf("%s: RTT %v after %d reports", name, st.RTT, st.RTCPSent)
	}
}

func TestByeOnClose(t *testing.T) {
	leak.Check(t)
	ports := testPorts(t, 2)
	var logB frameLog
	a := newTestSession(t, ports, func(c *Config) { c.RTCPInterval = time.Hour })
	b := newTestSession(t, ports, func(c *Config) { c.OnPacket = logB.onPacket })
	a.SetRemote(b.LocalAddr(), netip.AddrPort{})
	b.SetRemote(a.LocalAddr(), netip.AddrPort{})
	if err := a.WriteSample(frame(0), 160, true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "B to know A's SSRC", func() bool { return logB.count() == 1 })
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "BYE", func() bool { return b.Stats().RemoteBye })
}

// sessionGoroutines counts goroutines running a Session's loops.
func sessionGoroutines() int {
	buf := make([]byte, 1<<20)
	stacks := string(buf[:runtimeStack(buf)])
	n := 0
	for _, fn := range []string{"(*Session).readRTP", "(*Session).readRTCP", "(*Session).rtcpLoop"} {
		n += countSubstr(stacks, "rtpsession."+fn+"(")
	}
	return n
}

func TestCloseWaitsAndReleases(t *testing.T) {
	leak.Check(t)
	ports := testPorts(t, 1)
	before := sessionGoroutines()
	s, err := New(Config{Ports: ports, LocalIP: loopback, ClockRate: 8000, RTCPInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "goroutines to start", func() bool { return sessionGoroutines() == before+3 })
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if err := s.Close(); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	// No polling here: Close must have waited.
	if got := sessionGoroutines(); got != before {
		t.Errorf("%d session goroutines left after Close returned", got-before)
	}
	if ports.InUse() != 0 {
		t.Error("port pair not released")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	s.SetRemote(netip.MustParseAddrPort("127.0.0.1:9"), netip.AddrPort{})
	if err := s.WriteSample(frame(0), 160, false); !errors.Is(err, ErrClosed) {
		t.Errorf("WriteSample after Close: %v", err)
	}
	// The range is whole again: a new session gets the pair.
	s2, err := New(Config{Ports: ports, LocalIP: loopback, ClockRate: 8000, RTCPInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestWriteErrors(t *testing.T) {
	s := newTestSession(t, testPorts(t, 1), nil)
	if err := s.WriteSample(frame(0), 160, false); !errors.Is(err, ErrNoRemote) {
		t.Errorf("no remote: %v", err)
	}
	s.SetRemote(netip.MustParseAddrPort("127.0.0.1:9"), netip.AddrPort{})
	if err := s.WriteSample(make([]byte, MaxPayload+1), 160, false); !errors.Is(err, ErrPayloadTooLarge) {
		t.Errorf("too large: %v", err)
	}
	if err := s.WriteSample(make([]byte, MaxPayload), 160, false); err != nil {
		t.Errorf("MaxPayload: %v", err)
	}
	if err := s.WriteRTP(128, frame(0), 160, false); !errors.Is(err, ErrPayloadType) {
		t.Errorf("PT 128: %v", err)
	}
}

// TestWriteHeaders checks the packets on the wire: one SSRC, consecutive
// sequence numbers, timestamps advancing by the samples of the previous
// frame, PT and marker as asked (RFC 3550 §5.1).
func TestWriteHeaders(t *testing.T) {
	s := newTestSession(t, testPorts(t, 1), func(c *Config) { c.PayloadType = 0 })
	sink := listen(t)
	// Before the remote is known the media clock still runs.
	if err := s.WriteSample(frame(0), 160, false); !errors.Is(err, ErrNoRemote) {
		t.Fatal(err)
	}
	s.SetRemote(addrOf(sink), netip.AddrPort{})
	type w struct {
		pt      int // -1: WriteSample
		samples uint32
		marker  bool
		setPT   int // SetPayloadType before, -1: no
	}
	writes := []w{
		{-1, 160, true, -1},
		{-1, 160, false, -1},
		{-1, 160, false, 8},
		{101, 0, true, -1}, // telephone-event: same timestamp as the next frame
		{-1, 160, false, -1},
	}
	for _, x := range writes {
		if x.setPT >= 0 {
			s.SetPayloadType(uint8(x.setPT))
		}
		var err error
		if x.pt < 0 {
			err = s.WriteSample(frame(0), x.samples, x.marker)
		} else {
			err = s.WriteRTP(uint8(x.pt), []byte{1, 0, 0, 160}, x.samples, x.marker)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	wantPT := []uint8{0, 0, 8, 101, 8}
	var first rtp.Header
	_ = sink.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 2048)
	ts := uint32(0)
	for i, x := range writes {
		n, _, err := sink.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatal(err)
		}
		var p rtp.Packet
		if err := p.Unmarshal(buf[:n]); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = p.Header
			ts = p.Timestamp
		}
		if p.Version != 2 || p.SSRC != s.SSRC() || p.SequenceNumber != first.SequenceNumber+uint16(i) ||
			p.Timestamp != ts || p.PayloadType != wantPT[i] || p.Marker != x.marker {
			t.Errorf("packet %d: %+v", i, p.Header)
		}
		ts += x.samples
	}
	// The frame written before SetRemote advanced the clock by 160.
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if s.clock.Timestamp() != ts {
		t.Errorf("timestamp state %d, want %d", s.clock.Timestamp(), ts)
	}
}

func TestLastActivity(t *testing.T) {
	s := newTestSession(t, testPorts(t, 1), nil)
	created := s.LastActivity()
	if created.IsZero() || time.Since(created) > time.Minute {
		t.Fatalf("LastActivity at creation = %v", created)
	}
	at := created.Add(3 * time.Second)
	s.handleRTP(rtpPacket(t, 1, 1, 0, frame(0)), netip.MustParseAddrPort("127.0.0.1:40000"), at)
	if !s.LastActivity().Equal(at) {
		t.Errorf("after RTP: %v, want %v", s.LastActivity(), at)
	}
	rr, _ := (&rtcp.ReceiverReport{SSRC: 1}).Marshal()
	s.handleRTCP(rr, netip.MustParseAddrPort("127.0.0.1:40001"), at.Add(time.Second), false)
	if !s.LastActivity().Equal(at.Add(time.Second)) {
		t.Errorf("after RTCP: %v", s.LastActivity())
	}
	s.handleRTP([]byte{1, 2, 3}, netip.MustParseAddrPort("127.0.0.1:40000"), at.Add(time.Hour))
	stranger, _ := (&rtcp.ReceiverReport{SSRC: 2}).Marshal()
	s.handleRTCP(stranger, netip.MustParseAddrPort("127.0.0.1:40002"), at.Add(time.Hour), false)
	s.handleRTCP([]byte{0x80, 201, 0, 9}, netip.MustParseAddrPort("127.0.0.1:40001"), at.Add(time.Hour), false)
	if !s.LastActivity().Equal(at.Add(time.Second)) {
		t.Error("malformed datagram or stranger's report counted as activity")
	}
}

// TestSkipAdvancesTimestamp: a gap left by Skip shows in the next packet's
// timestamp, while sequence numbers stay contiguous (RFC 3551 §4.1 silence).
func TestSkipAdvancesTimestamp(t *testing.T) {
	leak.Check(t)
	ports := testPorts(t, 1)
	s := newTestSession(t, ports, nil)
	peer := listen(t)
	s.SetRemote(addrOf(peer), netip.AddrPort{})
	if err := s.WriteSample(make([]byte, 160), 160, true); err != nil {
		t.Fatal(err)
	}
	s.Skip(3 * 160)
	if err := s.WriteSample(make([]byte, 160), 160, true); err != nil {
		t.Fatal(err)
	}
	var got []rtp.Packet
	buf := make([]byte, 1500)
	_ = peer.SetReadDeadline(time.Now().Add(2 * time.Second))
	for len(got) < 2 {
		n, err := peer.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		var p rtp.Packet
		if err := p.Unmarshal(buf[:n]); err != nil {
			t.Fatal(err)
		}
		got = append(got, p)
	}
	if d := got[1].Timestamp - got[0].Timestamp; d != 4*160 {
		t.Errorf("timestamp step %d, want %d (one frame + three skipped)", d, 4*160)
	}
	if d := got[1].SequenceNumber - got[0].SequenceNumber; d != 1 {
		t.Errorf("sequence step %d, want 1", d)
	}
}

// TestSideStreamSSRC: telephone-events on their own SSRC, interleaved with
// the audio (as sipp sends them), are all delivered, and the audio's
// reception figures stay those of the audio source.
func TestSideStreamSSRC(t *testing.T) {
	var got []uint8
	s := newTestSession(t, testPorts(t, 1), func(c *Config) {
		c.OnPacket = func(p *rtp.Packet) { got = append(got, p.PayloadType) }
	})
	from := netip.MustParseAddrPort("127.0.0.1:40000")
	t0 := time.Now()
	ev := func(seq uint16) []byte {
		b := rtpPacket(t, 0xd7d7, seq, 5000, []byte{1, 0, 0, 160})
		b[1] = 101
		return b
	}
	for i := range 50 {
		now := t0.Add(time.Duration(i) * 20 * time.Millisecond)
		s.handleRTP(rtpPacket(t, 0xa0a0, uint16(100+i), uint32(i*160), make([]byte, 160)), from, now)
		if i >= 10 && i < 20 {
			s.handleRTP(ev(uint16(9000+i)), from, now)
		}
	}
	st := s.Stats()
	if len(got) != 60 || st.PacketsReceived != 60 || st.SidePackets != 10 {
		t.Fatalf("delivered %d, received %d, side %d; want 60, 60, 10", len(got), st.PacketsReceived, st.SidePackets)
	}
	if st.RemoteSSRC != 0xa0a0 || st.ExpectedPackets != 50 || st.Lost != 0 || st.Ignored != 0 {
		t.Errorf("audio figures disturbed: ssrc %x expected %d lost %d ignored %d", st.RemoteSSRC, st.ExpectedPackets, st.Lost, st.Ignored)
	}
}

// TestEventRun: between BeginEvent and EndEvent audio frames are dropped
// and WriteAt packets carry their own timestamps on the shared sequence;
// afterwards the timestamp has moved on by the run and the next frame is
// marked.
func TestEventRun(t *testing.T) {
	peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	s := newTestSession(t, testPorts(t, 1), nil)
	s.SetRemote(peer.LocalAddr().(*net.UDPAddr).AddrPort(), netip.AddrPort{})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.WriteSample(make([]byte, 160), 160, false))
	base := s.BeginEvent()
	must(s.WriteSample(make([]byte, 160), 160, false)) // dropped
	s.Skip(160)                                        // ignored
	must(s.WriteAt(101, []byte{1, 0, 0, 160}, base, true))
	must(s.WriteAt(101, []byte{1, 0x80, 1, 64}, base, false))
	s.EndEvent(800)
	must(s.WriteSample(make([]byte, 160), 160, false))

	var pkts []rtp.Packet
	buf := make([]byte, 1500)
	_ = peer.SetReadDeadline(time.Now().Add(2 * time.Second))
	for len(pkts) < 4 {
		n, err := peer.Read(buf)
		if err != nil {
			t.Fatalf("after %d packets: %v", len(pkts), err)
		}
		var p rtp.Packet
		must(p.Unmarshal(buf[:n]))
		pkts = append(pkts, p)
	}
	first := pkts[0]
	for i, p := range pkts {
		if p.SequenceNumber != first.SequenceNumber+uint16(i) || p.SSRC != first.SSRC {
			t.Errorf("packet %d: seq %d ssrc %x", i, p.SequenceNumber, p.SSRC)
		}
	}
	if pkts[1].PayloadType != 101 || pkts[1].Timestamp != base || !pkts[1].Marker || pkts[2].Timestamp != base || pkts[2].Marker {
		t.Errorf("event packets: %+v %+v", pkts[1].Header, pkts[2].Header)
	}
	if last := pkts[3]; last.PayloadType != 0 || last.Timestamp != base+800 || !last.Marker {
		t.Errorf("audio after the event: %+v (base %d)", last.Header, base)
	}
}
