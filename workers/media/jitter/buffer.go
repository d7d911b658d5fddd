package jitter

import (
	"sync"
	"time"
)

// Buffer is the adaptive jitter buffer of one received RTP stream (one call
// leg's audio). The RTP reader Pushes every packet as it arrives; the leg's
// playout clock Pops one frame per frame period. Push and Pop may run on
// different goroutines.
//
// The buffer keeps a playout cursor: the sequence number and timestamp of
// the next frame to play. Each Pop plays the packet at the cursor, reports
// it Lost when a later packet proves it missing, or returns Empty and keeps
// the cursor where it is when nothing is there (silence, or an underrun).
// The playout delay is thereby measured, not imposed: it is how long after
// the fastest recent packet (the one with the least transit, RFC 3550
// §6.4.1) the frame at the cursor is played. It is steered towards the
// target by moving the start of a talkspurt, or, in continuous speech, by
// skipping a frame or returning one Empty frame.
type Buffer struct {
	mu sync.Mutex

	rate int64
	// Delays and limits in timestamp units.
	minDelay, startDelay, maxDelay int64
	frame                          int64 // learned packet duration
	maxFrame                       int64
	growEvery, shrinkAfter         int64

	clk  clock
	ring ring
	est  estimator

	active  bool // a stream is known (ssrc)
	ssrc    uint32
	playing bool // false while filling
	// adrift: the buffer ran dry for longer than MaxDelay and the cursor
	// follows the clock; the next packet resumes playout like a talkspurt.
	adrift bool
	// The cursor: next packet expected and the timestamp of the next frame.
	nextSeq, nextTs int64
	// The newest packet received (highest extended sequence number).
	maxSeq, maxTs int64

	learnDur   int64 // frame duration candidate
	learnCount int

	target      int64
	lastGrow    int64
	excess      bool // delay above the band since excessSince
	excessSince int64
	emptyRun    uint64 // Empty pops on a dry buffer since the last frame
	lastDelay   int64

	out, peek []byte // the buffers handed to the caller by Pop and Peek
	st        Stats  // counters (the duration fields are filled by Stats)
}

// Adaptation pacing. A skipped frame is audible as a small jump and an
// inserted one as a short concealment, so mid-speech changes are spread
// out: growing is urgent (packets are being lost) and may insert one frame
// every 60 ms; shrinking only saves latency, so it waits until the delay has
// been a frame too high for a whole second, and then skips one frame per
// second, leaving the rest to the next talkspurt boundary.
const (
	growEvery   = 60 * time.Millisecond
	shrinkAfter = time.Second
	// learnAgree consecutive equal timestamp steps make a new frame
	// duration: one odd step (a short silence, a ptime change in flight)
	// does not.
	learnAgree = 3
	// maxMisorder is RFC 3550 A.1's MAX_MISORDER: a packet more than 100
	// behind the newest is not reordering but a sender that restarted
	// (rtpsession has already confirmed it with a second packet).
	maxMisorder = 100
	// maxTsJump bounds the timestamp step from the cursor to a packet
	// (2^30 units: 37 h at 8 kHz, 6 h at 48 kHz). A larger step is a new
	// timeline, and the bound keeps consecutive frames' timestamps within
	// the half range where RTP's serial arithmetic orders them.
	maxTsJump = 1 << 30
)

// New returns an empty buffer. It panics with an error wrapping ErrConfig
// if cfg is invalid: a bad config is a programming error, which the worker
// rules out by calling cfg.Validate when it loads its settings.
func New(cfg Config) *Buffer {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	rate := int64(cfg.ClockRate)
	u := func(d time.Duration) int64 { return durUnits(d, rate) }
	r, out, peek := newRing(cfg.MaxPackets)
	b := &Buffer{
		rate:        rate,
		minDelay:    u(cfg.MinDelay),
		startDelay:  u(cfg.StartDelay),
		maxDelay:    u(cfg.MaxDelay),
		frame:       max(u(cfg.FrameDuration), 1),
		maxFrame:    u(MaxFrameDuration),
		growEvery:   u(growEvery),
		shrinkAfter: u(shrinkAfter),
		clk:         clock{rate: rate},
		ring:        r,
		est:         newEstimator(rate, u(cfg.MaxDelay)),
		out:         out,
		peek:        peek,
	}
	b.target = b.startDelay
	return b
}

// Reset forgets the stream: held packets are dropped and the next Push
// starts filling again, as for a new call. The counters and the delay
// estimate stay (the network has not changed). The worker calls it when a
// re-INVITE changes the media; a new SSRC alone resets by itself.
func (b *Buffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.active = false
	b.ring.flush()
	b.playing, b.adrift = false, false
	b.est.restart()
	b.emptyRun = 0
}

// restart begins a new timeline at the packet (seq, ts): a new SSRC or a
// resync. Held packets are dropped; filling starts again.
func (b *Buffer) restart(seq uint16, ts uint32) {
	b.ring.flush()
	b.playing = false
	b.nextSeq, b.maxSeq = int64(seq), int64(seq)
	b.nextTs, b.maxTs = int64(ts), int64(ts)
	b.est.restart()
	b.learnDur, b.learnCount = 0, 0
	b.excess, b.adrift = false, false
	b.emptyRun = 0
}

// updateTarget recomputes the target at time t (the peak decays with time).
func (b *Buffer) updateTarget(t int64) {
	b.target = min(max(b.est.target(t, b.startDelay), b.minDelay), b.maxDelay)
}

// delay is the playout delay a frame with timestamp ts has when played at
// time t.
func (b *Buffer) delay(t, ts int64) int64 {
	return t - ts - b.est.minTransit
}

// hyst is the margin above the one-frame band before the buffer shrinks,
// so that a delay on the band's edge (playout clock jitter of a ms or two)
// does not skip and insert in turn.
func (b *Buffer) hyst() int64 { return b.frame / 4 }

// duration is how much time the held packet s covers: the learned frame
// duration, or less if the next packet starts earlier.
func (b *Buffer) duration(s *slot) int64 {
	d := b.frame
	if n := b.ring.get(s.seq + 1); n != nil && n.ts > s.ts && n.ts-s.ts < d {
		d = n.ts - s.ts
	}
	return d
}

// follower returns the packet after s if it continues s without a gap, so
// that s can be skipped without a hole in the audio.
func (b *Buffer) follower(s *slot) *slot {
	n := b.ring.get(s.seq + 1)
	if n == nil || n.marker || n.ts <= s.ts || n.ts-s.ts > b.frame {
		return nil
	}
	return n
}
