package sdp

import "testing"

func TestEvents(t *testing.T) {
	for _, c := range []struct {
		fmtp string
		want string
	}{
		{"", "0-15"},
		{"0-15", "0-15"},
		{"0-16", "0-16"},
		{"0-15,66,70", "0-15"},
		{"1,3,5", "1,3,5"},
		{"0-3,4-7", "0-7"},
		{"16,0-11", "0-11,16"},
		{"15-10", ""},
		{"0-255", "0-31"},
		{"0-300", ""},
		{"a,b-c,,-", ""},
		{"31", "31"},
	} {
		if got := parseEvents(c.fmtp).String(); got != c.want {
			t.Errorf("parseEvents(%q) = %q, want %q", c.fmtp, got, c.want)
		}
	}
	if got := ourEvents.String(); got != "0-16" {
		t.Errorf("ourEvents = %q", got)
	}
}
