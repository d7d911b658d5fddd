package codec

import "errors"

var (
	// ErrUnknownCodec means Lookup does not know the SDP encoding name,
	// clock rate and channel count: the caller should not have offered or
	// accepted it.
	ErrUnknownCodec = errors.New("codec: unknown codec")

	// ErrRate means a codec cannot run at the requested internal sample
	// rate (G.711 only at 8000 Hz; Opus at 8000, 16000 or 48000 Hz).
	ErrRate = errors.New("codec: unsupported sample rate")

	// ErrFrameSize means the samples given to an encoder are not one
	// frame the codec can send (Opus: 10, 20, 40 or 60 ms; G.711: 1 to
	// MaxG711Frame samples), or a G.711 payload is longer than
	// MaxG711Frame.
	ErrFrameSize = errors.New("codec: unsupported frame size")

	// ErrShortBuffer means the caller's output buffer cannot hold the
	// frame. Nothing was decoded or encoded and the codec state is
	// unchanged, so the call can be repeated with a larger buffer.
	ErrShortBuffer = errors.New("codec: buffer too short")

	// ErrEmptyPayload means an RTP payload of zero bytes was given to
	// Decode. A lost packet is concealed with Conceal, never decoded from
	// an empty payload.
	ErrEmptyPayload = errors.New("codec: empty payload")

	// ErrInvalidPacket means an Opus payload breaks the packet rules of
	// RFC 6716 §3.4 (or libopus rejected it); the packet should be
	// counted as lost and concealed.
	ErrInvalidPacket = errors.New("codec: invalid Opus packet")

	// ErrConfig means an encoder setting is out of range: bitrate outside
	// 6-510 kb/s (RFC 6716 §2.1.1), complexity outside 0-10, or expected
	// packet loss outside 0-100 %.
	ErrConfig = errors.New("codec: invalid encoder setting")

	// ErrCodec wraps any other failure reported by libopus, which would
	// be a bug here or in libopus, not bad input.
	ErrCodec = errors.New("codec: libopus failure")
)
