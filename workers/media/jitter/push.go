package jitter

import (
	"time"

	"github.com/pion/rtp"
)

// Push stores a received packet; now is its arrival time. The payload is
// copied (into storage the buffer owns and reuses, so Push does not
// allocate once warm): rtpsession reuses the packet after OnPacket
// returns. Packets the buffer cannot use are dropped and counted in Stats;
// Push never fails.
//
// Push expects the packets of one stream, already filtered by payload type
// (telephone-event, RFC 4733, goes elsewhere) and validated by RFC 3550
// A.1 as rtpsession does: a sequence jump that reaches the buffer is taken
// as the sender's restart.
func (b *Buffer) Push(pkt *rtp.Packet, now time.Time) {
	if pkt == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.clk.units(now)

	if !b.active || pkt.SSRC != b.ssrc {
		// RFC 3550 §8.2: a new SSRC is a new stream, with its own sequence
		// and timestamp spaces.
		if b.active {
			b.st.Resets++
		}
		b.active, b.ssrc = true, pkt.SSRC
		b.restart(pkt.SequenceNumber, pkt.Timestamp)
	}
	seq := extendSeq(b.maxSeq, pkt.SequenceNumber)
	ts := extendTs(b.maxTs, pkt.Timestamp)
	if b.discontinuity(seq, ts) {
		b.st.Resyncs++
		b.restart(pkt.SequenceNumber, pkt.Timestamp)
		seq, ts = b.maxSeq, b.maxTs
	}
	if s := b.ring.at(seq); s.seq == seq && s.state != slotFree {
		b.st.Duplicate++ // says nothing new about the network: not measured
		return
	}

	// Every other packet is measured, late ones included: they are the
	// evidence that the delay was too short.
	b.est.observe(t, ts, b.startDelay, b.frame)
	b.updateTarget(t)

	switch {
	case seq < b.nextSeq:
		if !b.playing && b.maxSeq-seq < int64(len(b.ring.slots)) && ts <= b.nextTs && b.maxTs-ts <= maxTsJump {
			// Reordered before the first packet while filling: it becomes
			// the head.
			b.nextSeq, b.nextTs = seq, ts
			b.store(seq, ts, pkt)
			return
		}
		b.late(seq, ts)
		return
	case ts < b.nextTs:
		if b.playing {
			// The cursor has moved past this packet's time (it waited in an
			// underrun up to MaxDelay): everything up to it is too old, and
			// the Empty frames before were an underrun, not silence.
			for ; b.nextSeq <= seq; b.nextSeq++ {
				if s := b.ring.get(b.nextSeq); s != nil {
					b.ring.release(s)
					b.st.Late++
				}
			}
			b.st.Underrun += b.emptyRun
			b.emptyRun = 0
		}
		b.late(seq, ts)
		return
	case ts-b.nextTs > maxTsJump:
		// An older packet (by sequence) from far in the future (by
		// timestamp): it cannot be played in order.
		b.late(seq, ts)
		return
	}
	if seq-b.nextSeq >= int64(len(b.ring.slots)) {
		b.overflow(seq)
	}
	b.store(seq, ts, pkt)
}

// discontinuity reports whether the packet (seq, ts) starts a new timeline
// of the same SSRC: far behind the newest packet (RFC 3550 A.1: more than
// MAX_MISORDER), further ahead than the ring holds (a loss burst longer
// than the buffer, or a restart), or newer by sequence but older by
// timestamp or absurdly far ahead (an SBC or PBX that restarted its
// timestamps on a re-INVITE without changing SSRC).
func (b *Buffer) discontinuity(seq, ts int64) bool {
	switch {
	case b.maxSeq-seq > maxMisorder:
		return true
	case seq-b.maxSeq >= int64(len(b.ring.slots)):
		return true
	case seq > b.maxSeq && (ts < b.maxTs || ts-b.nextTs > maxTsJump):
		return true
	}
	return false
}

// late drops a packet whose play time has passed, and remembers it (when its
// slot is not taken) so that a second copy counts as a duplicate.
func (b *Buffer) late(seq, ts int64) {
	b.st.Late++
	if s := b.ring.at(seq); s.state != slotHeld {
		s.seq, s.ts, s.state = seq, ts, slotGone
	}
}

// overflow makes room for seq by dropping the oldest packets: the caller is
// not popping (or a burst exceeds MaxPackets), and the newest audio is the
// one worth keeping.
func (b *Buffer) overflow(seq int64) {
	for n := int64(len(b.ring.slots)); b.nextSeq <= seq-n; b.nextSeq++ {
		if s := b.ring.get(b.nextSeq); s != nil {
			b.ring.release(s)
			b.st.Overflow++
			b.nextTs = max(b.nextTs, s.ts+b.frame)
		}
	}
}

// store copies the packet into its slot.
func (b *Buffer) store(seq, ts int64, pkt *rtp.Packet) {
	s := b.ring.at(seq)
	if s.state == slotHeld {
		// Unreachable: held packets are within MaxPackets of the cursor.
		// Kept as a guard so that a bug loses a packet, not the stream.
		b.ring.release(s)
		b.st.Overflow++
	}
	s.seq, s.ts = seq, ts
	s.pt, s.marker = pkt.PayloadType, pkt.Marker
	s.buf = append(s.buf[:0], pkt.Payload...)
	s.state = slotHeld
	b.ring.held++
	b.st.Received++
	switch {
	case seq < b.maxSeq:
		b.st.Reordered++
	case seq > b.maxSeq:
		b.maxSeq, b.maxTs = seq, ts
	}
	b.learn(s)
}

// learn updates the frame duration from the timestamp steps between s and
// its neighbours in sequence. A step across a talkspurt start is silence,
// and one above 120 ms cannot be a single packet (RFC 6716 §3.2.5).
func (b *Buffer) learn(s *slot) {
	if p := b.ring.at(s.seq - 1); p.seq == s.seq-1 && p.state != slotFree && !s.marker {
		b.learnStep(s.ts - p.ts)
	}
	if n := b.ring.get(s.seq + 1); n != nil && !n.marker {
		b.learnStep(n.ts - s.ts)
	}
}

func (b *Buffer) learnStep(d int64) {
	if d <= 0 || d > b.maxFrame {
		return
	}
	if d == b.learnDur {
		b.learnCount++
	} else {
		b.learnDur, b.learnCount = d, 1
	}
	if b.learnCount >= learnAgree {
		b.frame = d
	}
}
