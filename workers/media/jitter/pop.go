package jitter

import "time"

// Pop returns the frame to play now. The caller's playout clock calls it
// once per frame period (Stats().FrameDuration once learned); now is the
// tick's time. The bool is true when the frame is Ok or Lost (there is
// audio to decode or conceal) and false for Empty.
func (b *Buffer) Pop(now time.Time) (Frame, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.clk.units(now)
	b.updateTarget(t)
	if !b.active {
		return Frame{}, false
	}
	if !b.playing {
		// Filling: the first packet waits until it has the target delay
		// (StartDelay until measurements say otherwise).
		head := b.ring.firstHeld(b.nextSeq)
		if head == nil || b.delay(t, head.ts) < b.target {
			return Frame{}, false
		}
		// Start at the head, through the same path as every frame: a
		// backlog (nobody popped for a while) is skipped down to MaxDelay.
		b.playing = true
		b.nextSeq, b.nextTs = head.seq, head.ts
		b.lastGrow, b.excess, b.emptyRun = t, false, 0
	}
	// Each pass that does not return moves the cursor past one packet, so
	// the loop ends within the ring's size.
	for range len(b.ring.slots) + 1 {
		if s := b.ring.get(b.nextSeq); s != nil {
			if f, done := b.popHeld(t, s); done {
				return f, f.Status != Empty
			}
			continue
		}
		if q := b.ring.firstHeld(b.nextSeq); q != nil {
			if f, done := b.popMissing(t, q); done {
				return f, f.Status != Empty
			}
			continue
		}
		return b.popDry(t), false
	}
	return Frame{}, false
}

// popHeld decides about the packet at the cursor. done is false when it was
// discarded and the cursor moved on.
func (b *Buffer) popHeld(t int64, s *slot) (f Frame, done bool) {
	if s.ts < b.nextTs {
		// Its time passed while it was missing (Lost reported, or the
		// cursor followed the clock in an underrun).
		b.ring.release(s)
		b.st.Late++
		b.nextSeq++
		return Frame{}, false
	}
	gap := s.ts - b.nextTs
	if b.adrift || gap >= b.frame || (s.marker && gap > 0) {
		// A talkspurt starts after silence (no packets sent, RFC 3551
		// §4.1: contiguous sequence numbers, a timestamp gap, usually the
		// marker bit), or audio resumes after an outage. Here the delay
		// changes for free: the talkspurt starts when its first packet has
		// the target delay, so the silence is stretched or shortened
		// (Ramjee et al. 1994 adapt only at this point).
		if b.delay(t, s.ts) < b.target {
			return Frame{}, true
		}
		return b.play(t, s, true), true
	}
	b.nextTs = s.ts // a step shorter than a frame: same talkspurt
	d := b.delay(t, s.ts)
	band := b.target + b.frame + b.hyst()
	next := b.follower(s)
	switch {
	case d > b.maxDelay+b.frame+b.hyst() && next != nil:
		// Far beyond MaxDelay (the timing reference moved): catch up now.
		b.skip(s)
		return Frame{}, false
	case d >= band:
		if !b.excess {
			b.excess, b.excessSince = true, t
		} else if next != nil && t-b.excessSince >= b.shrinkAfter {
			b.excessSince = t
			b.skip(s)
			return Frame{}, false
		}
	case d < b.target:
		b.excess = false
		if t-b.lastGrow >= b.growEvery {
			// Hold this frame back one period: the caller conceals, the
			// delay grows by a frame.
			b.lastGrow = t
			b.st.Inserted++
			return Frame{}, true
		}
	default:
		b.excess = false
	}
	return b.play(t, s, false), true
}

// popMissing handles a gap at the cursor when a later packet q is held: the
// packets between are lost (or so late that they will be dropped when they
// come). Each is reported Lost at its play time, so that the caller
// conceals it (with Opus, from the FEC of the packet after it), unless its
// time has already gone.
func (b *Buffer) popMissing(t int64, q *slot) (f Frame, done bool) {
	missing := q.seq - b.nextSeq
	room := max((q.ts-b.nextTs)/b.frame, 0) // frames of time before q
	if room < missing {
		// No time left for the first ones (their play time passed in an
		// underrun, or another payload type, filtered out before Push,
		// shared the sequence numbers): count them, conceal nothing.
		b.st.Lost += uint64(missing - room)
		b.nextSeq += missing - room
		return Frame{}, false
	}
	// With more time than packets, silence came before the missing ones:
	// they start q's talkspurt, whose marked first packet is among them.
	// Otherwise they continue the current talkspurt (q may start the next).
	head := !q.marker && room > missing
	switch {
	case head:
		start := q.ts - missing*b.frame
		if b.delay(t, start) < b.target {
			return Frame{}, true // a talkspurt start: wait for its delay
		}
		b.nextTs = start
	case b.adrift:
		// After an outage longer than MaxDelay their time is gone: the
		// Empty frames stood in for them and, as packets were sent, were
		// an underrun. q resumes playout like a talkspurt.
		b.st.Lost += uint64(missing)
		b.st.Underrun += b.emptyRun
		b.emptyRun = 0
		b.nextSeq = q.seq
		return Frame{}, false
	case room == missing:
		// A loss within a talkspurt: Empty frames before it were waiting
		// for this packet, an underrun.
		b.st.Underrun += b.emptyRun
	}
	b.emptyRun = 0
	b.adrift = false
	f = Frame{
		Status:         Lost,
		Timestamp:      uint32(b.nextTs),
		SequenceNumber: uint16(b.nextSeq),
		Samples:        uint32(b.frame),
	}
	b.lastDelay = b.delay(t, b.nextTs)
	b.st.Lost++
	b.nextSeq++
	b.nextTs += b.frame
	return f, true
}

// popDry handles an empty buffer: silence or underrun, which only the next
// packet will tell apart. The cursor stays, so the delay grows by a frame
// per Pop, until MaxDelay; from then on it follows the clock, and packets
// that come later than that are dropped as late.
func (b *Buffer) popDry(t int64) Frame {
	b.emptyRun++
	if b.delay(t, b.nextTs) > b.maxDelay {
		b.nextTs += b.frame
		b.adrift = true
	}
	return Frame{}
}

// play hands out the held packet s as an Ok frame and moves the cursor past
// it. boundary is true at the start of playout or of a talkspurt.
func (b *Buffer) play(t int64, s *slot, boundary bool) Frame {
	dur := b.duration(s)
	f := Frame{
		Status:         Ok,
		Timestamp:      uint32(s.ts),
		SequenceNumber: uint16(s.seq),
		Samples:        uint32(dur),
		PayloadType:    s.pt,
		Marker:         s.marker,
	}
	// Swap, not copy: the slot takes the buffer handed out last time
	// (which the caller has finished with, by contract).
	b.out, s.buf = s.buf, b.out[:0]
	f.Payload = b.out
	b.ring.release(s)
	b.lastDelay = b.delay(t, s.ts)
	b.nextSeq, b.nextTs = s.seq+1, s.ts+dur
	b.adrift = false
	if boundary {
		b.excess = false // silence before: not an underrun
	} else {
		b.st.Underrun += b.emptyRun
	}
	b.emptyRun = 0
	b.st.Played++
	return f
}

// skip drops the held packet s to shrink the delay by its duration.
func (b *Buffer) skip(s *slot) {
	dur := b.duration(s)
	b.ring.release(s)
	b.st.Skipped++
	b.nextSeq, b.nextTs = s.seq+1, s.ts+dur
}

// Peek returns the packet the next Pop would start from, if it is held,
// without consuming it. After Pop returned Lost, this is the packet after
// the lost one: an Opus decoder recovers the lost frame from its in-band
// FEC (LBRR, RFC 6716 §2.1.7) with DecodeFEC, and plays the packet itself
// at the next Pop. The Payload is a copy, valid until the next Peek.
func (b *Buffer) Peek() (Frame, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.active {
		return Frame{}, false
	}
	s := b.ring.get(b.nextSeq)
	if s == nil || s.ts < b.nextTs {
		return Frame{}, false
	}
	b.peek = append(b.peek[:0], s.buf...)
	return Frame{
		Status:         Ok,
		Payload:        b.peek,
		Timestamp:      uint32(s.ts),
		SequenceNumber: uint16(s.seq),
		Samples:        uint32(b.duration(s)),
		PayloadType:    s.pt,
		Marker:         s.marker,
	}, true
}
