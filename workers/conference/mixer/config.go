package mixer

import (
	"fmt"
	"time"
)

// FrameDuration is the length of one tick: every member sends, and the
// mixer produces, one frame of this length per tick.
const FrameDuration = 20 * time.Millisecond

// Config is the setting of one conference's mixer. The zero value of every
// field but Rate means its default (see Defaults).
type Config struct {
	// Rate is the internal sample rate in Hz: 16000 (wideband, enough for
	// G.711 and SILK) or 48000 (fullband Opus, WebRTC). Required.
	Rate int

	// Fade is how long a member's audio takes to fade in or out when it
	// joins, leaves, is muted or unmuted, or stops sending: long enough
	// that the step is not heard as a click, short enough that the first
	// syllable is not lost. Default 5 ms; at most one frame.
	Fade time.Duration

	// Knee is the level in dBFS above which the limiter reduces the gain
	// and the soft clip bends the waveform. Below it the mix is bit-exact.
	// Default −3 dBFS.
	Knee float64

	// Attack is the time constant of the limiter's peak envelope when the
	// level rises. Without look-ahead, a shorter attack catches a loud
	// onset sooner and distorts it more; the soft clip takes what it
	// misses. Default 0.5 ms.
	Attack time.Duration

	// Release is the time constant of the envelope when the level falls:
	// long enough not to modulate a low voice within its own period (a
	// short release is heard as distortion: with five loud tones, 50 ms
	// leaves the products 26 dB below the mix, 300 ms 36 dB), short enough
	// that a quiet talker is not held down long after a loud one stops.
	// Default 300 ms.
	Release time.Duration
}

// Defaults returns cfg with every zero field set to its default.
func (cfg Config) Defaults() Config {
	if cfg.Fade == 0 {
		cfg.Fade = 5 * time.Millisecond
	}
	if cfg.Knee == 0 {
		cfg.Knee = -3
	}
	if cfg.Attack == 0 {
		cfg.Attack = 500 * time.Microsecond
	}
	if cfg.Release == 0 {
		cfg.Release = 300 * time.Millisecond
	}
	return cfg
}

// Validate reports, wrapping ErrConfig, the first field of cfg (after
// Defaults) that is out of range.
func (cfg Config) Validate() error {
	cfg = cfg.Defaults()
	switch {
	case cfg.Rate != 16000 && cfg.Rate != 48000:
		return fmt.Errorf("%w: rate %d (want 16000 or 48000)", ErrConfig, cfg.Rate)
	case cfg.Fade < 0 || cfg.Fade > FrameDuration:
		return fmt.Errorf("%w: fade %v (want 0 < fade <= %v)", ErrConfig, cfg.Fade, FrameDuration)
	case cfg.Knee < -20 || cfg.Knee >= 0:
		return fmt.Errorf("%w: knee %g dBFS (want -20 <= knee < 0)", ErrConfig, cfg.Knee)
	case cfg.Attack < 0 || cfg.Release < 0:
		return fmt.Errorf("%w: attack %v, release %v", ErrConfig, cfg.Attack, cfg.Release)
	}
	return nil
}

// samples converts d to a whole number of samples at rate, at least 1.
func samples(d time.Duration, rate int) int {
	return max(int(d*time.Duration(rate)/time.Second), 1)
}
