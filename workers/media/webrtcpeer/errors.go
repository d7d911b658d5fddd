package webrtcpeer

import "errors"

// Sentinel errors. Callers test them with errors.Is; the wrapped text adds
// the reason, meant for the HTTP response and logs.
var (
	// ErrConfig is wrapped by every configuration error of New.
	ErrConfig = errors.New("webrtcpeer: bad config")
	// ErrBadOffer is wrapped by Answer when the offer is not an SDP offer
	// a WebRTC endpoint can read: not SDP at all, too large, or without
	// the ICE credentials or DTLS fingerprint WebRTC requires (RFC 8839,
	// RFC 8842). The edge answers 400 Bad Request with the reason.
	ErrBadOffer = errors.New("webrtcpeer: malformed offer")
	// ErrNotAcceptable is wrapped by Answer when the offer is well formed
	// but leaves nothing to answer: no audio m-line, no DTLS-SRTP
	// transport, or no audio codec in common. The edge answers 488 Not
	// Acceptable Here, as SIP does for the same case (RFC 3261 §21.4.26).
	ErrNotAcceptable = errors.New("webrtcpeer: offer not acceptable")
	// ErrNoCandidates is returned by Answer when ICE gathered no candidate
	// at all within Config.GatherTimeout: the network configuration
	// (IPs, Interfaces, PortMin/PortMax) leaves nothing to listen on. The
	// edge answers 503 Service Unavailable.
	ErrNoCandidates = errors.New("webrtcpeer: no ICE candidates gathered")
	// ErrState is returned by Answer on a leg that has already answered
	// (renegotiation and ICE restart are not supported yet) or is closed.
	ErrState = errors.New("webrtcpeer: leg already answered or closed")
	// ErrClosed is returned by the write methods after Close, so that a
	// bridge writing into a leg that has just hung up stops cleanly.
	ErrClosed = errors.New("webrtcpeer: leg closed")
	// ErrNotConnected is returned by the write methods until DTLS-SRTP is
	// up and the sender bound: like rtpsession.ErrNoRemote, the timestamp
	// still advances so that the media clock stays continuous.
	ErrNotConnected = errors.New("webrtcpeer: not connected yet")
	// ErrPayloadTooLarge is returned when a frame would not fit one
	// packet of the path MTU (SRTP adds its auth tag to the RTP packet).
	ErrPayloadTooLarge = errors.New("webrtcpeer: payload too large")
	// ErrPayloadType is returned when a payload type does not fit the
	// 7-bit PT field of RFC 3550 §5.1.
	ErrPayloadType = errors.New("webrtcpeer: payload type out of range 0-127")
)
