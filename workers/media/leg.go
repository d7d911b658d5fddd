package media

import (
	"sync/atomic"
	"time"

	"github.com/switchboard-voip/switchboard/workers/media/codec"
	"github.com/switchboard-voip/switchboard/workers/media/jitter"
)

// leg is the decoded receive path of one call: jitter buffer, decoder with
// FEC and concealment, and the encoder of the leg it is bridged to. The
// call's RTP goroutine pushes packets (onAudio); the playout clock's shard
// does everything else, so the fields below jb are the shard's alone.
type leg struct {
	c  *Call
	in *audioFormat // the format the buffer was made for
	jb *jitter.Buffer

	shard *shard

	next    time.Time // when the next frame is due
	frameN  int       // samples of a frame at transcodeRate, learned from decoded frames
	pcm     []int16
	gap     int  // frames concealed since the last decoded one
	sending bool // the last frame was sent: after a gap the next one is marked

	concealed atomic.Uint64 // frames made up by FEC or concealment
	detached  atomic.Bool
}

// maxConcealed bounds the frames made up in a row: past 100 ms the far
// end's own silence handling does better than invented audio.
const maxConcealed = 5

// startLeg gives c a new decoded path for format in (on the call's RTP
// goroutine, the only writer of c.leg besides stopMedia).
func (c *Call) startLeg(in *audioFormat) *leg {
	p := c.play
	cfg := p.cfg.Jitter
	cfg.ClockRate = in.rate
	l := &leg{
		c: c, in: in, jb: jitter.New(cfg),
		next:   time.Now(),
		frameN: transcodeRate / 50, // 20 ms until a frame says otherwise
		pcm:    make([]int16, codec.MaxPacketSamples(transcodeRate)),
	}
	if old := c.leg.Swap(l); old != nil {
		p.remove(old)
	}
	p.add(l)
	return l
}

// detach takes l off the clock (the call was unbridged, ended, or changed
// codec); the next packet that needs decoding starts a new leg. The call
// keeps pointing at it until then, for its figures in media_stats.
func (l *leg) detach(p *playout) {
	if l.detached.Swap(true) {
		return
	}
	p.remove(l)
}

// period is the frame period: one decoded frame's duration.
func (l *leg) period() time.Duration {
	return time.Duration(l.frameN) * time.Second / transcodeRate
}

// run plays the frames due by now and returns how many went out late:
// more than a frame period after they were due.
func (l *leg) run(now time.Time, p *playout) (late int) {
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
			l.skip(missed)
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

// skip advances the other leg's timestamp over n frames not sent.
func (l *leg) skip(n int) {
	dst := l.c.forward.Load()
	if dst == nil {
		return
	}
	if s, out := dst.sess.Load(), dst.format.Load(); s != nil && out != nil {
		s.Skip(out.steps(l.frameN) * uint32(n))
	}
	l.sending = false
}

// play produces the frame due at due.
func (l *leg) play(due time.Time, p *playout) {
	c := l.c
	dst, in := c.forward.Load(), c.format.Load()
	if dst == nil || in != l.in {
		l.detach(p)
		return
	}
	s, out := dst.sess.Load(), dst.format.Load()
	if s == nil || out == nil || !decodes(in, out) {
		l.detach(p)
		return
	}
	f, _ := l.jb.Pop(due)
	n := 0
	switch f.Status {
	case jitter.Ok:
		if m, err := in.dec.Decode(f.Payload, l.pcm); err == nil && m > 0 {
			n, l.gap, l.frameN = m, 0, m
		} else {
			n = l.conceal(in, false, l.frameN)
		}
	case jitter.Lost:
		n = l.conceal(in, true, int(uint64(f.Samples)*transcodeRate/uint64(in.rate)))
	case jitter.Empty:
		// Underrun or silence: let the last sound run on and fade for a
		// few frames (concealment), then go quiet.
		if l.sending && l.gap < maxConcealed {
			n = l.conceal(in, false, l.frameN)
		}
	}
	if n == 0 {
		s.Skip(out.steps(l.frameN))
		l.sending = false
		return
	}
	first := !l.sending
	l.sending = out.send(s, l.pcm[:n], first, p.gov.complexity())
}

// conceal makes up one frame of want samples: from the next packet's
// in-band FEC when asked and there is one (Opus, RFC 6716 §2.1.7), else by
// the decoder's concealment (Opus PLC; G.711 Appendix I repeat and fade).
func (l *leg) conceal(in *audioFormat, fec bool, want int) int {
	if l.gap >= maxConcealed {
		return 0
	}
	want = min(max(want, transcodeRate/100), len(l.pcm))
	var n int
	var err error
	if d, ok := in.dec.(codec.FECDecoder); fec && ok {
		if next, ok := l.jb.Peek(); ok {
			n, err = d.DecodeFEC(next.Payload, l.pcm)
		} else {
			n, err = in.dec.Conceal(l.pcm[:want])
		}
	} else {
		n, err = in.dec.Conceal(l.pcm[:want])
	}
	if err != nil {
		return 0
	}
	l.gap++
	l.concealed.Add(1)
	return n
}

// decodes reports whether audio from in to out goes through PCM: G.711 on
// one side and Opus on the other. The same codec is relayed as is, and
// PCMU<->PCMA by a table.
func decodes(in, out *audioFormat) bool {
	return in.kind != out.kind && (in.kind == kindOpus || out.kind == kindOpus)
}
