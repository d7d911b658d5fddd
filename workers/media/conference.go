package media

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/switchboard-voip/switchboard/events"
)

// Conference membership, the media side (events/conference.go is the
// contract). The conference role owns the conference and its members'
// flags; this role owns the members' calls. The conference role attaches
// and detaches a call's media with MemberAttach requests on the call's
// partition (sb.p.<p>.conf); this role tells it of a member's call ending
// with MemberGone on the conference's partition. Calls that dial
// conf-<room> ask the conference role to join them (conference_join),
// which attaches them like any other call.

const (
	// joinRetry is the pause between conference_join attempts while no
	// conference worker answers (none running yet, or a partition moving).
	joinRetry = 500 * time.Millisecond
	// joinFor bounds the attempts: a caller hears silence meanwhile, and
	// after this is better told the room is not there.
	joinFor = 5 * time.Second
	// joinTimeout is one attempt's wait: the conference role attaches the
	// call (a request back to this role) before it replies.
	joinTimeout = 2 * time.Second
)

// onMemberAttach answers a MemberAttach request of the conference role.
func (r *Role) onMemberAttach(p int, msg *nats.Msg) {
	rep := events.MemberAttachReply{Reply: events.Reply{Node: r.cfg.NodeID, Partition: &p}}
	defer func() {
		b, _ := json.Marshal(rep)
		_ = msg.Respond(b)
	}()
	var req events.MemberAttach
	if err := json.Unmarshal(msg.Data, &req); err != nil {
		rep.Code, rep.Reason = events.CodeBadRequest, "not a MemberAttach: "+err.Error()
		return
	}
	if !events.ValidConference(req.Conference) {
		rep.Code, rep.Reason = events.CodeBadRequest, "conference must be 1-64 of [A-Za-z0-9_-]"
		return
	}
	pt := r.part(p)
	if pt == nil {
		rep.Code, rep.Reason = events.CodeServiceUnavailable, "partition not owned here"
		return
	}
	pt.mu.Lock()
	defer pt.mu.Unlock()
	c := pt.calls[req.CallID]
	if c == nil || c.ended {
		rep.Code, rep.Reason = events.CodeNotFound, "no call "+req.CallID
		return
	}
	switch req.Op {
	case events.AttachOp:
		rep.Code, rep.Reason = r.attach(pt, c, req.Conference, req.Rate)
		if rep.Code == events.CodeOK {
			rep.Codec = codecOf(c)
		}
	case events.DetachOp:
		rep.Code, rep.Reason = r.detach(pt, c, req)
	default:
		rep.Code, rep.Reason = events.CodeBadRequest, "op must be attach or detach"
	}
}

// attach makes c a member of conf, its audio at rate; again for the same
// conference it is a no-op (or a change of rate): a conference's new
// owner re-attaches its members.
func (r *Role) attach(pt *partition, c *Call, conf string, rate int) (int, string) {
	if rate != 8000 && rate != 16000 && rate != 48000 {
		return events.CodeBadRequest, "rate must be 8000, 16000 or 48000"
	}
	if c.Conference == conf {
		if c.ConferenceRate != rate || c.member.Load() == nil && c.sess.Load() != nil {
			c.ConferenceRate = rate
			if err := r.startMember(c); err != nil {
				return events.CodeServiceUnavailable, "out subscription: " + err.Error()
			}
			r.save(pt, c)
		}
		return events.CodeOK, "attached"
	}
	switch {
	case c.Conference != "":
		return events.CodeConflict, "call is in conference " + c.Conference
	case c.State != StateAnswered:
		return events.CodeConflict, "call is " + c.State + ", not answered"
	case c.sess.Load() == nil:
		return events.CodeConflict, "call has no media on this node"
	case c.format.Load() == nil:
		return events.CodeConflict, "call has no codec negotiated yet"
	case c.Peer != "":
		return events.CodeConflict, "call is bridged to " + c.Peer + "; unbridge it first"
	}
	c.Conference, c.ConferenceRate = conf, rate
	if err := r.startMember(c); err != nil {
		c.Conference, c.ConferenceRate = "", 0
		return events.CodeServiceUnavailable, "out subscription: " + err.Error()
	}
	r.save(pt, c)
	return events.CodeOK, "attached"
}

// detach ends c's membership and, if asked, the call.
func (r *Role) detach(pt *partition, c *Call, req events.MemberAttach) (int, string) {
	if c.Conference != "" && c.Conference != req.Conference {
		return events.CodeConflict, "call is in conference " + c.Conference + ", not " + req.Conference
	}
	was := c.Conference != ""
	if was {
		c.stopMember()
		c.Conference, c.ConferenceRate = "", 0
		r.save(pt, c)
	}
	if req.Hangup {
		reason := req.Reason
		if reason == "" {
			reason = "conference " + req.Conference
		}
		r.hangupBecause(pt, c, events.ByApp, reason)
		return events.CodeOK, "detached and hung up"
	}
	if !was {
		return events.CodeOK, "not a member"
	}
	return events.CodeOK, "detached"
}

// memberGone tells the conference that c, its member, is gone.
func (r *Role) memberGone(c *Call, reason string) {
	b, _ := json.Marshal(events.MemberGone{Conference: c.Conference, CallID: c.ID, Reason: reason})
	subject := events.PartitionSubject(events.RoleConference, events.Partition(c.Conference, r.cfg.Partitions), events.ConferenceKindMember)
	if err := r.nc.Publish(subject, b); err != nil {
		r.log.Warn("member_gone not published", "call_id", c.ID, "conference", c.Conference, "err", err)
	}
}

// codecOf names c's codec as CallAnswered and the mixer do.
func codecOf(c *Call) string {
	if f := c.format.Load(); f != nil {
		switch f.kind {
		case kindPCMU:
			return "PCMU/8000"
		case kindPCMA:
			return "PCMA/8000"
		case kindOpus:
			return "opus/48000"
		}
	}
	return c.Codec
}

// roomOf returns the room a Request-URI user dials (conf-<room>, the
// prefix compared ignoring case): the rest as dialed, "" if none.
func (r *Role) roomOf(user string) string {
	prefix := r.cfg.ConferencePrefix
	if len(user) < len(prefix) || !strings.EqualFold(user[:len(prefix)], prefix) {
		return ""
	}
	return user[len(prefix):]
}

// join asks the conference role to join c, answered on the conf-<room>
// route, to c.Room. It must not wait under the partition lock, nor on the
// partition's subscription: the conference role attaches the call with a
// request to that very subscription before it replies. So a goroutine of
// the role's asks, retries while no conference worker answers, and hangs
// the call up if the room cannot be joined.
func (r *Role) join(pt *partition, c *Call) {
	if c.joining || c.ended || c.Conference != "" || c.Room == "" {
		return
	}
	c.joining = true
	room := c.Room
	subject := events.PartitionCommandSubject(events.RoleConference, events.Partition(room, r.cfg.Partitions), "conference_join")
	cmd := events.ConferenceJoin{}
	cmd.Conference, cmd.CallID = room, c.ID
	body, _ := json.Marshal(&cmd)
	r.wg.Go(func() {
		why := r.requestJoin(pt, subject, body)
		pt.mu.Lock()
		defer pt.mu.Unlock()
		c.joining = false
		select {
		case <-pt.stop:
			return // the partition moved: its new owner asks again
		case <-r.ctx.Done():
			return
		default:
		}
		if c.ended || pt.calls[c.ID] != c {
			return
		}
		if why == "" {
			c.Room = "" // joined: a leave later is for good, a new owner does not ask again
			r.save(pt, c)
			return
		}
		if c.Conference != "" {
			return // attached all the same (a reply lost)
		}
		if pt.suspended {
			// The node fenced itself: the conference role could not
			// reach the call, and the partition is not ours to act on.
			// Ask again once it is (after waits for Resume).
			r.after(pt, c, joinRetry, func() { r.join(pt, c) })
			return
		}
		r.log.Info("conference not joined; hanging up", "call_id", c.ID, "conference", room, "why", why)
		r.hangupBecause(pt, c, events.ByPlatform, "conference "+room+" not joined: "+why)
	})
}

// requestJoin sends conference_join until it succeeds (""), fails for
// good, or joinFor passes; it returns why it failed.
func (r *Role) requestJoin(pt *partition, subject string, body []byte) string {
	deadline := time.Now().Add(joinFor)
	for {
		why, again := r.tryJoin(subject, body)
		if why == "" || !again || time.Now().Add(joinRetry).After(deadline) {
			return why
		}
		select {
		case <-r.ctx.Done():
			return "the media role closed"
		case <-pt.stop:
			return "the partition moved"
		case <-time.After(joinRetry):
		}
	}
}

// tryJoin is one conference_join request: why it failed ("" if it did
// not), and whether trying again may help.
func (r *Role) tryJoin(subject string, body []byte) (why string, again bool) {
	ctx, cancel := context.WithTimeout(r.ctx, joinTimeout)
	defer cancel()
	msg, err := r.nc.RequestWithContext(ctx, subject, body)
	switch {
	case r.ctx.Err() != nil:
		return "the media role closed", false
	case errors.Is(err, nats.ErrNoResponders):
		return "no conference worker answers", true
	case err != nil:
		return "conference_join: " + err.Error(), true
	}
	var rep events.Reply
	if err := json.Unmarshal(msg.Data, &rep); err != nil {
		return "conference_join reply is not JSON", false
	}
	switch {
	case rep.Code >= 200 && rep.Code < 300:
		return "", false
	case rep.Code == events.CodeServiceUnavailable:
		return "conference_join: 503 " + rep.Reason, true
	}
	return "conference_join: " + strconv.Itoa(rep.Code) + " " + rep.Reason, false
}
