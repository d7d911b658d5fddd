package rtpsession

import (
	"net/netip"
	"time"
)

// Latching parameters; see the package documentation.
const (
	// latchPackets is how many consecutive packets with one SSRC from one
	// address lock the first source: two, so that a single stray datagram
	// cannot redirect a call.
	latchPackets = 2
	// relatchPackets is the stricter count needed to move off a source
	// that had been latched.
	relatchPackets = 5
	// relatchSilence is how long the latched source must have been silent
	// before another one may take over (a phone re-bound by its NAT, or the
	// far end of a transfer).
	relatchSilence = time.Second
)

// latcher decides, for symmetric RTP (RFC 4961) with comedia-style
// learning, which packet sources are accepted and when the send address
// moves. It is a pure state machine: time is passed in, so tests drive it
// with synthetic clocks.
type latcher struct {
	latched    bool
	source     netip.AddrPort // latched source
	lastSource time.Time      // last packet from source

	cand      netip.AddrPort // candidate source being counted
	candSSRC  uint32
	candCount int
}

// observe is called for every well-formed RTP packet. accept reports
// whether the packet belongs to the stream; moved reports that the send
// address must now be from (the latch happened on this packet).
func (l *latcher) observe(from netip.AddrPort, ssrc uint32, now time.Time) (accept, moved bool) {
	if l.latched && from == l.source {
		l.lastSource = now
		l.candCount = 0
		return true, false
	}
	need := latchPackets
	if l.latched {
		if now.Sub(l.lastSource) <= relatchSilence {
			l.candCount = 0 // the current source is alive: nobody else counts
			return false, false
		}
		need = relatchPackets
	}
	if l.candCount > 0 && from == l.cand && ssrc == l.candSSRC {
		l.candCount++
	} else {
		l.cand, l.candSSRC, l.candCount = from, ssrc, 1
	}
	if l.candCount < need {
		return !l.latched, false // before the first latch, media flows at once
	}
	l.latched, l.source, l.lastSource, l.candCount = true, from, now, 0
	return true, true
}

// reset forgets the latch, for a re-INVITE that moved the remote.
func (l *latcher) reset() { *l = latcher{} }
