package mixer

// Mixer mixes one conference. Create it with New; drive it from one
// goroutine.
type Mixer struct {
	n    int     // samples per frame
	fade int     // samples per fade
	step float32 // gain change per sample while fading
	lp   limiterParams

	byID    map[string]*member // members that have not been removed
	members []*member          // every member, leaving ones included
	put     []*member          // members with a frame this tick
	cur     []*member          // contributors this tick
	prev    []*member          // contributors last tick
	free    []*member          // removed members, for reuse

	tick uint64
	sum  []int32 // every contribution of the tick
	diff []int32 // sum minus one speaker
	o    outputState
}

// New returns the mixer of one conference, with no members.
func New(cfg Config) (*Mixer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.Defaults()
	n := cfg.Rate / 50
	fade := samples(cfg.Fade, cfg.Rate)
	return &Mixer{
		n:    n,
		fade: fade,
		step: 1 / float32(fade),
		lp:   newLimiterParams(cfg, n),
		byID: make(map[string]*member),
		tick: 1,
		sum:  make([]int32, n),
		diff: make([]int32, n),
		o:    outputState{everyone: make([]int16, n)},
	}, nil
}

// FrameSamples is the length of every frame Put takes and Mix returns:
// 20 ms at the mixer's rate (320 at 16 kHz, 960 at 48 kHz).
func (x *Mixer) FrameSamples() int { return x.n }

// Len is the number of members, not counting removed ones still fading out.
func (x *Mixer) Len() int { return len(x.byID) }

// Add adds a member. Its audio fades in from its first frame. An id that
// was removed may be added again at once, even while its old audio is
// still fading out.
func (x *Mixer) Add(id string, s Settings) error {
	if _, ok := x.byID[id]; ok {
		return ErrExists
	}
	var m *member
	if k := len(x.free); k > 0 {
		m, x.free = x.free[k-1], x.free[:k-1]
		*m = member{frame: m.frame, out: m.out}
	} else {
		m = &member{frame: make([]int32, x.n), out: make([]int16, x.n)}
	}
	m.id, m.Settings = id, s
	x.members = append(x.members, m)
	x.byID[id] = m
	return nil
}

// Remove removes a member. Its audio fades out during the next Mix (from
// the frame Put for it in this tick, if any, or from its last sample), and
// it gets no output from then on.
func (x *Mixer) Remove(id string) error {
	m, ok := x.byID[id]
	if !ok {
		return ErrNoMember
	}
	delete(x.byID, id)
	m.leaving = true
	return nil
}

// Settings returns a member's settings.
func (x *Mixer) Settings(id string) (Settings, error) {
	m, ok := x.byID[id]
	if !ok {
		return Settings{}, ErrNoMember
	}
	return m.Settings, nil
}

// Set changes a member's settings from the next Mix on: muting fades its
// audio out, unmuting fades it in.
func (x *Mixer) Set(id string, s Settings) error {
	m, ok := x.byID[id]
	if !ok {
		return ErrNoMember
	}
	m.Settings = s
	return nil
}

// Put gives the member's frame for this tick; pcm must be FrameSamples
// long and is copied. A member with no frame in a tick is silent in it. A
// second Put in the same tick replaces the first.
func (x *Mixer) Put(id string, pcm []int16) error {
	if len(pcm) != x.n {
		return ErrFrameSize
	}
	m, ok := x.byID[id]
	if !ok {
		return ErrNoMember
	}
	for i, s := range pcm {
		m.frame[i] = int32(s)
	}
	if !m.hasFrame {
		m.hasFrame = true
		x.put = append(x.put, m)
	}
	return nil
}

// Mix ends the tick: it mixes the frames Put since the last Mix and returns
// what every member hears. The result is valid until the next Mix.
func (x *Mixer) Mix() *Output {
	t := x.tick
	clear(x.sum)
	x.cur = x.cur[:0]
	for _, m := range x.put {
		if m.contribute(t, x.step) {
			x.add(m)
		}
	}
	for _, m := range x.prev {
		if !m.hasFrame && m.last != 0 {
			m.tail(x.fade)
			x.add(m)
		}
	}
	for _, m := range x.put {
		m.hasFrame = false
	}
	x.put = x.put[:0]

	o := &x.o
	o.reset()
	for _, m := range x.cur {
		m.last, m.spokeTick = m.frame[x.n-1], t
		if m.Deaf || m.leaving {
			continue
		}
		if m.speakerTick != t-1 {
			m.lim = o.evLim // continue the level of the mix it heard
		}
		m.speakerTick = t
		for i, s := range x.sum {
			x.diff[i] = s - m.frame[i]
		}
		x.lp.process(&m.lim, m.out, x.diff)
		o.out.Speakers = append(o.out.Speakers, Individual{Member: m.id, Group: m.Group, PCM: m.out})
	}
	for _, m := range x.members {
		if !m.Deaf && !m.leaving && m.spokeTick != t {
			o.listen(m.Group, m.id)
		}
	}
	o.out.Listeners = o.groups[:o.n]
	o.out.Silent = len(x.cur) == 0
	if o.n > 0 {
		if o.out.Silent {
			clear(o.everyone)
			o.evLim.env *= x.lp.relFrame
		} else {
			x.lp.process(&o.evLim, o.everyone, x.sum)
		}
		o.out.Everyone = o.everyone
	}

	x.prev = x.prev[:0]
	for _, m := range x.cur {
		if !m.leaving {
			x.prev = append(x.prev, m)
		}
	}
	x.dropLeaving()
	x.tick++
	return &o.out
}

// add adds a contributor's frame to the tick's sum.
func (x *Mixer) add(m *member) {
	x.cur = append(x.cur, m)
	for i, s := range m.frame {
		x.sum[i] += s
	}
}

// dropLeaving forgets the members removed before this tick, whose audio
// has now faded out, and keeps their buffers for the next Add. This
// walks every member once per tick, within the O(members) budget.
func (x *Mixer) dropLeaving() {
	for i := 0; i < len(x.members); {
		m := x.members[i]
		if !m.leaving {
			i++
			continue
		}
		last := len(x.members) - 1
		x.members[i], x.members[last] = x.members[last], nil
		x.members = x.members[:last]
		x.free = append(x.free, m)
	}
}
