package rtpsession

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/pion/rtp"
)

// readBufSize is the largest datagram read; a larger one fills the buffer
// exactly and is counted as malformed rather than parsed truncated.
const readBufSize = 2048

// maxReadErrors bounds consecutive non-close read errors before a reader
// gives up, so that a broken socket cannot spin a core.
const maxReadErrors = 1000

// readRTP is the RTP socket's read goroutine.
func (s *Session) readRTP() {
	s.readLoop(s.pair.RTP, s.handleRTP)
}

// readRTCP is the RTCP socket's read goroutine.
func (s *Session) readRTCP() {
	s.readLoop(s.pair.RTCP, func(b []byte, from netip.AddrPort, now time.Time) {
		s.handleRTCP(b, from, now, false)
	})
}

// readLoop reads conn until it is closed and hands every datagram to
// handle, with a buffer it reuses (hence the validity rule of OnPacket).
func (s *Session) readLoop(conn *net.UDPConn, handle func([]byte, netip.AddrPort, time.Time)) {
	buf := make([]byte, readBufSize+1)
	for errs := 0; errs < maxReadErrors; {
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || s.isClosed() {
				return
			}
			errs++
			continue
		}
		errs = 0
		if n > readBufSize {
			s.countMalformed(from, n, "datagram too large")
			continue
		}
		handle(buf[:n], from, time.Now())
	}
	s.log.Error("rtpsession: reader stopped after repeated socket errors", "local", conn.LocalAddr().String())
}

// handleRTP processes one datagram received on the RTP port at now. It is
// the whole per-packet receive path: RTCP demultiplexing, validation,
// latching, statistics and OnPacket. Only the RTP read goroutine calls it
// (and tests, in its stead).
func (s *Session) handleRTP(b []byte, from netip.AddrPort, now time.Time) {
	// RFC 5761 §4: with rtcp-mux, RTCP packet types 200-204 (SR, RR, SDES,
	// BYE, APP) sit where RTP would have the marker bit and PT 72-76,
	// which RFC 3551 §6 reserves for exactly this reason.
	if len(b) >= 2 && b[1] >= 200 && b[1] <= 204 {
		s.handleRTCP(b, from, now, true)
		return
	}
	if reason := checkRTP(b); reason != "" {
		s.countMalformed(from, len(b), reason)
		return
	}
	p := &s.rxPkt
	if err := p.Unmarshal(b); err != nil {
		s.countMalformed(from, len(b), err.Error())
		return
	}
	from = unmap(from)

	s.rxMu.Lock()
	if s.latch {
		relatch := s.latcher.latched
		accept, moved := s.latcher.observe(from, p.SSRC, now)
		if moved {
			s.latchTo(from, relatch)
		}
		if !accept {
			s.ignored++
			s.rxMu.Unlock()
			s.countIgnored()
			return
		}
	}
	r := &s.rx
	if r.active && r.ssrc != p.SSRC && s.sideStream(p.PayloadType) {
		// RFC 4733 §2.1 lets telephone-events have their own SSRC (sipp
		// sends them so): a packet of another payload type than the audio
		// from another source is delivered and counted, but does not
		// restart the reception statistics of the audio's source.
		s.packetsRecv++
		s.octetsRecv += uint64(len(p.Payload))
		s.lastReceived = now
		s.sidePackets++
		s.rxMu.Unlock()
		s.delivered(p, now)
		return
	}
	if !r.active || r.ssrc != p.SSRC {
		// A new source (RFC 3550 §8.2: a changed SSRC is a new stream,
		// for instance after a transfer behind the same SBC).
		r.start(p.SSRC, p.SequenceNumber)
	}
	if !r.updateSeq(p.SequenceNumber) {
		s.ignored++
		s.rxMu.Unlock()
		s.countIgnored()
		return
	}
	r.updateJitter(tsUnits(now.Sub(s.epoch), s.clockRate.Load()), p.Timestamp)
	s.packetsRecv++
	s.octetsRecv += uint64(len(p.Payload))
	s.lastReceived = now
	s.rxMu.Unlock()
	s.delivered(p, now)
}

// delivered counts an accepted packet and hands it to OnPacket.
func (s *Session) delivered(p *rtp.Packet, now time.Time) {
	s.lastActivity.Store(now.UnixNano())
	if c := s.counters; c != nil {
		c.PacketsIn.Add(1)
		c.OctetsIn.Add(uint64(len(p.Payload)))
	}
	if s.onPacket != nil {
		s.onPacket(p)
	}
}

// sideStream reports whether pt is not the audio's payload type.
func (s *Session) sideStream(pt uint8) bool {
	a := s.audioPT.Load()
	return a != 0 && uint32(pt)+1 != a
}

// checkRTP does the header checks of RFC 3550 §5.1 and A.1 that decide
// validity, before pion parses the packet, so that garbage is rejected
// without building error values. It returns "" for a valid header.
func checkRTP(b []byte) string {
	if len(b) < rtpHeaderSize {
		return "shorter than an RTP header"
	}
	if b[0]>>6 != 2 {
		return "not RTP version 2"
	}
	n := rtpHeaderSize + 4*int(b[0]&0x0f)
	if len(b) < n {
		return "CSRC list truncated"
	}
	if b[0]&0x10 != 0 {
		if len(b) < n+4 {
			return "extension header truncated"
		}
		n += 4 + 4*int(binary.BigEndian.Uint16(b[n+2:]))
		if len(b) < n {
			return "extension longer than the packet"
		}
	}
	if b[0]&0x20 != 0 {
		pad := int(b[len(b)-1])
		if pad == 0 || n+pad > len(b) {
			return "bad padding length"
		}
	}
	return ""
}

// latchTo moves the send address to from (RFC 4961): RTCP follows to the
// next port unless an RTCP packet of this source showed its real address
// before (a re-latch is a new source: what was learned is forgotten).
// rxMu is held.
func (s *Session) latchTo(from netip.AddrPort, relatch bool) {
	rtcpAddr := nextPort(from)
	if from == s.sdpRTP {
		rtcpAddr = s.sdpRTCP // honour an a=rtcp (RFC 3605) of a source that is where it said
	}
	if !relatch && s.rtcpLearned.IsValid() && s.rtcpLearned.Addr() == from.Addr() {
		rtcpAddr = s.rtcpLearned
	} else {
		s.rtcpLearned = netip.AddrPort{}
	}
	s.remote.Store(&remoteAddrs{rtp: from, rtcp: rtcpAddr})
	s.latches++
	if c := s.counters; c != nil {
		c.Latches.Add(1)
	}
	s.log.Info("rtpsession: latched onto media source", "source", from.String(), "sdp", s.sdpRTP.String(), "latches", s.latches)
}

// countMalformed counts a datagram that was not valid RTP and logs the
// first of the session.
func (s *Session) countMalformed(from netip.AddrPort, size int, reason string) {
	if s.malformed.Add(1) == 1 {
		s.log.Debug("rtpsession: malformed RTP datagram", "from", from.String(), "size", size, "reason", reason)
	}
	if c := s.counters; c != nil {
		c.Malformed.Add(1)
	}
}

// countIgnored adds an ignored packet to the shared counters.
func (s *Session) countIgnored() {
	if c := s.counters; c != nil {
		c.Ignored.Add(1)
	}
}
