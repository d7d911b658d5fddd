package conference

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/workers/conference/mixer"
)

// maxCallID is the longest Call-ID a command may name (as the schemas say).
const maxCallID = 1024

// errBadReply means a media worker's reply to MemberAttach was not one.
var errBadReply = errors.New("conference: malformed MemberAttach reply")

// HandleCommand implements workers.Role: the conference verbs.
func (r *Role) HandleCommand(p int, verb string, msg *nats.Msg) bool {
	var do func(*partition, []byte) any
	switch verb {
	case "conference_join":
		do = r.join
	case "conference_leave":
		do = func(pt *partition, b []byte) any { return r.leaveCommand(pt, b, events.LeftLeft) }
	case "conference_kick":
		do = func(pt *partition, b []byte) any { return r.leaveCommand(pt, b, events.LeftKicked) }
	case "conference_mute":
		do = func(pt *partition, b []byte) any { return r.flag(pt, b, flagMuted, true) }
	case "conference_unmute":
		do = func(pt *partition, b []byte) any { return r.flag(pt, b, flagMuted, false) }
	case "conference_deaf":
		do = func(pt *partition, b []byte) any { return r.flag(pt, b, flagDeaf, true) }
	case "conference_undeaf":
		do = func(pt *partition, b []byte) any { return r.flag(pt, b, flagDeaf, false) }
	case "conference_end":
		do = r.endCommand
	case "conference_list":
		do = r.list
	default:
		return false
	}
	var out any
	pt := r.part(p)
	if pt != nil {
		pt.mu.Lock()
		if !pt.released {
			out = do(pt, msg.Data)
		}
		pt.mu.Unlock()
	}
	if out == nil {
		out = events.Reply{Code: events.CodeServiceUnavailable, Reason: "partition not owned here", RetryAfter: 1, Node: r.cfg.NodeID, Partition: &p}
	}
	if msg.Reply != "" {
		b, _ := json.Marshal(out)
		_ = msg.Respond(b)
	}
	return true
}

func (r *Role) reply(p, code int, reason string) events.Reply {
	return events.Reply{Code: code, Reason: reason, Node: r.cfg.NodeID, Partition: &p}
}

// decode reads a command body. The edge checked it against the verb's
// schema; what arrives otherwise (a request straight to the partition) is
// checked here as far as the role depends on it.
func (r *Role) decode(pt *partition, b []byte, cmd any, conf *string, callID *string) (events.Reply, bool) {
	if err := json.Unmarshal(b, cmd); err != nil {
		r.met.errors.WithLabelValues(errBadCommand).Inc()
		return r.reply(pt.p, events.CodeBadRequest, "body is not the command's JSON: "+err.Error()), false
	}
	if !events.ValidConference(*conf) {
		return r.reply(pt.p, events.CodeBadRequest, "conference must be 1-64 characters of [A-Za-z0-9_-]"), false
	}
	if callID != nil && (*callID == "" || len(*callID) > maxCallID) {
		return r.reply(pt.p, events.CodeBadRequest, "call_id must be 1-1024 characters"), false
	}
	return events.Reply{}, true
}

// find looks a member up.
func (r *Role) find(pt *partition, conf, callID string) (*conference, *member, events.Reply) {
	c := pt.confs[conf]
	if c == nil {
		return nil, nil, r.reply(pt.p, events.CodeNotFound, "no conference "+conf)
	}
	c.mu.Lock()
	m := c.members[events.MemberToken(callID)]
	c.mu.Unlock()
	if m == nil {
		return nil, nil, r.reply(pt.p, events.CodeNotFound, fmt.Sprintf("call %s is not a member of %s", callID, conf))
	}
	return c, m, events.Reply{}
}

// join: conference_join.
func (r *Role) join(pt *partition, b []byte) any {
	var cmd events.ConferenceJoin
	if rep, ok := r.decode(pt, b, &cmd, &cmd.Conference, &cmd.CallID); !ok {
		return rep
	}
	now := time.Now()
	c := pt.confs[cmd.Conference]
	created := false
	if c == nil {
		var err error
		if c, err = r.open(pt, cmd.Conference, now); err != nil {
			return r.reply(pt.p, events.CodeServerError, "conference not created: "+err.Error())
		}
		created = true
	}
	// A conference made for this join goes again, without a word, if
	// the join fails.
	abandon := func() {
		if created {
			r.close(pt, c)
		}
	}
	c.mu.Lock()
	_, dup := c.members[events.MemberToken(cmd.CallID)]
	c.mu.Unlock()
	if dup {
		return r.reply(pt.p, events.CodeConflict, "call "+cmd.CallID+" is already a member of "+cmd.Conference)
	}

	att := events.MemberAttach{Op: events.AttachOp, Conference: cmd.Conference, CallID: cmd.CallID, Rate: c.rate}
	c.mu.Lock()
	c.hush(events.MemberToken(cmd.CallID), now.Add(r.cfg.AttachTimeout+time.Second))
	c.mu.Unlock()
	rep, err := r.request(att)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		abandon()
		out := r.reply(pt.p, events.CodeServiceUnavailable, "the call's media partition has no owner yet")
		out.RetryAfter = 1
		return out
	case err != nil:
		// It may still attach late: take that back (fire and forget,
		// ordered before any retry's attach).
		r.undo(att)
		abandon()
		if errors.Is(err, errBadReply) {
			r.met.errors.WithLabelValues(errAttachReply).Inc()
			return r.reply(pt.p, events.CodeServerError, "media worker's attach reply is malformed")
		}
		return r.reply(pt.p, events.CodeTimeout, "the call's media owner did not answer: "+err.Error())
	case rep.Code != events.CodeOK:
		abandon()
		return r.reply(pt.p, rep.Code, rep.Reason)
	}
	fc, ok := parseCodec(rep.Codec)
	var m *member
	if ok {
		m, err = c.newMember(cmd.CallID, rep.Codec, fc, now)
	}
	if !ok || err != nil {
		r.met.errors.WithLabelValues(errAttachReply).Inc()
		r.undo(att)
		abandon()
		return r.reply(pt.p, events.CodeServerError, fmt.Sprintf("cannot mix codec %q", rep.Codec))
	}
	m.muted, m.deaf, m.moderator = cmd.Muted, cmd.Deaf, cmd.Moderator
	m.startOnEnter, m.endOnExit = cmd.StartsConference(), cmd.EndOnExit

	c.mu.Lock()
	err = c.add(m)
	starts := err == nil && m.startOnEnter && !c.started
	if starts {
		c.started = true
	}
	n := len(c.members)
	c.mu.Unlock()
	if err != nil { // cannot happen: checked under the partition's lock
		r.undo(att)
		abandon()
		return r.reply(pt.p, events.CodeServerError, err.Error())
	}
	r.event(c, m.callID, &events.MemberJoined{Muted: m.muted, Deaf: m.deaf, Moderator: m.moderator, Codec: m.codecName, Members: n})
	if starts {
		r.event(c, "", &events.ConferenceStarted{Rate: c.rate})
	}
	r.save(c)
	return r.reply(pt.p, events.CodeOK, "joined")
}

// open creates a conference: KV, subscription and clock.
func (r *Role) open(pt *partition, name string, now time.Time) (*conference, error) {
	c, err := newConference(r, pt.p, name, r.cfg.Rate, now.UTC())
	if err != nil {
		return nil, err
	}
	if err := c.start(); err != nil {
		return nil, err
	}
	pt.confs[name] = c
	r.met.conferences.Inc()
	r.save(c)
	return c, nil
}

// close stops a conference and forgets it, publishing nothing.
func (r *Role) close(pt *partition, c *conference) {
	c.stop()
	c.mu.Lock()
	for _, m := range slices.Clone(c.order) {
		c.remove(m)
	}
	c.mu.Unlock()
	r.forget(pt.p, c.name)
	delete(pt.confs, c.name)
	r.met.conferences.Dec()
}

// leaveCommand: conference_leave and conference_kick.
func (r *Role) leaveCommand(pt *partition, b []byte, reason string) any {
	var cmd events.MemberCommand
	if rep, ok := r.decode(pt, b, &cmd, &cmd.Conference, &cmd.CallID); !ok {
		return rep
	}
	c, m, rep := r.find(pt, cmd.Conference, cmd.CallID)
	if c == nil {
		return rep
	}
	r.leave(pt, c, m, reason, true, reason == events.LeftKicked)
	return r.reply(pt.p, events.CodeOK, reason)
}

// leave takes a member out, detaching its media if asked (not when its
// media worker said it is gone), and ends the conference if it was the
// last member or an end_on_exit one.
func (r *Role) leave(pt *partition, c *conference, m *member, reason string, detach, hangup bool) {
	c.mu.Lock()
	stopped := r.stopTalking(c, m)
	c.remove(m)
	n := len(c.members)
	c.mu.Unlock()
	if detach {
		r.detach(c.name, m.callID, hangup, reason)
	}
	if stopped != nil {
		r.event(c, m.callID, stopped)
	}
	r.event(c, m.callID, &events.MemberLeft{Reason: reason, Members: n})
	switch {
	case m.endOnExit:
		r.end(pt, c, events.EndedEndOnExit)
	case n == 0:
		r.end(pt, c, events.EndedEmpty)
	default:
		r.save(c)
	}
}

// stopTalking returns the talking_stopped of a member leaving while it
// talks (nil if it does not). Callers hold c.mu.
func (r *Role) stopTalking(c *conference, m *member) *events.TalkingStopped {
	if !c.started || !m.vad.Talking() {
		return nil
	}
	res := m.vad.Process(nil) // no audio: reports the talkspurt so far
	d := time.Duration(c.ticks-m.talkSince) * mixer.FrameDuration
	return &events.TalkingStopped{Level: round1(res.Spurt), DurationMS: int(d / time.Millisecond)}
}

// end ends a conference: every member leaves (conference_ended) and,
// unless the last one just left, is detached and hung up.
func (r *Role) end(pt *partition, c *conference, reason string) {
	c.mu.Lock()
	ms := slices.Clone(c.order)
	stopped := make([]*events.TalkingStopped, len(ms))
	for i, m := range ms {
		stopped[i] = r.stopTalking(c, m)
		c.remove(m)
	}
	c.mu.Unlock()
	var wg sync.WaitGroup
	for _, m := range ms {
		wg.Go(func() { r.detach(c.name, m.callID, true, events.LeftConferenceEnded) })
	}
	wg.Wait()
	for i, m := range ms {
		if stopped[i] != nil {
			r.event(c, m.callID, stopped[i])
		}
		r.event(c, m.callID, &events.MemberLeft{Reason: events.LeftConferenceEnded, Members: len(ms) - 1 - i})
	}
	r.close(pt, c)
	r.event(c, "", &events.ConferenceEnded{Reason: reason, Duration: round3(time.Since(c.created).Seconds())})
}

func round3(x float64) float64 { return float64(int64(x*1000+0.5)) / 1000 }

// endCommand: conference_end.
func (r *Role) endCommand(pt *partition, b []byte) any {
	var cmd events.ConferenceEnd
	if rep, ok := r.decode(pt, b, &cmd, &cmd.Conference, nil); !ok {
		return rep
	}
	c := pt.confs[cmd.Conference]
	if c == nil {
		return r.reply(pt.p, events.CodeNotFound, "no conference "+cmd.Conference)
	}
	r.end(pt, c, events.EndedCommand)
	return r.reply(pt.p, events.CodeOK, "ended")
}

// The member flags commands set.
const (
	flagMuted = iota
	flagDeaf
)

// flag: conference_mute, _unmute, _deaf, _undeaf.
func (r *Role) flag(pt *partition, b []byte, which int, on bool) any {
	var cmd events.MemberCommand
	if rep, ok := r.decode(pt, b, &cmd, &cmd.Conference, &cmd.CallID); !ok {
		return rep
	}
	c, m, rep := r.find(pt, cmd.Conference, cmd.CallID)
	if c == nil {
		return rep
	}
	var ev events.Payload
	var state string
	c.mu.Lock()
	f := &m.muted
	switch {
	case which == flagMuted && on:
		ev, state = &events.MemberMuted{}, "muted"
	case which == flagMuted:
		ev, state = &events.MemberUnmuted{}, "not muted"
	case on:
		f, ev, state = &m.deaf, &events.MemberDeaf{}, "deaf"
	default:
		f, ev, state = &m.deaf, &events.MemberUndeaf{}, "not deaf"
	}
	same := *f == on
	if !same {
		*f = on
		_ = c.x.Set(m.token, m.settings())
	}
	c.mu.Unlock()
	if same {
		return r.reply(pt.p, events.CodeConflict, "the member is already "+state)
	}
	r.event(c, m.callID, ev)
	r.save(c)
	return r.reply(pt.p, events.CodeOK, state)
}

// list: conference_list.
func (r *Role) list(pt *partition, b []byte) any {
	var cmd events.ConferenceList
	if rep, ok := r.decode(pt, b, &cmd, &cmd.Conference, nil); !ok {
		return events.ConferenceListReply{Reply: rep}
	}
	c := pt.confs[cmd.Conference]
	if c == nil {
		return events.ConferenceListReply{Reply: r.reply(pt.p, events.CodeNotFound, "no conference "+cmd.Conference)}
	}
	out := events.ConferenceListReply{Reply: r.reply(pt.p, events.CodeOK, "OK"), Conference: c.name, Created: c.created, Rate: c.rate}
	c.mu.Lock()
	out.Started = c.started
	for _, m := range c.order {
		out.Members = append(out.Members, m.state())
	}
	c.mu.Unlock()
	return out
}

// request sends a MemberAttach to the media owner of its call.
func (r *Role) request(a events.MemberAttach) (events.MemberAttachReply, error) {
	var rep events.MemberAttachReply
	b, _ := json.Marshal(a)
	msg, err := r.nc.Request(r.mediaSubject(a.CallID), b, r.cfg.AttachTimeout)
	if err != nil {
		return rep, err
	}
	if err := json.Unmarshal(msg.Data, &rep); err != nil || rep.Code == 0 {
		return rep, errBadReply
	}
	return rep, nil
}

func (r *Role) mediaSubject(callID string) string {
	return events.PartitionSubject(events.RoleMedia, events.Partition(callID, r.cfg.Partitions), events.MediaKindConference)
}

// detach asks a member's media worker to stop its conference audio (and
// hang up). Best effort: the member has left the room either way.
func (r *Role) detach(conf, callID string, hangup bool, reason string) {
	rep, err := r.request(events.MemberAttach{Op: events.DetachOp, Conference: conf, CallID: callID, Hangup: hangup, Reason: reason})
	if err == nil && (rep.Code == events.CodeOK || rep.Code == events.CodeNotFound) {
		return // done, or the call is gone already
	}
	r.met.errors.WithLabelValues(errDetach).Inc()
	r.log.Warn("member not detached", "conference", conf, "call_id", callID, "code", rep.Code, "reason", rep.Reason, "err", err)
}

// undo takes back an attach whose outcome is unknown: a detach published
// without waiting, so that it reaches the media worker before any later
// attach of the same call.
func (r *Role) undo(a events.MemberAttach) {
	a.Op, a.Rate = events.DetachOp, 0
	b, _ := json.Marshal(a)
	_ = r.nc.Publish(r.mediaSubject(a.CallID), b)
}
