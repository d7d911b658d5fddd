package sdp

import (
	"strings"

	psdp "github.com/pion/sdp/v3"
)

// attribute returns the value of the first attribute named key. Names are
// compared case-insensitively: RFC 4566 does not say they are, but stacks
// that write "a=RTPMAP" exist and nothing is gained by refusing them.
func attribute(attrs []psdp.Attribute, key string) (string, bool) {
	for _, a := range attrs {
		if strings.EqualFold(strings.TrimSpace(a.Key), key) {
			return strings.TrimSpace(a.Value), true
		}
	}
	return "", false
}

// directionOf returns the first direction attribute among attrs.
func directionOf(attrs []psdp.Attribute) (Direction, bool) {
	for _, a := range attrs {
		if d, ok := parseDirection(strings.TrimSpace(a.Key)); ok && strings.TrimSpace(a.Value) == "" {
			return d, true
		}
	}
	return "", false
}
