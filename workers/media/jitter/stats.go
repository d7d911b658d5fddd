package jitter

import "time"

// Stats is a snapshot of one buffer, for call-quality records next to the
// session's RTCP figures. Target, MaxDelay and the discard counters are
// what an RTCP XR VoIP Metrics block reports (RFC 3611 §4.7.5: JB nominal,
// maximum and discard rate); Jitter is the RFC 3550 A.8 estimate.
type Stats struct {
	// Target is the playout delay the buffer currently aims for, in
	// [MinDelay, MaxDelay]; Delay the playout delay of the last frame Pop
	// returned as Ok or Lost (zero before). Both are measured from the
	// fastest packet of the last 2 s, so network transit is not included.
	Target, Delay time.Duration
	// Jitter is the RFC 3550 A.8 interarrival jitter; JitterUnits is the
	// same in timestamp units, as an RTCP reception report carries it.
	Jitter      time.Duration
	JitterUnits uint32
	// FrameDuration is the packet duration learned from the timestamps of
	// consecutive packets (Config.FrameDuration until learned).
	FrameDuration time.Duration
	// Buffered is the number of packets held now (at most MaxPackets).
	Buffered int

	// Received counts packets stored; Played frames returned as Ok.
	Received, Played uint64
	// Lost counts missing packets: returned as Lost, or skipped without a
	// frame when the timestamps left no room for one.
	Lost uint64
	// Late counts packets dropped because their play time had passed
	// (including those beyond MaxDelay after a stall). Each is usually
	// also counted in Lost: the buffer had already concealed it.
	Late uint64
	// Duplicate counts copies of a packet already received.
	Duplicate uint64
	// Reordered counts packets that arrived after one with a higher
	// sequence number and were still in time.
	Reordered uint64
	// Overflow counts packets dropped, oldest first, because MaxPackets
	// were held (the caller was not popping, or a huge burst).
	Overflow uint64
	// Underrun counts Pops that returned Empty in the middle of a
	// talkspurt because the next packet had not arrived (silence does not
	// count: it is known afterwards from the timestamps).
	Underrun uint64
	// Skipped counts frames dropped to shrink the delay in mid-speech;
	// Inserted counts Empty frames returned to grow it. At talkspurt
	// boundaries the delay changes by moving the start of the talkspurt,
	// which costs no frame and is not counted.
	Skipped, Inserted uint64
	// Resyncs counts restarts of the timeline within one SSRC (a sequence
	// or timestamp jump); Resets counts SSRC changes (RFC 3550 §8.2).
	Resyncs, Resets uint64
}

// Stats returns a snapshot.
func (b *Buffer) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.st
	st.Target = unitsDur(b.target, b.rate)
	st.Delay = unitsDur(b.lastDelay, b.rate)
	j := b.est.jitter()
	st.Jitter = unitsDur(j, b.rate)
	st.JitterUnits = uint32(min(j, 1<<32-1))
	st.FrameDuration = unitsDur(b.frame, b.rate)
	st.Buffered = b.ring.held
	return st
}

// Delay returns the playout delay of the last frame Pop returned as Ok or
// Lost: how long after the fastest recent packet would have arrived it was
// played.
func (b *Buffer) Delay() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	return unitsDur(b.lastDelay, b.rate)
}

// Len returns the number of packets held.
func (b *Buffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ring.held
}
