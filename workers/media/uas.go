package media

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/workers/media/sdp"
)

// opus is Opus as SDP must name it (RFC 7587 §7: always opus/48000/2),
// with in-band FEC asked for.
var opus = sdp.Codec{PT: 111, Name: "opus", Rate: 48000, Channels: 2, Fmtp: "minptime=10;useinbandfec=1"}

// supported is what we accept in offers, in our order of preference for
// the offers we make: G.711 first (relayed without transcoding to most of
// the phone network), then Opus.
var supported = []sdp.Codec{sdp.PCMU, sdp.PCMA, opus}

// preferring is supported with c's format first: a call dialed to be
// bridged offers the other leg's codec first, so that a callee that has it
// answers with it and the bridge relays without transcoding.
func preferring(c sdp.Codec) []sdp.Codec {
	out := make([]sdp.Codec, 0, len(supported))
	for _, s := range supported {
		if s.SameFormat(c) {
			out = append(out, s)
		}
	}
	for _, s := range supported {
		if !s.SameFormat(c) {
			out = append(out, s)
		}
	}
	return out
}

// contactHost is replaced by each edge with its own address, since only the
// edge knows where in-dialog requests can reach the platform.
const contactHost = events.ContactPlaceholder

func ourContact() *sip.ContactHeader {
	return &sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "switchboard", Host: contactHost}}
}

// onRequest dispatches a request from an edge.
func (r *Role) onRequest(pt *partition, req *sip.Request, in inbound) {
	callID := req.CallID().Value()
	c := pt.calls[callID]
	toTag, _ := req.To().Params.Get("tag")
	if c == nil {
		switch {
		case req.IsInvite() && toTag == "":
			r.onInvite(pt, req, in)
		case req.IsAck():
			// ACK for a call we no longer know (or for a non-2xx the edge
			// already absorbed): nothing to do.
		default:
			r.respond(in, sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
		}
		return
	}
	if in.source != "" && in.transport != "" {
		c.Source, c.Transport = in.source, in.transport
	}
	if in.edge != "" {
		c.Edge = in.edge
	}
	switch req.Method {
	case sip.INVITE:
		if toTag == "" {
			if fromTag, _ := req.From().Params.Get("tag"); c.Direction == events.DirectionOutbound && fromTag == c.LocalTag {
				// Our own INVITE came back (a dial of the platform's own
				// SIP address): one Call-ID cannot be both legs. RFC 3261
				// §8.2.2.2: a merged request gets 482.
				res := sip.NewResponseFromRequest(req, sip.StatusLoopDetected, "Loop Detected", nil)
				res.AppendHeader(sip.NewHeader("Warning", `399 switchboard "a call to the platform's own SIP address loops back"`))
				r.respond(in, res)
				return
			}
			return // a retransmission that reached another edge; the first is being handled
		}
		r.onReinvite(pt, c, req, in)
	case sip.ACK:
		r.onAck(pt, c, req)
	case sip.BYE:
		r.respond(in, sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
		r.end(pt, c, events.StatusCompleted, 200, "BYE", events.ByRemote)
	case sip.CANCEL:
		// A CANCEL that reached another edge than its INVITE.
		r.respond(in, sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
		if c.State == StateRinging && c.inviteReq != nil {
			r.respond(c.inviteIn, r.response(c, c.inviteReq, sip.StatusRequestTerminated, "Request Terminated", nil))
			r.end(pt, c, events.StatusCanceled, 487, "CANCEL", events.ByRemote)
		}
	case sip.UPDATE:
		r.onReinvite(pt, c, req, in)
	case sip.INFO:
		r.onInfo(c, req, in)
	case sip.PRACK, sip.NOTIFY:
		r.respond(in, sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
	default:
		r.respond(in, sip.NewResponseFromRequest(req, sip.StatusNotImplemented, "Not Implemented", nil))
	}
}

// response builds a response to one of the call's requests with our To tag
// (RFC 3261 §8.2.6.2) and, for dialog-creating and target-refreshing
// responses, our Contact.
func (r *Role) response(c *Call, req *sip.Request, code int, reason string, body []byte) *sip.Response {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	// sipgo gives every response a random To tag; a dialog needs the same
	// tag on all of them (RFC 3261 §8.2.6.2), so ours replaces it.
	if to := res.To(); to != nil && code > 100 && c.LocalTag != "" {
		to.Params.Remove("tag")
		to.Params.Add("tag", c.LocalTag)
	}
	if (req.IsInvite() || req.Method == sip.UPDATE) && code > 100 && code < 300 {
		res.AppendHeader(ourContact())
	}
	if body != nil {
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		res.SetBody(body)
	}
	return res
}

func (r *Role) onInvite(pt *partition, req *sip.Request, in inbound) {
	callID := req.CallID().Value()
	c := &Call{
		ID: callID, Direction: events.DirectionInbound, State: StateRinging,
		LocalTag: sip.GenerateTagN(16), LocalURI: req.To().Address.String(), RemoteURI: req.From().Address.String(),
		RemoteCSeq: req.CSeq().SeqNo, LocalCSeq: uint32(rand.IntN(1 << 15)),
		Edge: in.edge, Transport: in.transport, Source: in.source, Created: time.Now().UTC(),
		SDPSession: rand.Uint64() >> 1, inviteReq: req, inviteIn: in, pending: map[uint32]*pendingReply{},
	}
	c.RemoteTag, _ = req.From().Params.Get("tag")
	if ct := req.Contact(); ct != nil {
		c.RemoteTarget = ct.Address.String()
	}
	for _, h := range req.GetHeaders("Record-Route") {
		c.RouteSet = append(c.RouteSet, h.Value())
	}
	// RFC 3262: we never require reliable provisionals; refuse requests
	// that insist on them.
	if h := req.GetHeader("Require"); h != nil && strings.Contains(strings.ToLower(h.Value()), "100rel") {
		res := sip.NewResponseFromRequest(req, sip.StatusBadExtension, "Bad Extension", nil)
		res.AppendHeader(sip.NewHeader("Unsupported", "100rel"))
		r.respond(in, res)
		return
	}
	if body := req.Body(); len(body) > 0 {
		offer, err := sdp.ParseOffer(body, supported)
		if err != nil {
			code, reason := sip.StatusBadRequest, "Bad Request"
			if errors.Is(err, sdp.ErrNoCommonCodec) || errors.Is(err, sdp.ErrNoAudio) || errors.Is(err, sdp.ErrUnsupportedProfile) {
				code, reason = sip.StatusNotAcceptableHere, "Not Acceptable Here"
			}
			res := r.response(c, req, code, reason, nil)
			res.AppendHeader(sip.NewHeader("Warning", `304 switchboard "`+err.Error()+`"`))
			r.respond(in, res)
			r.publish(pt, c, &events.CallCompleted{Direction: c.Direction, Status: events.StatusFailed, SIPCode: code, Reason: err.Error(), HangupBy: events.ByPlatform})
			r.met.ended.WithLabelValues(events.StatusFailed).Inc()
			return
		}
		c.offer = offer
	}
	clock := uint32(8000)
	if c.offer != nil {
		clock = c.offer.Codec.Rate // RTCP jitter and SR timestamps run on the codec's RTP clock
	}
	if err := r.newSession(c, clock); err != nil {
		r.respond(in, r.response(c, req, sip.StatusServiceUnavailable, "Service Unavailable", nil))
		r.log.Warn("no RTP ports for a new call", "call_id", callID, "err", err)
		return
	}
	pt.calls[callID] = c
	r.met.started.WithLabelValues(c.Direction).Inc()
	r.met.calls.WithLabelValues(c.Direction).Inc()

	user := userOf(req.Recipient)
	switch {
	case user == r.cfg.EchoUser:
		c.Route = "echo"
	case strings.HasPrefix(user, strings.ToLower(r.cfg.ConferencePrefix)):
		c.Route = "conference"
	default:
		c.Route = "app"
	}
	r.publish(pt, c, &events.CallIncoming{
		From: c.RemoteURI, To: c.LocalURI, RequestURI: req.Recipient.String(), Source: in.source,
		Transport: in.transport, Edge: in.edge, Route: c.Route, Offer: c.offer != nil,
	})
	switch c.Route {
	case "echo":
		r.answer(pt, c)
		c.forward.Store(c)
	case "conference":
		room := r.roomOf(req.Recipient.User)
		if !events.ValidConference(room) {
			r.respond(in, r.response(c, req, sip.StatusNotFound, "Not Found", nil))
			r.end(pt, c, events.StatusFailed, 404, "no conference room "+strconv.Quote(room), events.ByPlatform)
			return
		}
		// Answered at once, silent until the conference role attaches
		// the call (conference.go); with no offer in the INVITE the codec
		// is known, and the join asked, at the ACK.
		c.Room = room
		r.answer(pt, c)
		if !c.ended && c.format.Load() != nil {
			r.join(pt, c)
		}
	default:
		r.respond(in, r.response(c, req, sip.StatusRinging, "Ringing", nil))
		c.ringing = true
		r.publish(pt, c, &events.CallRinging{Direction: c.Direction, Code: 180})
		r.save(pt, c)
		r.after(pt, c, r.cfg.RingTimeout, func() {
			if c.State == StateRinging {
				r.respond(c.inviteIn, r.response(c, c.inviteReq, sip.StatusTemporarilyUnavailable, "Temporarily Unavailable", nil))
				r.end(pt, c, events.StatusNoAnswer, 480, "not answered", events.ByPlatform)
			}
		})
	}
}

// answer sends 200 OK to the inbound INVITE, with our answer to its offer
// or, for an INVITE without SDP, our offer (the answer comes in the ACK).
func (r *Role) answer(pt *partition, c *Call) {
	var body []byte
	local := r.localSDP(c)
	if c.offer != nil {
		c.applyRemote(c.offer)
		b, err := sdp.Answer(local, c.offer, sdp.SendRecv)
		if err != nil {
			r.respond(c.inviteIn, r.response(c, c.inviteReq, sip.StatusNotAcceptableHere, "Not Acceptable Here", nil))
			r.end(pt, c, events.StatusFailed, 488, err.Error(), events.ByPlatform)
			return
		}
		body = b
	} else {
		body = sdp.Offer(local, supported, true, sdp.SendRecv)
	}
	res := r.response(c, c.inviteReq, sip.StatusOK, "OK", body)
	if se := c.inviteReq.GetHeader("Session-Expires"); se != nil {
		// RFC 4028: tolerate session timers; the caller refreshes.
		v := se.Value()
		if i := strings.Index(v, ";"); i >= 0 {
			v = v[:i]
		}
		res.AppendHeader(sip.NewHeader("Session-Expires", v+";refresher=uac"))
		res.AppendHeader(sip.NewHeader("Require", "timer"))
	}
	r.respond(c.inviteIn, res)
	c.State = StateAnswered
	c.Answered = time.Now().UTC()
	c.ackPending = true
	r.publish(pt, c, &events.CallAnswered{Direction: c.Direction, Codec: c.Codec, LocalRTP: c.LocalRTP, RemoteRTP: c.RemoteRTP})
	r.save(pt, c)
	// RFC 3261 §13.3.1.4: no ACK within 64*T1 ends the dialog.
	r.after(pt, c, 32*time.Second, func() {
		if c.ackPending {
			r.hangup(pt, c, events.ByPlatform)
		}
	})
}

// applyRemote takes the remote media description into use.
func (c *Call) applyRemote(s *sdp.Session) {
	c.local = s.Codec
	c.Codec = codecName(s.Codec)
	c.CodecPT = s.Codec.PT
	if f, err := newAudioFormat(s.Codec, c.play.opusConfig()); err == nil {
		c.format.Store(f)
	} else {
		c.format.Store(nil)
	}
	c.RemoteRTP = s.Addr.String()
	c.HeldRemote = s.Held()
	c.applyDTMF(s, c.inbandDef)
	c.syncHold()
	if sess := c.rtp(); sess != nil {
		sess.SetPayloadType(s.Codec.PT)
		sess.SetClockRate(s.Codec.Rate)
		sess.SetRemote(s.Addr, s.RTCPAddr)
	}
}

func (r *Role) localSDP(c *Call) sdp.Local {
	c.SDPVersion++
	addr, _ := netip.ParseAddrPort(c.LocalRTP)
	return sdp.Local{Addr: addr, SessionID: c.SDPSession, Version: c.SDPVersion, Username: "switchboard"}
}

func (r *Role) onAck(pt *partition, c *Call, req *sip.Request) {
	if !c.ackPending {
		return
	}
	c.ackPending = false
	if c.offer == nil && len(req.Body()) > 0 {
		// We offered in the 200; the ACK carries the answer.
		ans, err := sdp.ParseAnswer(req.Body(), supported)
		if err != nil {
			r.hangup(pt, c, events.ByPlatform)
			return
		}
		c.applyRemote(ans)
	}
	r.save(pt, c)
	if c.Route == "conference" {
		r.join(pt, c)
	}
}

// onReinvite handles a re-INVITE or UPDATE in an established dialog: hold,
// unhold, media moves, session refreshes. It never ends the call; an offer
// we cannot accept gets 488 and the call goes on as before (RFC 3261 §14.2).
func (r *Role) onReinvite(pt *partition, c *Call, req *sip.Request, in inbound) {
	if cs := req.CSeq().SeqNo; cs <= c.RemoteCSeq && req.IsInvite() {
		r.respond(in, sip.NewResponseFromRequest(req, sip.StatusInternalServerError, "Server Internal Error", nil)) // §14.2: lower CSeq
		return
	}
	c.RemoteCSeq = req.CSeq().SeqNo
	if ct := req.Contact(); ct != nil {
		c.RemoteTarget = ct.Address.String() // target refresh
	}
	body := req.Body()
	if len(body) == 0 {
		if req.IsInvite() {
			// Offer in our 200, answer in the ACK.
			c.offer = nil
			c.ackPending = true
			r.respond(in, r.response(c, req, sip.StatusOK, "OK", sdp.Offer(r.localSDP(c), []sdp.Codec{c.local}, true, r.wantDirection(c))))
			return
		}
		r.respond(in, r.response(c, req, sip.StatusOK, "OK", nil)) // session refresh UPDATE
		return
	}
	offer, err := sdp.ParseOffer(body, []sdp.Codec{c.local})
	if err != nil {
		offer, err = sdp.ParseOffer(body, supported)
	}
	if err != nil {
		res := r.response(c, req, sip.StatusNotAcceptableHere, "Not Acceptable Here", nil)
		res.AppendHeader(sip.NewHeader("Warning", `304 switchboard "`+err.Error()+`"`))
		r.respond(in, res)
		return
	}
	wasHeld := c.HeldRemote
	c.applyRemote(offer)
	ans, err := sdp.Answer(r.localSDP(c), offer, r.wantDirection(c))
	if err != nil {
		r.respond(in, r.response(c, req, sip.StatusNotAcceptableHere, "Not Acceptable Here", nil))
		return
	}
	r.respond(in, r.response(c, req, sip.StatusOK, "OK", ans))
	if req.IsInvite() {
		c.ackPending = true
	}
	if c.HeldRemote != wasHeld {
		r.publish(pt, c, &events.CallHeld{Held: c.HeldRemote, By: events.ByRemote})
	}
	r.save(pt, c)
}

func (r *Role) wantDirection(c *Call) sdp.Direction {
	if c.HeldApp {
		return sdp.SendOnly
	}
	return sdp.SendRecv
}

// onCancelled: the edge answered a CANCEL of our ringing INVITE itself.
func (r *Role) onCancelled(pt *partition, req *sip.Request) {
	if c := pt.calls[req.CallID().Value()]; c != nil && c.State == StateRinging {
		r.end(pt, c, events.StatusCanceled, 487, "CANCEL", events.ByRemote)
	}
}
