package sdp

import "net/netip"

// Session is what the media worker learns from a remote description, an
// offer (ParseOffer) or an answer (ParseAnswer): where to send the one
// audio stream, with which codec, and whether the remote holds it. It also
// keeps every m-line of the description, because an answer must mirror
// them all (RFC 3264 §6).
type Session struct {
	// Addr is the remote's RTP address: the connection address of the
	// chosen m-line (its own c= overrides the session-level one, RFC 4566
	// §5.7) and its port. It is never zero in a Session returned without
	// error: when every audio stream is rejected (port 0) the parse fails
	// with ErrNoAudio. Its address is unspecified (0.0.0.0) for an RFC
	// 2543 hold, see Direction.
	Addr netip.AddrPort
	// RTCPAddr is where to send RTCP: a=rtcp (RFC 3605) if present, else
	// Addr's port plus one (RFC 3550 §11). It is zero when Addr's port is
	// 65535 and no a=rtcp says otherwise, and equal to Addr when an answer
	// accepted rtcp-mux (RFC 5761 §5.1.1).
	RTCPAddr netip.AddrPort
	// RTCPMux reports that the description carries a=rtcp-mux (RFC 5761
	// §5.1.1): in an offer that the remote can multiplex, which Answer
	// accepts when Local.RTCPMux is set; in an answer that it does.
	RTCPMux bool
	// Codec is the chosen audio codec: named as in the caller's list, with
	// the remote's payload type, the one to send with, and the remote's
	// a=fmtp.
	Codec Codec
	// DTMF is the remote's telephone-event format (RFC 4733) at the
	// chosen codec's clock rate, else at 8000 Hz, with the remote's payload
	// type and a=fmtp; nil when absent or when it offers none of DTMF 0-15
	// and flash.
	DTMF *Codec
	// Ptime is the remote's a=ptime in ms (RFC 4566 §6), lowered to its
	// a=maxptime, DefaultPtime when absent, and clamped to MinPtime-MaxPtime.
	Ptime int
	// Direction is the direction the remote declared for the chosen
	// stream: its media-level attribute, else the session-level one, else
	// sendrecv (RFC 3264 §5.1). An RFC 2543 hold, connection address
	// 0.0.0.0 (RFC 3264 §8.4), means the remote does not want media and is
	// folded in: sendrecv becomes sendonly and recvonly inactive.
	Direction Direction
	// SessionID and Version are the o= line's (RFC 4566 §5.2): a re-offer
	// with the same SessionID and Version changes nothing (RFC 3264 §8).
	SessionID uint64
	Version   uint64
	// Media lists every m-line of the description in order. Answer mirrors
	// it: same count and order, rejected streams with port 0 (RFC 3264 §6).
	Media []Media
	// Stream is the index in Media of the chosen audio stream.
	Stream int

	// answerFmtp is the a=fmtp Answer writes for Codec: the caller's own
	// parameters when its supported codec had any, else the remote's.
	answerFmtp string
}

// Media is one m-line as written (RFC 4566 §5.14), kept so that Answer can
// mirror the offer line by line.
type Media struct {
	// Type is the media type: "audio", "video", "image", ...
	Type string
	// Port is the transport port; 0 marks a rejected or disabled stream.
	Port int
	// Proto is the transport protocol, "RTP/AVP", "udptl", ...
	Proto string
	// Formats are the media formats listed, payload types for RTP.
	Formats []string
}

// Held reports whether the remote put us on hold (RFC 3264 §8.4): it
// declared sendonly or inactive, or used the RFC 2543 connection address
// 0.0.0.0, so the worker should stop sending and, typically, play music on
// hold to the other leg.
func (s *Session) Held() bool {
	return s.Direction == SendOnly || s.Direction == Inactive || s.Addr.Addr().IsUnspecified()
}
