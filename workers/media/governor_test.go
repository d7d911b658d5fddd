package media

import "testing"

// TestGovernorSteps: late frames or a saturated CPU take the complexity
// down two steps at a time to the floor; a busy CPU one step; it climbs back
// one step per governorCalmFor calm seconds, to the configured ceiling.
func TestGovernorSteps(t *testing.T) {
	g := newGovernor(5, 1)
	var changes [][2]int
	g.onChange = func(from, to int, _ float64, _ uint64) { changes = append(changes, [2]int{from, to}) }
	steps := []struct {
		pressure float64
		late     uint64
		want     int
	}{
		{0.3, 0, 5},  // calm at the ceiling: stays
		{0.6, 0, 5},  // between low and raise: holds
		{0.75, 0, 4}, // busy: one down
		{0.9, 0, 2},  // saturated: two down
		{0.2, 3, 1},  // frames were late, whatever the CPU says: down, to the floor
		{0.95, 0, 1}, // never below the floor
		{0.3, 0, 1}, {0.3, 0, 1}, {0.3, 0, 1}, {0.3, 0, 1},
		{0.3, 0, 2}, // fifth calm second: one up
		{0.6, 0, 2}, // not calm: the count starts again
		{0.3, 0, 2}, {0.3, 0, 2}, {0.3, 0, 2}, {0.3, 0, 2},
		{0.3, 0, 3},
	}
	for i, s := range steps {
		if got := g.step(s.pressure, s.late); got != s.want || g.complexity() != s.want {
			t.Fatalf("step %d (pressure %.2f, late %d): complexity %d, want %d", i, s.pressure, s.late, got, s.want)
		}
	}
	for range 50 {
		g.step(0, 0)
	}
	if g.complexity() != 5 {
		t.Errorf("after a long calm: %d, want the ceiling 5", g.complexity())
	}
	if len(changes) == 0 || changes[0] != [2]int{5, 4} {
		t.Errorf("changes %v", changes)
	}
	if g.lastPressure() != 0 {
		t.Errorf("last pressure %v", g.lastPressure())
	}
}

// TestCPUMeter reads this machine's CPU use: a share between 0 and 1.
func TestCPUMeter(t *testing.T) {
	m := newCPUMeter()
	x := 0
	for i := range 20_000_000 { // some work between the samples
		x += i
	}
	_ = x
	if v := m.sample(); v < 0 || v > 1 {
		t.Errorf("cpu share %v", v)
	}
	if _, _, ok := procStat(); !ok {
		t.Log("/proc/stat unreadable: the meter uses getrusage")
	}
}
