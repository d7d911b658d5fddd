package rtpsession

import (
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/pion/rtp"
)

// DefaultRTCPInterval is the report interval used when Config.RTCPInterval
// is zero: the 5 s minimum of RFC 3550 §6.2, which for a two-party audio
// session is also what the full algorithm would give.
const DefaultRTCPInterval = 5 * time.Second

// Config describes one RTP session (one call leg). Ports, LocalIP,
// ClockRate and PayloadType are required.
type Config struct {
	// Ports allocates the even/odd socket pair (RFC 3550 §11). The session
	// releases it on Close.
	Ports *Ports
	// LocalIP is the address the sockets are bound to and the one
	// LocalAddr reports for the SDP c= line.
	LocalIP netip.Addr
	// ClockRate is the RTP timestamp rate of the codec (8000 for G.711,
	// RFC 3551 §4.5.14; 48000 for Opus). It converts jitter to time and
	// extrapolates the SR RTP timestamp.
	ClockRate uint32
	// PayloadType is the PT WriteSample sends: the remote's number for the
	// negotiated codec (RFC 3551 §6 for the static ones).
	PayloadType uint8
	// SSRC is our synchronization source; 0 picks a random one as RFC 3550
	// §8.1 asks, so that two legs never collide by construction.
	SSRC uint32
	// RTCPInterval is the mean time between our RTCP reports; zero means
	// DefaultRTCPInterval, negative disables RTCP sending (receiving is
	// always on). Each interval is drawn uniformly from [0.5, 1.5] times it
	// (RFC 3550 §6.2) so that reports of many calls do not synchronize.
	RTCPInterval time.Duration
	// OnPacket is called from the session's read goroutine for every valid
	// RTP packet accepted. The packet, its header slices and its payload are
	// only valid during the call: the buffers are reused for the next
	// datagram, so copy what must be kept. It must not call Close (Close
	// waits for the goroutine that is running it). Nil drops the media but
	// statistics are kept.
	OnPacket func(p *rtp.Packet)
	// Latch enables symmetric RTP (RFC 4961, "comedia"): send to where the
	// remote's packets come from rather than to the SDP address, which a
	// phone behind NAT cannot know. See the package documentation for the
	// exact rule and its protection against hijacking.
	Latch bool
	// Log receives latch events and the first malformed datagram of the
	// session; nil discards.
	Log *slog.Logger
	// Counters, if not nil, are process-wide totals this session adds to.
	Counters *Counters
}

// validate checks the required fields and fills the defaults.
func (c *Config) validate() error {
	switch {
	case c.Ports == nil:
		return fmt.Errorf("%w: Ports is nil", ErrConfig)
	case !c.LocalIP.IsValid():
		return fmt.Errorf("%w: LocalIP is not set", ErrConfig)
	case c.ClockRate == 0:
		return fmt.Errorf("%w: ClockRate is 0", ErrConfig)
	case c.PayloadType > 127:
		return fmt.Errorf("%w: %w", ErrConfig, ErrPayloadType)
	}
	if c.RTCPInterval == 0 {
		c.RTCPInterval = DefaultRTCPInterval
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return nil
}
