package jitter

import (
	"fmt"
	"time"
)

// Defaults applied by New to the zero fields of Config. The delays are the
// issue's figures ("start ~40-60 ms, max ~200 ms"): 40 ms is two 20 ms
// frames, the least that lets a loss be recognised (the next packet is
// already there when the missing one is due) with a few ms of jitter;
// 200 ms is where ITU-T G.114 mouth-to-ear budgets start to hurt once the
// network and codec delays are added.
const (
	DefaultFrameDuration = 20 * time.Millisecond
	DefaultMinDelay      = 40 * time.Millisecond
	DefaultStartDelay    = 60 * time.Millisecond
	DefaultMaxDelay      = 200 * time.Millisecond
	// DefaultMaxPackets holds 1.28 s of 20 ms packets (640 ms of 10 ms
	// ones): MaxDelay worth plus room for a burst after a network stall.
	DefaultMaxPackets = 64
)

// Limits checked by Validate.
const (
	// MaxFrameDuration is the longest packet the buffer learns: 120 ms, the
	// longest Opus packet (RFC 6716 §3.2.5); a larger timestamp step between
	// consecutive packets is a silence gap, not a frame.
	MaxFrameDuration = 120 * time.Millisecond
	// MaxMaxDelay bounds MaxDelay: beyond 2 s a call is no longer a
	// conversation, and the delay histogram is sized from MaxDelay.
	MaxMaxDelay = 2 * time.Second
	// MaxMaxPackets bounds the ring, which New allocates whole.
	MaxMaxPackets = 4096
	minClockRate  = 1000
	maxClockRate  = 192000
)

// Config sets up one Buffer. Only ClockRate is required; zero durations and
// a zero MaxPackets take the defaults above.
type Config struct {
	// ClockRate is the RTP timestamp rate of the stream (RFC 3550 §5.1):
	// 8000 for G.711 (RFC 3551 §4.5.14), 48000 for Opus (RFC 7587 §4.1).
	// The buffer works in timestamp units and converts with it.
	ClockRate uint32
	// FrameDuration is the packet duration assumed until the buffer has
	// learned the real one from consecutive timestamps (the SDP ptime is a
	// good value). Lost frames and underruns are counted in it.
	FrameDuration time.Duration
	// MinDelay is the least playout delay the buffer aims for, however calm
	// the network.
	MinDelay time.Duration
	// StartDelay is how long the first packet waits before playout starts,
	// and the target until the first delay measurements are in.
	StartDelay time.Duration
	// MaxDelay caps the target, and a packet that would have to be played
	// later than this is dropped as late instead: past it, added latency
	// hurts the conversation more than the loss of the packet.
	MaxDelay time.Duration
	// MaxPackets bounds the packets held (the ring is allocated once, in
	// New). It must hold MaxDelay of packets plus two; when a burst does
	// not fit, the oldest packets are dropped and counted as Overflow.
	MaxPackets int
}

// withDefaults fills the zero fields. StartDelay's default is clamped into
// [MinDelay, MaxDelay] so that raising only MinDelay stays valid.
func (c Config) withDefaults() Config {
	if c.FrameDuration == 0 {
		c.FrameDuration = DefaultFrameDuration
	}
	if c.MinDelay == 0 {
		c.MinDelay = DefaultMinDelay
	}
	if c.MaxDelay == 0 {
		c.MaxDelay = max(DefaultMaxDelay, c.MinDelay)
	}
	if c.StartDelay == 0 {
		c.StartDelay = min(max(DefaultStartDelay, c.MinDelay), c.MaxDelay)
	}
	if c.MaxPackets == 0 {
		c.MaxPackets = max(DefaultMaxPackets, c.needPackets())
	}
	return c
}

// needPackets is the least ring that holds MaxDelay of packets, plus the
// one being played and the one arriving.
func (c Config) needPackets() int {
	if c.FrameDuration <= 0 {
		return 0
	}
	return int((c.MaxDelay+c.FrameDuration-1)/c.FrameDuration) + 2
}

// Validate reports, wrapped in ErrConfig, why New would refuse c once its
// defaults are applied. The worker calls it when it loads its settings, so
// that a bad value stops the process at startup rather than a call.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.ClockRate < minClockRate || c.ClockRate > maxClockRate:
		return fmt.Errorf("%w: ClockRate %d outside %d-%d", ErrConfig, c.ClockRate, minClockRate, maxClockRate)
	case c.FrameDuration < 0 || c.FrameDuration > MaxFrameDuration:
		return fmt.Errorf("%w: FrameDuration %v outside 0-%v", ErrConfig, c.FrameDuration, MaxFrameDuration)
	case c.MinDelay < 0:
		return fmt.Errorf("%w: MinDelay %v is negative", ErrConfig, c.MinDelay)
	case c.MaxDelay > MaxMaxDelay:
		return fmt.Errorf("%w: MaxDelay %v above %v", ErrConfig, c.MaxDelay, MaxMaxDelay)
	case c.MinDelay > c.MaxDelay:
		return fmt.Errorf("%w: MinDelay %v above MaxDelay %v", ErrConfig, c.MinDelay, c.MaxDelay)
	case c.StartDelay < c.MinDelay || c.StartDelay > c.MaxDelay:
		return fmt.Errorf("%w: StartDelay %v outside MinDelay-MaxDelay (%v-%v)", ErrConfig, c.StartDelay, c.MinDelay, c.MaxDelay)
	case c.MaxPackets < c.needPackets() || c.MaxPackets > MaxMaxPackets:
		return fmt.Errorf("%w: MaxPackets %d outside %d-%d (MaxDelay/FrameDuration + 2 at least)", ErrConfig, c.MaxPackets, c.needPackets(), MaxMaxPackets)
	}
	return nil
}
