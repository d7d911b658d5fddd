//go:build race

package codec

// raceEnabled reports whether the race detector is on, whose
// instrumentation allocates.
const raceEnabled = true
