package vad

import "math"

// Event is a change of a member's talking state.
type Event uint8

const (
	// None means the talking state did not change with this frame.
	None Event = iota
	// Started means the member started talking with this frame
	// (talking.started).
	Started
	// Stopped means the member's hangover ran out with this frame
	// (talking.stopped).
	Stopped
)

// String returns the event's name.
func (e Event) String() string {
	switch e {
	case Started:
		return "started"
	case Stopped:
		return "stopped"
	}
	return "none"
}

// Result is what the detector concluded from one frame.
type Result struct {
	// Event is the change of state this frame caused, if any.
	Event Event
	// Talking is the state after this frame.
	Talking bool
	// Level is the frame's RMS level in dBFS.
	Level float64
	// Noise is the noise floor in dBFS, this frame included.
	Noise float64
	// Spurt is, while talking and on Stopped, the mean level in dBFS of
	// the talkspurt's frames above the stop threshold (the level that
	// talking.stopped reports); Silence otherwise.
	Spurt float64
}

// Detector is one member's voice activity detector.
type Detector struct {
	cfg      Config
	attack   int // samples
	hangover int // samples
	noise    noiseFloor

	talking bool
	above   int // samples in a row above the start threshold
	below   int // samples in a row below the stop threshold

	spurtPower float64 // sum of the mean squares of the spurt's loud frames
	spurtN     int     // how many
}

// New returns a detector for frames at cfg.Rate.
func New(cfg Config) (*Detector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.Defaults()
	d := &Detector{
		cfg:      cfg,
		attack:   samples(cfg.Attack, cfg.Rate),
		hangover: samples(cfg.Hangover, cfg.Rate),
	}
	d.Reset()
	return d, nil
}

// Reset forgets the member's state and noise floor, as for a new stream.
func (d *Detector) Reset() {
	d.noise.reset(samples(d.cfg.NoiseWindow, d.cfg.Rate) / noiseBlocks)
	d.talking, d.above, d.below = false, 0, 0
	d.spurtPower, d.spurtN = 0, 0
}

// Talking reports whether the member is talking, as of the last frame.
func (d *Detector) Talking() bool { return d.talking }

// Process takes the member's next frame, of any length (normally 20 ms),
// and returns the state after it. An empty frame changes nothing.
func (d *Detector) Process(pcm []int16) Result {
	level := Level(pcm)
	if len(pcm) == 0 {
		r := Result{Talking: d.talking, Level: level, Noise: Silence, Spurt: Silence}
		if d.talking {
			r.Spurt = d.spurt()
		}
		return r
	}
	floor := d.noise.add(level, len(pcm))
	start := max(d.cfg.Start, floor+d.cfg.Margin)
	stop := start - d.cfg.Hysteresis
	r := Result{Level: level, Noise: floor}

	if level > start {
		d.above += len(pcm)
	} else {
		d.above = 0
	}
	if level > stop {
		d.below = 0
	} else {
		d.below += len(pcm)
	}
	switch {
	case !d.talking && d.above > 0 && d.above >= d.attack:
		d.talking, r.Event = true, Started
		d.spurtPower, d.spurtN = 0, 0
	case d.talking && d.below > 0 && d.below >= d.hangover:
		d.talking, r.Event = false, Stopped
	}
	if d.talking && level > stop {
		d.spurtPower += math.Pow(10, level/10)
		d.spurtN++
	}
	r.Talking = d.talking
	if d.talking || r.Event == Stopped {
		r.Spurt = d.spurt()
	} else {
		r.Spurt = Silence
	}
	return r
}

// spurt is the mean level of the current (or last) talkspurt.
func (d *Detector) spurt() float64 {
	if d.spurtN == 0 {
		return Silence
	}
	return max(10*math.Log10(d.spurtPower/float64(d.spurtN)), Silence)
}
