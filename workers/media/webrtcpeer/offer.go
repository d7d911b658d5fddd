package webrtcpeer

import (
	"fmt"
	"strconv"
	"strings"

	psdp "github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// offer is what Answer reads from a remote offer before pion sees it: the
// offer's text as pion will get it, and the codecs to answer with.
type offer struct {
	// text is the offer with a final line end added if it had none.
	text string
	// audio is the codec to answer with: the offer's first audio format
	// that the engine supports.
	audio Codec
	// te is the telephone-event to answer with, if the offer has one.
	te *Codec
	// prefs are audio and te as pion codec preferences, with the offer's
	// payload types and fmtp, so that the answer lists exactly them.
	prefs []webrtc.RTPCodecParameters
}

// rtpmapEntry is one format of an m-line, resolved through a=rtpmap or the
// static payload types of RFC 3551 §6.
type rtpmapEntry struct {
	pt       uint8
	name     string
	rate     uint32
	channels uint16
	fmtp     string
}

// parseOffer checks that b is an SDP offer a WebRTC audio leg can answer
// and picks the codecs: ErrBadOffer for what is not readable as a WebRTC
// offer, ErrNotAcceptable for a readable one with nothing to answer.
func parseOffer(b []byte, maxSize int, codecs []*webrtc.RTPCodecParameters) (*offer, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty body", ErrBadOffer)
	}
	if len(b) > maxSize {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrBadOffer, len(b), maxSize)
	}
	text := string(b)
	// pion/sdp fails with a bare EOF on a last line without its line end.
	if text[len(text)-1] != '\n' {
		text += "\r\n"
	}
	d, err := unmarshalSDP(text)
	if err != nil {
		return nil, err
	}
	// pion/sdp stops without error wherever the input ends, so an empty or
	// truncated body parses. RFC 4566 §5 orders the mandatory lines, so a
	// t= line proves v=, o= and s= came first.
	if len(d.TimeDescriptions) == 0 {
		return nil, fmt.Errorf("%w: not an SDP session description (no t= line)", ErrBadOffer)
	}

	var m *psdp.MediaDescription
	var kinds []string
	for _, md := range d.MediaDescriptions {
		kinds = append(kinds, md.MediaName.Media)
		if m == nil && md.MediaName.Media == "audio" && md.MediaName.Port.Value != 0 {
			m = md
		}
	}
	if m == nil {
		if len(kinds) == 0 {
			return nil, fmt.Errorf("%w: no media stream", ErrNotAcceptable)
		}
		return nil, fmt.Errorf("%w: no audio stream (offered: %s)", ErrNotAcceptable, strings.Join(kinds, ", "))
	}
	// RFC 5764 §8 and RFC 7850 name DTLS-SRTP's profiles; browsers use
	// the first (JSEP, RFC 8829).
	proto := strings.Join(m.MediaName.Protos, "/")
	switch strings.ToUpper(proto) {
	case "UDP/TLS/RTP/SAVPF", "UDP/TLS/RTP/SAVP", "TCP/DTLS/RTP/SAVPF", "TCP/DTLS/RTP/SAVP":
	default:
		return nil, fmt.Errorf("%w: audio transport %s; WebRTC needs DTLS-SRTP (UDP/TLS/RTP/SAVPF, RFC 8827)", ErrNotAcceptable, proto)
	}
	for _, attr := range []string{"ice-ufrag", "ice-pwd", "fingerprint"} {
		if !hasAttribute(d, m, attr) {
			return nil, fmt.Errorf("%w: no a=%s (RFC 8839, RFC 8842)", ErrBadOffer, attr)
		}
	}

	if err := checkFingerprint(d, m); err != nil {
		return nil, err
	}

	formats := mediaFormats(m)
	o := &offer{text: text}
	found := false
	var offered []string
	for _, f := range formats {
		offered = append(offered, fmt.Sprintf("%s/%d", f.name, f.rate))
		if found || strings.EqualFold(f.name, "telephone-event") {
			continue
		}
		for _, c := range codecs {
			if matches(c.RTPCodecCapability, f.name, f.rate, f.channels) {
				o.audio = Codec{Name: mimeName(c.MimeType), PayloadType: f.pt, ClockRate: f.rate, Channels: c.Channels}
				o.prefs = append(o.prefs, webrtc.RTPCodecParameters{PayloadType: webrtc.PayloadType(f.pt),
					RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: c.MimeType, ClockRate: c.ClockRate,
						Channels: c.Channels, SDPFmtpLine: f.fmtp}})
				found = true
				break
			}
		}
	}
	if !found {
		if len(offered) == 0 {
			offered = []string{"none"}
		}
		return nil, fmt.Errorf("%w: no audio codec in common (offered %s; supported %s)",
			ErrNotAcceptable, strings.Join(offered, ", "), codecNames(codecs))
	}
	// RFC 4733 §7.1.1: the events' clock should be the audio's; failing
	// that, any telephone-event is better than none.
	for _, f := range formats {
		if !strings.EqualFold(f.name, "telephone-event") || (f.rate != 8000 && f.rate != 48000) {
			continue
		}
		if o.te == nil || (f.rate == o.audio.ClockRate && o.te.ClockRate != o.audio.ClockRate) {
			o.te = &Codec{Name: "telephone-event", PayloadType: f.pt, ClockRate: f.rate, Channels: 1}
		}
	}
	if o.te != nil {
		o.prefs = append(o.prefs, webrtc.RTPCodecParameters{PayloadType: webrtc.PayloadType(o.te.PayloadType),
			RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: MimeTypeTelephoneEvent,
				ClockRate: o.te.ClockRate, Channels: 1, SDPFmtpLine: "0-16"}})
	}
	return o, nil
}

// unmarshalSDP runs pion/sdp's parser, turning its errors and panics
// into ErrBadOffer: offers come from anyone on the network.
func unmarshalSDP(text string) (d *psdp.SessionDescription, err error) {
	defer func() {
		if r := recover(); r != nil {
			d, err = nil, fmt.Errorf("%w: SDP parser panic: %v", ErrBadOffer, r)
		}
	}()
	d = new(psdp.SessionDescription)
	if err := d.UnmarshalString(text); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	return d, nil
}

// hasAttribute reports whether the m-line or the session carries a=key
// with a value (ICE and DTLS attributes may be at either level).
func hasAttribute(d *psdp.SessionDescription, m *psdp.MediaDescription, key string) bool {
	if v, ok := m.Attribute(key); ok && v != "" {
		return true
	}
	v, ok := d.Attribute(key)
	return ok && v != ""
}

// checkFingerprint checks a=fingerprint's syntax (RFC 8122 §5): a hash
// function DTLS can verify and its value as colon-separated hex octets of
// that function's length. pion accepts any text there and fails only when
// DTLS completes, which leaves the browser waiting for a call that cannot
// connect; an answer is better refused at once.
func checkFingerprint(d *psdp.SessionDescription, m *psdp.MediaDescription) error {
	v, ok := m.Attribute("fingerprint")
	if !ok || v == "" {
		v, _ = d.Attribute("fingerprint")
	}
	hash, value, _ := strings.Cut(strings.TrimSpace(v), " ")
	size := map[string]int{"sha-1": 20, "sha-224": 28, "sha-256": 32, "sha-384": 48, "sha-512": 64}[strings.ToLower(hash)]
	if size == 0 {
		return fmt.Errorf("%w: a=fingerprint hash function %q (RFC 8122 §5)", ErrBadOffer, hash)
	}
	octets := strings.Split(strings.TrimSpace(value), ":")
	if len(octets) != size {
		return fmt.Errorf("%w: a=fingerprint has %d octets, %s needs %d", ErrBadOffer, len(octets), hash, size)
	}
	for _, o := range octets {
		if _, err := strconv.ParseUint(o, 16, 8); err != nil || len(o) != 2 {
			return fmt.Errorf("%w: a=fingerprint octet %q is not hex", ErrBadOffer, o)
		}
	}
	return nil
}

// mediaFormats resolves the formats of an m-line in its order: a=rtpmap
// for each, or RFC 3551 §6 for static payload types 0 (PCMU) and 8 (PCMA)
// without one; other formats without rtpmap and unparsable entries are
// left out.
func mediaFormats(m *psdp.MediaDescription) []rtpmapEntry {
	maps := map[uint8]rtpmapEntry{}
	fmtps := map[uint8]string{}
	for _, a := range m.Attributes {
		pt, rest, ok := splitPT(a.Value)
		if !ok {
			continue
		}
		switch a.Key {
		case "rtpmap":
			parts := strings.Split(rest, "/")
			if len(parts) < 2 || len(parts) > 3 {
				continue
			}
			rate, err := strconv.ParseUint(parts[1], 10, 32)
			if err != nil || rate == 0 {
				continue
			}
			e := rtpmapEntry{pt: pt, name: parts[0], rate: uint32(rate)}
			if len(parts) == 3 {
				ch, err := strconv.ParseUint(parts[2], 10, 16)
				if err != nil {
					continue
				}
				e.channels = uint16(ch)
			}
			maps[pt] = e
		case "fmtp":
			fmtps[pt] = rest
		}
	}
	var out []rtpmapEntry
	for _, f := range m.MediaName.Formats {
		n, err := strconv.ParseUint(f, 10, 7)
		if err != nil {
			continue
		}
		pt := uint8(n)
		e, ok := maps[pt]
		if !ok {
			switch pt {
			case 0:
				e = rtpmapEntry{pt: 0, name: "PCMU", rate: 8000}
			case 8:
				e = rtpmapEntry{pt: 8, name: "PCMA", rate: 8000}
			default:
				continue
			}
		}
		e.fmtp = fmtps[pt]
		out = append(out, e)
	}
	return out
}

// splitPT splits "111 opus/48000/2" into 111 and "opus/48000/2".
func splitPT(v string) (uint8, string, bool) {
	num, rest, ok := strings.Cut(v, " ")
	if !ok {
		return 0, "", false
	}
	n, err := strconv.ParseUint(num, 10, 7)
	if err != nil {
		return 0, "", false
	}
	return uint8(n), strings.TrimSpace(rest), true
}

// codecNames lists codecs for an error message.
func codecNames(codecs []*webrtc.RTPCodecParameters) string {
	names := make([]string, len(codecs))
	for i, c := range codecs {
		names[i] = fmt.Sprintf("%s/%d", mimeName(c.MimeType), c.ClockRate)
	}
	return strings.Join(names, ", ")
}
