package dtmf

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/workers/dtmf/digit"
)

// Gather defaults (Twilio's <Gather> has the same shape).
const (
	defaultFirstTimeout = 5 * time.Second
	defaultInterDigit   = 3 * time.Second
	maxGatherDigits     = 64
)

// gather is a gather command in progress.
type gather struct {
	max, min   int
	finish     byte // 0: none
	interDigit time.Duration
	digits     []byte
	deadline   time.Time
}

// HandleCommand implements workers.Role: gather.
func (r *Role) HandleCommand(p int, verb string, msg *nats.Msg) bool {
	if verb != "gather" {
		return false
	}
	pt := r.part(p)
	if pt == nil {
		return false
	}
	reply := func(code int, reason string) {
		part := p
		b, _ := json.Marshal(events.Reply{Code: code, Reason: reason, Node: r.cfg.NodeID, Partition: &part})
		_ = msg.Respond(b)
	}
	var cmd events.Gather
	if err := json.Unmarshal(msg.Data, &cmd); err != nil || cmd.CallID == "" {
		reply(events.CodeBadRequest, "bad gather command")
		return true
	}
	g, reason := newGather(cmd, time.Now())
	if g == nil {
		reply(events.CodeBadRequest, reason)
		return true
	}
	pt.mu.Lock()
	c := pt.calls[cmd.CallID]
	pt.mu.Unlock()
	if c == nil {
		// No digit of the call was seen yet: ask the media role's KV
		// whether the call is live (unlocked: it is a round trip).
		ok, err := r.callExists(p, cmd.CallID)
		switch {
		case err != nil:
			reply(events.CodeServiceUnavailable, "call state not readable: "+err.Error())
			return true
		case !ok:
			reply(events.CodeNotFound, "no call "+cmd.CallID)
			return true
		}
	}
	pt.mu.Lock()
	defer pt.mu.Unlock()
	if pt.calls == nil {
		reply(events.CodeServiceUnavailable, "partition released")
		return true
	}
	if c = pt.calls[cmd.CallID]; c == nil {
		c = newCall(cmd.CallID)
		c.last = time.Now()
		pt.calls[cmd.CallID] = c
		r.met.calls.Inc()
	}
	c.gather = g
	reply(events.CodeAccepted, "gathering")
	return true
}

// newGather checks a command (beyond its schema) and fills defaults.
func newGather(cmd events.Gather, now time.Time) (*gather, string) {
	g := &gather{max: cmd.MaxDigits, min: cmd.MinDigits, finish: '#',
		interDigit: time.Duration(cmd.InterDigitTimeoutMS) * time.Millisecond}
	if g.max <= 0 || g.max > maxGatherDigits {
		g.max = maxGatherDigits
	}
	if g.min < 0 || g.min > g.max {
		return nil, "min_digits must be between 0 and max_digits"
	}
	switch k := strings.ToUpper(cmd.FinishOnKey); k {
	case "":
	case "NONE":
		g.finish = 0
	default:
		d, err := digit.Parse(k[0])
		if len(k) != 1 || err != nil {
			return nil, "finish_on_key must be one key or \"none\""
		}
		g.finish = byte(d)
	}
	if g.interDigit <= 0 {
		g.interDigit = defaultInterDigit
	}
	first := time.Duration(cmd.FirstTimeoutMS) * time.Millisecond
	if first <= 0 {
		first = defaultFirstTimeout
	}
	g.deadline = now.Add(first)
	return g, ""
}

// gatherDigit adds a key press to the call's gather.
func (r *Role) gatherDigit(pt *partition, c *call, d byte, now time.Time) {
	g := c.gather
	if g.finish != 0 && d == g.finish && len(g.digits) >= g.min {
		r.finishGather(pt, c, events.GatherFinishKey)
		return
	}
	if g.finish != 0 && d == g.finish {
		g.deadline = now.Add(g.interDigit) // too early: ignored
		return
	}
	g.digits = append(g.digits, d)
	if len(g.digits) >= g.max {
		r.finishGather(pt, c, events.GatherMaxDigits)
		return
	}
	g.deadline = now.Add(g.interDigit)
}

// finishGather publishes gather_completed and ends the gather.
func (r *Role) finishGather(pt *partition, c *call, reason string) {
	g := c.gather
	c.gather = nil
	r.publish(pt, c.id, &events.CallGatherCompleted{Digits: string(g.digits), Reason: reason})
}
