package rfc4733

import (
	"encoding/binary"
	"fmt"
)

// PayloadSize is the size of one event block (RFC 4733 §2.3).
const PayloadSize = 4

// MaxDuration is the largest duration one event block can carry; a longer
// event is sent in segments (RFC 4733 §2.5.1.3).
const MaxDuration = 0xFFFF

// Payload is one RFC 4733 §2.3 event block:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     event     |E|R| volume    |          duration             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type Payload struct {
	// Event is the event code; 0-15 are the DTMF digits (§3.2).
	Event uint8
	// End is the E bit: this is the end of the event (§2.3.2).
	End bool
	// Reserved is the R bit; senders leave it clear, receivers ignore it
	// (§2.3.3). It is kept so Marshal(Unmarshal(b)) == b.
	Reserved bool
	// Volume is the power level as -dBm0, 0-63 (§2.3.4).
	Volume uint8
	// Duration is the event's length so far, in RTP timestamp units from
	// the packet's timestamp (§2.3.5).
	Duration uint16
}

// Unmarshal decodes one 4-byte block; any other length is ErrPayloadSize.
func (p *Payload) Unmarshal(b []byte) error {
	if len(b) != PayloadSize {
		return fmt.Errorf("%w: %d bytes", ErrPayloadSize, len(b))
	}
	p.Event = b[0]
	p.End = b[1]&0x80 != 0
	p.Reserved = b[1]&0x40 != 0
	p.Volume = b[1] & 0x3F
	p.Duration = binary.BigEndian.Uint16(b[2:])
	return nil
}

// AppendTo appends the 4-byte block to b. Volume is taken modulo 64.
func (p Payload) AppendTo(b []byte) []byte {
	flags := p.Volume & 0x3F
	if p.End {
		flags |= 0x80
	}
	if p.Reserved {
		flags |= 0x40
	}
	return append(b, p.Event, flags, byte(p.Duration>>8), byte(p.Duration))
}

// Marshal returns the 4-byte block.
func (p Payload) Marshal() []byte {
	return p.AppendTo(make([]byte, 0, PayloadSize))
}

// ParsePayloads decodes every block of an RTP payload, appending them to
// dst. A payload may hold several consecutive events (RFC 4733 §2.5.1.5);
// its length must be a positive multiple of 4.
func ParsePayloads(dst []Payload, b []byte) ([]Payload, error) {
	if len(b) == 0 || len(b)%PayloadSize != 0 {
		return dst, fmt.Errorf("%w: %d bytes", ErrPayloadSize, len(b))
	}
	for ; len(b) > 0; b = b[PayloadSize:] {
		var p Payload
		_ = p.Unmarshal(b[:PayloadSize]) // length checked above
		dst = append(dst, p)
	}
	return dst, nil
}
