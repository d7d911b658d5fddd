package mixer

// Output is what one tick produced. It and every slice in it belong to the
// Mixer and are valid until the next call to Mix.
type Output struct {
	// Everyone is the sum of every speaker, limited: what every listener
	// hears. Encode it once per entry of Listeners. It is nil when there
	// is no listener (every member speaks or is deaf).
	Everyone []int16

	// Silent reports that nobody spoke this tick: Everyone is all zeros,
	// and the caller may send comfort noise or nothing instead.
	Silent bool

	// Listeners are the non-deaf members that did not speak this tick,
	// by group: each hears Everyone.
	Listeners []Group

	// Speakers are the non-deaf members that spoke this tick, each with
	// its own mix-minus: everyone else's audio, never its own.
	Speakers []Individual
}

// Group is the listeners of one Settings.Group: they all receive the same
// encoding of Output.Everyone.
type Group struct {
	// Key is the Settings.Group the members share.
	Key int
	// Members are the ids of the listeners in the group.
	Members []string
}

// Individual is one speaker's own mix.
type Individual struct {
	// Member is the speaker's id.
	Member string
	// Group is the speaker's Settings.Group, for choosing its encoder.
	Group int
	// PCM is the sum of every other speaker, limited.
	PCM []int16
}

// listen adds member id to the listeners of group key. The groups and
// their Members slices are kept across ticks (o.groups holds every group
// ever used) so that steady state allocates nothing; a linear search is
// fine because a room has a handful of codecs, not hundreds.
func (o *outputState) listen(key int, id string) {
	for i := range o.n {
		if o.groups[i].Key == key {
			o.groups[i].Members = append(o.groups[i].Members, id)
			return
		}
	}
	if o.n == len(o.groups) {
		o.groups = append(o.groups, Group{})
	}
	g := &o.groups[o.n]
	g.Key, g.Members = key, append(g.Members[:0], id)
	o.n++
}

// outputState is the reusable storage behind Output.
type outputState struct {
	out      Output
	groups   []Group
	n        int // groups in use this tick
	everyone []int16
	evLim    limiter
}

// reset starts a tick's output.
func (o *outputState) reset() {
	o.n = 0
	o.out = Output{Speakers: o.out.Speakers[:0]}
}
