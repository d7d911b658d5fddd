package sdp

import "errors"

var (
	// ErrMalformed is wrapped by every error about a body that is not a
	// usable SDP description: not SDP, larger than MaxSize, trailing
	// garbage, no c= for the chosen stream, an address that is not a
	// unicast IP literal, a bad port, payload type, a=rtpmap, a=rtcp or
	// a=ptime. A SIP caller answers such an offer with 400 or 488.
	ErrMalformed = errors.New("sdp: malformed description")

	// ErrNoAudio means the description has no audio m-line with a
	// non-zero port (RFC 3264 §6: port 0 rejects or disables a stream), as
	// in a T.38-only re-offer. The caller answers an offer with 488; for an
	// answer, the remote refused audio.
	ErrNoAudio = errors.New("sdp: no active audio stream")

	// ErrNoCommonCodec means no active RTP/AVP audio stream lists a codec
	// from the caller's list. The caller answers the offer with 488 Not
	// Acceptable Here (RFC 3261 §21.4.26).
	ErrNoCommonCodec = errors.New("sdp: no common codec")

	// ErrUnsupportedProfile means audio was offered, but only over
	// transport profiles other than RTP/AVP (SRTP, WebRTC's
	// UDP/TLS/RTP/SAVPF, ...), which the media worker does not terminate.
	// It is always returned wrapped together with ErrNoCommonCodec, so
	// errors.Is matches both.
	ErrUnsupportedProfile = errors.New("sdp: unsupported transport profile")

	// ErrBadArgument means a caller passed Answer an invalid Local, a nil
	// or hand-built Session without a chosen stream, or an unknown
	// Direction: a programming error, not a remote's fault.
	ErrBadArgument = errors.New("sdp: bad argument")
)
