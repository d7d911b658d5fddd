package rtpsession

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

// Session is the RTP session of one call leg: a bound even/odd port pair,
// a goroutine reading each socket, one sending periodic RTCP reports, and
// the send state (SSRC, sequence number, timestamp) of our stream.
//
// All methods are safe for concurrent use. Close stops and waits for every
// goroutine the session started.
type Session struct {
	ssrc      uint32 // immutable after New
	cname     string
	clockRate atomic.Uint32 // SetClockRate; read with Load
	latch     bool
	interval  time.Duration
	onPacket  func(*rtp.Packet)
	log       *slog.Logger
	counters  *Counters
	ports     *Ports
	pair      *PortPair
	local     netip.AddrPort
	epoch     time.Time // arrival times for jitter are measured from here

	wg        sync.WaitGroup
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error

	// remote is where we send; swapped whole by SetRemote and latching so
	// that the send path reads it without a lock.
	remote       atomic.Pointer[remoteAddrs]
	lastActivity atomic.Int64 // unix nanoseconds
	malformed    atomic.Uint64
	rtcpBad      atomic.Uint64
	rtcpSent     atomic.Uint64

	// rxPkt is the reusable parse target of the RTP read goroutine, which
	// is its only user (handleRTP is not called concurrently).
	rxPkt rtp.Packet

	// rxMu guards the receive side and everything RTCP reads or writes
	// about the remote. Lock order: reportMu, rxMu, sendMu.
	rxMu         sync.Mutex
	sdpRTP       netip.AddrPort // as given to SetRemote
	sdpRTCP      netip.AddrPort
	latcher      latcher
	latches      uint64
	rtcpLearned  netip.AddrPort // the remote's real RTCP source (RFC 4961 §4)
	rx           reception
	packetsRecv  uint64
	octetsRecv   uint64
	ignored      uint64
	sidePackets  uint64
	lastReceived time.Time
	remoteSR     remoteSR
	srSent       [srHistory]sentSR
	srNext       int
	rtt          time.Duration
	peer         PeerReport
	rtcpReceived uint64
	remoteBye    bool
	sentAtReport uint64 // packetsSent when the last report was built

	// sendMu guards our outgoing stream.
	// audioPT is the audio's payload type plus one (0: unknown), read by
	// the receive path to tell side streams from a new audio source.
	audioPT atomic.Uint32

	sendMu      sync.Mutex
	clock       Clock
	closed      bool
	pt          uint8
	packetsSent uint64
	octetsSent  uint64
	lastSentTS  uint32    // timestamp of the last packet sent
	lastSentAt  time.Time // and when it was sent, to extrapolate SR timestamps
	sendBuf     [sendBufSize]byte

	// reportMu serializes RTCP report sending and guards its buffer.
	reportMu       sync.Mutex
	reportBuf      [reportBufSize]byte
	loggedSendFail bool
}

// remoteAddrs is the pair of addresses we send RTP and RTCP to.
type remoteAddrs struct {
	rtp, rtcp netip.AddrPort
}

// New allocates a port pair from cfg.Ports, binds it on cfg.LocalIP and
// starts the session's goroutines. Nothing is sent until SetRemote (or a
// latch) gives a destination.
func New(cfg Config) (*Session, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	pair, err := cfg.Ports.Allocate(cfg.LocalIP)
	if err != nil {
		return nil, err
	}
	// RFC 3550 §5.1 and §8.1: random initial sequence number, timestamp
	// and SSRC. RFC 7022: a random per-session CNAME.
	var rnd [20]byte
	_, _ = rand.Read(rnd[:]) // never fails since Go 1.24
	ssrc := cfg.SSRC
	if ssrc == 0 {
		ssrc = binary.BigEndian.Uint32(rnd[0:]) | 1 // nonzero: 0 means "pick one"
	}
	now := time.Now()
	s := &Session{
		ssrc:     ssrc,
		cname:    base64.RawURLEncoding.EncodeToString(rnd[8:20]),
		latch:    cfg.Latch,
		interval: cfg.RTCPInterval,
		onPacket: cfg.OnPacket,
		log:      cfg.Log,
		counters: cfg.Counters,
		ports:    cfg.Ports,
		pair:     pair,
		local:    netip.AddrPortFrom(cfg.LocalIP.Unmap(), uint16(pair.Port())),
		epoch:    now,
		done:     make(chan struct{}),
		pt:       cfg.PayloadType,
		clock:    NewClock(binary.BigEndian.Uint16(rnd[4:]), binary.BigEndian.Uint32(rnd[6:])),
	}
	s.log = s.log.With("local", s.local.String(), "ssrc", ssrc)
	s.lastActivity.Store(now.UnixNano())
	s.clockRate.Store(cfg.ClockRate)
	s.audioPT.Store(uint32(cfg.PayloadType&0x7f) + 1)
	s.wg.Go(s.readRTP)
	s.wg.Go(s.readRTCP)
	if s.interval > 0 {
		s.wg.Go(s.rtcpLoop)
	}
	return s, nil
}

// LocalAddr is the RTP address to advertise in SDP (RTCP is on the next
// port, RFC 3550 §11). With an unspecified Config.LocalIP (0.0.0.0) the
// caller must put its reachable address in the SDP instead.
func (s *Session) LocalAddr() netip.AddrPort { return s.local }

// SSRC is our synchronization source identifier.
func (s *Session) SSRC() uint32 { return s.ssrc }

// SetRemote sets the addresses learned from the remote's SDP. An invalid
// rtcp means the remote gave no a=rtcp (RFC 3605) and RTCP goes to the RTP
// port plus one (RFC 3550 §11). It may be called again on re-INVITE: with
// Latch, a changed RTP address forgets the latch (the far end moved) while
// an unchanged one keeps sending to the latched source.
func (s *Session) SetRemote(rtpAddr, rtcpAddr netip.AddrPort) {
	rtpAddr = unmap(rtpAddr)
	rtcpAddr = unmap(rtcpAddr)
	if !rtcpAddr.IsValid() && rtpAddr.IsValid() {
		rtcpAddr = nextPort(rtpAddr)
	}
	s.rxMu.Lock()
	defer s.rxMu.Unlock()
	moved := rtpAddr != s.sdpRTP
	s.sdpRTP, s.sdpRTCP = rtpAddr, rtcpAddr
	if s.latch && s.latcher.latched && !moved {
		return
	}
	if moved {
		s.latcher.reset()
		s.rtcpLearned = netip.AddrPort{}
	}
	s.remote.Store(&remoteAddrs{rtp: rtpAddr, rtcp: rtcpAddr})
}

// Remote is the RTP address we currently send to: the SDP one, or the
// latched source. It is invalid while neither is known.
func (s *Session) Remote() netip.AddrPort {
	if r := s.remote.Load(); r != nil {
		return r.rtp
	}
	return netip.AddrPort{}
}

// SetPayloadType changes the PT WriteSample uses, for a re-INVITE that
// changed the codec or its dynamic number. pt must be 0-127; it is masked
// to the 7 bits of the field.
func (s *Session) SetPayloadType(pt uint8) {
	s.sendMu.Lock()
	s.pt = pt & 0x7f
	s.sendMu.Unlock()
	s.audioPT.Store(uint32(pt&0x7f) + 1)
}

// SetClockRate changes the RTP clock rate the statistics and sender
// reports use, for an answer or re-INVITE that chose a codec with another
// clock (Opus's 48 kHz after an offer made on G.711's 8 kHz).
func (s *Session) SetClockRate(rate uint32) {
	if rate > 0 {
		s.clockRate.Store(rate)
	}
}

// LastActivity is when the last accepted RTP packet or RTCP report from
// the remote arrived, or when the session was created if none has: the
// call compares it with its media timeout to hang up dead calls (there is
// no timer in here). Malformed datagrams, packets from sources the latch
// rejects and RTCP from other SSRCs do not count.
func (s *Session) LastActivity() time.Time {
	return time.Unix(0, s.lastActivity.Load())
}

// Stats returns a snapshot of the session's statistics.
func (s *Session) Stats() Stats {
	s.rxMu.Lock()
	st := Stats{
		SSRC:            s.ssrc,
		PacketsReceived: s.packetsRecv,
		OctetsReceived:  s.octetsRecv,
		LastReceived:    s.lastReceived,
		Latched:         s.latcher.latched,
		Latches:         s.latches,
		Ignored:         s.ignored,
		SidePackets:     s.sidePackets,
		RTT:             s.rtt,
		Peer:            s.peer,
		RTCPReceived:    s.rtcpReceived,
		RTCPSent:        s.rtcpSent.Load(),
		RemoteBye:       s.remoteBye,
	}
	if s.latcher.latched {
		st.LatchedTo = s.latcher.source
	}
	if s.rx.active {
		st.RemoteSSRC = s.rx.ssrc
		st.ExpectedPackets = s.rx.expected()
		st.Lost = uint64(max(s.rx.lost(), 0))
		st.FractionLost = float64(s.rx.lastFraction) / 256
		st.Jitter = s.rx.jitterUnits()
		st.JitterDuration = unitsDuration(st.Jitter, s.clockRate.Load())
	}
	s.sendMu.Lock()
	st.PacketsSent, st.OctetsSent = s.packetsSent, s.octetsSent
	s.sendMu.Unlock()
	s.rxMu.Unlock()
	st.Malformed = s.malformed.Load()
	st.RTCPMalformed = s.rtcpBad.Load()
	return st
}

// Close sends an RTCP BYE (RFC 3550 §6.6) if a remote is known, stops the
// read goroutines and the RTCP timer, waits for them and releases the port
// pair. It is idempotent; it must not be called from OnPacket.
func (s *Session) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		if s.interval > 0 {
			s.sendReport(time.Now(), true)
		}
		s.sendMu.Lock()
		s.closed = true
		s.sendMu.Unlock()
		// Closing the sockets unblocks the readers; the pair goes back to
		// the range only once nothing uses it any more.
		err := errors.Join(closeConn(s.pair.RTP), closeConn(s.pair.RTCP))
		s.wg.Wait()
		s.closeErr = errors.Join(err, s.ports.Release(s.pair))
	})
	return s.closeErr
}

// isClosed reports whether Close has begun.
func (s *Session) isClosed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// unmap normalizes IPv4-mapped IPv6 addresses, which a dual-stack socket
// reports, so that they compare equal to the SDP's IPv4 ones.
func unmap(a netip.AddrPort) netip.AddrPort {
	if !a.IsValid() {
		return a
	}
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
}

// nextPort is the RFC 3550 §11 RTCP companion of an RTP address; the RTP
// address itself if there is no next port.
func nextPort(a netip.AddrPort) netip.AddrPort {
	if a.Port() == 65535 {
		return a
	}
	return netip.AddrPortFrom(a.Addr(), a.Port()+1)
}

// String identifies the session in logs.
func (s *Session) String() string {
	return fmt.Sprintf("rtpsession(%s ssrc=%08x)", s.local, s.ssrc)
}
