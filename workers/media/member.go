package media

import (
	"math"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/workers/conference/frame"
	"github.com/switchboard-voip/switchboard/workers/conference/vad"
	"github.com/switchboard-voip/switchboard/workers/media/codec"
	"github.com/switchboard-voip/switchboard/workers/media/resample"
)

// A conference member's media on this node. The mixer runs in the
// conference role, anywhere; the member's call stays where its dialog is.
// Audio crosses as frames (workers/conference/frame) on subjects named by
// conference and call (events.ConferenceInSubject, ConferenceOutSubject):
//
//   - in (phone -> mixer): the call's decoded leg (leg.go) with a
//     memberSink: jitter buffer and playout clock as for a transcoded
//     bridge, decoded at the room's rate (Opus natively, G.711 at 8 kHz
//     then resampled), cut into 20 ms PCM frames and published.
//   - out (mixer -> phone): a subscription whose handler writes each
//     frame's payload, already encoded in the call's codec by the mixer,
//     to the call's RTP session.

// frameMS is the duration of the frames published to the mixer.
const frameMS = 20

// member is a call's membership of a conference on this node. Its fields
// are set before it is published (Call.member) and read-only after, but
// for the atomics and the out path's state, which the subscription's
// goroutine alone uses.
type member struct {
	rate    int    // of the PCM frames the mixer wants
	subject string // ConferenceInSubject
	start   time.Time
	nc      *nats.Conn
	met     *confCounters
	sub     *nats.Subscription

	seq  atomic.Uint32 // of the next frame published, across legs
	held atomic.Bool   // the call is on hold: no frames either way

	// The out path, on the subscription's goroutine.
	rx      frame.Frame
	lastSeq uint32
	sending bool // a packet went out: the next follows it
}

// confCounters are sb_media_conference_frames_total's children, resolved
// once so that the media path does no label lookup.
type confCounters struct {
	inSent, inDropped                         prometheus.Counter
	outSent, outDropped, outBad, outWrongKind prometheus.Counter
}

func newConfCounters(v *prometheus.CounterVec) *confCounters {
	return &confCounters{
		inSent: v.WithLabelValues("in", "sent"), inDropped: v.WithLabelValues("in", "dropped"),
		outSent: v.WithLabelValues("out", "sent"), outDropped: v.WithLabelValues("out", "dropped"),
		outBad: v.WithLabelValues("out", "bad"), outWrongKind: v.WithLabelValues("out", "wrong_codec"),
	}
}

// startMember makes c a member of c.Conference on this node: its received
// audio goes to the mixer instead of wherever it went (echo), and what the
// mixer sends it goes to its RTP session. Under the partition lock.
func (r *Role) startMember(c *Call) error {
	m := &member{
		rate: c.ConferenceRate, subject: events.ConferenceInSubject(c.Conference, c.ID),
		start: time.Now(), nc: r.nc, met: r.met.conf,
	}
	m.rx.PCM = make([]int16, 0, frame.MaxDuration.Milliseconds()*48) // PCM is refused, but parsed first
	m.held.Store(c.HeldRemote || c.HeldApp)
	sub, err := r.nc.Subscribe(events.ConferenceOutSubject(c.Conference, c.ID), func(msg *nats.Msg) { m.onOut(c, msg.Data) })
	if err != nil {
		return err
	}
	m.sub = sub
	c.forward.Store(nil) // no more echo
	c.stopMember()
	c.member.Store(m)
	return nil
}

// stopMember ends the call's membership on this node, at once: its leg
// stops publishing and its out-subscription ends. c.Conference is left to
// the caller (a partition released keeps it for the next owner).
func (c *Call) stopMember() {
	m := c.member.Swap(nil)
	if m == nil {
		return
	}
	_ = m.sub.Unsubscribe()
	if l := c.leg.Load(); l != nil && l.m == m {
		l.detach(c.play)
	}
}

// syncHold tells the member path whether the call is on hold (either side).
func (c *Call) syncHold() {
	if m := c.member.Load(); m != nil {
		m.held.Store(c.HeldRemote || c.HeldApp)
	}
}

// ---- out: mixer -> phone ----

// onOut sends one frame from the mixer to the phone. The payload is in the
// call's codec already; its RTP timestamp advances by the frame's duration
// on the codec's RTP clock (8 kHz for G.711, 48 kHz for Opus whatever rate
// it was encoded at, RFC 7587 §4.1).
func (m *member) onOut(c *Call, data []byte) {
	f := &m.rx
	if err := frame.Unmarshal(data, f); err != nil {
		m.met.outBad.Inc()
		return
	}
	in, s := c.format.Load(), c.sess.Load()
	if in == nil || s == nil || m.held.Load() || c.member.Load() != m {
		m.met.outDropped.Inc()
		return
	}
	if kindOf(f.Codec) != in.kind {
		m.met.outWrongKind.Inc()
		return
	}
	step := uint32(f.Samples)
	if in.kind == kindOpus {
		step = uint32(f.Samples * codec.OpusClockRate / f.Rate)
	}
	marker := !m.sending || f.Flags&frame.Discontinuity != 0
	if gap := f.Seq - m.lastSeq - 1; m.sending && !marker && gap != 0 {
		// Frames the mixer did not send (or NATS lost): the timestamp
		// covers them, and the next packet starts a talkspurt (RFC 3551
		// §4.1). A jump of more than a second is a new stream.
		if gap < 1000/frameMS {
			s.Skip(gap * step)
		}
		marker = true
	}
	if err := s.WriteSample(f.Payload, step, marker); err != nil {
		m.met.outDropped.Inc()
		return
	}
	m.sending, m.lastSeq = true, f.Seq
	m.met.outSent.Inc()
}

// kindOf is the RTP path's codec kind of an encoded frame (-1: PCM, which
// no phone takes).
func kindOf(c frame.Codec) int {
	switch c {
	case frame.PCMU:
		return kindPCMU
	case frame.PCMA:
		return kindPCMA
	case frame.Opus:
		return kindOpus
	}
	return -1
}

// ---- in: phone -> mixer ----

// memberSink cuts one leg's decoded audio into 20 ms PCM frames at the
// room's rate and publishes them, one every 20 ms: a 60 ms packet's three
// frames go out 20 ms apart, as the mixer takes them. A leg has its own
// sink (its resampler's and frames' state belong to one stream); the
// sequence number is the member's, so that it runs on across legs.
type memberSink struct {
	m   *member
	c   *Call
	dec codec.Decoder       // the leg's: Opus at m.rate, G.711 at 8 kHz
	rs  *resample.Resampler // dec's rate to m.rate; nil when they are equal
	up  []int16             // rs's output
	acc []int16             // the frame being filled
	n   int                 // samples in acc
	ts  uint64              // timestamp of acc[0], samples at m.rate
	dis bool                // the next frame follows a gap
	f   frame.Frame

	// Frames made and waiting for their time: a ring of marshalled
	// messages, each with room for one frame.
	q      [maxQueued]queued
	qh, qn int
}

// queued is one frame waiting in a memberSink.
type queued struct {
	b   []byte
	due time.Time
}

// maxQueued holds the frames of the longest packet decoded, and the one a
// packet's rest may complete.
const maxQueued = codec.MaxPacketMS/frameMS + 1

// newSink makes the sink of a new leg of c receiving format in, with a
// decoder of its own: a leg that stops (a new rate, a detach) may be
// finishing a frame on one shard while the next starts on another. Opus
// decodes straight to the room's rate (libopus runs at 8, 16 and 48 kHz);
// G.711 decodes at 8 kHz and is resampled.
func (m *member) newSink(c *Call, in *audioFormat) (*memberSink, error) {
	s := &memberSink{m: m, c: c, acc: make([]int16, m.rate*frameMS/1000), dis: true}
	var err error
	if s.dec, err = newDecoder(in.kind, m.rate); err != nil {
		return nil, err
	}
	if r := s.dec.SampleRate(); r != m.rate {
		if s.rs, err = resample.New(r, m.rate); err != nil {
			return nil, err
		}
		s.up = make([]int16, s.rs.MaxOutLen(codec.MaxPacketSamples(r)))
	}
	// The stream's clock starts with the membership: a new leg (a codec
	// change) carries on from where the time is now.
	s.ts = uint64(time.Since(m.start)/time.Millisecond) * uint64(m.rate) / 1000
	for i := range s.q {
		s.q[i].b = make([]byte, 0, frame.HeaderLen+2*len(s.acc))
	}
	return s, nil
}

func (s *memberSink) live(*audioFormat) bool { return s.c.member.Load() == s.m }

// write collects pcm, due at due, into frames: the first frame it
// completes is due at once, each next one 20 ms later.
func (s *memberSink) write(pcm []int16, _ bool, due time.Time, _ *playout) bool {
	if s.rs != nil {
		n, err := s.rs.Process(s.up, pcm)
		if err != nil {
			return false
		}
		pcm = s.up[:n]
	}
	for len(pcm) > 0 {
		k := copy(s.acc[s.n:], pcm)
		s.n += k
		pcm = pcm[k:]
		if s.n == len(s.acc) {
			s.queue(due)
			due = due.Add(frameMS * time.Millisecond)
		}
	}
	return true
}

// skip: the jitter buffer ran dry beyond concealment. Nothing is published
// (the mixer takes a missing frame for silence); the part of a frame
// collected is dropped, and the next frame is marked as following a gap.
func (s *memberSink) skip(samples int) {
	s.ts += uint64(s.n + samples*s.m.rate/s.dec.SampleRate())
	s.n = 0
	if !s.dis && s.rs != nil {
		s.rs.Reset() // the old sound does not ring into the next
	}
	s.dis = true
}

// queue makes the frame in acc, due at due.
func (s *memberSink) queue(due time.Time) {
	if s.qn == len(s.q) {
		s.publish() // a backlog (the shard played several packets in one tick): the oldest goes now
	}
	f := &s.f
	f.Codec, f.Rate, f.Samples, f.PCM = frame.PCM, s.m.rate, len(s.acc), s.acc
	f.Seq = s.m.seq.Add(1) - 1
	f.Timestamp = s.ts
	f.Level = int(math.Round(max(vad.Level(s.acc), -127)))
	f.Flags = 0
	if s.dis {
		f.Flags = frame.Discontinuity
	}
	e := &s.q[(s.qh+s.qn)%len(s.q)]
	var err error
	if e.b, err = f.AppendBinary(e.b[:0]); err != nil {
		s.m.met.inDropped.Inc() // cannot happen: the fields are ours
	} else {
		e.due = due
		s.qn++
	}
	s.ts += uint64(len(s.acc))
	s.n, s.dis = 0, false
}

func (s *memberSink) flush(now time.Time) {
	for s.qn > 0 && !s.q[s.qh].due.After(now) {
		s.publish()
	}
}

// publish sends the oldest queued frame.
func (s *memberSink) publish() {
	e := &s.q[s.qh]
	s.qh, s.qn = (s.qh+1)%len(s.q), s.qn-1
	if err := s.m.nc.Publish(s.m.subject, e.b); err != nil { // copied into the connection's buffer
		s.m.met.inDropped.Inc()
		return
	}
	s.m.met.inSent.Inc()
}
