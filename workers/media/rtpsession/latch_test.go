package rtpsession

import (
	"net/netip"
	"testing"
	"time"
)

func TestLatcher(t *testing.T) {
	x := netip.MustParseAddrPort("192.0.2.1:4000")
	y := netip.MustParseAddrPort("192.0.2.2:5000")
	z := netip.MustParseAddrPort("192.0.2.3:6000")
	type ev struct {
		from   netip.AddrPort
		ssrc   uint32
		at     time.Duration // since the start
		accept bool
		moved  bool
	}
	tests := []struct {
		name      string
		events    []ev
		latchedTo netip.AddrPort
	}{
		{"two from one source latch", []ev{
			{x, 1, 0, true, false},
			{x, 1, 20 * time.Millisecond, true, true},
			{x, 1, 40 * time.Millisecond, true, false},
		}, x},
		{"alternating sources do not latch", []ev{
			{x, 1, 0, true, false},
			{y, 2, 1 * time.Millisecond, true, false},
			{x, 1, 2 * time.Millisecond, true, false},
			{y, 2, 3 * time.Millisecond, true, false},
		}, netip.AddrPort{}},
		{"SSRC change restarts the count", []ev{
			{x, 1, 0, true, false},
			{x, 2, 1 * time.Millisecond, true, false},
			{x, 2, 2 * time.Millisecond, true, true},
		}, x},
		{"hijack while source alive is dropped", []ev{
			{x, 1, 0, true, false},
			{x, 1, 20 * time.Millisecond, true, true},
			{y, 9, 30 * time.Millisecond, false, false},
			{y, 9, 31 * time.Millisecond, false, false},
			{y, 9, 32 * time.Millisecond, false, false},
			{y, 9, 33 * time.Millisecond, false, false},
			{y, 9, 34 * time.Millisecond, false, false},
			{y, 9, 35 * time.Millisecond, false, false},
			{x, 1, 40 * time.Millisecond, true, false},
		}, x},
		{"exactly 1 s of silence is not enough", []ev{
			{x, 1, 0, true, false},
			{x, 1, 0, true, true},
			{y, 9, time.Second, false, false},
			{y, 9, time.Second, false, false},
			{y, 9, time.Second, false, false},
			{y, 9, time.Second, false, false},
			{y, 9, time.Second, false, false},
		}, x},
		{"relatch after silence needs five", []ev{
			{x, 1, 0, true, false},
			{x, 1, 0, true, true},
			{y, 9, 1500 * time.Millisecond, false, false},
			{y, 9, 1520 * time.Millisecond, false, false},
			{y, 9, 1540 * time.Millisecond, false, false},
			{y, 9, 1560 * time.Millisecond, false, false},
			{y, 9, 1580 * time.Millisecond, true, true},
			{x, 1, 1600 * time.Millisecond, false, false},
			{y, 9, 1620 * time.Millisecond, true, false},
		}, y},
		{"interrupted relatch starts over", []ev{
			{x, 1, 0, true, false},
			{x, 1, 0, true, true},
			{y, 9, 2 * time.Second, false, false},
			{y, 9, 2 * time.Second, false, false},
			{y, 9, 2 * time.Second, false, false},
			{z, 7, 2 * time.Second, false, false},
			{y, 9, 2 * time.Second, false, false},
			{y, 9, 2 * time.Second, false, false},
			{y, 9, 2 * time.Second, false, false},
			{y, 9, 2 * time.Second, false, false},
			{y, 9, 2 * time.Second, true, true},
		}, y},
		{"source back during relatch keeps it", []ev{
			{x, 1, 0, true, false},
			{x, 1, 0, true, true},
			{y, 9, 2 * time.Second, false, false},
			{y, 9, 2 * time.Second, false, false},
			{x, 1, 2 * time.Second, true, false},
			{y, 9, 2 * time.Second, false, false},
			{y, 9, 2 * time.Second, false, false},
			{y, 9, 2 * time.Second, false, false},
			{y, 9, 2 * time.Second, false, false},
			{y, 9, 2 * time.Second, false, false},
		}, x},
	}
	base := time.Unix(1_700_000_000, 0)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l latcher
			for i, e := range tt.events {
				accept, moved := l.observe(e.from, e.ssrc, base.Add(e.at))
				if accept != e.accept || moved != e.moved {
					t.Fatalf("event %d (%s ssrc %d): accept=%v moved=%v, want %v %v", i, e.from, e.ssrc, accept, moved, e.accept, e.moved)
				}
			}
			if got := l.source; l.latched != tt.latchedTo.IsValid() || (l.latched && got != tt.latchedTo) {
				t.Errorf("latched=%v to %s, want %s", l.latched, got, tt.latchedTo)
			}
		})
	}
}
