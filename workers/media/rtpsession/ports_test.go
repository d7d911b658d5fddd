package rtpsession

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
)

func TestNewPortsRange(t *testing.T) {
	tests := []struct {
		name       string
		min, max   int
		wantErr    bool
		wantPairs  int
		wantFirst  int
		wantLastRT int
	}{
		{"app default", 10000, 20000, false, 5000, 10000, 19998},
		{"odd min rounds up", 10001, 10010, false, 4, 10002, 10008},
		{"odd max keeps its pair", 10000, 10005, false, 3, 10000, 10004},
		{"single pair", 10000, 10001, false, 1, 10000, 10000},
		{"no pair", 10000, 10000, true, 0, 0, 0},
		{"odd single port", 10001, 10002, true, 0, 0, 0},
		{"reversed", 20000, 10000, true, 0, 0, 0},
		{"zero", 0, 100, true, 0, 0, 0},
		{"too high", 65000, 70000, true, 0, 0, 0},
		{"top of range", 65534, 65535, false, 1, 65534, 65534},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPorts(tt.min, tt.max)
			if tt.wantErr {
				if !errors.Is(err, ErrConfig) {
					t.Fatalf("err = %v, want ErrConfig", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Capacity() != tt.wantPairs || p.min != tt.wantFirst || p.max != tt.wantLastRT {
				t.Errorf("pairs %d [%d..%d], want %d [%d..%d]", p.Capacity(), p.min, p.max, tt.wantPairs, tt.wantFirst, tt.wantLastRT)
			}
		})
	}
}

func TestPortsEvenOddPairs(t *testing.T) {
	ports := testPorts(t, 4)
	for range 4 {
		pp, err := ports.Allocate(loopback)
		if err != nil {
			t.Fatal(err)
		}
		rtpAddr := pp.RTP.LocalAddr().(*net.UDPAddr).AddrPort()
		rtcpAddr := pp.RTCP.LocalAddr().(*net.UDPAddr).AddrPort()
		if pp.Port()%2 != 0 || int(rtpAddr.Port()) != pp.Port() || int(rtcpAddr.Port()) != pp.Port()+1 {
			t.Errorf("pair %d: RTP on %s, RTCP on %s", pp.Port(), rtpAddr, rtcpAddr)
		}
		if rtpAddr.Addr() != loopback || rtcpAddr.Addr() != loopback {
			t.Errorf("bound on %s / %s, want 127.0.0.1", rtpAddr, rtcpAddr)
		}
		t.Cleanup(func() { _ = ports.Release(pp) })
	}
}

func TestPortsExhaustionAndRelease(t *testing.T) {
	ports := testPorts(t, 3)
	var pairs []*PortPair
	for range 3 {
		pp, err := ports.Allocate(loopback)
		if err != nil {
			t.Fatal(err)
		}
		pairs = append(pairs, pp)
	}
	if _, err := ports.Allocate(loopback); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("4th Allocate: err = %v, want ErrNoPorts", err)
	}
	if ports.InUse() != 3 {
		t.Errorf("InUse = %d, want 3", ports.InUse())
	}
	freed := pairs[1].Port()
	if err := ports.Release(pairs[1]); err != nil {
		t.Fatal(err)
	}
	if err := ports.Release(pairs[1]); err != nil {
		t.Fatalf("second Release: %v", err)
	}
	pp, err := ports.Allocate(loopback)
	if err != nil {
		t.Fatalf("Allocate after Release: %v", err)
	}
	if pp.Port() != freed {
		t.Errorf("got port %d, want the released %d", pp.Port(), freed)
	}
	// Releasing the old pair again must not free the number its new owner has.
	if err := ports.Release(pairs[1]); err != nil {
		t.Fatal(err)
	}
	if _, err := ports.Allocate(loopback); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("after stale Release: err = %v, want ErrNoPorts", err)
	}
	for _, p := range []*PortPair{pairs[0], pairs[2], pp} {
		if err := ports.Release(p); err != nil {
			t.Fatal(err)
		}
	}
	if ports.InUse() != 0 {
		t.Errorf("InUse = %d after releasing all", ports.InUse())
	}
}

// TestPortsRoundRobin checks a released pair is not the next one handed out
// while others are free (late packets of the old call).
func TestPortsRoundRobin(t *testing.T) {
	ports := testPorts(t, 4)
	seen := map[int]int{}
	for i := range 8 {
		pp, err := ports.Allocate(loopback)
		if err != nil {
			t.Fatal(err)
		}
		seen[pp.Port()]++
		if err := ports.Release(pp); err != nil {
			t.Fatal(err)
		}
		if i > 0 && seen[pp.Port()] > (i/4)+1 {
			t.Fatalf("port %d reused before the range cycled: %v", pp.Port(), seen)
		}
	}
	if len(seen) != 4 {
		t.Errorf("8 allocate/release rounds used %d distinct pairs, want 4: %v", len(seen), seen)
	}
}

// TestPortsSkipsTaken checks pairs held by another socket are skipped,
// whether the RTP or the RTCP port is the one taken.
func TestPortsSkipsTaken(t *testing.T) {
	for _, taken := range []int{0, 1} {
		ports := testPorts(t, 2)
		other, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, uint16(ports.min+taken))))
		if err != nil {
			t.Fatal(err)
		}
		pp, err := ports.Allocate(loopback)
		if err != nil {
			t.Fatal(err)
		}
		if pp.Port() != ports.min+2 {
			t.Errorf("with port %d taken got pair %d, want %d", ports.min+taken, pp.Port(), ports.min+2)
		}
		if _, err := ports.Allocate(loopback); !errors.Is(err, ErrNoPorts) {
			t.Errorf("err = %v, want ErrNoPorts", err)
		}
		_ = ports.Release(pp)
		_ = other.Close()
	}
}

func TestPortsConcurrent(t *testing.T) {
	const n = 16
	ports := testPorts(t, n)
	var wg sync.WaitGroup
	got := make([]*PortPair, n)
	for i := range n {
		wg.Go(func() {
			pp, err := ports.Allocate(loopback)
			if err != nil {
				t.Error(err)
				return
			}
			got[i] = pp
		})
	}
	wg.Wait()
	seen := map[int]bool{}
	for _, pp := range got {
		if pp == nil {
			continue
		}
		if seen[pp.Port()] {
			t.Errorf("port %d handed out twice", pp.Port())
		}
		seen[pp.Port()] = true
		_ = ports.Release(pp)
	}
	if ports.InUse() != 0 {
		t.Errorf("InUse = %d", ports.InUse())
	}
}

func TestPortsInvalidIP(t *testing.T) {
	ports := testPorts(t, 1)
	if _, err := ports.Allocate(netip.Addr{}); !errors.Is(err, ErrConfig) {
		t.Errorf("err = %v, want ErrConfig", err)
	}
}
