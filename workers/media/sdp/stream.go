package sdp

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	psdp "github.com/pion/sdp/v3"
)

// profile is the only transport protocol answered (RFC 3551).
const profile = "RTP/AVP"

// chooser picks the codec of one candidate stream from its formats, in
// the writer's order; ok is false when none fits.
type chooser func(formats []Codec) (c Codec, answerFmtp string, ok bool)

// newSession fills s with the parts of a description that do not depend on
// the chosen stream: origin and the mirror of every m-line.
func newSession(d *psdp.SessionDescription) *Session {
	s := &Session{
		SessionID: d.Origin.SessionID,
		Version:   d.Origin.SessionVersion,
		Media:     make([]Media, len(d.MediaDescriptions)),
	}
	for i, md := range d.MediaDescriptions {
		s.Media[i] = Media{
			Type:    md.MediaName.Media,
			Port:    md.MediaName.Port.Value,
			Proto:   strings.Join(md.MediaName.Protos, "/"),
			Formats: md.MediaName.Formats,
		}
	}
	return s
}

// choose selects the first audio m-line with a non-zero port, the RTP/AVP
// profile and a codec pick accepts (RFC 3264 §6: each stream is accepted
// or rejected on its own), and fills s from it.
func choose(d *psdp.SessionDescription, pick chooser) (*Session, error) {
	s := newSession(d)
	active, avp := false, false
	for i, md := range d.MediaDescriptions {
		m := s.Media[i]
		if m.Type != "audio" || m.Port == 0 {
			continue
		}
		active = true
		if m.Proto != profile {
			continue
		}
		avp = true
		fs, err := formats(md)
		if err != nil {
			return nil, err
		}
		c, fmtp, ok := pick(fs)
		if !ok {
			continue
		}
		s.Stream, s.Codec, s.answerFmtp = i, c, fmtp
		s.DTMF = telephoneEventFor(fs, c.Rate)
		if err := s.fill(d, md); err != nil {
			return nil, err
		}
		return s, nil
	}
	switch {
	case !active:
		return nil, ErrNoAudio
	case !avp:
		return nil, fmt.Errorf("%w: %w: audio is not offered over %s", ErrNoCommonCodec, ErrUnsupportedProfile, profile)
	}
	return nil, ErrNoCommonCodec
}

// telephoneEventFor returns the telephone-event format among fs at rate,
// else at 8000 Hz, that carries at least one event we handle.
func telephoneEventFor(fs []Codec, rate uint32) *Codec {
	for _, r := range [...]uint32{rate, 8000} {
		for _, f := range fs {
			if f.IsTelephoneEvent() && f.Rate == r && parseEvents(f.Fmtp)&ourEvents != 0 {
				return &f
			}
		}
	}
	return nil
}

// fill sets the transport and media attributes of the chosen stream md.
func (s *Session) fill(d *psdp.SessionDescription, md *psdp.MediaDescription) error {
	conn := md.ConnectionInformation
	if conn == nil {
		conn = d.ConnectionInformation
	}
	ip, err := connAddr(conn)
	if err != nil {
		return err
	}
	s.Addr = netip.AddrPortFrom(ip, uint16(md.MediaName.Port.Value))

	_, s.RTCPMux = attribute(md.Attributes, "rtcp-mux")
	if v, ok := attribute(md.Attributes, "rtcp"); ok {
		if s.RTCPAddr, err = parseRTCP(v, ip); err != nil {
			return err
		}
	} else if s.Addr.Port() < 65535 {
		s.RTCPAddr = netip.AddrPortFrom(ip, s.Addr.Port()+1)
	}

	if s.Ptime, err = ptime(md.Attributes, d.Attributes); err != nil {
		return err
	}

	dir, ok := directionOf(md.Attributes)
	if !ok {
		if dir, ok = directionOf(d.Attributes); !ok {
			dir = SendRecv
		}
	}
	if ip.IsUnspecified() {
		dir = dir.Intersect(SendOnly)
	}
	s.Direction = dir
	return nil
}

// ptime returns the packet time for a stream (RFC 4566 §6): a=ptime,
// media-level or else session-level where some stacks put it, lowered to
// a=maxptime, clamped to MinPtime-MaxPtime. Zero, negative, non-numeric
// or absurdly large values are ErrMalformed.
func ptime(media, session []psdp.Attribute) (int, error) {
	get := func(key string) (int, bool, error) {
		v, ok := attribute(media, key)
		if !ok {
			if v, ok = attribute(session, key); !ok {
				return 0, false, nil
			}
		}
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > absurdPtime {
			return 0, false, fmt.Errorf("%w: a=%s:%s", ErrMalformed, key, v)
		}
		return n, true, nil
	}
	p, ok, err := get("ptime")
	if err != nil {
		return 0, err
	}
	if !ok {
		p = DefaultPtime
	}
	mp, ok, err := get("maxptime")
	if err != nil {
		return 0, err
	}
	if ok && mp < p {
		p = mp
	}
	return clampPtime(p), nil
}

// clampPtime brings a packet time into MinPtime-MaxPtime, the range the
// worker's packetizer and jitter buffer handle.
func clampPtime(p int) int {
	return min(max(p, MinPtime), MaxPtime)
}
