package sdp

// ParseOffer parses a remote offer and picks the first codec, in the
// remote's order of preference (RFC 3264 §5.1), whose format is in
// supported; payload type numbers are not compared (see Codec.SameFormat),
// and static types listed without a=rtpmap are those of RFC 3551 §6.
// telephone-event entries of supported are ignored: DTMF is taken whenever
// offered (see Session.DTMF).
//
// The first audio m-line with a non-zero port, RTP/AVP and a common codec
// is chosen; Answer rejects all others. Errors: ErrMalformed (wrapping the
// detail) for a body that is not a usable description, ErrNoAudio when no
// audio m-line has a non-zero port, ErrNoCommonCodec when none has a
// common codec, together with ErrUnsupportedProfile when none is RTP/AVP.
func ParseOffer(b []byte, supported []Codec) (*Session, error) {
	d, err := parse(b)
	if err != nil {
		return nil, err
	}
	return choose(d, func(fs []Codec) (Codec, string, bool) {
		for _, f := range fs {
			if f.IsTelephoneEvent() {
				continue
			}
			for _, c := range supported {
				if !c.IsTelephoneEvent() && f.SameFormat(c) {
					return Codec{PT: f.PT, Name: c.Name, Rate: c.Rate, Channels: c.channels(), Fmtp: f.Fmtp}, c.Fmtp, true
				}
			}
		}
		return Codec{}, "", false
	})
}
