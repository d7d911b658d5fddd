package webrtcpeer

import (
	"time"

	"github.com/switchboard-voip/switchboard/workers/media/rtpsession"
)

// Stats returns a snapshot of the leg's figures in the shape of a SIP
// leg's (rtpsession.Stats), so that call.media_stats is built the same way
// for both. Packet and octet counts are the leg's own; loss and jitter of
// the received stream and the round-trip time come from pion's stats
// interceptor, which follows the RTP received and the RTCP receiver
// reports about our stream (RFC 3550 §6.4). Fields that have no meaning
// here (latching, malformed datagrams, the SIP side streams) stay zero;
// FractionLost is over the whole call rather than over the last report
// interval.
func (l *Leg) Stats() rtpsession.Stats {
	st := rtpsession.Stats{
		SSRC:            l.out.ssrc.Load(),
		RemoteSSRC:      l.remoteSSRC.Load(),
		PacketsReceived: l.rx.packets.Load(),
		OctetsReceived:  l.rx.octets.Load(),
		Ignored:         l.rx.ignored.Load(),
		Malformed:       l.rx.malformed.Load(),
		RTCPReceived:    l.rx.rtcp.Load(),
	}
	l.out.mu.Lock()
	st.PacketsSent, st.OctetsSent = l.out.packetsSent, l.out.octetsSent
	l.out.mu.Unlock()

	l.mu.Lock()
	getter := l.statsGet
	l.mu.Unlock()
	if getter == nil {
		return st
	}
	rate := uint32(48000)
	if neg := l.neg.Load(); neg != nil {
		rate = neg.Audio.ClockRate
	}
	if st.RemoteSSRC != 0 {
		if in := getter.Get(st.RemoteSSRC); in != nil {
			r := in.InboundRTPStreamStats
			st.LastReceived = r.LastPacketReceivedTimestamp
			st.Lost = uint64(max(r.PacketsLost, 0))
			st.ExpectedPackets = r.PacketsReceived + st.Lost
			if st.ExpectedPackets > 0 {
				st.FractionLost = float64(st.Lost) / float64(st.ExpectedPackets)
			}
			st.JitterDuration = time.Duration(r.Jitter * float64(time.Second))
			st.Jitter = uint32(r.Jitter * float64(rate))
		}
	}
	if st.SSRC != 0 {
		if out := getter.Get(st.SSRC); out != nil {
			ri := out.RemoteInboundRTPStreamStats
			st.RTT = ri.RoundTripTime
			if ri.PacketsReceived > 0 || ri.PacketsLost > 0 || ri.RoundTripTimeMeasurements > 0 {
				st.Peer = rtpsession.PeerReport{
					FractionLost: ri.FractionLost,
					Lost:         int32(ri.PacketsLost),
					Jitter:       uint32(ri.Jitter * float64(rate)),
				}
			}
		}
	}
	return st
}

// countersRef adds to the process-wide counters, if any.
type countersRef struct{ c *rtpsession.Counters }

func (r *countersRef) in(octets int) {
	if r.c != nil {
		r.c.PacketsIn.Add(1)
		r.c.OctetsIn.Add(uint64(octets))
	}
}

func (r *countersRef) out(octets int) {
	if r.c != nil {
		r.c.PacketsOut.Add(1)
		r.c.OctetsOut.Add(uint64(octets))
	}
}

func (r *countersRef) malformed() {
	if r.c != nil {
		r.c.Malformed.Add(1)
	}
}

func (r *countersRef) ignored() {
	if r.c != nil {
		r.c.Ignored.Add(1)
	}
}

func (r *countersRef) rtcpIn() {
	if r.c != nil {
		r.c.RTCPIn.Add(1)
	}
}

func (r *countersRef) sendError() {
	if r.c != nil {
		r.c.SendErrors.Add(1)
	}
}
