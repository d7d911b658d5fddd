// Package digittest checks detector output in tests: that events come as
// Started d, Ended d pairs, every press ended, with valid digits.
package digittest
