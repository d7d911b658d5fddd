package media

import (
	"sync/atomic"
	"time"

	"github.com/switchboard-voip/switchboard/workers/media/codec"
	"github.com/switchboard-voip/switchboard/workers/media/jitter"
)

// leg is the decoded receive path of one call: jitter buffer, decoder with
// FEC and concealment, and a sink that takes the decoded audio: the
// encoder of the leg it is bridged to (peerSink), or a conference's mixer
// (memberSink). The call's RTP goroutine pushes packets (onAudio); the
// playout clock's shard does everything else, so the fields below shard
// are the shard's alone.
type leg struct {
	c   *Call
	in  *audioFormat // the format the buffer was made for
	jb  *jitter.Buffer
	dec codec.Decoder // to PCM at rate: in.dec, or the sink's own
	m   *member       // the conference the leg feeds; nil: the bridge peer
	out sink

	shard *shard

	rate    int       // the decoder's PCM rate, Hz
	next    time.Time // when the next frame is due
	frameN  int       // samples of a frame at rate, learned from decoded frames
	pcm     []int16
	gap     int  // frames concealed since the last decoded one
	sending bool // the last frame was sent: after a gap the next one is marked

	concealed atomic.Uint64 // frames made up by FEC or concealment
	detached  atomic.Bool
}

// sink takes a leg's decoded audio. Its methods run on the leg's shard.
type sink interface {
	// live reports whether the call still sends its audio, received in
	// format in, here; when it does not, the leg detaches.
	live(in *audioFormat) bool
	// write takes one decoded or concealed frame of PCM at the leg's
	// rate, due to play at due; first marks the first frame after a gap.
	// It reports whether the audio went on (a gap follows when it did
	// not).
	write(pcm []int16, first bool, due time.Time, p *playout) bool
	// skip says that samples (at the leg's rate) passed with nothing to
	// write: the stream's clock runs on over the gap.
	skip(samples int)
	// flush sends what is due by now of what write kept back; the shard
	// calls it every tick.
	flush(now time.Time)
}

// maxConcealed bounds the frames made up in a row: past 100 ms the far
// end's own silence handling does better than invented audio.
const maxConcealed = 5

// startLeg gives c a new decoded path for format in, feeding member m, or
// the bridge peer when m is nil (on the call's RTP goroutine, the only
// writer of c.leg besides stopMedia and stopMember). It returns nil when
// m's decoder cannot be made.
func (c *Call) startLeg(in *audioFormat, m *member) *leg {
	p := c.play
	var out sink = peerSink{c}
	dec := in.dec
	if m != nil {
		s, err := m.newSink(c, in)
		if err != nil {
			return nil
		}
		out, dec = s, s.dec
	}
	cfg := p.cfg.Jitter
	cfg.ClockRate = in.rate
	rate := dec.SampleRate()
	l := &leg{
		c: c, in: in, jb: jitter.New(cfg), dec: dec, m: m, out: out,
		rate:   rate,
		next:   time.Now(),
		frameN: rate / 50, // 20 ms until a frame says otherwise
		pcm:    make([]int16, codec.MaxPacketSamples(rate)),
	}
	p.add(l) // before others can find it in c.leg and detach it (add sets l.shard)
	if old := c.leg.Swap(l); old != nil {
		p.remove(old)
	}
	return l
}

// push queues pkt for the decoded path to m (nil: the bridge peer),
// starting one if the call has none for format in and m.
func (c *Call) push(pkt *rtpPacket, in *audioFormat, m *member) {
	if c.play == nil {
		return
	}
	l := c.leg.Load()
	if l == nil || l.in != in || l.m != m || l.detached.Load() {
		if l = c.startLeg(in, m); l == nil {
			return
		}
	}
	l.jb.Push(pkt, time.Now())
}

// detach takes l off the clock (the call was unbridged, left its
// conference, ended, or changed codec); the next packet that needs
// decoding starts a new leg. The call keeps pointing at it until then, for
// its figures in media_stats.
func (l *leg) detach(p *playout) {
	if l.detached.Swap(true) {
		return
	}
	p.remove(l)
}

// period is the frame period: one decoded frame's duration.
func (l *leg) period() time.Duration {
	return time.Duration(l.frameN) * time.Second / time.Duration(l.rate)
}

// run plays the frames due by now and returns how many went out late:
// more than a frame period after they were due.
func (l *leg) run(now time.Time, p *playout) (late int) {
	late = l.catchUp(now, p)
	if !l.detached.Load() {
		l.out.flush(now) // a detached leg's frames are dropped with it
	}
	return late
}

// catchUp is run's playing part.
func (l *leg) catchUp(now time.Time, p *playout) (late int) {
	for i := 0; !l.next.After(now); i++ {
		if l.detached.Load() {
			return late
		}
		if i == maxCatchUp {
			// Too far behind (the shard was starved): drop the backlog
			// rather than burst it; the far end hears a gap, the timestamps
			// say how long.
			missed := int(now.Sub(l.next)/l.period()) + 1
			late += missed
			l.next = l.next.Add(time.Duration(missed) * l.period())
			l.out.skip(l.frameN * missed)
			l.sending = false
			return late
		}
		if now.Sub(l.next) > l.period() {
			late++
		}
		l.play(l.next, p)
		l.next = l.next.Add(l.period())
	}
	return late
}

// play produces the frame due at due.
func (l *leg) play(due time.Time, p *playout) {
	in := l.c.format.Load()
	if in != l.in || !l.out.live(in) {
		l.detach(p)
		return
	}
	f, _ := l.jb.Pop(due)
	n := 0
	switch f.Status {
	case jitter.Ok:
		if m, err := l.dec.Decode(f.Payload, l.pcm); err == nil && m > 0 {
			n, l.gap, l.frameN = m, 0, m
		} else {
			n = l.conceal(false, l.frameN)
		}
	case jitter.Lost:
		n = l.conceal(true, int(uint64(f.Samples)*uint64(l.rate)/uint64(in.rate)))
	case jitter.Empty:
		// Underrun or silence: let the last sound run on and fade for a
		// few frames (concealment), then go quiet.
		if l.sending && l.gap < maxConcealed {
			n = l.conceal(false, l.frameN)
		}
	}
	if n == 0 {
		l.out.skip(l.frameN)
		l.sending = false
		return
	}
	l.sending = l.out.write(l.pcm[:n], !l.sending, due, p)
}

// conceal makes up one frame of want samples: from the next packet's
// in-band FEC when asked and there is one (Opus, RFC 6716 §2.1.7), else by
// the decoder's concealment (Opus PLC; G.711 Appendix I repeat and fade).
func (l *leg) conceal(fec bool, want int) int {
	if l.gap >= maxConcealed {
		return 0
	}
	want = min(max(want, l.rate/100), len(l.pcm))
	var n int
	var err error
	if d, ok := l.dec.(codec.FECDecoder); fec && ok {
		if next, ok := l.jb.Peek(); ok {
			n, err = d.DecodeFEC(next.Payload, l.pcm)
		} else {
			n, err = l.dec.Conceal(l.pcm[:want])
		}
	} else {
		n, err = l.dec.Conceal(l.pcm[:want])
	}
	if err != nil {
		return 0
	}
	l.gap++
	l.concealed.Add(1)
	return n
}

// peerSink is a bridge: the frames are encoded for the peer the call
// forwards to, found anew each frame (it changes with bridge and unbridge).
type peerSink struct{ c *Call }

// target is the peer's session and format, if the call forwards to one.
func (s peerSink) target() (*mediaBox, *audioFormat) {
	dst := s.c.forward.Load()
	if dst == nil {
		return nil, nil
	}
	sess, out := dst.sess.Load(), dst.format.Load()
	if sess == nil || out == nil {
		return nil, nil
	}
	return sess, out
}

func (s peerSink) live(in *audioFormat) bool {
	_, out := s.target()
	return out != nil && decodes(in, out) && s.c.member.Load() == nil
}

func (s peerSink) write(pcm []int16, first bool, _ time.Time, p *playout) bool {
	sess, out := s.target()
	return out != nil && out.send(sess, pcm, first, p.gov.complexity())
}

func (s peerSink) skip(samples int) {
	if sess, out := s.target(); out != nil {
		sess.Skip(out.steps(samples))
	}
}

func (peerSink) flush(time.Time) {} // the packets went out in write

// decodes reports whether audio from in to out goes through PCM: G.711 on
// one side and Opus on the other. The same codec is relayed as is, and
// PCMU<->PCMA by a table.
func decodes(in, out *audioFormat) bool {
	return in.kind != out.kind && (in.kind == kindOpus || out.kind == kindOpus)
}
