package rtpsession

import (
	"net/netip"
	"time"
)

// Stats is a snapshot of one session's counters and RFC 3550 reception
// statistics, for call-quality records (CDRs, MOS estimates) and dead-call
// detection.
type Stats struct {
	// SSRC is ours; RemoteSSRC the source we currently receive (0 before
	// the first packet).
	SSRC, RemoteSSRC uint32

	// PacketsSent and OctetsSent count RTP packets and payload octets sent
	// (the SR sender's counts of RFC 3550 §6.4.1).
	PacketsSent, OctetsSent uint64
	// PacketsReceived and OctetsReceived count accepted RTP packets and
	// their payload octets over the whole session, every remote SSRC
	// included.
	PacketsReceived, OctetsReceived uint64

	// ExpectedPackets is extended highest sequence number minus the first
	// one plus one for the current remote source (RFC 3550 A.3).
	ExpectedPackets uint64
	// Lost is ExpectedPackets minus the packets received from the current
	// source. RFC 3550 lets it go negative when duplicates arrive; it is
	// reported clamped at 0.
	Lost uint64
	// FractionLost is the fraction (0..1) of packets lost in the interval
	// covered by our last RTCP report (RFC 3550 §6.4.1, A.3).
	FractionLost float64
	// Jitter is the interarrival jitter estimate of RFC 3550 §6.4.1 / A.8
	// in timestamp units, as carried in reception reports; JitterDuration
	// is the same converted with the clock rate.
	Jitter         uint32
	JitterDuration time.Duration
	// RTT is the round-trip time derived from the last reception report
	// about our stream (RFC 3550 §6.4.1, A - LSR - DLSR); 0 until one
	// arrives that refers to an SR we sent.
	RTT time.Duration
	// LastReceived is when the last accepted RTP packet arrived (zero
	// before the first).
	LastReceived time.Time

	// Latched is true once the send address is locked onto a packet
	// source; Latches counts such locks, re-latches included, and
	// LatchedTo is the current one (see the package documentation).
	Latched   bool
	Latches   uint64
	LatchedTo netip.AddrPort

	// Malformed counts datagrams on the RTP port that were not valid RTP
	// (RFC 3550 §5.1, A.1 header checks); RTCPMalformed the same for RTCP,
	// on either port.
	Malformed, RTCPMalformed uint64
	// Ignored counts valid RTP packets dropped on purpose: from a source
	// other than the latched one, or the first packet after a sequence
	// jump (RFC 3550 A.1).
	Ignored uint64
	// SidePackets counts packets of another payload type than the audio
	// from another SSRC than the current source (telephone-events on their
	// own SSRC, RFC 4733 §2.1): delivered, in PacketsReceived, but kept out
	// of the source's sequence, loss and jitter figures.
	SidePackets uint64

	// RTCPSent and RTCPReceived count compound RTCP packets.
	RTCPSent, RTCPReceived uint64
	// Peer is what the remote last reported about our stream.
	Peer PeerReport
	// RemoteBye is set once the remote sent an RTCP BYE for its source
	// (RFC 3550 §6.6): the far end has stopped, even if signalling has not
	// said so yet.
	RemoteBye bool
}

// PeerReport is the content of the last reception report block the remote
// sent about our SSRC: how our outgoing stream arrives there.
type PeerReport struct {
	// At is when it arrived; zero if none yet.
	At time.Time
	// FractionLost (0..1) over the remote's last interval.
	FractionLost float64
	// Lost is the cumulative count, signed as RFC 3550 §6.4.1 allows.
	Lost int32
	// Jitter in timestamp units.
	Jitter uint32
}

// Sequence-number validation constants of RFC 3550 A.1.
const (
	seqMod      = 1 << 16
	maxDropout  = 3000
	maxMisorder = 100
)

// reception is the per-source state of RFC 3550 A.1 (sequence validity,
// wraparound, restart), A.3 (expected and lost) and A.8 (jitter).
//
// A.1's probation (MIN_SEQUENTIAL packets before a source is valid) is left
// out: sources are vetted by the latch instead, and dropping the first
// packets of every call would lose audio and skew the counts. A reordered
// packet older than the first one received lowers the base (A.3 would
// otherwise count it received but never expected).
type reception struct {
	ssrc     uint32
	active   bool // a packet was accepted since init
	maxSeq   uint16
	cycles   uint64 // wraps seen, times 2^16
	baseSeq  int64  // extended; below 0 when a reordered packet preceded the first
	badSeq   uint32 // seqMod+1 when none pending
	received uint64 // packets of this source since the last (re)start

	expectedPrior, receivedPrior uint64
	lastFraction                 uint8

	transit     int64
	haveTransit bool
	jitter      uint64 // RFC 3550 A.8 jitter, scaled by 16
}

// initSeq restarts the sequence state at seq (A.1 init_seq), keeping the
// jitter estimate but not the transit time, which belongs to the old
// timestamp base.
func (r *reception) initSeq(seq uint16) {
	r.baseSeq = int64(seq)
	r.maxSeq = seq
	r.badSeq = seqMod + 1
	r.cycles = 0
	r.received = 0
	r.expectedPrior = 0
	r.receivedPrior = 0
	r.haveTransit = false
}

// start makes ssrc the source and seq its first sequence number.
func (r *reception) start(ssrc uint32, seq uint16) {
	*r = reception{ssrc: ssrc, active: true}
	r.initSeq(seq)
}

// updateSeq is A.1 update_seq: it reports whether the packet counts. Large
// jumps are not valid until the next packet confirms them, when the
// sequence restarts there.
func (r *reception) updateSeq(seq uint16) bool {
	udelta := seq - r.maxSeq
	switch {
	case udelta < maxDropout: // in order, with a permissible gap
		if seq < r.maxSeq {
			r.cycles += seqMod // wrapped
		}
		r.maxSeq = seq
	case int(udelta) <= seqMod-maxMisorder: // a very large jump
		if uint32(seq) != r.badSeq {
			r.badSeq = uint32(seq+1) & (seqMod - 1)
			return false
		}
		// Two sequential packets: the sender restarted without telling us.
		r.initSeq(seq)
	default:
		// Duplicate or reordered packet: counted, max unchanged. One older
		// than the first packet (the first two swapped in flight) moves
		// the base back, so that A.3's expected count includes it instead
		// of reporting a negative loss.
		if ext := int64(r.extMax()) - int64(seqMod-int(udelta)); ext < r.baseSeq {
			r.baseSeq = ext
		}
	}
	r.received++
	return true
}

// updateJitter is A.8: arrival is the arrival time in timestamp units.
func (r *reception) updateJitter(arrival, ts uint32) {
	transit := int64(int32(arrival - ts))
	if !r.haveTransit {
		r.transit, r.haveTransit = transit, true
		return
	}
	d := transit - r.transit
	r.transit = transit
	if d < 0 {
		d = -d
	}
	// J += (|D| - J)/16, with J kept scaled by 16 as in A.8.
	r.jitter = uint64(int64(r.jitter) + d - int64((r.jitter+8)>>4))
}

// extMax is the extended highest sequence number received (A.3).
func (r *reception) extMax() uint64 { return r.cycles + uint64(r.maxSeq) }

// expected is A.3's expected packet count.
func (r *reception) expected() uint64 {
	if !r.active {
		return 0
	}
	return uint64(int64(r.extMax()) - r.baseSeq + 1)
}

// lost is A.3's cumulative loss, negative with duplicates.
func (r *reception) lost() int64 { return int64(r.expected()) - int64(r.received) }

// interval computes the A.3 fraction lost since the previous call and
// starts a new interval; it is called once per report sent.
func (r *reception) interval() uint8 {
	expected := r.expected()
	expectedInterval := expected - r.expectedPrior
	r.expectedPrior = expected
	receivedInterval := r.received - r.receivedPrior
	r.receivedPrior = r.received
	lostInterval := int64(expectedInterval) - int64(receivedInterval)
	if expectedInterval == 0 || lostInterval <= 0 {
		r.lastFraction = 0
	} else {
		r.lastFraction = uint8((lostInterval << 8) / int64(expectedInterval))
	}
	return r.lastFraction
}

// jitterUnits is the reported jitter in timestamp units.
func (r *reception) jitterUnits() uint32 { return uint32(r.jitter >> 4) }

// tsUnits converts an elapsed time to RTP timestamp units at rate without
// overflowing for long calls.
func tsUnits(d time.Duration, rate uint32) uint32 {
	sec := int64(d / time.Second)
	rem := int64(d % time.Second)
	return uint32(sec*int64(rate) + rem*int64(rate)/int64(time.Second))
}

// unitsDuration converts timestamp units to time.
func unitsDuration(units uint32, rate uint32) time.Duration {
	return time.Duration(uint64(units) * uint64(time.Second) / uint64(rate))
}
