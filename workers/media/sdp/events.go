package sdp

import (
	"strconv"
	"strings"
)

// eventSet is a set of RFC 4733 event codes below 32, bit i for event i:
// the only ones this package negotiates are DTMF (0-15) and flash (16).
type eventSet uint32

// ourEvents are the events the media worker sends and understands:
// DTMF 0-9 * # A-D and flash (RFC 4733 §3.2).
const ourEvents eventSet = 1<<17 - 1

// defaultEvents is what a telephone-event format without a=fmtp supports,
// DTMF 0-15 (RFC 4733 §2.4.1).
const defaultEvents eventSet = 1<<16 - 1

// parseEvents reads the event list of a telephone-event a=fmtp, such as
// "0-15,66,70" (RFC 4733 §2.4.1). Events above 31 and unreadable items
// are ignored: they cannot intersect ourEvents anyway.
func parseEvents(fmtp string) eventSet {
	fmtp = strings.TrimSpace(fmtp)
	if fmtp == "" {
		return defaultEvents
	}
	var s eventSet
	for item := range strings.SplitSeq(fmtp, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(item), "-")
		a, err := strconv.ParseUint(strings.TrimSpace(lo), 10, 8)
		if err != nil {
			continue
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(strings.TrimSpace(hi), 10, 8); err != nil || b < a {
				continue
			}
		}
		for e := a; e <= b && e < 32; e++ {
			s |= 1 << e
		}
	}
	return s
}

// String writes s as an RFC 4733 event list with ranges, "0-15" or
// "0-11,16", for a=fmtp.
func (s eventSet) String() string {
	var b []byte
	for e := 0; e < 32; {
		if s&(1<<e) == 0 {
			e++
			continue
		}
		end := e
		for end+1 < 32 && s&(1<<(end+1)) != 0 {
			end++
		}
		if len(b) > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(e), 10)
		if end > e {
			b = append(b, '-')
			b = strconv.AppendInt(b, int64(end), 10)
		}
		e = end + 1
	}
	return string(b)
}
