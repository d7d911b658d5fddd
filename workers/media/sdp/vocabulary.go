package sdp

import (
	"slices"
	"strings"
)

// pion/sdp v3 accepts only these media types and transport protocol
// tokens in an m-line (see its unmarshalMediaDescription) and fails the
// whole description on anything else, although RFC 4566 §5.14 lets both be
// extended. The T.38 re-offer "m=image 0 udptl t38" (ITU-T T.38 Annex D)
// is the common victim in SIP. Such m-lines are renamed to an accepted
// placeholder before parsing and their names restored afterwards, so that
// they can be rejected with port 0 like any other stream we do not handle.
var (
	pionMedia  = []string{"audio", "video", "text", "application", "message"}
	pionProtos = []string{"UDP", "RTP", "AVP", "SAVP", "SAVPF", "TLS", "DTLS", "SCTP", "AVPF",
		"TCP", "MSRP", "BFCP", "UDT", "IX", "MRCPv2", "FEC"}
)

// placeholderMedia and placeholderProto replace what pion/sdp refuses.
const (
	placeholderMedia = "application"
	placeholderProto = "UDP"
)

// mediaName is the media type and protocol of one m-line as written.
type mediaName struct {
	media, proto string
}

// acceptable reports whether pion/sdp parses an m-line with this name.
func (n mediaName) acceptable() bool {
	if !slices.Contains(pionMedia, n.media) {
		return false
	}
	for p := range strings.SplitSeq(n.proto, "/") {
		if !slices.Contains(pionProtos, p) {
			return false
		}
	}
	return true
}

// isBlank reports whether b separates fields for pion/sdp (its
// isWhitespace), so that we split m-lines exactly as it does.
func isBlank(r rune) bool { return r == ' ' || r == '\t' }

// renameMedia returns text with every m-line pion/sdp would refuse
// renamed, and the original names by m-line index (nil when nothing had to
// change, the usual case, which then costs no allocation). text has LF or
// CRLF line ends only (see parse), so its lines are exactly pion/sdp's.
func renameMedia(text string) (string, map[int]mediaName) {
	var (
		renamed map[int]mediaName
		out     strings.Builder
		index   = -1
		done    = 0 // text[:done] is already in out
	)
	for start := 0; start < len(text); {
		end := strings.IndexByte(text[start:], '\n')
		if end < 0 {
			end = len(text)
		} else {
			end += start
		}
		line := strings.TrimSuffix(text[start:end], "\r")
		if strings.HasPrefix(line, "m=") {
			index++
			fields := strings.FieldsFunc(line[2:], isBlank)
			if len(fields) >= 3 {
				n := mediaName{fields[0], fields[2]}
				if !n.acceptable() {
					if renamed == nil {
						renamed = make(map[int]mediaName)
						out.Grow(len(text) + 32)
					}
					renamed[index] = n
					out.WriteString(text[done:start])
					out.WriteString("m=" + placeholderMedia + " " + fields[1] + " " + placeholderProto)
					for _, f := range fields[3:] {
						out.WriteString(" " + f)
					}
					done = start + len(line)
				}
			}
		}
		start = end + 1
	}
	if renamed == nil {
		return text, nil
	}
	out.WriteString(text[done:])
	return out.String(), renamed
}
