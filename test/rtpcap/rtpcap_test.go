package rtpcap

import (
	"net"
	"testing"
	"time"
)

func TestLongestGap(t *testing.T) {
	at := func(ms ...int) []time.Time {
		var out []time.Time
		for _, m := range ms {
			out = append(out, time.Unix(0, int64(m)*int64(time.Millisecond)))
		}
		return out
	}
	ms := func(m int) time.Time { return time.Unix(0, int64(m)*int64(time.Millisecond)) }
	for _, c := range []struct {
		ts       []time.Time
		from, to int
		want     time.Duration
	}{
		{at(0, 20, 40, 300, 320), 10, 310, 260 * time.Millisecond},  // the gap inside the window
		{at(0, 20, 40, 300, 320), 100, 200, 260 * time.Millisecond}, // a gap spanning the whole window
		{at(0, 20, 40), 30, 100, 60 * time.Millisecond},             // nothing after the window: up to its end
		{nil, 0, 500, 500 * time.Millisecond},
		{at(0, 20, 40, 60), 10, 50, 20 * time.Millisecond},
	} {
		if got := LongestGap(c.ts, ms(c.from), ms(c.to)); got != c.want {
			t.Errorf("LongestGap(%v, %d, %d) = %v, want %v", c.ts, c.from, c.to, got, c.want)
		}
	}
}

// TestCaptureLoopback captures datagrams sent to 127.0.0.1 (skipped
// without dumpcap or the right to capture).
func TestCaptureLoopback(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	rx, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	port := rx.LocalAddr().(*net.UDPAddr).Port
	c, err := Start(t.TempDir(), port, port, 10*time.Second)
	if err != nil {
		t.Skipf("no capture here: %v", err)
	}
	tx, err := net.DialUDP("udp", nil, rx.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	for range 10 {
		_, _ = tx.Write(make([]byte, 172))
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	pkts, err := c.Stop()
	if err != nil {
		t.Fatal(err)
	}
	got := ByDst(pkts)[uint16(port)]
	if len(got) != 10 {
		t.Fatalf("captured %d packets to port %d, want 10 (%d in all)", len(got), port, len(pkts))
	}
	if g := LongestGap(got, got[0], got[9]); g < 5*time.Millisecond || g > 200*time.Millisecond {
		t.Errorf("longest gap %v between packets sent 10 ms apart", g)
	}
}
