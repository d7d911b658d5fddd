package sdp

import (
	"fmt"
	"strconv"
	"strings"

	psdp "github.com/pion/sdp/v3"
)

// formats resolves the payload types of an RTP m-line, in the order the
// writer listed them (its preference, RFC 3264 §5.1), into codecs: from
// a=rtpmap when present, else from the static table of RFC 3551 §6. A
// type that neither names keeps an empty Name and matches nothing. The
// first a=rtpmap and a=fmtp for a type win; those for unlisted types are
// ignored.
func formats(md *psdp.MediaDescription) ([]Codec, error) {
	fs := make([]Codec, 0, len(md.MediaName.Formats))
	for _, f := range md.MediaName.Formats {
		pt, err := strconv.ParseUint(f, 10, 7)
		if err != nil {
			return nil, fmt.Errorf("%w: payload type %q is not in 0-127", ErrMalformed, f)
		}
		c, ok := staticCodec(uint8(pt))
		if !ok {
			c = Codec{PT: uint8(pt)}
		}
		fs = append(fs, c)
	}
	var mapped, withFmtp [2]uint64 // one bit per payload type 0-127
	for _, a := range md.Attributes {
		key := strings.TrimSpace(a.Key)
		switch {
		case strings.EqualFold(key, "rtpmap"):
			c, err := parseRtpmap(a.Value)
			if err != nil {
				return nil, err
			}
			if !setBit(&mapped, c.PT) {
				continue
			}
			for i := range fs {
				if fs[i].PT == c.PT {
					c.Fmtp = fs[i].Fmtp
					fs[i] = c
				}
			}
		case strings.EqualFold(key, "fmtp"):
			pt, params, ok := parseFmtp(a.Value)
			if !ok {
				return nil, fmt.Errorf("%w: a=fmtp:%s", ErrMalformed, a.Value)
			}
			if !setBit(&withFmtp, pt) {
				continue
			}
			for i := range fs {
				if fs[i].PT == pt {
					fs[i].Fmtp = params
				}
			}
		}
	}
	return fs, nil
}

// setBit sets bit pt and reports whether it was clear.
func setBit(set *[2]uint64, pt uint8) bool {
	w, m := pt/64, uint64(1)<<(pt%64)
	if set[w]&m != 0 {
		return false
	}
	set[w] |= m
	return true
}

// parseRtpmap reads "<payload type> <encoding name>/<clock rate>[/<encoding
// parameters>]" (RFC 4566 §6); for audio the parameters are the channel
// count.
func parseRtpmap(v string) (Codec, error) {
	bad := func() (Codec, error) { return Codec{}, fmt.Errorf("%w: a=rtpmap:%s", ErrMalformed, v) }
	fields := strings.Fields(v)
	if len(fields) != 2 {
		return bad()
	}
	pt, err := strconv.ParseUint(fields[0], 10, 7)
	if err != nil {
		return bad()
	}
	parts := strings.Split(fields[1], "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" {
		return bad()
	}
	rate, err := strconv.ParseUint(parts[1], 10, 32)
	if err != nil || rate == 0 {
		return bad()
	}
	c := Codec{PT: uint8(pt), Name: parts[0], Rate: uint32(rate), Channels: 1}
	if len(parts) == 3 {
		ch, err := strconv.ParseUint(parts[2], 10, 16)
		if err != nil || ch == 0 {
			return bad()
		}
		c.Channels = uint16(ch)
	}
	return c, nil
}

// parseFmtp reads "<format> <format specific parameters>" (RFC 4566 §6).
func parseFmtp(v string) (pt uint8, params string, ok bool) {
	f, params, _ := strings.Cut(strings.TrimSpace(v), " ")
	n, err := strconv.ParseUint(f, 10, 7)
	if err != nil {
		return 0, "", false
	}
	return uint8(n), strings.TrimSpace(params), true
}
