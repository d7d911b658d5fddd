package mixer

import "errors"

var (
	// ErrConfig means a Config field is out of range: Rate other than
	// 16000 or 48000, Fade not in (0, 20 ms], Knee not in [−20, 0) dBFS,
	// or a negative Attack or Release.
	ErrConfig = errors.New("mixer: invalid config")

	// ErrExists means Add was given the id of a member already in the
	// conference.
	ErrExists = errors.New("mixer: member already exists")

	// ErrNoMember means the id names no member (never added, or removed).
	// A frame that arrives after its member left is dropped with this
	// error.
	ErrNoMember = errors.New("mixer: no such member")

	// ErrFrameSize means Put was given a frame that is not exactly one
	// 20 ms frame at the mixer's rate (Mixer.FrameSamples samples).
	ErrFrameSize = errors.New("mixer: frame is not 20 ms at the mixer rate")
)
