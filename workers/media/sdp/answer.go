package sdp

import (
	"fmt"
	"strconv"
	"strings"

	psdp "github.com/pion/sdp/v3"
)

// Answer builds the answer to an offer parsed by ParseOffer (RFC 3264 §6):
//
//   - one m-line per offered m-line, in the same order;
//   - the chosen audio stream on local.Addr with exactly one codec under
//     the offer's payload type, plus telephone-event under the offer's
//     payload type when it offered one, announcing the DTMF events both
//     sides support (RFC 4733 §2.4.1); then a=ptime, a=rtcp when useful,
//     a=rtcp-mux when both sides want it, and the direction: the
//     reverse of the offer's intersected with want (RFC 3264 §6.1), so
//     that an offer sendonly is answered recvonly and inactive inactive;
//   - every other m-line with port 0 and its first format (RFC 3264 §6);
//   - o= from local, c= with local's address, s=- and t=0 0 (RFC 3264 §5).
//
// want is what the worker is willing to do, SendRecv (or zero) normally,
// SendOnly to keep the remote on hold. Errors are ErrBadArgument only.
func Answer(local Local, offer *Session, want Direction) ([]byte, error) {
	want = want.orDefault()
	switch {
	case !want.Valid():
		return nil, fmt.Errorf("%w: direction %q", ErrBadArgument, want)
	case offer == nil || offer.Stream < 0 || offer.Stream >= len(offer.Media) ||
		offer.Media[offer.Stream].Type != "audio" || offer.Media[offer.Stream].Proto != profile ||
		!offer.Direction.orDefault().Valid():
		return nil, fmt.Errorf("%w: offer has no chosen audio stream", ErrBadArgument)
	case !offer.Codec.writable() || offer.DTMF != nil && !offer.DTMF.writable():
		return nil, fmt.Errorf("%w: offer codec %v", ErrBadArgument, offer.Codec)
	}
	if err := local.check(); err != nil {
		return nil, err
	}

	d := local.description()
	d.MediaDescriptions = make([]*psdp.MediaDescription, len(offer.Media))
	for i, m := range offer.Media {
		if i == offer.Stream {
			d.MediaDescriptions[i] = answerAudio(local, offer, want)
		} else {
			d.MediaDescriptions[i] = rejected(m)
		}
	}
	return d.Marshal()
}

// answerAudio is the accepted audio m-line of an answer.
func answerAudio(local Local, offer *Session, want Direction) *psdp.MediaDescription {
	c := offer.Codec
	c.Fmtp = offer.answerFmtp
	if c.Fmtp == "" {
		c.Fmtp = offer.Codec.Fmtp
	}
	codecs := []Codec{c}
	if offer.DTMF != nil {
		te := *offer.DTMF
		te.Fmtp = (parseEvents(te.Fmtp) & ourEvents).String()
		codecs = append(codecs, te)
	}
	ptime := local.Ptime
	if ptime == 0 {
		ptime = offer.Ptime
	}
	md := audio(offer.Media[offer.Stream].Proto, local.Addr.Port(), codecs)
	dir := offer.Direction.orDefault().Reverse().Intersect(want)
	md.Attributes = local.audioAttributes(md.Attributes, clampPtime(ptime), offer.RTCPMux && local.RTCPMux, dir)
	return md
}

// audio starts an audio m-line listing codecs in order with their a=rtpmap
// and a=fmtp lines. a=rtpmap is written for static payload types too:
// RFC 4566 §6 allows it and it spares the peer a table lookup.
func audio(proto string, port uint16, codecs []Codec) *psdp.MediaDescription {
	md := &psdp.MediaDescription{
		MediaName: psdp.MediaName{
			Media:   "audio",
			Port:    psdp.RangedPort{Value: int(port)},
			Protos:  strings.Split(proto, "/"),
			Formats: make([]string, len(codecs)),
		},
		Attributes: make([]psdp.Attribute, 0, 2*len(codecs)+4),
	}
	for i, c := range codecs {
		md.MediaName.Formats[i] = strconv.Itoa(int(c.PT))
		md.Attributes = append(md.Attributes, psdp.NewAttribute("rtpmap", c.String()))
		if c.Fmtp != "" {
			md.Attributes = append(md.Attributes, psdp.NewAttribute("fmtp", md.MediaName.Formats[i]+" "+c.Fmtp))
		}
	}
	return md
}

// rejected is the answer's m-line refusing m (RFC 3264 §6): port 0, the
// same media type and protocol, and one format because the syntax needs
// one (RFC 4566 §5.14); "0" or "*" stands in if the offer listed none.
func rejected(m Media) *psdp.MediaDescription {
	f := "*"
	switch {
	case len(m.Formats) > 0:
		f = m.Formats[0]
	case strings.Contains(m.Proto, "RTP"):
		f = "0"
	}
	return &psdp.MediaDescription{MediaName: psdp.MediaName{
		Media:   m.Type,
		Port:    psdp.RangedPort{Value: 0},
		Protos:  strings.Split(m.Proto, "/"),
		Formats: []string{f},
	}}
}
