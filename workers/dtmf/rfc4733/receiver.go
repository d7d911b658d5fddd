package rfc4733

import (
	"fmt"
	"time"

	"github.com/switchboard-voip/switchboard/workers/dtmf/digit"
)

// DefaultTimeout is how long a press may go without a packet before it is
// ended anyway: RFC 4733 §2.5.2.1 leaves the value to the receiver, and
// 300 ms is well above the 50 ms a sender waits between packets
// (§2.5.1.2) plus network jitter.
const DefaultTimeout = 300 * time.Millisecond

// Packet is what the Receiver needs of one telephone-event RTP packet. The
// caller demultiplexes by payload type: the telephone-event stream may have
// its own SSRC (sipp) or share the audio's (baresip); the Receiver only
// sees this stream.
type Packet struct {
	// SSRC identifies the source; events of different sources are
	// different events even if their timestamps match.
	SSRC uint32
	// SequenceNumber orders packets of one event.
	SequenceNumber uint16
	// Timestamp is the event's start (RFC 4733 §2.3.1): it is what tells
	// one press from the next.
	Timestamp uint32
	// Marker is the RTP marker bit. It is not relied on (§2.5.2.1: the
	// first packet may be lost, and some senders never set it).
	Marker bool
	// Payload is the RTP payload: one or more 4-byte event blocks.
	Payload []byte
}

// ReceiverConfig configures a Receiver.
type ReceiverConfig struct {
	// ClockRate is the telephone-event clock rate of the SDP rtpmap, 8000
	// or 48000; it turns durations into time. Required.
	ClockRate uint32
	// Timeout ends a press whose end packets were all lost once no packet
	// of it has arrived for this long. Zero means DefaultTimeout.
	Timeout time.Duration
	// FixedClockRate turns off the clock-rate check: by default a press
	// whose durations grow six times faster (or slower) against arrival
	// time than ClockRate says switches the receiver between 8000 and
	// 48000, because baresip on Opus calls counts 48 kHz units while its
	// SDP says telephone-event/8000.
	FixedClockRate bool
}

func (c *ReceiverConfig) fill() error {
	if c.ClockRate == 0 {
		return fmt.Errorf("%w: ClockRate is required", ErrConfig)
	}
	if c.Timeout < 0 {
		return fmt.Errorf("%w: negative Timeout", ErrConfig)
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return nil
}

// ReceiverStats counts what a Receiver has seen.
type ReceiverStats struct {
	// Packets is every Push.
	Packets uint64
	// Malformed counts payloads of a bad size and blocks that contradict
	// the event they belong to (another code at the same timestamp).
	Malformed uint64
	// Presses counts Ended events reported.
	Presses uint64
	// LostEnds counts presses ended without an end packet: by Timeout or
	// by the next event.
	LostEnds uint64
	// Duplicates counts blocks of events already ended or older than the
	// last one: the redundant end packets, duplicates and late packets.
	Duplicates uint64
	// Unknown counts events with codes 16 and up (flash, modem tones),
	// which are followed but not reported.
	Unknown uint64
}

// eventKey names one event: RFC 4733 §2.5.2.1 tells events apart by RTP
// timestamp, within one source.
type eventKey struct {
	ssrc, ts uint32
}

// press is the event being received.
type press struct {
	key     eventKey
	code    uint8
	base    uint64 // units of the long-event segments before key.ts (§2.5.1.3)
	dur     uint16 // longest duration seen in the current segment
	lastSeq uint16
	last    time.Time // arrival of the newest packet
	first   time.Time // arrival of the first growing packet, for the clock check
	firstU  uint64    // its total units
}

func (p *press) units() uint64 { return p.base + uint64(p.dur) }

// recentEvents is how many ended events are remembered to drop their late
// and redundant packets.
const recentEvents = 8

// Receiver turns one telephone-event stream into key presses. It is not
// safe for concurrent use; the media worker owns one per stream.
type Receiver struct {
	cfg    ReceiverConfig
	rate   uint32
	active bool
	cur    press
	recent [recentEvents]eventKey
	nextR  int
	nR     int
	last   eventKey // newest event seen, ended or not
	seen   bool
	stats  ReceiverStats
	blocks []Payload
}

// NewReceiver returns a Receiver, or an error wrapping ErrConfig.
func NewReceiver(cfg ReceiverConfig) (*Receiver, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	return &Receiver{cfg: cfg, rate: cfg.ClockRate, blocks: make([]Payload, 0, 4)}, nil
}

// ClockRate returns the clock rate durations are converted with: the
// configured one, or the one the clock-rate check settled on.
func (r *Receiver) ClockRate() uint32 { return r.rate }

// Stats returns the counters.
func (r *Receiver) Stats() ReceiverStats { return r.stats }

// Active reports whether a press is in progress (Started, not yet Ended).
func (r *Receiver) Active() bool { return r.active }

// Reset forgets the stream, ending nothing: for a media change, after the
// caller has called Flush.
func (r *Receiver) Reset() {
	*r = Receiver{cfg: r.cfg, rate: r.cfg.ClockRate, blocks: r.blocks[:0]}
}

// Push handles one packet that arrived at now, appending to out what it
// ends and starts. A payload of a bad size is counted, reported as an
// error wrapping ErrPayloadSize, and otherwise ignored. Push first expires
// a press that timed out before now, so callers that Push often need not
// call Expire for correctness, only for latency.
func (r *Receiver) Push(out []digit.Event, p Packet, now time.Time) ([]digit.Event, error) {
	r.stats.Packets++
	out = r.Expire(out, now)
	blocks, err := ParsePayloads(r.blocks[:0], p.Payload)
	r.blocks = blocks[:0]
	if err != nil {
		r.stats.Malformed++
		return out, err
	}
	ts := p.Timestamp
	for _, b := range blocks {
		out = r.block(out, p.SequenceNumber, eventKey{p.SSRC, ts}, b, now)
		// RFC 4733 §2.5.1.5: packed events are consecutive, each starting
		// where the one before it ended.
		ts += uint32(b.Duration)
	}
	return out, nil
}

// Expire ends, with the duration seen so far, a press that has had no
// packet for Timeout. The caller calls it on its own ticker (every 20-50
// ms) so a press whose end packets were all lost still ends.
func (r *Receiver) Expire(out []digit.Event, now time.Time) []digit.Event {
	if r.active && now.Sub(r.cur.last) >= r.cfg.Timeout {
		out = r.end(out, true)
	}
	return out
}

// Flush ends the press in progress, if any, as if it had timed out: for
// the end of the stream.
func (r *Receiver) Flush(out []digit.Event) []digit.Event {
	if r.active {
		out = r.end(out, true)
	}
	return out
}

func (r *Receiver) block(out []digit.Event, seq uint16, key eventKey, b Payload, now time.Time) []digit.Event {
	if r.ended(key) || r.stale(key) {
		r.stats.Duplicates++
		return out
	}
	c := &r.cur
	if r.active && c.key == key {
		if b.Event != c.code {
			r.stats.Malformed++
			return out
		}
		r.update(seq, b, now)
		if b.End {
			out = r.end(out, false)
		}
		return out
	}
	if r.active && c.key.ssrc == key.ssrc && b.Event == c.code && key.ts-c.key.ts == MaxDuration {
		// RFC 4733 §2.5.1.3: a long event goes on in a new segment whose
		// timestamp is the old one plus 0xFFFF; it is the same press.
		c.base += MaxDuration
		c.key, c.dur, c.lastSeq, c.last = key, b.Duration, seq, now
		r.last = key
		if b.End {
			out = r.end(out, false)
		}
		return out
	}
	if r.active {
		// A new event while the last one had no end packet: its end
		// packets were lost, and the new timestamp ends it (§2.5.2.1).
		out = r.end(out, true)
	}
	r.active, r.seen, r.last = true, true, key
	r.cur = press{key: key, code: b.Event, dur: b.Duration, lastSeq: seq, last: now, first: now, firstU: uint64(b.Duration)}
	if d, ok := digit.FromEvent(b.Event); ok {
		out = append(out, digit.Event{Kind: digit.Started, Digit: d})
	} else {
		r.stats.Unknown++
	}
	if b.End {
		out = r.end(out, false)
	}
	return out
}

// update takes a later (or reordered, or duplicate) block of the current
// press.
func (r *Receiver) update(seq uint16, b Payload, now time.Time) {
	c := &r.cur
	c.last = now
	newer := int16(seq-c.lastSeq) > 0
	if newer {
		c.lastSeq = seq
	}
	switch {
	case b.Duration > c.dur:
		c.dur = b.Duration
		if !b.End {
			r.checkRate(now)
		}
	case newer && c.dur-b.Duration > 0x8000:
		// A newer packet with a much shorter duration: a sender that let
		// the 16-bit field wrap instead of starting a segment (§2.5.1.3).
		c.base += 0x10000
		c.dur = b.Duration
	}
}

// checkRate compares how the press's duration grew with how much time
// passed, and moves between 8000 and 48000 when the other fits better.
func (r *Receiver) checkRate(now time.Time) {
	if r.cfg.FixedClockRate {
		return
	}
	c := &r.cur
	span := now.Sub(c.first)
	if span < 100*time.Millisecond {
		return
	}
	units := float64(c.units() - c.firstU)
	perSec := units / span.Seconds()
	const ratio = 2.45 // sqrt(48000/8000): the geometric midpoint
	switch {
	case r.rate == 8000 && perSec > 8000*ratio:
		r.rate = 48000
	case r.rate == 48000 && perSec < 48000/ratio:
		r.rate = 8000
	}
}

// end reports the current press and remembers its key so its redundant
// end packets (§2.5.1.4) and late packets are dropped.
func (r *Receiver) end(out []digit.Event, lost bool) []digit.Event {
	c := &r.cur
	r.active = false
	r.recent[r.nextR] = c.key
	r.nextR = (r.nextR + 1) % recentEvents
	r.nR = min(r.nR+1, recentEvents)
	d, ok := digit.FromEvent(c.code)
	if !ok {
		return out
	}
	r.stats.Presses++
	if lost {
		r.stats.LostEnds++
	}
	dur := time.Duration(c.units()) * time.Second / time.Duration(r.rate)
	return append(out, digit.Event{Kind: digit.Ended, Digit: d, Duration: dur})
}

func (r *Receiver) ended(k eventKey) bool {
	for i := range r.nR {
		if r.recent[i] == k {
			return true
		}
	}
	return false
}

// stale reports a packet of an event older than the newest one of the same
// source: a late packet of an ended event no longer remembered. A timestamp
// more than ten seconds back is taken as a restarted stream instead, so a
// sender that resets its clock loses no digit.
func (r *Receiver) stale(k eventKey) bool {
	if !r.seen || k.ssrc != r.last.ssrc {
		return false
	}
	back := r.last.ts - k.ts
	return back != 0 && back < 1<<31 && uint64(back) <= 10*uint64(r.rate)
}
