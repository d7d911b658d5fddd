package sdp

import "slices"

// defaultDTMFPT is the payload type of telephone-event/8000 in our offers:
// not standardized, but what most SIP stacks use, which keeps traces
// readable.
const defaultDTMFPT = 101

// Offer builds an offer (RFC 3264 §5) for one audio stream on local.Addr
// listing codecs in order of preference, then, when dtmf is set, one
// telephone-event per distinct clock rate among them (RFC 4733 §2.4; PT
// 101 for 8000 Hz when free, else the first free dynamic type), unless
// codecs already has one for that rate. want is SendRecv (or zero) for a
// normal offer; re-offers put the remote on hold with SendOnly and resume
// with SendRecv (RFC 3264 §8.4); the caller increments local.Version for
// each (RFC 3264 §8).
//
// Offer returns nil when its arguments cannot describe a stream: an
// invalid local (see Local), no codec other than telephone-event, a codec
// without name or rate, a payload type above 127 or in the range 72-76
// that RFC 5761 §4 reserves, two codecs on one payload type, or an unknown
// direction. These are programming errors, and nil is never a valid body
// to send.
func Offer(local Local, codecs []Codec, dtmf bool, want Direction) []byte {
	want = want.orDefault()
	if !want.Valid() || len(codecs) == 0 || local.check() != nil {
		return nil
	}
	var used [2]uint64
	for _, c := range codecs {
		if !c.writable() || c.PT >= 72 && c.PT <= 76 || !setBit(&used, c.PT) {
			return nil
		}
	}
	if !slices.ContainsFunc(codecs, func(c Codec) bool { return !c.IsTelephoneEvent() }) {
		return nil
	}
	list := slices.Clip(codecs)
	if dtmf {
		list = withTelephoneEvents(list, &used)
	}
	ptime := local.Ptime
	if ptime == 0 {
		ptime = DefaultPtime
	}

	d := local.description()
	md := audio(profile, local.Addr.Port(), list)
	md.Attributes = local.audioAttributes(md.Attributes, clampPtime(ptime), local.RTCPMux, want)
	d.MediaDescriptions = append(d.MediaDescriptions, md)
	b, err := d.Marshal()
	if err != nil {
		return nil
	}
	return b
}

// withTelephoneEvents appends a telephone-event to codecs for every clock
// rate that has none yet, so that DTMF can share the audio codec's
// timestamp clock whichever codec the answer picks. 8000 Hz goes first so
// that it gets defaultDTMFPT whatever the order of codecs.
func withTelephoneEvents(codecs []Codec, used *[2]uint64) []Codec {
	var rates []uint32
	for _, c := range codecs {
		covered := slices.ContainsFunc(codecs, func(o Codec) bool { return o.IsTelephoneEvent() && o.Rate == c.Rate })
		if covered || slices.Contains(rates, c.Rate) {
			continue
		}
		if c.Rate == 8000 {
			rates = slices.Insert(rates, 0, c.Rate)
		} else {
			rates = append(rates, c.Rate)
		}
	}
	for _, r := range rates {
		pt, ok := freeDynamic(used)
		if !ok {
			break
		}
		codecs = append(codecs, TelephoneEvent(pt, r))
	}
	return codecs
}

// freeDynamic takes the first free dynamic payload type (RFC 3551 §3),
// trying defaultDTMFPT first.
func freeDynamic(used *[2]uint64) (uint8, bool) {
	if setBit(used, defaultDTMFPT) {
		return defaultDTMFPT, true
	}
	for pt := uint8(96); pt <= 127; pt++ {
		if setBit(used, pt) {
			return pt, true
		}
	}
	return 0, false
}
