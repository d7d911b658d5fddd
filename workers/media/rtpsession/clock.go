package rtpsession

// Clock is the timing of an outgoing RTP stream (RFC 3550 §5.1): the next
// sequence number and timestamp, and runs of packets that carry their own
// timestamp — RFC 4733 events, whose packets all bear the event's start
// (§2.3.1) and which replace the audio meanwhile (§2.5.1.1) — after which
// the timestamp has moved on by the run's length and the next frame is
// marked as a talkspurt's first (RFC 3551 §4.1). Both kinds of leg
// (Session here, webrtcpeer.Leg) send with one. It does no locking: its
// owner holds its send lock around every call.
type Clock struct {
	seq      uint16
	ts       uint32
	inEvent  bool // between BeginEvent and EndEvent
	markNext bool // mark the next frame (after an event)
}

// NewClock starts a clock at a (random, RFC 3550 §5.1) sequence number
// and timestamp.
func NewClock(seq uint16, ts uint32) Clock { return Clock{seq: seq, ts: ts} }

// Timestamp is the timestamp the next frame will carry.
func (c *Clock) Timestamp() uint32 { return c.ts }

// BeginEvent starts a run of packets with their own timestamps and
// returns the timestamp it starts at.
func (c *Clock) BeginEvent() uint32 {
	c.inEvent = true
	return c.ts
}

// EndEvent ends the run: the timestamp advances by samples, the run's
// length, and the next frame is marked.
func (c *Clock) EndEvent(samples uint32) {
	c.inEvent = false
	c.ts += samples
	c.markNext = true
}

// Skip advances the timestamp by samples with nothing sent (silence, a
// frame not played); during a run EndEvent accounts for the time.
func (c *Clock) Skip(samples uint32) {
	if !c.inEvent {
		c.ts += samples
	}
}

// Frame stamps the next frame of samples: its timestamp and marker (the
// caller's, or the one owed after a run), and moves the timestamp on. ok
// is false during a run: the frame is dropped and the clock holds.
func (c *Clock) Frame(samples uint32, marker bool) (ts uint32, mark, ok bool) {
	if c.inEvent {
		return 0, false, false
	}
	ts = c.ts
	c.ts += samples
	if c.markNext {
		marker, c.markNext = true, false
	}
	return ts, marker, true
}

// Seq returns the sequence number of the packet about to be sent and
// moves past it.
func (c *Clock) Seq() uint16 {
	s := c.seq
	c.seq++
	return s
}
