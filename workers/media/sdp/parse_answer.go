package sdp

// ParseAnswer parses the remote's answer to an offer made with Offer;
// offered is the codecs list passed to it. The chosen codec is the first
// one in the answer, other than telephone-event, that was offered: by
// payload type (its a=rtpmap, or the static binding of RFC 3551 §6, must
// then name the same format), or else by format under another payload
// type, which RFC 3264 §6.1 discourages but allows. Codec carries the
// answer's payload type, the one to send with (RFC 3264 §5.1). The errors
// are those of ParseOffer.
func ParseAnswer(b []byte, offered []Codec) (*Session, error) {
	d, err := parse(b)
	if err != nil {
		return nil, err
	}
	s, err := choose(d, func(fs []Codec) (Codec, string, bool) {
		for _, f := range fs {
			if f.IsTelephoneEvent() {
				continue
			}
			for _, c := range offered {
				if !c.IsTelephoneEvent() && c.PT == f.PT && (f.Name == "" || f.SameFormat(c)) {
					return answered(c, f), "", true
				}
			}
			for _, c := range offered {
				if !c.IsTelephoneEvent() && f.SameFormat(c) {
					return answered(c, f), "", true
				}
			}
		}
		return Codec{}, "", false
	})
	if err != nil {
		return nil, err
	}
	// An answer may only carry a=rtcp-mux if it was offered, and then
	// both sides multiplex RTCP on the RTP port (RFC 5761 §5.1.1).
	if s.RTCPMux {
		s.RTCPAddr = s.Addr
	}
	return s, nil
}

// answered is our offered codec c under the answer's payload type and
// a=fmtp of f.
func answered(c, f Codec) Codec {
	c.PT, c.Fmtp, c.Channels = f.PT, f.Fmtp, c.channels()
	return c
}
