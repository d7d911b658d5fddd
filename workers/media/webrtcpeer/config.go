package webrtcpeer

import (
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/switchboard-voip/switchboard/workers/media/rtpsession"
)

// Defaults filled in by Config.fill.
const (
	// DefaultGatherTimeout bounds the wait for ICE gathering in Answer.
	// Host candidates take microseconds; a STUN binding or a TURN
	// allocation one round trip each, and pion gives up on a STUN server
	// after 5 s. Past this, the answer goes out with the candidates
	// gathered so far.
	DefaultGatherTimeout = 3 * time.Second
	// DefaultMaxOfferSize bounds the SDP Answer parses. A browser's audio
	// offer is 2-6 KiB; one with video and data channels stays under 16.
	DefaultMaxOfferSize = 64 << 10
)

// Config describes the WebRTC side of one media worker: the networks ICE
// may use, the addresses it advertises, the relays it may use and the
// codecs it accepts. One Config makes one Engine, shared by every leg.
type Config struct {
	// IPs limits ICE host candidates to these local addresses; empty means
	// every address of the machine except loopback ones. A loopback
	// address here enables loopback candidates: tests use
	// []netip.Addr{127.0.0.1} so that no packet leaves the machine.
	IPs []netip.Addr
	// Interfaces limits ICE to these network interfaces by name (eth0);
	// empty means all. Combined with IPs, both must allow an address.
	Interfaces []string
	// PortMin and PortMax bound the UDP ports ICE binds, inclusive; both
	// zero means any ephemeral port. Keep the range apart from the SIP
	// RTP range (rtpsession.Ports): the two allocators do not know each
	// other and would only collide and retry.
	PortMin, PortMax uint16
	// PublicIPs are the addresses a 1:1 NAT maps the local ones to
	// (a cloud VM's elastic IP): host candidates advertise them in place
	// of the private addresses, so that a browser needs no STUN round trip
	// to reach us. Leave empty when the machine's own addresses are
	// reachable.
	PublicIPs []netip.Addr
	// ICEServers are STUN and TURN servers for our own candidates
	// (server-reflexive and relayed). A server with a public address or
	// PublicIPs needs none.
	ICEServers []ICEServer
	// Codecs lists the audio codecs offered to legs, by SDP name: "opus",
	// "PCMU", "PCMA". Empty means all three. Which one a leg uses is the
	// offer's first choice among these (RFC 3264 §6.1: the answerer
	// should honour the offerer's preference). telephone-event (RFC 4733)
	// is always accepted, at 8000 and 48000 Hz.
	Codecs []string
	// DisconnectedTimeout, FailedTimeout and KeepaliveInterval are ICE's
	// consent timers (RFC 7675): a leg that hears nothing from the browser
	// for DisconnectedTimeout reports StateDisconnected, and StateFailed
	// FailedTimeout later; KeepaliveInterval is how often consent is
	// checked when no media flows. Zero means pion's 5 s, 25 s and 2 s.
	DisconnectedTimeout, FailedTimeout, KeepaliveInterval time.Duration
	// GatherTimeout bounds ICE gathering in Answer; zero means
	// DefaultGatherTimeout.
	GatherTimeout time.Duration
	// MaxOfferSize is the largest offer Answer accepts, in bytes; zero
	// means DefaultMaxOfferSize.
	MaxOfferSize int
	// Log receives the engine's and its legs' messages; nil discards.
	// pion's own logging stays off (it logs to stderr on its own).
	Log *slog.Logger
	// Counters, if not nil, are process-wide packet totals every leg adds
	// to: the same counters as the SIP legs' RTP sessions, so that the
	// worker's metrics count both kinds of leg.
	Counters *rtpsession.Counters
}

// ICEServer is one STUN or TURN server (RFC 7064, RFC 7065 URIs such as
// "stun:stun.example.org:3478" or "turn:turn.example.org?transport=udp").
type ICEServer struct {
	// URLs of the server.
	URLs []string
	// Username and Credential authenticate to a TURN server (RFC 8656
	// long-term credentials); STUN needs none.
	Username, Credential string
}

// fill checks the config and fills the defaults.
func (c *Config) fill() error {
	if c.GatherTimeout < 0 || c.MaxOfferSize < 0 || c.DisconnectedTimeout < 0 || c.FailedTimeout < 0 || c.KeepaliveInterval < 0 {
		return fmt.Errorf("%w: negative timeout or size", ErrConfig)
	}
	if c.DisconnectedTimeout == 0 {
		c.DisconnectedTimeout = 5 * time.Second
	}
	if c.FailedTimeout == 0 {
		c.FailedTimeout = 25 * time.Second
	}
	if c.KeepaliveInterval == 0 {
		c.KeepaliveInterval = 2 * time.Second
	}
	if c.GatherTimeout == 0 {
		c.GatherTimeout = DefaultGatherTimeout
	}
	if c.MaxOfferSize == 0 {
		c.MaxOfferSize = DefaultMaxOfferSize
	}
	if (c.PortMin == 0) != (c.PortMax == 0) || c.PortMin > c.PortMax {
		return fmt.Errorf("%w: port range %d-%d", ErrConfig, c.PortMin, c.PortMax)
	}
	if len(c.Codecs) == 0 {
		c.Codecs = []string{"opus", "PCMU", "PCMA"}
	}
	for _, name := range c.Codecs {
		if lookupCodec(name) == nil {
			return fmt.Errorf("%w: codec %q (want opus, PCMU or PCMA)", ErrConfig, name)
		}
	}
	for _, ip := range append(append([]netip.Addr(nil), c.IPs...), c.PublicIPs...) {
		if !ip.IsValid() {
			return fmt.Errorf("%w: invalid IP address", ErrConfig)
		}
	}
	for _, s := range c.ICEServers {
		for _, u := range s.URLs {
			if !strings.HasPrefix(u, "stun:") && !strings.HasPrefix(u, "stuns:") &&
				!strings.HasPrefix(u, "turn:") && !strings.HasPrefix(u, "turns:") {
				return fmt.Errorf("%w: ICE server URL %q", ErrConfig, u)
			}
		}
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return nil
}

// allowsIP reports whether ICE may gather on ip under Config.IPs.
func (c *Config) allowsIP(ip netip.Addr) bool {
	if len(c.IPs) == 0 {
		return !ip.IsLoopback()
	}
	ip = ip.Unmap()
	for _, a := range c.IPs {
		if a.Unmap() == ip {
			return true
		}
	}
	return false
}

// wantsLoopback reports whether Config.IPs names a loopback address.
func (c *Config) wantsLoopback() bool {
	for _, a := range c.IPs {
		if a.IsLoopback() {
			return true
		}
	}
	return false
}
