package media

import (
	"net/netip"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/workers/media/sdp"
)

// Moving a call's media to a new owner. When a worker dies or drains, the
// ring gives its partitions to others; the new owner loads the calls from KV
// (TakeOver) and, for every answered one, opens RTP sockets of its own and
// sends a re-INVITE offering the call's codec at the new address (RFC 3261
// §14: a target refresh of the session). The far end's 2xx completes the
// move; meanwhile audio already flows from the new sockets to the far end,
// whose address has not changed. Bridges are rebuilt at once: both legs of a
// bridge live in one partition, so they move together.

const (
	// migrateDelay lets the node subscribe to the partition before the
	// first re-INVITE, whose response arrives on that subscription.
	migrateDelay = 100 * time.Millisecond
	// migrateTimeout is how long a re-INVITE may go without a final
	// response before it is sent again; migrateTries how many are sent
	// before the call is given up (the far end is gone).
	migrateTimeout = 4 * time.Second
	migrateTries   = 3
	// cseqLeap is added to the saved CSeq: the old owner may have sent a
	// request after it last saved the call, and a CSeq must never repeat
	// within a dialog (RFC 3261 §12.2.1.1).
	cseqLeap = 100
	// browserWait is how long the peer of a WebRTC leg that could not
	// move waits, unbridged, for the browser to attach again.
	browserWait = 20 * time.Second
)

// migrate sends (or resends) the re-INVITE that moves c's media here.
func (r *Role) migrate(pt *partition, c *Call) {
	if c.isWebRTC() {
		// A browser's DTLS-SRTP session cannot move to this node; the
		// browser has to offer again (docs/webrtc.md). Its bridged peer
		// stays up for browserWait so that the browser can come back to it
		// (POST /whip?call_id=<peer>).
		if peer := pt.calls[c.Peer]; peer != nil && !peer.ended {
			c.Peer = ""
			peer.Peer = ""
			peer.forward.Store(nil)
			peer.waitBrowser = true
			r.publish(pt, peer, &events.CallUnbridged{PeerCallID: c.ID})
			r.save(pt, peer)
			r.after(pt, peer, browserWait, func() {
				if peer.waitBrowser && peer.Peer == "" {
					r.log.Info("the browser did not come back to its call; hanging up", "call_id", peer.ID)
					r.hangup(pt, peer, events.ByPlatform)
				}
			})
		}
		r.end(pt, c, events.StatusFailed, 503, "owner changed; a WebRTC leg cannot move", events.ByPlatform)
		return
	}
	if c.migrating >= migrateTries {
		r.log.Warn("far end never answered the re-INVITE moving its media; hanging up", "call_id", c.ID, "tries", c.migrating)
		r.hangup(pt, c, events.ByPlatform)
		return
	}
	if c.sess.Load() == nil {
		cd, ok := savedCodec(c)
		if !ok {
			r.log.Warn("taken-over call has no usable codec; hanging up", "call_id", c.ID, "codec", c.Codec)
			r.hangup(pt, c, events.ByPlatform)
			return
		}
		if err := r.newSession(c, cd.Rate); err != nil {
			r.log.Warn("no RTP ports for a taken-over call; hanging up", "call_id", c.ID, "err", err)
			r.hangup(pt, c, events.ByPlatform)
			return
		}
		c.local = cd
		if f, err := newAudioFormat(cd, c.play.opusConfig()); err == nil {
			c.format.Store(f)
		}
		s := c.rtp()
		s.SetPayloadType(cd.PT)
		if remote, err := netip.ParseAddrPort(c.RemoteRTP); err == nil {
			s.SetRemote(remote, netip.AddrPortFrom(remote.Addr(), remote.Port()+1))
		}
		c.LocalCSeq += cseqLeap
		r.relink(pt, c)
	}
	c.migrating++
	c.migrateAt = time.Now()
	req := r.request(c, sip.INVITE, sdp.Offer(r.localSDP(c), []sdp.Codec{c.local}, true, r.wantDirection(c)))
	seq := req.CSeq().SeqNo
	c.pending[seq] = &pendingReply{onDone: func(res *sip.Response) {
		if !res.IsSuccess() {
			r.log.Warn("far end refused the re-INVITE moving its media; hanging up", "call_id", c.ID, "code", res.StatusCode)
			r.hangup(pt, c, events.ByPlatform)
			return
		}
		c.restored, c.migrating = false, 0
		gap := time.Since(c.restoredAt)
		r.met.migrated.Inc()
		r.log.Info("call migrated", "call_id", c.ID, "from", c.fromNode, "gap", gap.Round(time.Millisecond))
		r.publish(pt, c, &events.CallMigrated{
			FromNode: c.fromNode, ToNode: r.cfg.NodeID, LocalRTP: c.LocalRTP,
			GapMS: float64(gap.Microseconds()) / 1000,
		})
	}}
	r.save(pt, c)
	r.send(pt, req, c.Edge, c.destination(), func(edge string, err error) {
		if err == nil && edge != "" {
			c.Edge = edge // the old one may be gone
		}
	})
}

// relink restores where a taken-over call's audio goes: its conference
// (which is not told: the subjects are the same), itself (echo), or its
// bridge peer once that has media here too. A conf-<room> call whose join
// the old owner had not finished asks again.
func (r *Role) relink(pt *partition, c *Call) {
	switch {
	case c.Conference != "":
		if err := r.startMember(c); err != nil {
			r.log.Warn("taken-over member's audio not resumed", "call_id", c.ID, "conference", c.Conference, "err", err)
		}
	case c.Route == "conference":
		r.join(pt, c)
	case c.Peer != "":
		if peer := pt.calls[c.Peer]; peer != nil && peer.sess.Load() != nil {
			c.forward.Store(peer)
			peer.forward.Store(c)
		}
	case c.Route == "echo":
		c.forward.Store(c)
	}
}

// savedCodec rebuilds the call's codec from what KV holds ("PCMU/8000" and
// the payload type the far end uses).
func savedCodec(c *Call) (sdp.Codec, bool) {
	for _, s := range supported {
		if strings.EqualFold(codecName(s), c.Codec) {
			s.PT = c.CodecPT
			return s, true
		}
	}
	return sdp.Codec{}, false
}
