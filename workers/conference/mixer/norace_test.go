//go:build !race

package mixer_test

const raceEnabled = false
