package codec

// Decoder turns RTP payloads of one stream into 16-bit mono PCM at
// SampleRate. It is stateful (codec prediction and concealment history),
// so each received stream has its own, used from one goroutine.
type Decoder interface {
	// Decode decodes one RTP payload into pcm and returns the number of
	// samples written. pcm must hold the whole packet (MaxPacketSamples
	// always does); otherwise ErrShortBuffer and nothing is decoded.
	// A payload that cannot be decoded returns an error and should be
	// treated as lost (Conceal).
	Decode(payload []byte, pcm []int16) (samples int, err error)

	// Conceal writes one packet's worth of substitute audio (the length
	// of the last packet decoded, 20 ms before any) for a packet that was
	// lost, and returns the number of samples written. Call it once per
	// lost packet, in order, then Decode the next packet that arrives:
	// the decoder joins the concealment smoothly to it.
	Conceal(pcm []int16) (samples int, err error)

	// SampleRate is the rate of the PCM written, in Hz.
	SampleRate() int
}

// FECDecoder is a Decoder that can also rebuild a lost packet from
// redundancy carried in the next one (Opus in-band FEC, RFC 6716
// §2.1.7). A caller that holds one packet in its jitter buffer checks for
// it with a type assertion.
type FECDecoder interface {
	Decoder

	// DecodeFEC recovers the packet lost just before next from next's
	// redundancy and writes as many samples as next carries (the lost
	// packet is assumed to be as long as next), returning that number.
	// Without redundancy in next it conceals instead, like Conceal. The
	// caller then Decodes next itself as usual.
	DecodeFEC(next []byte, pcm []int16) (samples int, err error)
}

// Encoder turns frames of 16-bit mono PCM at SampleRate into RTP payloads.
// It is stateful, so each sent stream has its own.
type Encoder interface {
	// Encode encodes one frame (pcm is exactly one frame: for Opus 10, 20,
	// 40 or 60 ms) into payload and returns the payload's length.
	// payload should have room for MaxPayload bytes: G.711 fails with
	// ErrShortBuffer if it is shorter than pcm, and libopus squeezes the
	// packet into whatever room it has, lowering its quality (at the
	// default bitrates, 1276 bytes per 20 ms never constrains it).
	Encode(pcm []int16, payload []byte) (n int, err error)

	// SampleRate is the rate of the PCM expected, in Hz.
	SampleRate() int
}

// MaxPayload is an output size that no Encode can overflow: libopus's
// recommended maximum packet (4000 bytes), which is also more than
// MaxG711Frame.
const MaxPayload = 4000

// MaxPacketMS is the longest packet decoded, in milliseconds: 120 ms is
// the most an Opus packet may carry (RFC 6716 §3.2.5), and G.711 payloads
// are limited to the same (MaxG711Frame).
const MaxPacketMS = 120

// MaxPacketSamples returns the number of samples at rate that holds any
// packet Decode accepts: a pcm buffer of this size never fails with
// ErrShortBuffer.
func MaxPacketSamples(rate int) int { return rate * MaxPacketMS / 1000 }
