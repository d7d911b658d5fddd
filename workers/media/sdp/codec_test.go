package sdp_test

import (
	"testing"

	"github.com/switchboard-voip/switchboard/workers/media/sdp"
)

func TestCodec(t *testing.T) {
	for _, c := range []struct {
		a, b sdp.Codec
		same bool
	}{
		{sdp.PCMU, sdp.Codec{PT: 97, Name: "pcmu", Rate: 8000}, true},
		{sdp.PCMU, sdp.PCMA, false},
		{sdp.PCMU, sdp.Codec{Name: "PCMU", Rate: 16000}, false},
		{sdp.PCMU, sdp.Codec{Name: "PCMU", Rate: 8000, Channels: 2}, false},
		{opus, sdp.Codec{PT: 96, Name: "OPUS", Rate: 48000, Channels: 2, Fmtp: "x"}, true},
	} {
		if c.a.SameFormat(c.b) != c.same || c.b.SameFormat(c.a) != c.same {
			t.Errorf("%v SameFormat %v != %v", c.a, c.b, c.same)
		}
	}
	for _, c := range []struct {
		c    sdp.Codec
		want string
	}{
		{sdp.PCMU, "0 PCMU/8000"},
		{sdp.PCMA, "8 PCMA/8000"},
		{opus, "111 opus/48000/2"},
		{sdp.TelephoneEvent(101, 48000), "101 telephone-event/48000"},
	} {
		if got := c.c.String(); got != c.want {
			t.Errorf("String() = %q, want %q", got, c.want)
		}
	}
	if te := sdp.TelephoneEvent(101, 8000); te.Fmtp != "0-16" || !te.IsTelephoneEvent() || sdp.PCMU.IsTelephoneEvent() {
		t.Errorf("TelephoneEvent = %+v", te)
	}
}
