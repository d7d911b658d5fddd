package sdp

import (
	"strconv"
	"strings"
)

// Codec is one RTP payload format as SDP describes it with a=rtpmap and
// a=fmtp (RFC 4566 §6). Two codecs are the same format when SameFormat
// says so; PT is only the number one side uses for it on the wire.
type Codec struct {
	// PT is the RTP payload type number: static ones (0-95) are bound by
	// RFC 3551 §6, dynamic ones (96-127) only by a=rtpmap.
	PT uint8
	// Name is the encoding name, compared case-insensitively (RFC 4566 §6).
	Name string
	// Rate is the RTP clock rate in Hz.
	Rate uint32
	// Channels is the number of audio channels; 0 is read as 1, the
	// default when a=rtpmap omits it (RFC 4566 §6).
	Channels uint16
	// Fmtp is the format's a=fmtp parameters, kept verbatim because only
	// the codec knows how to read them.
	Fmtp string
}

// PCMU and PCMA are G.711 µ-law and A-law with their static payload types
// (RFC 3551 §6): every SIP endpoint supports at least one of them, so they
// are the worker's default codecs.
var (
	PCMU = Codec{0, "PCMU", 8000, 1, ""}
	PCMA = Codec{8, "PCMA", 8000, 1, ""}
)

// telephoneEvent is the RFC 4733 encoding name of named telephone events.
const telephoneEvent = "telephone-event"

// TelephoneEvent returns the RFC 4733 telephone-event codec with payload
// type pt at clock rate rate, announcing DTMF 0-9 * # A-D and flash
// (events 0-16, RFC 4733 §3.2). Its rate must equal the audio codec's so
// that events and audio share one timestamp clock (RFC 4733 §2.4.1).
func TelephoneEvent(pt uint8, rate uint32) Codec {
	return Codec{PT: pt, Name: telephoneEvent, Rate: rate, Channels: 1, Fmtp: ourEvents.String()}
}

// SameFormat reports whether c and o are the same payload format: same
// encoding name ignoring case, clock rate and channel count. PT and Fmtp
// are ignored, which is how a B2BUA must compare codecs across legs that
// number dynamic payload types independently (RFC 3264 §6.1).
func (c Codec) SameFormat(o Codec) bool {
	return strings.EqualFold(c.Name, o.Name) && c.Rate == o.Rate && c.channels() == o.channels()
}

// IsTelephoneEvent reports whether c is RFC 4733 telephone-event, which
// rides along an audio codec and is never chosen as one.
func (c Codec) IsTelephoneEvent() bool {
	return strings.EqualFold(c.Name, telephoneEvent)
}

// String returns the a=rtpmap value of c, such as "0 PCMU/8000" or
// "96 opus/48000/2", which is also what logs want to show.
func (c Codec) String() string {
	b := make([]byte, 0, 24)
	b = strconv.AppendUint(b, uint64(c.PT), 10)
	b = append(b, ' ')
	b = append(b, c.Name...)
	b = append(b, '/')
	b = strconv.AppendUint(b, uint64(c.Rate), 10)
	if c.channels() > 1 {
		b = append(b, '/')
		b = strconv.AppendUint(b, uint64(c.Channels), 10)
	}
	return string(b)
}

func (c Codec) channels() uint16 {
	if c.Channels == 0 {
		return 1
	}
	return c.Channels
}

// writable reports whether c can be written into a=rtpmap and a=fmtp
// (RFC 4566 §6): a 7-bit payload type, a name without blanks or slashes,
// a rate, and no line break anywhere.
func (c Codec) writable() bool {
	return c.PT <= 127 && c.Name != "" && c.Rate > 0 &&
		!strings.ContainsAny(c.Name, " \t\r\n/") && !strings.ContainsAny(c.Fmtp, "\r\n")
}
