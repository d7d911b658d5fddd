package sdp_test

import (
	"testing"

	"github.com/switchboard-voip/switchboard/workers/media/sdp"
)

func TestDirection(t *testing.T) {
	for _, c := range []struct {
		d               sdp.Direction
		valid           bool
		sends, receives bool
		reverse         sdp.Direction
	}{
		{sdp.SendRecv, true, true, true, sdp.SendRecv},
		{sdp.SendOnly, true, true, false, sdp.RecvOnly},
		{sdp.RecvOnly, true, false, true, sdp.SendOnly},
		{sdp.Inactive, true, false, false, sdp.Inactive},
		{"", false, false, false, sdp.Inactive},
		{"SENDRECV", false, false, false, sdp.Inactive},
	} {
		if c.d.Valid() != c.valid || c.d.Sends() != c.sends || c.d.Receives() != c.receives || c.d.Reverse() != c.reverse {
			t.Errorf("%q: valid %v sends %v receives %v reverse %q", c.d, c.d.Valid(), c.d.Sends(), c.d.Receives(), c.d.Reverse())
		}
	}
	all := []sdp.Direction{sdp.SendRecv, sdp.SendOnly, sdp.RecvOnly, sdp.Inactive}
	for _, a := range all {
		if a.Reverse().Reverse() != a || a.Intersect(sdp.SendRecv) != a || a.Intersect(sdp.Inactive) != sdp.Inactive {
			t.Errorf("%q: identities broken", a)
		}
		for _, b := range all {
			if a.Intersect(b) != b.Intersect(a) {
				t.Errorf("%q ∩ %q is not symmetric", a, b)
			}
		}
	}
	if sdp.SendOnly.Intersect(sdp.RecvOnly) != sdp.Inactive {
		t.Error("sendonly ∩ recvonly != inactive")
	}
}
