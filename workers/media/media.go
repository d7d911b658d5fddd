package media

import (
	"time"

	"github.com/pion/rtp"

	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/workers/media/g711"
)

type rtpPacket = rtp.Packet

// audioFormat is what the RTP path needs to know of a call's codec. It is
// replaced as a whole (never modified) when a re-INVITE changes the codec.
type audioFormat struct {
	pt   uint8
	pcma bool
}

// onAudio runs on the call's RTP goroutine for every packet received. It
// sends the audio wherever the call's forward pointer says: itself (echo) or
// its bridged peer, transcoding PCMU<->PCMA when the two legs differ. G.711
// has one byte per sample, so the payload length is the timestamp step.
func (c *Call) onAudio(pkt *rtp.Packet) {
	dst, in := c.forward.Load(), c.format.Load()
	if dst == nil || in == nil || pkt.PayloadType != in.pt || len(pkt.Payload) == 0 {
		return // not audio (DTMF arrives with its own issue), or nowhere to go
	}
	s, out := dst.sess.Load(), dst.format.Load()
	if s == nil || out == nil {
		return
	}
	payload := pkt.Payload
	if out.pcma != in.pcma {
		if cap(c.scratch) < len(payload) {
			c.scratch = make([]byte, len(payload))
		}
		buf := c.scratch[:len(payload)]
		if in.pcma {
			g711.AlawToUlaw(buf, payload)
		} else {
			g711.UlawToAlaw(buf, payload)
		}
		payload = buf
	}
	_ = s.WriteSample(payload, uint32(len(payload)), pkt.Marker)
}

// bridge makes audio flow between two answered calls of one partition.
func (r *Role) bridge(pt *partition, a, b *Call) (int, string) {
	if a == b {
		return events.CodeBadRequest, "a call cannot be bridged to itself"
	}
	if a.State != StateAnswered || b.State != StateAnswered {
		return events.CodeConflict, "both calls must be answered"
	}
	if a.sess.Load() == nil || b.sess.Load() == nil {
		return events.CodeConflict, "a call has no media on this node"
	}
	for _, c := range []*Call{a, b} {
		if c.Peer != "" {
			return events.CodeConflict, "call " + c.ID + " is already bridged to " + c.Peer + "; unbridge it first"
		}
	}
	a.Peer, b.Peer = b.ID, a.ID
	a.BridgeTo, b.BridgeTo = "", ""
	a.forward.Store(b)
	b.forward.Store(a)
	tr := isPCMA(a.Codec) != isPCMA(b.Codec)
	r.publish(pt, a, &events.CallBridged{PeerCallID: b.ID, Transcoding: tr})
	r.publish(pt, b, &events.CallBridged{PeerCallID: a.ID, Transcoding: tr})
	r.save(pt, a)
	r.save(pt, b)
	return events.CodeOK, "bridged"
}

// unbridge separates c from its peer; both stay up, silent.
func (r *Role) unbridge(pt *partition, c *Call) {
	peer := pt.calls[c.Peer]
	c.forward.Store(nil)
	c.Peer = ""
	r.save(pt, c)
	if peer != nil {
		peer.forward.Store(nil)
		r.publish(pt, c, &events.CallUnbridged{PeerCallID: peer.ID})
		r.publish(pt, peer, &events.CallUnbridged{PeerCallID: c.ID})
		peer.Peer = ""
		r.save(pt, peer)
	}
}

// checkCall is the once-a-second look at a call: dead media, stats.
func (r *Role) checkCall(pt *partition, c *Call, now time.Time) {
	if c.State != StateAnswered || c.ended {
		return
	}
	s := c.sess.Load()
	if s == nil {
		return
	}
	if !c.HeldRemote && !c.HeldApp {
		last := s.LastActivity()
		if last.IsZero() {
			last = c.Answered
		}
		if now.Sub(last) > r.cfg.MediaTimeout {
			r.log.Info("no media; hanging up", "call_id", c.ID, "silent_for", now.Sub(last).Round(time.Second))
			r.send(pt, r.request(c, "BYE", nil), c.Edge, c.destination(), nil)
			r.end(pt, c, events.StatusCompleted, 200, "media timeout", events.ByPlatform)
			return
		}
	}
	if now.Sub(c.lastStats) >= r.cfg.StatsInterval {
		r.publishStats(pt, c, false)
	}
}

func (r *Role) publishStats(pt *partition, c *Call, final bool) {
	s := c.sess.Load()
	if s == nil || c.Answered.IsZero() {
		return
	}
	c.lastStats = time.Now()
	st := s.Stats()
	r.publish(pt, c, &events.CallMediaStats{
		Codec: c.Codec, PacketsSent: st.PacketsSent, PacketsReceived: st.PacketsReceived,
		PacketsLost: st.Lost, FractionLost: st.FractionLost,
		JitterMS: float64(st.JitterDuration.Microseconds()) / 1000, RTTMS: float64(st.RTT.Microseconds()) / 1000,
		Final: final,
	})
}
