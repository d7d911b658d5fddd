package webrtcpeer

import (
	"strings"

	"github.com/pion/webrtc/v4"
)

// MimeTypeTelephoneEvent is RFC 4733's media type; pion has no constant
// for it.
const MimeTypeTelephoneEvent = "audio/telephone-event"

// Codec is one audio payload format of a leg, as the answer names it.
type Codec struct {
	// Name is the SDP encoding name: "opus", "PCMU", "PCMA" or
	// "telephone-event".
	Name string
	// PayloadType is the number both directions use: the offerer's, which
	// the answer repeats (RFC 3264 §6.1; WebRTC answers keep the offer's
	// numbers).
	PayloadType uint8
	// ClockRate is the RTP clock: 48000 for Opus whatever it runs at
	// (RFC 7587 §4.1), 8000 for G.711, 8000 or 48000 for telephone-event.
	ClockRate uint32
	// Channels as in a=rtpmap: 2 for Opus (RFC 7587 §7), else 1.
	Channels uint16
}

// supported is the table of audio codecs an Engine can register: the
// payload types are Chrome's, used only when we offer, since an answer
// keeps the offer's numbers.
var supported = []webrtc.RTPCodecParameters{
	{PayloadType: 111, RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}},
	{PayloadType: 0, RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypePCMU, ClockRate: 8000, Channels: 1}},
	{PayloadType: 8, RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypePCMA, ClockRate: 8000, Channels: 1}},
}

// telephoneEvents are RFC 4733 events at both clocks a browser offers:
// 48000 goes with Opus, 8000 with G.711 (RFC 4733 §7.1.1 wants the audio's
// clock), and some phones pair 8000 with Opus.
var telephoneEvents = []webrtc.RTPCodecParameters{
	{PayloadType: 110, RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: MimeTypeTelephoneEvent, ClockRate: 48000, Channels: 1, SDPFmtpLine: "0-16"}},
	{PayloadType: 126, RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: MimeTypeTelephoneEvent, ClockRate: 8000, Channels: 1, SDPFmtpLine: "0-16"}},
}

// lookupCodec returns the supported codec named name (case-insensitive,
// RFC 4566 §6), or nil.
func lookupCodec(name string) *webrtc.RTPCodecParameters {
	for i := range supported {
		if strings.EqualFold(mimeName(supported[i].MimeType), name) {
			return &supported[i]
		}
	}
	return nil
}

// mimeName is the SDP encoding name of a media type ("audio/opus" → "opus").
func mimeName(mime string) string {
	if i := strings.IndexByte(mime, '/'); i >= 0 {
		return mime[i+1:]
	}
	return mime
}

// matches reports whether an offered rtpmap is the codec c: name ignoring
// case, clock rate, and channels where they matter (Opus must be "/2",
// RFC 7587 §7; a missing count means one, RFC 4566 §6).
func matches(c webrtc.RTPCodecCapability, name string, rate uint32, channels uint16) bool {
	if !strings.EqualFold(mimeName(c.MimeType), name) || c.ClockRate != rate {
		return false
	}
	if channels == 0 {
		channels = 1
	}
	return channels == c.Channels
}
