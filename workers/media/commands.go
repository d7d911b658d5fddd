package media

import (
	"encoding/json"

	"github.com/emiago/sipgo/sip"
	"github.com/nats-io/nats.go"

	"github.com/switchboard-voip/switchboard/events"
)

// HandleCommand implements workers.Role: the call commands.
func (r *Role) HandleCommand(p int, verb string, msg *nats.Msg) bool {
	cmd := events.NewCommand(verb)
	if cmd == nil || verb == "locate" {
		return false
	}
	pt := r.part(p)
	if pt == nil {
		return false
	}
	reply := &pendingReply{msg: msg, node: r.cfg.NodeID, p: p}
	if err := json.Unmarshal(msg.Data, cmd); err != nil {
		reply.reply(events.CodeBadRequest, err.Error())
		return true
	}
	pt.mu.Lock()
	defer pt.mu.Unlock()

	if k := idemKeyOf(cmd); k != "" {
		idemKey := verb + "/" + k
		if prev, ok := pt.idem.get(idemKey); ok {
			reply.raw(prev)
			return true
		}
		reply.remember = func(b []byte) { pt.idem.put(idemKey, b) }
	}

	if d, ok := cmd.(*events.Dial); ok {
		c, code, reason := r.dial(pt, d)
		rep := events.DialReply{Reply: reply.base(code, reason)}
		if c != nil {
			rep.CallID = c.ID
		}
		reply.json(rep)
		return true
	}
	callID := cmd.RouteKey()
	c := pt.calls[callID]
	if c == nil {
		reply.reply(events.CodeNotFound, "no call "+callID)
		return true
	}
	switch cmd := cmd.(type) {
	case *events.Answer:
		if c.Direction != events.DirectionInbound || c.State != StateRinging {
			reply.reply(events.CodeConflict, "call is "+c.State+", not ringing")
			return true
		}
		r.answer(pt, c)
		reply.reply(events.CodeOK, "answered")
	case *events.Reject:
		if c.State != StateRinging {
			reply.reply(events.CodeConflict, "call is "+c.State+", not ringing")
			return true
		}
		code := cmd.Code
		if code == 0 {
			code = sip.StatusBusyHere
		}
		if code < 400 || code > 699 {
			reply.reply(events.CodeBadRequest, "code must be 400-699")
			return true
		}
		r.respond(c.inviteIn, r.response(c, c.inviteReq, code, sipReason(code), nil))
		r.end(pt, c, statusOf(code), code, "rejected", events.ByApp)
		reply.reply(events.CodeOK, "rejected")
	case *events.Hangup:
		r.hangup(pt, c, events.ByApp)
		reply.reply(events.CodeOK, "hung up")
	case *events.Bridge:
		peer := pt.calls[cmd.PeerCallID]
		if peer == nil {
			reply.reply(events.CodeNotFound, "no call "+cmd.PeerCallID+" in this partition")
			return true
		}
		reply.reply(r.bridge(pt, c, peer))
	case *events.Unbridge:
		if c.Peer == "" {
			reply.reply(events.CodeConflict, "call is not bridged")
			return true
		}
		r.unbridge(pt, c)
		reply.reply(events.CodeOK, "unbridged")
	case *events.DTMFSend:
		reply.reply(r.sendDTMF(pt, c, cmd))
	case *events.DTMFInband:
		c.dtmf.forced = true
		c.dtmf.inband.Store(cmd.Enabled)
		reply.reply(events.CodeOK, map[bool]string{true: "in-band detection on", false: "in-band detection off"}[cmd.Enabled])
	case *events.Hold, *events.Unhold:
		_, hold := cmd.(*events.Hold)
		if c.restored {
			// Its media is being moved here by our own re-INVITE; another
			// one now would cross it (491).
			rep := reply.base(events.CodeServiceUnavailable, "call is being moved to this node; try again")
			rep.RetryAfter = 1
			reply.json(rep)
			return true
		}
		if c.State != StateAnswered {
			reply.reply(events.CodeConflict, "call is "+c.State+", not answered")
			return true
		}
		if c.HeldApp == hold {
			state := "on hold"
			if !hold {
				state = "not on hold"
			}
			reply.reply(events.CodeConflict, "call is already "+state)
			return true
		}
		c.HeldApp = hold
		c.syncHold()
		reply.onDone = func(res *sip.Response) {
			if res.IsSuccess() {
				r.publish(pt, c, &events.CallHeld{Held: hold, By: events.ByApp})
				reply.reply(events.CodeOK, res.Reason)
				return
			}
			c.HeldApp = !hold
			c.syncHold()
			reply.reply(res.StatusCode, "re-INVITE refused: "+res.Reason)
		}
		r.reinvite(pt, c, reply)
	default:
		return false
	}
	return true
}

// idemKeyOf returns a command's idempotency key, if it can carry one.
func idemKeyOf(cmd events.Command) string {
	if c, ok := cmd.(interface{ Idempotency() string }); ok {
		return c.Idempotency()
	}
	return ""
}

func sipReason(code int) string {
	switch code {
	case 486:
		return "Busy Here"
	case 480:
		return "Temporarily Unavailable"
	case 603:
		return "Decline"
	case 404:
		return "Not Found"
	default:
		return "Rejected"
	}
}

// pendingReply answers a command, possibly later (when a re-INVITE's final
// response arrives), exactly once.
type pendingReply struct {
	msg      *nats.Msg
	node     string
	p        int
	sent     bool
	remember func([]byte)
	onDone   func(*sip.Response)
}

func (p *pendingReply) base(code int, reason string) events.Reply {
	part := p.p
	return events.Reply{Code: code, Reason: reason, Node: p.node, Partition: &part}
}

func (p *pendingReply) reply(code int, reason string) { p.json(p.base(code, reason)) }

func (p *pendingReply) json(v any) {
	b, _ := json.Marshal(v)
	if p.remember != nil && !p.sent {
		// Stored before it is sent: whoever sees the reply can retry
		// anywhere and get it again.
		p.remember(b)
	}
	p.raw(b)
}

func (p *pendingReply) raw(b []byte) {
	if p.sent || p.msg == nil { // nil: the platform's own request, nobody to answer
		return
	}
	p.sent = true
	_ = p.msg.Respond(b)
}

func (p *pendingReply) done(res *sip.Response) {
	if p.onDone != nil {
		p.onDone(res)
	}
}
