package codec

import (
	"errors"
	"fmt"

	"gopkg.in/hraban/opus.v2"
)

// OpusDecoder decodes Opus packets (RFC 6716) of any mode, bandwidth and
// channel count to mono PCM at an internal rate of 8, 16 or 48 kHz, with
// libopus through gopkg.in/hraban/opus.v2. libopus resamples internally
// and mixes stereo packets down, so the internal rate is simply the rate
// the caller wants out: 8 kHz to bridge to G.711.
type OpusDecoder struct {
	dec  *opus.Decoder
	rate int
	last int // samples in the last packet, decoded or concealed
}

// NewOpusDecoder returns a decoder to rate (8000, 16000 or 48000 Hz).
func NewOpusDecoder(rate int) (*OpusDecoder, error) {
	if !opusRate(rate) {
		return nil, ErrRate
	}
	dec, err := opus.NewDecoder(rate, 1)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCodec, err)
	}
	return &OpusDecoder{dec: dec, rate: rate}, nil
}

// SampleRate returns the internal rate.
func (d *OpusDecoder) SampleRate() int { return d.rate }

// Decode decodes one packet of 2.5 to 120 ms (any valid Opus packet,
// including several frames per packet: 40 and 60 ms ptimes) and returns
// its number of samples. The packet is checked against RFC 6716 §3.4
// first; a bad one returns ErrInvalidPacket and leaves the decoder as it
// was.
func (d *OpusDecoder) Decode(payload []byte, pcm []int16) (int, error) {
	if len(payload) == 0 {
		return 0, ErrEmptyPayload
	}
	n, err := opusPacketSamples(payload, d.rate)
	if err != nil {
		return 0, err
	}
	if len(pcm) < n {
		return 0, ErrShortBuffer
	}
	// hraban/opus.v2 passes cap(pcm) to libopus as the room it has:
	// cap the slice, so nothing past len is ever written.
	got, err := d.dec.Decode(payload, pcm[:n:n])
	if err != nil {
		return 0, opusError(err)
	}
	d.last = got
	return got, nil
}

// Conceal runs libopus's packet-loss concealment for one lost packet of
// the last packet's duration (20 ms before any packet): it extrapolates
// the last pitch and spectrum (SILK) or the last spectrum (CELT) and
// fades towards silence over consecutive losses.
func (d *OpusDecoder) Conceal(pcm []int16) (int, error) {
	n := d.last
	if n == 0 {
		n = d.rate / 50
	}
	if len(pcm) < n {
		return 0, ErrShortBuffer
	}
	if err := d.dec.DecodePLC(pcm[:n:n]); err != nil {
		return 0, opusError(err)
	}
	return n, nil
}

// DecodeFEC rebuilds the packet lost before next from next's in-band FEC
// (RFC 6716 §2.1.7; the sender must have FEC on, and the receiving side
// should say useinbandfec=1 in its SDP, RFC 7587 §6.1). It writes next's
// duration of samples. libopus recovers the last frame of that span from
// the redundancy and conceals the rest (for a 40 or 60 ms packet, all but
// its last 20 ms), and conceals all of it if next has no redundancy, as in
// a CELT packet. Then Decode next as usual.
func (d *OpusDecoder) DecodeFEC(next []byte, pcm []int16) (int, error) {
	if len(next) == 0 {
		return 0, ErrEmptyPayload
	}
	n, err := opusPacketSamples(next, d.rate)
	if err != nil {
		return 0, err
	}
	if len(pcm) < n {
		return 0, ErrShortBuffer
	}
	if err := d.dec.DecodeFEC(next, pcm[:n:n]); err != nil {
		return 0, opusError(err)
	}
	d.last = n
	return n, nil
}

// opusError maps a libopus error onto the package's sentinels.
func opusError(err error) error {
	var oe opus.Error
	if errors.As(err, &oe) && oe == opus.ErrInvalidPacket {
		return fmt.Errorf("%w: %v", ErrInvalidPacket, err)
	}
	if errors.As(err, &oe) && oe == opus.ErrBufferTooSmall {
		return ErrShortBuffer
	}
	return fmt.Errorf("%w: %v", ErrCodec, err)
}
