package media

import (
	"math/rand/v2"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/nats-io/nuid"

	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/workers/media/sdp"
)

// newCallIDIn returns a fresh Call-ID that hashes to partition p, so a leg
// the platform creates lives in the same process as the call it serves.
func (r *Role) newCallIDIn(p int) string {
	for {
		id := strings.ToLower(nuid.Next()) + "@switchboard"
		if events.Partition(id, r.cfg.Partitions) == p {
			return id
		}
	}
}

// reservedHeaders are the ones a dial command may not set: they make the
// dialog, or the message framing, and the platform owns them.
var reservedHeaders = map[string]bool{
	"via": true, "from": true, "to": true, "call-id": true, "cseq": true, "contact": true,
	"content-length": true, "content-type": true, "max-forwards": true, "route": true, "record-route": true,
	"v": true, "f": true, "t": true, "i": true, "m": true, "l": true, "c": true,
}

// request builds an in-dialog request (RFC 3261 §12.2.1.1).
func (r *Role) request(c *Call, method sip.RequestMethod, body []byte) *sip.Request {
	var target sip.Uri
	if err := sip.ParseUri(c.RemoteTarget, &target); err != nil {
		_ = sip.ParseUri(c.RemoteURI, &target)
	}
	req := sip.NewRequest(method, target)
	for _, rr := range c.RouteSet {
		req.AppendHeader(sip.NewHeader("Route", rr))
	}
	var from, to sip.Uri
	_ = sip.ParseUri(c.LocalURI, &from)
	_ = sip.ParseUri(c.RemoteURI, &to)
	fh := &sip.FromHeader{Address: from, Params: sip.NewParams()}
	fh.Params.Add("tag", c.LocalTag)
	th := &sip.ToHeader{Address: to, Params: sip.NewParams()}
	if c.RemoteTag != "" {
		th.Params.Add("tag", c.RemoteTag)
	}
	cid := sip.CallIDHeader(c.ID)
	seq := c.LocalCSeq
	if method != sip.ACK && method != sip.CANCEL {
		c.LocalCSeq++
		seq = c.LocalCSeq
	}
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(fh)
	req.AppendHeader(th)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: method})
	req.AppendHeader(&mf)
	if method == sip.INVITE || method == sip.UPDATE {
		req.AppendHeader(ourContact())
	}
	if body != nil {
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	req.SetBody(body)
	if c.Transport != "" {
		req.SetTransport(c.Transport)
	}
	return req
}

// destination is where in-dialog requests to a caller go: the address its
// messages come from. Over UDP it is behind NAT more often than not; over
// TCP, TLS and WebSocket it is the connection the edge must reuse (a
// browser's Contact is not reachable at all, RFC 7118 §5).
func (c *Call) destination() string {
	if c.Direction == events.DirectionInbound {
		return c.Source
	}
	return ""
}

// dial places an outbound call.
func (r *Role) dial(pt *partition, d *events.Dial) (*Call, int, string) {
	var to sip.Uri
	if err := sip.ParseUri(d.To, &to); err != nil || to.Host == "" {
		return nil, events.CodeBadRequest, "to is not a SIP URI: " + d.To
	}
	from := d.From
	if from == "" {
		from = "sip:switchboard@" + r.cfg.MediaIP.String()
	}
	var fromURI sip.Uri
	if err := sip.ParseUri(from, &fromURI); err != nil {
		return nil, events.CodeBadRequest, "from is not a SIP URI: " + from
	}
	for k := range d.Headers {
		if reservedHeaders[strings.ToLower(k)] {
			return nil, events.CodeBadRequest, "header " + k + " is set by the platform"
		}
	}
	if d.BridgeTo != "" {
		peer := pt.calls[d.BridgeTo]
		if peer == nil {
			return nil, events.CodeNotFound, "no call " + d.BridgeTo + " to bridge to"
		}
		if peer.Peer != "" {
			return nil, events.CodeConflict, "call " + peer.ID + " is already bridged to " + peer.Peer
		}
		if peer.Conference != "" {
			return nil, events.CodeConflict, "call " + peer.ID + " is in conference " + peer.Conference
		}
	}
	c := &Call{
		ID: r.newCallIDIn(pt.p), Direction: events.DirectionOutbound, State: StateDialing,
		LocalTag: sip.GenerateTagN(16), LocalURI: fromURI.String(), RemoteURI: to.String(),
		RemoteTarget: to.String(), LocalCSeq: uint32(rand.IntN(1 << 15)), Created: time.Now().UTC(),
		SDPSession: rand.Uint64() >> 1, BridgeTo: d.BridgeTo, Transport: "UDP", pending: map[uint32]*pendingReply{},
	}
	if t, ok := to.UriParams.Get("transport"); ok {
		c.Transport = strings.ToUpper(t)
	}
	// The answer's codec sets the session's clock (applyRemote).
	if err := r.newSession(c, 8000); err != nil {
		return nil, events.CodeServiceUnavailable, "no RTP ports: " + err.Error()
	}
	offer := supported
	if peer := pt.calls[d.BridgeTo]; peer != nil {
		other := peer.local
		if other.Name == "" && peer.offer != nil {
			other = peer.offer.Codec // still ringing: what it will be answered with
		}
		offer = preferring(other)
	}
	req := r.request(c, sip.INVITE, sdp.Offer(r.localSDP(c), offer, true, sdp.SendRecv))
	for k, v := range d.Headers {
		req.AppendHeader(sip.NewHeader(k, v))
	}
	c.inviteReq = req
	pt.calls[c.ID] = c
	r.met.started.WithLabelValues(c.Direction).Inc()
	r.met.calls.WithLabelValues(c.Direction).Inc()
	r.save(pt, c)
	r.send(pt, req, "", "", func(edge string, err error) {
		if err != nil {
			if !c.ended {
				r.end(pt, c, events.StatusFailed, 503, "no edge could send the INVITE: "+err.Error(), events.ByPlatform)
			}
			return
		}
		c.Edge = edge
	})
	timeout := time.Duration(d.Timeout) * time.Second
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	r.after(pt, c, timeout, func() {
		if c.State == StateDialing {
			r.cancel(pt, c, events.ByPlatform)
		}
	})
	return c, 202, "dialing"
}

// cancel CANCELs our ringing INVITE; the 487 that follows ends the call.
func (r *Role) cancel(pt *partition, c *Call, by string) {
	if c.cancelling {
		return
	}
	c.cancelling = true
	c.hangupBy = by
	req := c.inviteReq
	cancelReq := sip.NewRequest(sip.CANCEL, req.Recipient)
	cancelReq.AppendHeader(sip.HeaderClone(req.From()))
	cancelReq.AppendHeader(sip.HeaderClone(req.To()))
	cancelReq.AppendHeader(sip.HeaderClone(req.CallID()))
	cancelReq.AppendHeader(&sip.CSeqHeader{SeqNo: req.CSeq().SeqNo, MethodName: sip.CANCEL})
	cancelReq.SetBody(nil)
	// The edge holding the INVITE transaction builds the real CANCEL from it.
	r.send(pt, cancelReq, c.Edge, "", nil)
	// If no final response comes (the far end vanished), end it anyway.
	r.after(pt, c, 32*time.Second, func() {
		r.end(pt, c, events.StatusNoAnswer, 487, "cancelled, no response", by)
	})
}

// onResponse handles a response to a request we sent.
func (r *Role) onResponse(pt *partition, res *sip.Response, in inbound) {
	c := pt.calls[res.CallID().Value()]
	if c == nil || res.CSeq() == nil {
		return
	}
	method := res.CSeq().MethodName
	seq := res.CSeq().SeqNo
	switch {
	case method == sip.INVITE && c.State == StateDialing && c.inviteReq != nil && seq == c.inviteReq.CSeq().SeqNo:
		r.onDialResponse(pt, c, res, in)
	case method == sip.INVITE && res.StatusCode >= 200:
		// Our re-INVITE (hold/unhold).
		if res.IsSuccess() {
			r.sendAck(pt, c, seq)
			if ans, err := sdp.ParseAnswer(res.Body(), supported); err == nil {
				c.applyRemote(ans)
			}
		}
		if p := c.pending[seq]; p != nil {
			delete(c.pending, seq)
			p.done(res)
		}
		r.save(pt, c)
	}
}

func (r *Role) onDialResponse(pt *partition, c *Call, res *sip.Response, in inbound) {
	code := res.StatusCode
	switch {
	case code < 200:
		if (code == 180 || code == 183) && !c.ringing {
			c.ringing = true
			r.publish(pt, c, &events.CallRinging{Direction: c.Direction, Code: code})
		}
	case code < 300:
		c.RemoteTag, _ = res.To().Params.Get("tag")
		if ct := res.Contact(); ct != nil {
			c.RemoteTarget = ct.Address.String()
		}
		rr := res.GetHeaders("Record-Route")
		c.RouteSet = c.RouteSet[:0]
		for i := len(rr) - 1; i >= 0; i-- { // UAC: reversed (RFC 3261 §12.1.2)
			c.RouteSet = append(c.RouteSet, rr[i].Value())
		}
		if in.edge != "" {
			c.Edge = in.edge
		}
		r.sendAck(pt, c, res.CSeq().SeqNo)
		if c.cancelling {
			// 200 crossed our CANCEL: the call is up, hang it up properly.
			c.State = StateAnswered
			r.hangup(pt, c, c.hangupBy)
			return
		}
		ans, err := sdp.ParseAnswer(res.Body(), supported)
		if err != nil {
			c.State = StateAnswered
			r.log.Warn("unusable SDP answer; hanging up", "call_id", c.ID, "err", err)
			r.hangup(pt, c, events.ByPlatform)
			return
		}
		c.applyRemote(ans)
		c.State = StateAnswered
		c.Answered = time.Now().UTC()
		r.publish(pt, c, &events.CallAnswered{Direction: c.Direction, Codec: c.Codec, LocalRTP: c.LocalRTP, RemoteRTP: c.RemoteRTP})
		if c.BridgeTo != "" {
			if peer := pt.calls[c.BridgeTo]; peer != nil {
				if peer.State == StateRinging && peer.Direction == events.DirectionInbound {
					r.answer(pt, peer) // ring through: the caller is answered when the callee is
				}
				if code, reason := r.bridge(pt, c, peer); code != events.CodeOK {
					r.log.Warn("bridge after dial failed", "call_id", c.ID, "peer", peer.ID, "reason", reason)
				}
			}
		}
		r.save(pt, c)
	default:
		by := events.ByRemote
		if c.cancelling {
			by = c.hangupBy
		}
		status := statusOf(code)
		if c.cancelling && by == events.ByApp {
			status = events.StatusCanceled
		}
		r.end(pt, c, status, code, res.Reason, by)
	}
}

// sendAck acknowledges a 2xx to INVITE (RFC 3261 §13.2.2.4): a new request
// of the dialog with the INVITE's CSeq number.
func (r *Role) sendAck(pt *partition, c *Call, seq uint32) {
	ack := r.request(c, sip.ACK, nil)
	ack.CSeq().SeqNo = seq
	r.send(pt, ack, c.Edge, c.destination(), nil)
}

// hangup ends a call from our side, whatever its state.
func (r *Role) hangup(pt *partition, c *Call, by string) { r.hangupBecause(pt, c, by, "") }

// hangupBecause is hangup with the reason call.completed gives for an
// answered call ("BYE sent" if empty).
func (r *Role) hangupBecause(pt *partition, c *Call, by, reason string) {
	if c.isWebRTC() {
		// No dialog: closing the leg (in end) is the browser's hangup.
		if reason == "" {
			reason = "hung up"
		}
		r.end(pt, c, events.StatusCompleted, 200, reason, by)
		return
	}
	switch c.State {
	case StateAnswered:
		if reason == "" {
			reason = "BYE sent"
		}
		r.send(pt, r.request(c, sip.BYE, nil), c.Edge, c.destination(), nil)
		r.end(pt, c, events.StatusCompleted, 200, reason, by)
	case StateDialing:
		r.cancel(pt, c, by)
	case StateRinging:
		if c.inviteReq != nil {
			r.respond(c.inviteIn, r.response(c, c.inviteReq, sip.StatusTemporarilyUnavailable, "Temporarily Unavailable", nil))
		}
		status := events.StatusCanceled
		if by == events.ByPeer {
			status = events.StatusNoAnswer
		}
		r.end(pt, c, status, 480, "hung up before answer", by)
	}
}

// reinvite sends a new offer in the dialog (hold/unhold); the command's
// reply waits for the final response.
func (r *Role) reinvite(pt *partition, c *Call, reply *pendingReply) {
	req := r.request(c, sip.INVITE, sdp.Offer(r.localSDP(c), []sdp.Codec{c.local}, true, r.wantDirection(c)))
	c.pending[req.CSeq().SeqNo] = reply
	r.send(pt, req, c.Edge, c.destination(), func(_ string, err error) {
		if err != nil {
			if p := c.pending[req.CSeq().SeqNo]; p != nil {
				delete(c.pending, req.CSeq().SeqNo)
				p.reply(events.CodeServiceUnavailable, "re-INVITE not sent: "+err.Error())
			}
		}
	})
}
