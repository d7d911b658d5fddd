package jitter

import (
	"math"
	"time"
)

// The buffer computes in RTP timestamp units held in int64: wall-clock
// arrival and play times are converted to the stream's clock (RFC 3550
// §6.4.1 does the same for the jitter estimate), and the 16-bit sequence
// numbers and 32-bit timestamps are extended so that wraparound never
// needs special cases past the point of arrival.

// clock converts the caller's times to timestamp units since the first time
// it saw. The buffer never reads the system clock: Push and Pop take the
// time as an argument, so tests are exact and never sleep.
type clock struct {
	epoch time.Time
	set   bool
	rate  int64
}

// units converts now, fixing the epoch on the first call.
func (c *clock) units(now time.Time) int64 {
	if !c.set {
		c.epoch, c.set = now, true
	}
	return durUnits(now.Sub(c.epoch), c.rate)
}

// durUnits converts a duration to timestamp units without overflowing for
// any duration time.Sub can return.
func durUnits(d time.Duration, rate int64) int64 {
	sec := int64(d / time.Second)
	rem := int64(d % time.Second)
	return sec*rate + rem*rate/int64(time.Second)
}

// unitsDur converts timestamp units back to a duration, saturating instead
// of wrapping for absurd values (a fuzzed stream can produce them).
func unitsDur(u, rate int64) time.Duration {
	sec := u / rate
	if sec > math.MaxInt64/int64(time.Second)-1 {
		return math.MaxInt64
	}
	if sec < math.MinInt64/int64(time.Second)+1 {
		return math.MinInt64
	}
	return time.Duration(sec)*time.Second + time.Duration(u%rate)*time.Second/time.Duration(rate)
}

// extendSeq returns the extended sequence number of seq that is nearest to
// ref: the serial-number arithmetic of RFC 3550 A.1 (a difference is taken
// modulo 2^16 and read as signed), so 65535 -> 0 is a step of one.
func extendSeq(ref int64, seq uint16) int64 {
	return ref + int64(int16(seq-uint16(ref)))
}

// extendTs does the same for 32-bit RTP timestamps (RFC 3550 §5.1: the
// initial value is random, so wraparound can come at any moment).
func extendTs(ref int64, ts uint32) int64 {
	return ref + int64(int32(ts-uint32(ref)))
}

// floorDiv is a/b rounded towards minus infinity (b > 0), so that time
// blocks stay aligned if a caller's clock steps backwards.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}
