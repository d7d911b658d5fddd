package rtpsession

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/pion/rtcp"
)

// RTCP packet types of RFC 3550 §12.1.
const (
	typeSR   = 200
	typeRR   = 201
	typeSDES = 202
	typeBYE  = 203
)

// srHistory is how many of our own SRs are remembered to match the LSR of
// incoming reports: a report may refer to an SR older than our latest
// when SRs are lost or cross in flight.
const srHistory = 8

// reportBufSize fits SR + one report block + SDES CNAME + BYE with room to
// spare (about 90 octets with our 16-character CNAME).
const reportBufSize = 512

// ntpEpochOffset is the seconds from 1900-01-01 (NTP era 0) to 1970-01-01.
const ntpEpochOffset = 2208988800

// sentSR remembers one SR we sent: the LSR value a peer will echo back and
// the exact local time it was built, so that RTT is measured at the
// monotonic clock's precision instead of the 1/65536 s of the fields.
type sentSR struct {
	lsr uint32
	at  time.Time
}

// remoteSR is the last SR received from the remote, for the LSR and DLSR
// fields of our report blocks (RFC 3550 §6.4.1).
type remoteSR struct {
	valid bool
	ssrc  uint32
	lsr   uint32 // middle 32 bits of its NTP timestamp
	at    time.Time
}

// ntpTime is t as a 64-bit NTP timestamp (RFC 3550 §4).
func ntpTime(t time.Time) uint64 {
	sec := uint64(t.Unix() + ntpEpochOffset)
	frac := (uint64(t.Nanosecond()) << 32) / uint64(time.Second)
	return sec<<32 | frac
}

// toShortNTP converts a duration to the 1/65536 s units of DLSR,
// saturating.
func toShortNTP(d time.Duration) uint32 {
	if d <= 0 {
		return 0
	}
	units := uint64(d/time.Second)<<16 + uint64(d%time.Second)<<16/uint64(time.Second)
	if units > 0xffffffff {
		return 0xffffffff
	}
	return uint32(units)
}

// fromShortNTP converts 1/65536 s units to a duration.
func fromShortNTP(units uint32) time.Duration {
	return time.Duration(uint64(units) * uint64(time.Second) >> 16)
}

// rtcpLoop sends a report every interval, drawn uniformly from [0.5, 1.5]
// times the configured one (RFC 3550 §6.2, without the full bandwidth
// algorithm: with two participants it reduces to the 5 s minimum).
func (s *Session) rtcpLoop() {
	t := time.NewTimer(s.nextInterval())
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
			s.sendReport(time.Now(), false)
			t.Reset(s.nextInterval())
		}
	}
}

// nextInterval draws the next report interval.
func (s *Session) nextInterval() time.Duration {
	return time.Duration(float64(s.interval) * (0.5 + rand.Float64()))
}

// sendReport builds and sends one compound RTCP packet, with a BYE at the
// end if bye. Nothing is sent while the remote is unknown.
func (s *Session) sendReport(now time.Time, bye bool) {
	s.reportMu.Lock()
	defer s.reportMu.Unlock()
	remote := s.remote.Load()
	if remote == nil || !remote.rtcp.IsValid() {
		return
	}
	b := s.buildReport(s.reportBuf[:0], now, bye)
	_, err := s.pair.RTCP.WriteToUDPAddrPort(b, remote.rtcp)
	if err != nil {
		if c := s.counters; c != nil {
			c.SendErrors.Add(1)
		}
		if !s.loggedSendFail && !s.isClosed() {
			s.loggedSendFail = true
			s.log.Debug("rtpsession: RTCP send failed", "to", remote.rtcp.String(), "err", err)
		}
		return
	}
	s.rtcpSent.Add(1)
	if c := s.counters; c != nil {
		c.RTCPOut.Add(1)
	}
}

// buildReport appends our compound RTCP packet to b (RFC 3550 §6.1): an SR
// if we sent RTP since the previous report, else an RR, with a report
// block about the remote source if there is one; then SDES with our CNAME
// (§6.5.1); then, if bye, a BYE (§6.6). It does not allocate when b has
// room.
func (s *Session) buildReport(b []byte, now time.Time, bye bool) []byte {
	s.rxMu.Lock()
	defer s.rxMu.Unlock()
	s.sendMu.Lock()
	sent, octets, lastTS, lastAt := s.packetsSent, s.octetsSent, s.lastSentTS, s.lastSentAt
	s.sendMu.Unlock()

	blocks := 0
	if s.rx.active {
		blocks = 1
	}
	if sent > s.sentAtReport {
		s.sentAtReport = sent
		ntp := ntpTime(now)
		b = appendRTCPHeader(b, blocks, typeSR, 6+6*blocks)
		b = binary.BigEndian.AppendUint32(b, s.ssrc)
		b = binary.BigEndian.AppendUint64(b, ntp)
		// The RTP timestamp of the same instant, extrapolated from the
		// last packet sent (§6.4.1).
		b = binary.BigEndian.AppendUint32(b, lastTS+tsUnits(now.Sub(lastAt), s.clockRate.Load()))
		b = binary.BigEndian.AppendUint32(b, uint32(sent))
		b = binary.BigEndian.AppendUint32(b, uint32(octets))
		s.srSent[s.srNext] = sentSR{lsr: uint32(ntp >> 16), at: now}
		s.srNext = (s.srNext + 1) % srHistory
	} else {
		b = appendRTCPHeader(b, blocks, typeRR, 1+6*blocks)
		b = binary.BigEndian.AppendUint32(b, s.ssrc)
	}
	if blocks == 1 {
		b = s.appendReportBlock(b, now)
	}

	// SDES: one chunk, one CNAME item, a null terminator, padded to 32 bits.
	cname := s.cname
	if len(cname) > 255 {
		cname = cname[:255]
	}
	items := 2 + len(cname)
	chunk := (4 + items + 1 + 3) &^ 3
	b = appendRTCPHeader(b, 1, typeSDES, chunk/4)
	b = binary.BigEndian.AppendUint32(b, s.ssrc)
	b = append(b, 1, byte(len(cname)))
	b = append(b, cname...)
	for range chunk - 4 - items {
		b = append(b, 0)
	}

	if bye {
		b = appendRTCPHeader(b, 1, typeBYE, 1)
		b = binary.BigEndian.AppendUint32(b, s.ssrc)
	}
	return b
}

// appendReportBlock appends the reception report block about the current
// remote source (RFC 3550 §6.4.1, values from A.3 and A.8) and starts a
// new loss interval. rxMu is held.
func (s *Session) appendReportBlock(b []byte, now time.Time) []byte {
	r := &s.rx
	fraction := r.interval()
	lost := min(max(r.lost(), -0x800000), 0x7fffff) // 24-bit signed field
	b = binary.BigEndian.AppendUint32(b, r.ssrc)
	b = binary.BigEndian.AppendUint32(b, uint32(fraction)<<24|uint32(lost)&0xffffff)
	b = binary.BigEndian.AppendUint32(b, uint32(r.extMax()))
	b = binary.BigEndian.AppendUint32(b, r.jitterUnits())
	var lsr, dlsr uint32
	if s.remoteSR.valid && s.remoteSR.ssrc == r.ssrc {
		lsr, dlsr = s.remoteSR.lsr, toShortNTP(now.Sub(s.remoteSR.at))
	}
	b = binary.BigEndian.AppendUint32(b, lsr)
	return binary.BigEndian.AppendUint32(b, dlsr)
}

// appendRTCPHeader appends the common header of RFC 3550 §6.4.1: version
// 2, no padding, count, type and the length in 32-bit words minus one.
func appendRTCPHeader(b []byte, count, typ, length int) []byte {
	return append(b, 2<<6|byte(count), byte(typ), byte(length>>8), byte(length))
}

// handleRTCP processes one compound RTCP datagram received at now, on the
// RTCP port or, with mux, on the RTP port (RFC 5761 tolerance). Malformed
// input is counted, never trusted.
func (s *Session) handleRTCP(b []byte, from netip.AddrPort, now time.Time, mux bool) {
	if len(b) < 8 || b[0]>>6 != 2 {
		s.countBadRTCP(from, len(b), "not an RTCP header")
		return
	}
	pkts, err := rtcp.Unmarshal(b)
	if err != nil {
		s.countBadRTCP(from, len(b), err.Error())
		return
	}
	from = unmap(from)
	if c := s.counters; c != nil {
		c.RTCPIn.Add(1)
	}

	s.rxMu.Lock()
	defer s.rxMu.Unlock()
	s.rtcpReceived++
	for i, p := range pkts {
		switch p := p.(type) {
		case *rtcp.SenderReport:
			if !s.fromRemote(p.SSRC) {
				continue
			}
			s.lastActivity.Store(now.UnixNano())
			s.remoteSR = remoteSR{valid: true, ssrc: p.SSRC, lsr: uint32(p.NTPTime >> 16), at: now}
			if i == 0 && !mux {
				s.learnRTCP(p.SSRC, from)
			}
			s.takeReports(p.Reports, now)
		case *rtcp.ReceiverReport:
			if !s.fromRemote(p.SSRC) {
				continue
			}
			s.lastActivity.Store(now.UnixNano())
			if i == 0 && !mux {
				s.learnRTCP(p.SSRC, from)
			}
			s.takeReports(p.Reports, now)
		case *rtcp.Goodbye:
			for _, src := range p.Sources {
				if s.rx.active && src == s.rx.ssrc {
					s.remoteBye = true
				}
			}
		}
	}
}

// fromRemote reports whether an RTCP sender SSRC is the source we receive
// (or could be: before the first RTP packet anything goes). Reports from
// other SSRCs are ignored so that a stray sender cannot fake our RTT or
// loss figures without knowing the stream's SSRC. rxMu is held.
func (s *Session) fromRemote(ssrc uint32) bool {
	return !s.rx.active || ssrc == s.rx.ssrc
}

// learnRTCP records where the remote's RTCP really comes from, so that
// with Latch our reports go there (RFC 4961 symmetric RTCP) rather than to
// a port guessed as RTP+1 behind a NAT. Only a packet whose sender is the
// RTP source we receive may teach it. rxMu is held.
func (s *Session) learnRTCP(ssrc uint32, from netip.AddrPort) {
	if !s.latch || !s.rx.active || ssrc != s.rx.ssrc || from == s.rtcpLearned {
		return
	}
	s.rtcpLearned = from
	if !s.latcher.latched || from.Addr() != s.latcher.source.Addr() {
		return // used when the latch happens
	}
	if cur := s.remote.Load(); cur != nil && cur.rtcp != from {
		s.remote.Store(&remoteAddrs{rtp: cur.rtp, rtcp: from})
	}
}

// takeReports uses the report blocks about our stream: what the peer sees
// of it, and the RTT of RFC 3550 §6.4.1 (arrival - LSR - DLSR), with the
// time of the SR the LSR names taken from our own record. rxMu is held.
func (s *Session) takeReports(reports []rtcp.ReceptionReport, now time.Time) {
	for _, rr := range reports {
		if rr.SSRC != s.ssrc {
			continue
		}
		s.peer = PeerReport{
			At:           now,
			FractionLost: float64(rr.FractionLost) / 256,
			Lost:         int32(rr.TotalLost<<8) >> 8, // sign-extend 24 bits
			Jitter:       rr.Jitter,
		}
		if rr.LastSenderReport == 0 {
			continue // no SR of ours has reached the peer yet
		}
		for _, sr := range s.srSent {
			if sr.lsr == rr.LastSenderReport && !sr.at.IsZero() {
				if rtt := now.Sub(sr.at) - fromShortNTP(rr.Delay); rtt > 0 {
					s.rtt = rtt
				}
				break
			}
		}
	}
}

// countBadRTCP counts a datagram that was not valid RTCP and logs the first
// of the session.
func (s *Session) countBadRTCP(from netip.AddrPort, size int, reason string) {
	if s.rtcpBad.Add(1) == 1 {
		s.log.Debug("rtpsession: malformed RTCP datagram", "from", from.String(), "size", size, "reason", reason)
	}
	if c := s.counters; c != nil {
		c.Malformed.Add(1)
	}
}
