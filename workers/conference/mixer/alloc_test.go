package mixer_test

import (
	"fmt"
	"testing"

	"github.com/switchboard-voip/switchboard/workers/conference/mixer"
)

// TestNoAllocs: once a room has run a few ticks, Put and Mix allocate
// nothing, whoever speaks, joins or leaves.
func TestNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's instrumentation allocates")
	}
	const rate = 48000
	x := newMixer(t, rate)
	ids := make([]string, 10)
	for i := range ids {
		ids[i] = fmt.Sprint("m", i)
		must(t, x.Add(ids[i], mixer.Settings{Group: i % 3}))
	}
	frame := tone(440, rate, 0.5, rate/50)
	tick := 0
	run := func() {
		for i, id := range ids[:1+tick%4] {
			if i != 3 || tick%7 != 0 {
				_ = x.Put(id, frame)
			}
		}
		if tick%5 == 0 { // churn: the last member leaves and comes back
			_ = x.Remove(ids[9])
			_ = x.Add(ids[9], mixer.Settings{Muted: tick%10 == 0})
		}
		x.Mix()
		tick++
	}
	for range 100 {
		run()
	}
	if a := testing.AllocsPerRun(1000, run); a != 0 {
		t.Errorf("%.2f allocations per tick", a)
	}
}
