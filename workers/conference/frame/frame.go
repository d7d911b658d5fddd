package frame

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Version is the format version this package reads and writes.
const Version = 1

// HeaderLen is the size of the header in bytes.
const HeaderLen = 20

// MaxDuration is the longest frame a message may carry (Opus's longest
// packet, RFC 6716 §3.2.5).
const MaxDuration = 120 * time.Millisecond

// MaxPayload is the longest encoded payload a message may carry: as
// workers/media/codec.MaxPayload, what any Opus packet fits in.
const MaxPayload = 4000

// Codec says what the payload is.
type Codec uint8

const (
	// PCM is linear 16-bit mono samples, little-endian, at Frame.Rate.
	PCM Codec = iota
	// PCMU is G.711 µ-law at 8 kHz.
	PCMU
	// PCMA is G.711 A-law at 8 kHz.
	PCMA
	// Opus is one Opus packet (RFC 6716) encoded at Frame.Rate.
	Opus
	numCodecs
)

// String returns the codec's name.
func (c Codec) String() string {
	switch c {
	case PCM:
		return "PCM"
	case PCMU:
		return "PCMU"
	case PCMA:
		return "PCMA"
	case Opus:
		return "opus"
	}
	return fmt.Sprintf("codec(%d)", uint8(c))
}

// Flags are a frame's state bits.
type Flags uint8

const (
	// Muted means the member is muted at the source; the payload may be
	// silence and the mixer must not mix it.
	Muted Flags = 1 << iota
	// Silence means the sender's voice activity detector found no speech
	// in the frame: the mixer may leave it out of the mix.
	Silence
	// Talking means the member is talking per the sender's detector (its
	// state, with hangover: a frame can be Silence and Talking).
	Talking
	// Discontinuity means the stream restarted (new source, worker
	// failover): sequence and timestamp do not follow the previous frame.
	Discontinuity

	knownFlags = Muted | Silence | Talking | Discontinuity
)

// Frame is one message. Unmarshal fills it in place; Marshal reads it.
type Frame struct {
	Codec Codec
	Flags Flags
	// Level is the frame's RMS level in dBFS, −127 to 0 (−127 for
	// silence or unknown).
	Level int
	// Rate is the sample rate in Hz that Samples and Timestamp count in.
	Rate int
	// Samples is the frame's duration, in samples at Rate.
	Samples int
	// Seq is the stream's frame counter.
	Seq uint32
	// Timestamp is the capture time of the frame's first sample, in
	// samples at Rate from the start of the stream.
	Timestamp uint64
	// PCM holds the samples of a PCM frame. Unmarshal decodes into its
	// capacity (which must hold Samples) and never allocates.
	PCM []int16
	// Payload is the payload of an encoded frame. After Unmarshal it is
	// also set for PCM frames (the raw bytes) and aliases the message.
	Payload []byte
}

// Size is the length of the message Marshal makes of f.
func (f *Frame) Size() int {
	if f.Codec == PCM {
		return HeaderLen + 2*len(f.PCM)
	}
	return HeaderLen + len(f.Payload)
}

// MarshalBinary returns f as a new message.
func (f *Frame) MarshalBinary() ([]byte, error) {
	return f.AppendBinary(make([]byte, 0, f.Size()))
}

// AppendBinary appends f's message to b. It checks f as Unmarshal checks
// a message, and appends nothing when f is invalid.
func (f *Frame) AppendBinary(b []byte) ([]byte, error) {
	payload := len(f.Payload)
	if f.Codec == PCM {
		payload = 2 * len(f.PCM)
	}
	if f.Level < -127 || f.Level > 0 {
		return b, fmt.Errorf("%w: %d dBFS", ErrLevel, f.Level)
	}
	if err := check(f.Codec, f.Flags, f.Rate, f.Samples, payload); err != nil {
		return b, err
	}
	var h [HeaderLen]byte
	h[0], h[1], h[2], h[3] = Version, byte(f.Codec), byte(f.Flags), byte(-f.Level)
	binary.BigEndian.PutUint16(h[4:], uint16(f.Rate))
	binary.BigEndian.PutUint16(h[6:], uint16(f.Samples))
	binary.BigEndian.PutUint32(h[8:], f.Seq)
	binary.BigEndian.PutUint64(h[12:], f.Timestamp)
	b = append(b, h[:]...)
	if f.Codec != PCM {
		return append(b, f.Payload...), nil
	}
	for _, s := range f.PCM {
		b = binary.LittleEndian.AppendUint16(b, uint16(s))
	}
	return b, nil
}

// Unmarshal reads the message data into f. f.Payload aliases data; a PCM
// frame's samples are decoded into f.PCM, whose capacity must hold them.
// On error f is unchanged, apart from f.PCM's contents.
func Unmarshal(data []byte, f *Frame) error {
	if len(data) < HeaderLen {
		return fmt.Errorf("%w: %d bytes", ErrShort, len(data))
	}
	if data[0] != Version {
		return fmt.Errorf("%w: %d", ErrVersion, data[0])
	}
	if data[3] > 127 {
		return fmt.Errorf("%w: %d", ErrLevel, -int(data[3]))
	}
	c, flags := Codec(data[1]), Flags(data[2])
	rate := int(binary.BigEndian.Uint16(data[4:]))
	n := int(binary.BigEndian.Uint16(data[6:]))
	payload := data[HeaderLen:]
	if err := check(c, flags, rate, n, len(payload)); err != nil {
		return err
	}
	if c == PCM {
		if cap(f.PCM) < n {
			return fmt.Errorf("%w: %d samples, capacity %d", ErrShortBuffer, n, cap(f.PCM))
		}
		pcm, raw := f.PCM[:n], payload[:2*n]
		for i := range pcm {
			pcm[i] = int16(uint16(raw[2*i]) | uint16(raw[2*i+1])<<8)
		}
		f.PCM = pcm
	}
	f.Codec, f.Flags, f.Level, f.Rate, f.Samples = c, flags, -int(data[3]), rate, n
	f.Seq = binary.BigEndian.Uint32(data[8:])
	f.Timestamp = binary.BigEndian.Uint64(data[12:])
	f.Payload = payload
	return nil
}

// check validates the fields that Marshal and Unmarshal share.
func check(c Codec, flags Flags, rate, samples, payload int) error {
	if c >= numCodecs {
		return fmt.Errorf("%w: %d", ErrCodec, c)
	}
	if flags&^knownFlags != 0 {
		return fmt.Errorf("%w: %#02x", ErrFlags, uint8(flags))
	}
	if rate != 8000 && rate != 16000 && rate != 48000 || (c == PCMU || c == PCMA) && rate != 8000 {
		return fmt.Errorf("%w: %s at %d Hz", ErrRate, c, rate)
	}
	maxSamples := rate * int(MaxDuration/time.Millisecond) / 1000
	if samples <= 0 || samples > maxSamples || c == Opus && samples*400%rate != 0 {
		return fmt.Errorf("%w: %d samples at %d Hz", ErrSamples, samples, rate)
	}
	want := samples
	switch c {
	case PCM:
		want = 2 * samples
	case Opus:
		if payload < 1 || payload > MaxPayload {
			return fmt.Errorf("%w: Opus payload of %d bytes", ErrSize, payload)
		}
		return nil
	}
	if payload != want {
		return fmt.Errorf("%w: %s payload of %d bytes for %d samples, want %d", ErrSize, c, payload, samples, want)
	}
	return nil
}
