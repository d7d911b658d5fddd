package rtpsession

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
)

// Ports hands out RTP/RTCP socket pairs from a configured UDP port range.
//
// RFC 3550 §11 puts RTP on an even port and its RTCP on the next (odd) one,
// and peers that ignore RFC 3605's a=rtcp still assume it, so Allocate only
// returns such pairs and binds both sockets before returning: a number is
// only ours once the kernel has bound it, which also skips ports that other
// processes hold (the bind fails and the next pair is tried).
//
// The search starts where the previous allocation stopped (round robin), so
// a pair released at the end of one call is reused only after every other
// pair of the range has been handed out: late packets of the old call do
// not land in a new one.
//
// A Ports is safe for concurrent use.
type Ports struct {
	min, max int // first even RTP port, last usable RTP port (max+1 is its RTCP)

	mu    sync.Mutex
	next  int          // even port the next search starts at
	inUse map[int]bool // RTP ports of pairs currently handed out
}

// PortPair is one allocated RTP socket and its RTCP companion on the next
// port. Both are bound to the local IP given to Allocate and belong to the
// caller until Ports.Release.
type PortPair struct {
	RTP  *net.UDPConn
	RTCP *net.UDPConn
	port int

	released bool // guarded by the Ports' mu: a second Release must not free a reused number
}

// Port is the even RTP port of the pair; RTCP is Port()+1.
func (p *PortPair) Port() int { return p.port }

// NewPorts returns an allocator over [min, max]. An odd min is rounded up
// and max is lowered so that the last pair's RTCP port still fits: the
// range must hold at least one even/odd pair.
func NewPorts(min, max int) (*Ports, error) {
	if min < 1 || max > 65535 || min > max {
		return nil, fmt.Errorf("%w: port range %d-%d", ErrConfig, min, max)
	}
	if min%2 != 0 {
		min++
	}
	if max%2 == 0 {
		max-- // max is RTCP at best: its RTP port is max-1
	}
	max-- // now the last usable RTP port (even)
	if min > max {
		return nil, fmt.Errorf("%w: port range holds no even/odd pair", ErrConfig)
	}
	return &Ports{min: min, max: max, next: min, inUse: make(map[int]bool)}, nil
}

// Allocate binds the next free even port and the following odd one on ip
// for RTP and RTCP. It returns ErrNoPorts when every pair of the range is in
// use by us or cannot be bound.
func (p *Ports) Allocate(ip netip.Addr) (*PortPair, error) {
	if !ip.IsValid() {
		return nil, fmt.Errorf("%w: invalid local IP", ErrConfig)
	}
	ip = ip.Unmap()
	p.mu.Lock()
	defer p.mu.Unlock()
	pairs := (p.max-p.min)/2 + 1
	port := p.next
	for range pairs {
		candidate := port
		port += 2
		if port > p.max {
			port = p.min
		}
		if p.inUse[candidate] {
			continue
		}
		rtpConn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(candidate))))
		if err != nil {
			continue // taken by another process, or not bindable: try the next pair
		}
		rtcpConn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(candidate+1))))
		if err != nil {
			_ = rtpConn.Close()
			continue
		}
		p.inUse[candidate] = true
		p.next = port
		return &PortPair{RTP: rtpConn, RTCP: rtcpConn, port: candidate}, nil
	}
	return nil, fmt.Errorf("%w in %d-%d", ErrNoPorts, p.min, p.max+1)
}

// Release closes both sockets of pp and returns its ports to the range.
// Releasing the same pair twice is harmless. It returns the first error of
// closing the sockets, if any, other than their being closed already.
func (p *Ports) Release(pp *PortPair) error {
	if pp == nil {
		return nil
	}
	err := closeConn(pp.RTP)
	if err2 := closeConn(pp.RTCP); err == nil {
		err = err2
	}
	p.mu.Lock()
	if !pp.released {
		pp.released = true
		delete(p.inUse, pp.port)
	}
	p.mu.Unlock()
	return err
}

// InUse is the number of pairs handed out and not yet released, for the
// worker's gauges and for tests.
func (p *Ports) InUse() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.inUse)
}

// Capacity is the number of pairs the range holds.
func (p *Ports) Capacity() int { return (p.max-p.min)/2 + 1 }

// closeConn closes c, treating "already closed" as success.
func closeConn(c *net.UDPConn) error {
	if c == nil {
		return nil
	}
	if err := c.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}
