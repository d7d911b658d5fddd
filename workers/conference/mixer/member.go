package mixer

// Settings are what a member's flags say about how it is mixed.
type Settings struct {
	// Muted members are not mixed: nobody hears them. They still hear
	// the room unless Deaf.
	Muted bool

	// Deaf members get no output at all: Mix does no work for them, and
	// they appear neither in Output.Listeners nor in Output.Speakers.
	Deaf bool

	// Group is the caller's name for how the member's audio is encoded
	// (codec, rate, bitrate): listeners with the same Group receive the
	// same encoded payload, so the shared mix is encoded once per Group.
	Group int
}

// member is one member's state. Its buffers are allocated once, in Add,
// and recycled when it leaves.
type member struct {
	id string
	Settings

	// frame is the member's samples of this tick: filled by Put, then
	// turned in place by Mix into what the member contributes (faded).
	frame []int32
	// out is the member's own mix-minus, when it is a speaker.
	out []int16
	// lim is the limiter state of out.
	lim limiter

	hasFrame bool // Put gave a frame this tick
	leaving  bool // removed: fades out in the next Mix, then is dropped

	// spokeTick is the last tick in which the member contributed; gain
	// and last are its fade gain and final sample in that tick.
	spokeTick uint64
	gain      float32
	last      int32
	// speakerTick is the last tick in which it was an output speaker,
	// to hand its limiter the shared mix's state when it starts.
	speakerTick uint64
}

// contribute turns the frame that was Put this tick into what the member
// adds to the mix, fading from the gain it ended the previous tick with
// (0 if it did not contribute then) to 1, or to 0 when it is muted or
// leaving. It reports false when the member adds nothing.
func (m *member) contribute(tick uint64, step float32) bool {
	g := float32(0)
	if m.spokeTick == tick-1 {
		g = m.gain
	}
	target := float32(1)
	if m.Muted || m.leaving {
		target = 0
	}
	switch {
	case g == target && target == 0:
		return false
	case g != target:
		for i, x := range m.frame {
			if g < target {
				g = min(g+step, target)
			} else {
				g = max(g-step, target)
			}
			m.frame[i] = int32(float32(x)*g + 0.5*sign(x))
		}
	}
	m.gain = g
	return true
}

// tail makes the member's contribution a linear ramp from the last sample
// it contributed to zero over fade samples: a member that stops sending
// (loss, VAD, leaving) ends without a step.
func (m *member) tail(fade int) {
	clear(m.frame)
	for i := range min(fade, len(m.frame)) {
		m.frame[i] = m.last * int32(fade-1-i) / int32(fade)
	}
	m.gain = 0
}

// sign is the sign of x as ±1 (1 for 0), to round half away from zero.
func sign(x int32) float32 {
	if x < 0 {
		return -1
	}
	return 1
}
