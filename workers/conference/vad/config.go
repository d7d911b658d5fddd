package vad

import (
	"fmt"
	"time"
)

// Config is the setting of a Detector. Every field but Rate defaults when
// zero (see Defaults); the package documentation says why these values.
type Config struct {
	// Rate is the sample rate of the frames, in Hz. Required.
	Rate int

	// Start is the lowest level, in dBFS, at which talk can start, however
	// quiet the noise floor. Default −40.
	Start float64

	// Margin is how far above the noise floor, in dB, the level must be
	// for talk to start. Default 12.
	Margin float64

	// Hysteresis is how far below the start threshold, in dB, the level
	// must fall to count towards the hangover. Default 6.
	Hysteresis float64

	// Attack is how long the level must stay above the start threshold
	// before talk starts. Default 40 ms.
	Attack time.Duration

	// Hangover is how long the level must stay below the stop threshold
	// before talk stops. Default 400 ms.
	Hangover time.Duration

	// NoiseWindow is how far back the noise floor looks for its minimum.
	// Default 2 s.
	NoiseWindow time.Duration
}

// Defaults returns cfg with every zero field set to its default.
func (cfg Config) Defaults() Config {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&cfg.Start, -40)
	def(&cfg.Margin, 12)
	def(&cfg.Hysteresis, 6)
	defDur(&cfg.Attack, 40*time.Millisecond)
	defDur(&cfg.Hangover, 400*time.Millisecond)
	defDur(&cfg.NoiseWindow, 2*time.Second)
	return cfg
}

// Validate reports, wrapping ErrConfig, a field of cfg (after Defaults)
// that is out of range.
func (cfg Config) Validate() error {
	cfg = cfg.Defaults()
	switch {
	case cfg.Rate <= 0:
		return fmt.Errorf("%w: rate %d", ErrConfig, cfg.Rate)
	case cfg.Margin < 0 || cfg.Hysteresis < 0 || cfg.Start > 0:
		return fmt.Errorf("%w: start %g dBFS, margin %g dB, hysteresis %g dB", ErrConfig, cfg.Start, cfg.Margin, cfg.Hysteresis)
	case cfg.Attack < 0 || cfg.Hangover < 0 || cfg.NoiseWindow < 0:
		return fmt.Errorf("%w: attack %v, hangover %v, noise window %v", ErrConfig, cfg.Attack, cfg.Hangover, cfg.NoiseWindow)
	}
	return nil
}

// samples converts d to samples at rate.
func samples(d time.Duration, rate int) int {
	return int(d * time.Duration(rate) / time.Second)
}
