package media

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/pion/rtp"

	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/workers/media/sdp"
	"github.com/switchboard-voip/switchboard/workers/media/webrtcpeer"
)

// answerTimeout bounds a WebRTC offer's Answer (ICE gathering is bounded
// by the engine's GatherTimeout, 3 s by default).
const answerTimeout = 10 * time.Second

// webrtcReply answers an edge's WebRTC offer request.
type webrtcReply struct{ msg *nats.Msg }

func (w webrtcReply) send(code int, reason string, answer []byte) {
	w.sendPeer(code, reason, answer, "")
}

func (w webrtcReply) sendPeer(code int, reason string, answer []byte, peer string) {
	m := nats.NewMsg(w.msg.Reply)
	m.Header.Set(events.HdrCode, strconv.Itoa(code))
	m.Header.Set(events.HdrReason, reason)
	if peer != "" {
		m.Header.Set(events.HdrPeerCallID, peer)
	}
	m.Data = answer
	_ = w.msg.RespondMsg(m)
}

// onWebRTCOffer takes a browser's offer from an edge (events.MediaKindWebRTC).
// The answer waits for ICE gathering, so it is made on a goroutine of the
// role's, not under the partition lock nor on the partition's subscription.
func (r *Role) onWebRTCOffer(p int, msg *nats.Msg) {
	reply := webrtcReply{msg}
	pt := r.part(p)
	if pt == nil {
		reply.send(events.CodeServiceUnavailable, "partition "+strconv.Itoa(p)+" is not owned here", nil)
		return
	}
	if r.engine == nil {
		reply.send(events.CodeServiceUnavailable, "WebRTC is not enabled on node "+r.cfg.NodeID, nil)
		return
	}
	callID := msg.Header.Get(events.HdrCallID)
	room, to, attach := msg.Header.Get(events.HdrConference), msg.Header.Get(events.HdrDialTo), msg.Header.Get(events.HdrAttach)
	echo := msg.Header.Get(events.HdrRoute)
	n := 0
	for _, v := range []string{room, to, attach, echo} {
		if v != "" {
			n++
		}
	}
	switch {
	case callID == "" || events.Partition(callID, r.cfg.Partitions) != p:
		reply.send(events.CodeBadRequest, "call id missing or not of partition "+strconv.Itoa(p), nil)
		return
	case n > 1:
		reply.send(events.CodeBadRequest, "a call joins a conference, dials a SIP URI, attaches to a call or echoes: one of them", nil)
		return
	case echo != "" && echo != events.RouteEcho:
		reply.send(events.CodeBadRequest, "unknown route "+strconv.Quote(echo), nil)
		return
	case attach != "" && events.Partition(attach, r.cfg.Partitions) != p:
		reply.send(events.CodeBadRequest, "call "+attach+" is not of partition "+strconv.Itoa(p), nil)
		return
	case room != "" && !events.ValidConference(room):
		reply.send(events.CodeBadRequest, "bad conference name "+strconv.Quote(room), nil)
		return
	}
	offer := append([]byte(nil), msg.Data...)
	edge, source := msg.Header.Get(events.HdrEdge), msg.Header.Get(events.HdrSource)
	r.wg.Go(func() {
		r.answerWebRTC(pt, callID, webrtcTarget{room, to, attach, echo != ""}, edge, source, offer, reply)
	})
}

// webrtcTarget is what a browser's call is for: at most one of a room to
// join, a SIP URI to dial, a call to attach to, or an echo test.
type webrtcTarget struct {
	room, to, attach string
	echo             bool
}

// attachable says why call id (c, nil if none) cannot take a browser, or
// returns 0 when it can.
func attachable(id string, c *Call) (int, string) {
	switch {
	case c == nil || c.ended:
		return events.CodeNotFound, "no call " + id
	case c.Peer != "":
		return events.CodeConflict, "call " + id + " is already bridged to " + c.Peer
	case c.Conference != "" || c.joining:
		return events.CodeConflict, "call " + id + " is in a conference"
	case c.BridgeTo != "":
		return events.CodeConflict, "call " + id + " is being bridged to " + c.BridgeTo
	case c.State == StateRinging && c.Direction == events.DirectionInbound,
		c.State == StateDialing, c.State == StateAnswered:
		return 0, ""
	}
	return events.CodeConflict, "call " + id + " is " + c.State
}

// attachBrowser bridges the browser's call c to target: it answers a ringing
// inbound call, bridges an answered one, and has a call being dialled
// bridged when it answers (as dial's bridge_to).
func (r *Role) attachBrowser(pt *partition, c, target *Call) (int, string) {
	target.waitBrowser = false
	switch target.State {
	case StateRinging:
		r.answer(pt, target)
		if target.State != StateAnswered {
			return events.CodeNotAcceptable, "call " + target.ID + " could not be answered"
		}
	case StateDialing:
		target.BridgeTo = c.ID
		r.save(pt, target)
		return events.CodeOK, "bridged when answered"
	}
	return r.bridge(pt, c, target)
}

func (r *Role) answerWebRTC(pt *partition, callID string, tg webrtcTarget, edge, source string, offer []byte, reply webrtcReply) {
	room, to := tg.room, tg.to
	c := &Call{
		ID: callID, Direction: events.DirectionInbound, State: StateRinging, Transport: events.TransportWebRTC,
		LocalURI: "sip:switchboard@" + r.cfg.MediaIP.String(), RemoteURI: "webrtc:" + source,
		Edge: edge, Source: source, Created: time.Now().UTC(), pending: map[uint32]*pendingReply{},
	}
	c.play, c.feed = r.play, r.feed // before the leg's goroutines start
	leg := r.engine.NewLeg(webrtcpeer.LegConfig{
		OnPacket: func(pkt *rtp.Packet) { c.onPacket(pkt) },
		OnState:  func(s webrtcpeer.State) { r.onLegState(pt, c, s) },
		Log:      r.log.With("call_id", callID),
	})
	ctx, cancel := context.WithTimeout(r.ctx, answerTimeout)
	answer, err := leg.Answer(ctx, offer)
	cancel()
	if err != nil {
		_ = leg.Close()
		code := events.CodeServiceUnavailable
		switch {
		case errors.Is(err, webrtcpeer.ErrBadOffer):
			code = events.CodeBadRequest
		case errors.Is(err, webrtcpeer.ErrNotAcceptable):
			code = events.CodeNotAcceptable
		}
		reply.send(code, err.Error(), nil)
		return
	}
	pt.mu.Lock()
	defer pt.mu.Unlock()
	select {
	case <-pt.stop:
		_ = leg.Close()
		reply.send(events.CodeServiceUnavailable, "partition moved; try again", nil)
		return
	default:
	}
	if pt.calls[callID] != nil {
		_ = leg.Close()
		reply.send(events.CodeConflict, "call "+callID+" exists", nil)
		return
	}
	var target *Call
	if tg.attach != "" {
		target = pt.calls[tg.attach]
		if code, reason := attachable(tg.attach, target); code != 0 {
			_ = leg.Close()
			reply.send(code, reason, nil)
			return
		}
	}
	c.sess.Store(&mediaBox{leg})
	c.applyWebRTC(leg.Negotiated())
	pt.calls[callID] = c
	r.met.started.WithLabelValues(c.Direction).Inc()
	r.met.calls.WithLabelValues(c.Direction).Inc()
	c.Route = events.RouteWebRTC
	switch {
	case room != "":
		c.Route = "conference"
	case tg.echo:
		c.Route = events.RouteEcho
	}
	r.publish(pt, c, &events.CallIncoming{
		From: c.RemoteURI, To: c.LocalURI, RequestURI: c.LocalURI, Source: source,
		Transport: c.Transport, Edge: edge, Route: c.Route, Offer: true,
	})
	c.State = StateAnswered
	c.Answered = time.Now().UTC()
	r.publish(pt, c, &events.CallAnswered{Direction: c.Direction, Codec: c.Codec})
	r.save(pt, c)
	peer := ""
	switch {
	case room != "":
		c.Room = room
		r.join(pt, c)
	case to != "":
		d, code, reason := r.dial(pt, &events.Dial{To: to, BridgeTo: c.ID})
		if code >= 300 {
			r.end(pt, c, events.StatusFailed, code, reason, events.ByPlatform)
			reply.send(code, reason, nil)
			return
		}
		peer = d.ID
	case tg.echo:
		c.forward.Store(c)
	case target != nil:
		if code, reason := r.attachBrowser(pt, c, target); code >= 300 {
			r.end(pt, c, events.StatusFailed, code, reason, events.ByPlatform)
			reply.send(code, reason, nil)
			return
		}
		peer = target.ID
	}
	reply.sendPeer(events.CodeCreated, "answered", answer, peer)
}

// applyWebRTC takes the codec the leg's answer settled into use, as
// applyRemote does for a SIP leg's SDP.
func (c *Call) applyWebRTC(n *webrtcpeer.Negotiation) {
	if n == nil {
		return
	}
	cd := sdp.Codec{PT: n.Audio.PayloadType, Name: n.Audio.Name, Rate: n.Audio.ClockRate}
	if strings.EqualFold(cd.Name, "opus") {
		cd = opus
		cd.PT = n.Audio.PayloadType
	}
	c.local = cd
	c.Codec = codecName(cd)
	c.CodecPT = cd.PT
	if f, err := newAudioFormat(cd, c.play.opusConfig()); err == nil {
		c.format.Store(f)
	}
	s := &sdp.Session{Codec: cd}
	if te := n.TelephoneEvent; te != nil {
		s.DTMF = &sdp.Codec{PT: te.PayloadType, Name: te.Name, Rate: te.ClockRate}
	}
	c.applyDTMF(s, false)
}

// onLegState ends the call when the browser leaves: a closed connection
// (pc.close(), a closed tab) or ICE consent lost for good. It runs on the
// leg's goroutine, which Close waits for, so it only starts the work.
func (r *Role) onLegState(pt *partition, c *Call, s webrtcpeer.State) {
	if s != webrtcpeer.StateClosed && s != webrtcpeer.StateFailed {
		return
	}
	r.wg.Go(func() {
		pt.mu.Lock()
		defer pt.mu.Unlock()
		if c.ended || pt.calls[c.ID] != c {
			return
		}
		reason := "browser closed the connection"
		if s == webrtcpeer.StateFailed {
			reason = "ICE consent lost"
		}
		r.end(pt, c, events.StatusCompleted, 200, reason, events.ByRemote)
	})
}

// isWebRTC reports whether c is a browser's call (no SIP dialog).
func (c *Call) isWebRTC() bool { return c.Transport == events.TransportWebRTC }
