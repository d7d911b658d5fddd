package codec

import "strings"

// Format is one RTP payload format the media worker can terminate, as
// SDP names it (a=rtpmap encoding name, clock rate, channels; RFC 4566
// §6), with the constructors of its decoder and encoder. The worker finds
// it with Lookup from the codec its SDP negotiation chose.
type Format struct {
	// Name is the SDP encoding name.
	Name string
	// ClockRate is the RTP timestamp clock in Hz: 8000 for G.711, and
	// always 48000 for Opus whatever rate it runs at (RFC 7587 §4.1).
	ClockRate uint32
	// Channels is the channel count in a=rtpmap: 1 for G.711, and
	// always 2 for Opus (RFC 7587 §7), although it is decoded to mono and
	// sent mono (a mono Opus stream is valid for a "/2" receiver).
	Channels uint16

	rates      []int
	newDecoder func(rate int) (Decoder, error)
	newEncoder func(rate int, cfg OpusConfig) (Encoder, error)
}

// The formats Lookup knows.
var (
	// PCMU is G.711 µ-law, RTP payload type 0.
	PCMU = Format{Name: "PCMU", ClockRate: 8000, Channels: 1, rates: []int{G711Rate},
		newDecoder: func(int) (Decoder, error) { return NewPCMUDecoder(), nil },
		newEncoder: func(int, OpusConfig) (Encoder, error) { return NewPCMUEncoder(), nil }}
	// PCMA is G.711 A-law, RTP payload type 8.
	PCMA = Format{Name: "PCMA", ClockRate: 8000, Channels: 1, rates: []int{G711Rate},
		newDecoder: func(int) (Decoder, error) { return NewPCMADecoder(), nil },
		newEncoder: func(int, OpusConfig) (Encoder, error) { return NewPCMAEncoder(), nil }}
	// Opus is opus/48000/2 with a dynamic payload type (RFC 7587).
	Opus = Format{Name: "opus", ClockRate: OpusClockRate, Channels: 2, rates: []int{8000, 16000, 48000},
		newDecoder: func(rate int) (Decoder, error) { return NewOpusDecoder(rate) },
		newEncoder: func(rate int, cfg OpusConfig) (Encoder, error) { return NewOpusEncoder(rate, cfg) }}
)

// OpusClockRate is Opus's RTP clock rate, 48 kHz in every mode and at
// every internal rate (RFC 7587 §4.1).
const OpusClockRate = 48000

var formats = []*Format{&PCMU, &PCMA, &Opus}

// Lookup returns the Format of an SDP codec: name compared ignoring case
// (RFC 4566 §6), clock rate and channels (0 read as 1, a=rtpmap's
// default). Opus must be opus/48000/2 (RFC 7587 §7); opus/48000 with the
// channel count left out is accepted too, since a mono decoder reads
// either. Anything else is ErrUnknownCodec.
func Lookup(name string, clockRate uint32, channels uint16) (*Format, error) {
	if channels == 0 {
		channels = 1
	}
	for _, f := range formats {
		if !strings.EqualFold(f.Name, name) || f.ClockRate != clockRate {
			continue
		}
		if channels == f.Channels || (f == &Opus && channels == 1) {
			return f, nil
		}
	}
	return nil, ErrUnknownCodec
}

// Rates returns the internal sample rates the format runs at, preferred
// (cheapest) first.
func (f *Format) Rates() []int { return append([]int(nil), f.rates...) }

// Supports reports whether the format runs at rate.
func (f *Format) Supports(rate int) bool {
	for _, r := range f.rates {
		if r == rate {
			return true
		}
	}
	return false
}

// NewDecoder returns a decoder of the format to PCM at rate.
func (f *Format) NewDecoder(rate int) (Decoder, error) {
	if !f.Supports(rate) {
		return nil, ErrRate
	}
	return f.newDecoder(rate)
}

// NewEncoder returns an encoder of the format from PCM at rate. cfg is
// used by Opus only (start from DefaultOpusConfig(rate)).
func (f *Format) NewEncoder(rate int, cfg OpusConfig) (Encoder, error) {
	if !f.Supports(rate) {
		return nil, ErrRate
	}
	return f.newEncoder(rate, cfg)
}

// Timestamp converts a number of samples at the internal rate into RTP
// timestamp units: the step between two packets. For G.711 they are the
// same. For Opus the RTP clock is always 48 kHz (RFC 7587 §4.1), so a
// 20 ms frame at 8 kHz (160 samples) advances the timestamp by 960; a
// caller that sends Opus at 8 kHz must scale by 48000/rate, or the far end
// plays it six times too fast.
func (f *Format) Timestamp(samples, rate int) uint32 {
	return uint32(uint64(samples) * uint64(f.ClockRate) / uint64(rate))
}

// Samples is the inverse of Timestamp: how many samples at rate a
// timestamp difference spans, e.g. to know how long a gap to conceal is.
func (f *Format) Samples(ts uint32, rate int) int {
	return int(uint64(ts) * uint64(rate) / uint64(f.ClockRate))
}
