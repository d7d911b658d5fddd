package media

import (
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/nats-io/nats.go"

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
	// response before we ask whether the edge that sent it is still there.
	// If it is, its transaction goes on retransmitting and ends with the far
	// end's response or a 408 (Timer B): we wait, since a second re-INVITE
	// while the first is unfinished is what RFC 3261 §14.1 forbids. If it is
	// gone (the transaction died with it), the re-INVITE is sent again
	// through another edge. migrateGiveUp bounds the wait for an edge that
	// answers probes but never delivers a response.
	migrateTimeout = 4 * time.Second
	migrateGiveUp  = 40 * time.Second
	// migrateTries is how many re-INVITEs are sent (including those sent
	// again after a 491 or 500) before the call is given up.
	migrateTries = 3
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
	c.migrateAt, c.migrateSent, c.migrateUnsent = time.Now(), time.Now(), false
	req := r.request(c, sip.INVITE, sdp.Offer(r.localSDP(c), []sdp.Codec{c.local}, true, r.wantDirection(c)))
	seq := req.CSeq().SeqNo
	c.migrateSeq = seq
	c.pending[seq] = &pendingReply{onDone: func(res *sip.Response) {
		if c.migrateSeq != seq || !c.restored {
			return // an earlier attempt's late answer; the current one decides
		}
		if !res.IsSuccess() {
			if d, ok := migrateRetry(c, res); ok && c.migrating < migrateTries {
				// RFC 3261 §14.1: a 491 (the far end has a re-INVITE of its
				// own going, or an earlier one of ours is unfinished) or a
				// 500/503 with Retry-After (§14.2) asks us to try later.
				r.log.Info("re-INVITE moving media not accepted yet; trying again", "call_id", c.ID, "code", res.StatusCode, "after", d.Round(time.Millisecond))
				c.migrateAt = time.Now().Add(d) // no timeout while we wait
				c.migrateSeq = 0
				r.after(pt, c, d, func() {
					if c.restored && c.migrateSeq == 0 {
						r.migrate(pt, c)
					}
				})
				return
			}
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
		if err != nil && c.migrateSeq == seq {
			c.migrateUnsent = true // no edge took it: send again at the next check
		}
	})
}

// migrateRetry says whether a failure response to a move re-INVITE asks
// for another try, and after how long: 491 per RFC 3261 §14.1 (2.1-4 s if
// we chose the Call-ID, i.e. we placed the call; 0-2 s otherwise); 500 or
// 503 with a Retry-After (§14.2, §21.5.4) after that many seconds, at most 4.
func migrateRetry(c *Call, res *sip.Response) (time.Duration, bool) {
	switch res.StatusCode {
	case sip.StatusRequestPending:
		if c.Direction == events.DirectionOutbound {
			return 2100*time.Millisecond + rand.N(1900*time.Millisecond), true
		}
		return rand.N(2 * time.Second), true
	case sip.StatusInternalServerError, sip.StatusServiceUnavailable:
		h := res.GetHeader("Retry-After")
		if h == nil {
			return 0, false
		}
		v := strings.TrimSpace(h.Value())
		if i := strings.IndexAny(v, " ;("); i >= 0 {
			v = v[:i]
		}
		secs, err := strconv.Atoi(v)
		if err != nil || secs < 0 {
			return 0, false
		}
		return min(time.Duration(secs)*time.Second, 4*time.Second) + rand.N(500*time.Millisecond), true
	}
	return 0, false
}

// checkMigration runs in the partition's once-a-second check of a call
// whose move re-INVITE has no final response yet: it sends it again if no
// edge took it, or if the edge that did is gone; otherwise the edge's
// transaction is still trying, and we wait (see migrateTimeout).
func (r *Role) checkMigration(pt *partition, c *Call, now time.Time) {
	switch {
	case c.migrateSeq == 0 || c.migrateProbing:
		return // waiting to try again after a 491, or asking the edge
	case c.migrateUnsent || c.Edge == "" || now.Sub(c.migrateSent) > migrateGiveUp:
		r.migrate(pt, c)
		return
	case now.Sub(c.migrateAt) <= migrateTimeout:
		return
	}
	c.migrateProbing = true
	edge, seq := c.Edge, c.migrateSeq
	r.wg.Go(func() {
		alive := r.edgeAlive(edge)
		pt.mu.Lock()
		defer pt.mu.Unlock()
		c.migrateProbing = false
		if c.ended || pt.calls[c.ID] != c || r.part(pt.p) != pt || pt.suspended || !c.restored || c.migrateSeq != seq {
			return
		}
		if alive {
			c.migrateAt = time.Now() // its transaction is still trying
			return
		}
		r.log.Info("the edge of the re-INVITE moving media is gone; sending it again", "call_id", c.ID, "edge", edge)
		r.migrate(pt, c)
	})
}

// edgeAlive asks edge whether it is there (events.HdrProbe).
func (r *Role) edgeAlive(edge string) bool {
	m := nats.NewMsg(events.EdgeOutSubject(edge))
	m.Header.Set(events.HdrProbe, "1")
	reply, err := r.nc.RequestMsg(m, time.Second)
	return err == nil && reply.Header.Get(events.HdrError) == ""
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
