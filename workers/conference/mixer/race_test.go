//go:build race

package mixer_test

// raceEnabled reports whether the race detector is on, whose
// instrumentation allocates.
const raceEnabled = true
