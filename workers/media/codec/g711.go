package codec

import "github.com/switchboard-voip/switchboard/workers/media/g711"

// G711Rate is the only sample rate of G.711 (ITU-T G.711; RFC 3551 §4.5.14).
const G711Rate = 8000

// MaxG711Frame is the longest G.711 frame encoded or payload decoded, in
// samples (bytes): 120 ms. Usual ptimes are 10-60 ms; anything longer is
// not a telephone and is refused with ErrFrameSize rather than sized for.
const MaxG711Frame = G711Rate * MaxPacketMS / 1000

// G711Decoder decodes PCMU or PCMA payloads to 8 kHz PCM with the
// allocation-free tables of package g711, and conceals lost packets by
// pitch repetition after ITU-T G.711 Appendix I (see plc).
type G711Decoder struct {
	alaw bool
	last int // samples in the last packet, decoded or concealed
	plc  plc
}

// NewPCMUDecoder returns a decoder of G.711 µ-law (RTP payload type 0).
func NewPCMUDecoder() *G711Decoder { return &G711Decoder{} }

// NewPCMADecoder returns a decoder of G.711 A-law (RTP payload type 8).
func NewPCMADecoder() *G711Decoder { return &G711Decoder{alaw: true} }

// SampleRate returns 8000.
func (d *G711Decoder) SampleRate() int { return G711Rate }

// Decode expands one payload, one byte per sample. Any length from 1 to
// MaxG711Frame bytes is a valid G.711 payload. If the packets before were
// concealed, the start of this one is cross-faded with the concealment's
// continuation (Appendix I's recovery overlap-add), so the real signal
// fades in without a step.
func (d *G711Decoder) Decode(payload []byte, pcm []int16) (int, error) {
	n := len(payload)
	switch {
	case n == 0:
		return 0, ErrEmptyPayload
	case n > MaxG711Frame:
		return 0, ErrFrameSize
	case len(pcm) < n:
		return 0, ErrShortBuffer
	}
	pcm = pcm[:n]
	if d.alaw {
		g711.DecodeAlaw(pcm, payload)
	} else {
		g711.DecodeUlaw(pcm, payload)
	}
	d.plc.good(pcm)
	d.last = n
	return n, nil
}

// Conceal writes one lost packet's worth (the last packet's length, or
// 20 ms) of substitute audio: see plc for what it sounds like.
func (d *G711Decoder) Conceal(pcm []int16) (int, error) {
	n := d.last
	if n == 0 {
		n = G711Rate / 50
	}
	if len(pcm) < n {
		return 0, ErrShortBuffer
	}
	d.plc.conceal(pcm[:n])
	return n, nil
}

// G711Encoder compresses 8 kHz PCM to PCMU or PCMA payloads. It keeps no
// state; it is a type so that it satisfies Encoder like the others.
type G711Encoder struct {
	alaw bool
}

// NewPCMUEncoder returns an encoder of G.711 µ-law (RTP payload type 0).
func NewPCMUEncoder() *G711Encoder { return &G711Encoder{} }

// NewPCMAEncoder returns an encoder of G.711 A-law (RTP payload type 8).
func NewPCMAEncoder() *G711Encoder { return &G711Encoder{alaw: true} }

// SampleRate returns 8000.
func (e *G711Encoder) SampleRate() int { return G711Rate }

// Encode compresses pcm (1 to MaxG711Frame samples, any ptime) to one byte
// per sample.
func (e *G711Encoder) Encode(pcm []int16, payload []byte) (int, error) {
	n := len(pcm)
	switch {
	case n == 0 || n > MaxG711Frame:
		return 0, ErrFrameSize
	case len(payload) < n:
		return 0, ErrShortBuffer
	}
	if e.alaw {
		return g711.EncodeAlaw(payload, pcm), nil
	}
	return g711.EncodeUlaw(payload, pcm), nil
}
