package conference

import (
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/workers/conference/frame"
	"github.com/switchboard-voip/switchboard/workers/conference/mixer"
	"github.com/switchboard-voip/switchboard/workers/conference/vad"
	"github.com/switchboard-voip/switchboard/workers/media/codec"
)

// groups is the number of mixer groups: one per out-codec (frame.PCMU,
// frame.PCMA, frame.Opus), indexed by the codec.
const groups = int(frame.Opus) + 1

// maxInSamples holds any frame Unmarshal accepts (120 ms at 48 kHz), so
// a frame of the wrong size is told apart from a malformed one.
const maxInSamples = 48000 * 120 / 1000

// hangover is the VAD's hangover: talking_stopped comes this long after
// the last loud frame, which the talkspurt's duration does not count.
var hangover = vad.Config{Rate: 16000}.Defaults().Hangover

// conference is one room being mixed: its members, mixer and encoders,
// its subscription to the members' audio and its 20 ms clock.
type conference struct {
	r       *Role
	p       int
	name    string
	created time.Time
	rate    int

	mu      sync.Mutex
	started bool
	x       *mixer.Mixer
	members map[string]*member   // by token
	order   []*member            // in join order
	shared  [groups]*encoder     // the listeners' encoder of each codec
	count   [groups]int          // members of each codec
	quiet   map[string]time.Time // tokens of calls joining or just gone: their frames are dropped uncounted until then
	in      frame.Frame          // Unmarshal's scratch
	zero    []int16              // a silent frame
	pkt     []byte               // an out-frame being marshalled
	ticks   uint64
	stopped bool

	sub  *nats.Subscription
	quit chan struct{}
	done chan struct{}
}

func newConference(r *Role, p int, name string, rate int, created time.Time) (*conference, error) {
	x, err := mixer.New(mixer.Config{Rate: rate})
	if err != nil {
		return nil, err
	}
	return &conference{
		r: r, p: p, name: name, created: created, rate: rate, x: x,
		members: map[string]*member{}, quiet: map[string]time.Time{},
		in:   frame.Frame{PCM: make([]int16, maxInSamples)},
		zero: make([]int16, x.FrameSamples()),
		pkt:  make([]byte, 0, frame.HeaderLen+codec.MaxPayload),
		quit: make(chan struct{}), done: make(chan struct{}),
	}, nil
}

// start subscribes to the members' audio and starts the clock; stop ends
// both.
func (c *conference) start() error {
	sub, err := c.r.nc.Subscribe(events.ConferenceInWildcard(c.name), c.onFrame)
	if err != nil {
		return err
	}
	c.sub = sub
	go c.run()
	return nil
}

// stop unsubscribes and stops the clock, and waits for it.
func (c *conference) stop() {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return
	}
	c.stopped = true
	c.mu.Unlock()
	_ = c.sub.Unsubscribe()
	close(c.quit)
	<-c.done
}

// run is the conference's clock.
func (c *conference) run() {
	defer close(c.done)
	t := time.NewTicker(mixer.FrameDuration)
	defer t.Stop()
	for {
		select {
		case <-c.quit:
			return
		case <-t.C:
			c.tick()
		}
	}
}

// newMember prepares a member's mixing state (not yet in the room).
func (c *conference) newMember(callID, codecName string, fc frame.Codec, now time.Time) (*member, error) {
	d, err := vad.New(vad.Config{Rate: c.rate})
	if err != nil {
		return nil, err
	}
	// The detector's noise floor is the quietest frame of the last 2 s:
	// start it with the silence before the member's audio, or a member
	// who talks from its first frame would set the floor at its voice and
	// never be found talking.
	d.Process(c.zero)
	enc, err := newEncoder(fc, c.rate, c.r.cfg.Opus)
	if err != nil {
		return nil, err
	}
	return &member{
		callID: callID, token: events.MemberToken(callID), codecName: codecName, codec: fc,
		outSubject: events.ConferenceOutSubject(c.name, callID), joined: now, heard: now,
		q: newQueue(c.x.FrameSamples()), vad: d, enc: enc,
	}, nil
}

// add puts a member in the mixer. Callers hold c.mu.
func (c *conference) add(m *member) error {
	if err := c.x.Add(m.token, m.settings()); err != nil {
		return err
	}
	c.members[m.token] = m
	c.order = append(c.order, m)
	c.count[m.codec]++
	c.r.met.members.Inc()
	return nil
}

// remove takes a member out of the mixer (its audio fades out in the next
// tick). Callers hold c.mu.
func (c *conference) remove(m *member) {
	if c.members[m.token] != m {
		return
	}
	_ = c.x.Remove(m.token)
	delete(c.members, m.token)
	c.hush(m.token, time.Now().Add(time.Second))
	c.order = slices.DeleteFunc(c.order, func(o *member) bool { return o == m })
	if c.count[m.codec]--; c.count[m.codec] == 0 {
		c.shared[m.codec] = nil // nobody left to share it with
	}
	c.r.met.members.Dec()
}

// hush drops the frames of a call that is not a member, without counting
// them as errors, until a deadline: a media worker starts publishing when
// it replies to the attach, before the call is a member, and frames in
// flight arrive after a leave. Callers hold c.mu.
func (c *conference) hush(token string, until time.Time) {
	if len(c.quiet) > 64 { // forget the expired ones now and then
		now := time.Now()
		for k, t := range c.quiet {
			if now.After(t) {
				delete(c.quiet, k)
			}
		}
	}
	c.quiet[token] = until
}

// onFrame takes one frame from a member's media worker.
func (c *conference) onFrame(msg *nats.Msg) {
	tok := msg.Subject[strings.LastIndexByte(msg.Subject, '.')+1:]
	now := time.Now()
	met := c.r.met
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return
	}
	m := c.members[tok]
	if m == nil {
		if until, ok := c.quiet[tok]; ok && now.Before(until) {
			return // its media worker started before the join completed, or stops after the leave
		}
		met.errors.WithLabelValues(errNotMember).Inc()
		return
	}
	f := &c.in
	if err := frame.Unmarshal(msg.Data, f); err != nil {
		met.errors.WithLabelValues(errMalformedFrame).Inc()
		return
	}
	switch {
	case f.Codec != frame.PCM:
		met.errors.WithLabelValues(errWrongCodec).Inc()
		return
	case f.Rate != c.rate:
		met.errors.WithLabelValues(errWrongRate).Inc()
		return
	case f.Samples != c.x.FrameSamples():
		met.errors.WithLabelValues(errWrongSize).Inc()
		return
	}
	m.heard = now
	if m.haveSeq && f.Flags&frame.Discontinuity == 0 && int32(f.Seq-m.lastSeq) <= 0 {
		met.late.Inc() // older than a frame already queued: never played out of order
		return
	}
	m.lastSeq, m.haveSeq = f.Seq, true
	if m.q.push(f.PCM, f.Flags) {
		met.dropped.Inc()
	}
}

// tick is one 20 ms step: mix, then encode and send.
func (c *conference) tick() {
	start := time.Now()
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return
	}
	out, n := c.mix()
	c.send(out)
	c.mu.Unlock()
	met := c.r.met
	met.mixed.Add(float64(n.mixed))
	if n.late > 0 {
		met.late.Add(float64(n.late))
	}
	if n.missing > 0 {
		met.missing.Add(float64(n.missing))
	}
	met.tick.Observe(time.Since(start).Seconds())
}

// counts are a tick's frames by result.
type counts struct{ mixed, late, missing int }

// mix takes every member's next frame through its VAD and, if the member
// is a speaker, into the mixer, and mixes. Callers hold c.mu.
func (c *conference) mix() (*mixer.Output, counts) {
	var n counts
	c.ticks++
	gate := c.r.cfg.Gate
	for _, m := range c.order {
		pcm, flags, ok, late := m.q.pop()
		n.late += late
		if ok {
			n.mixed++
		} else {
			n.missing++
		}
		if !c.started {
			continue // waiting for a start_on_enter member: everyone hears silence
		}
		var res vad.Result
		switch {
		case ok:
			res = m.vad.Process(pcm)
		case m.vad.Talking():
			res = m.vad.Process(c.zero) // a member that stops sending stops talking
		default:
			continue
		}
		c.talking(m, res)
		// Mixed: unmuted at the source (the mixer fades muted members
		// out itself) and talking or above the gate. The VAD alone would
		// take a steady tone for noise after 2-3 s.
		if ok && flags&frame.Muted == 0 && (res.Talking || res.Level >= gate) {
			_ = c.x.Put(m.token, pcm)
		}
	}
	return c.x.Mix(), n
}

// talking publishes the VAD's events of a member.
func (c *conference) talking(m *member, res vad.Result) {
	switch res.Event {
	case vad.Started:
		m.talkSince = c.ticks
		c.r.event(c, m.callID, &events.TalkingStarted{Level: round1(res.Level)})
	case vad.Stopped:
		d := time.Duration(c.ticks-m.talkSince)*mixer.FrameDuration - hangover
		c.r.event(c, m.callID, &events.TalkingStopped{Level: round1(res.Spurt), DurationMS: int(max(d, 0) / time.Millisecond)})
	}
}

// send encodes and publishes a tick's output. Callers hold c.mu.
func (c *conference) send(out *mixer.Output) {
	if out.Everyone != nil {
		level := dbfs(out.Everyone)
		var used [groups]bool
		for _, g := range out.Listeners {
			e := c.sharedEncoder(g.Key)
			if e == nil {
				continue
			}
			used[g.Key] = true
			payload, err := e.encode(out.Everyone)
			if err != nil {
				c.r.met.errors.WithLabelValues(errEncode).Inc()
				continue
			}
			for _, id := range g.Members {
				if m := c.members[id]; m != nil {
					c.publish(m, e, payload, level, out.Silent)
				}
			}
		}
		// Keep a group's encoder warm while all its members speak, so
		// that a member who falls silent joins a continuous stream.
		for k, e := range c.shared {
			if e != nil && !used[k] {
				_, _ = e.encode(out.Everyone)
			}
		}
	}
	for _, s := range out.Speakers {
		m := c.members[s.Member]
		if m == nil {
			continue
		}
		payload, err := m.enc.encode(s.PCM)
		if err != nil {
			c.r.met.errors.WithLabelValues(errEncode).Inc()
			continue
		}
		c.publish(m, m.enc, payload, dbfs(s.PCM), false)
	}
}

// sharedEncoder returns the listeners' encoder of a group, made on first
// use and kept while the room has members of its codec.
func (c *conference) sharedEncoder(key int) *encoder {
	if key <= 0 || key >= groups {
		return nil
	}
	if e := c.shared[key]; e != nil {
		return e
	}
	e, err := newEncoder(frame.Codec(key), c.rate, c.r.cfg.Opus)
	if err != nil {
		c.r.met.errors.WithLabelValues(errEncode).Inc()
		return nil
	}
	c.shared[key] = e
	return e
}

// publish sends one out-frame to a member, with the member's own sequence
// number and timestamp whichever encoder made the payload.
func (c *conference) publish(m *member, e *encoder, payload []byte, level int, silent bool) {
	f := frame.Frame{
		Codec: m.codec, Level: level, Rate: e.rate, Samples: e.samples,
		Seq: m.seq, Timestamp: m.ts, Payload: payload,
	}
	if !m.sent {
		f.Flags |= frame.Discontinuity
		m.sent = true
	}
	if silent {
		f.Flags |= frame.Silence
	}
	m.seq++
	m.ts += uint64(e.samples)
	b, err := f.AppendBinary(c.pkt[:0])
	if err != nil {
		c.r.met.errors.WithLabelValues(errEncode).Inc()
		return
	}
	c.pkt = b
	_ = c.r.out(m.outSubject, b)
}

// dbfs is the frame's level as a frame header carries it.
func dbfs(pcm []int16) int {
	return int(math.Round(min(max(vad.Level(pcm), vad.Silence), 0)))
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }
