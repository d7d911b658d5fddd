// Package rtpcap records UDP packets on the loopback interface with dumpcap
// and measures, per destination port, when packets arrived: the media gap
// a phone (sipp) sees while the platform moves its call.
//
// dumpcap (Debian package wireshark-common, installed with tshark) writes a
// classic pcap file; this package reads it without any other dependency.
// A capture is bounded in time (dumpcap -a duration) and stopped by Stop.
package rtpcap

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Capture is a running dumpcap.
type Capture struct {
	cmd    *exec.Cmd
	file   string
	stderr *syncBuf
	done   chan struct{}
	err    error
}

// Start captures the UDP packets to 127.0.0.1 ports lo..hi on lo into a file
// in dir, for at most maxDur. It returns once dumpcap is capturing.
func Start(dir string, lo, hi int, maxDur time.Duration) (*Capture, error) {
	c := &Capture{file: filepath.Join(dir, "rtp.pcap"), stderr: &syncBuf{}, done: make(chan struct{})}
	filter := fmt.Sprintf("udp and dst host 127.0.0.1 and dst portrange %d-%d", lo, hi)
	c.cmd = exec.Command("dumpcap", "-q", "-i", "lo", "-f", filter, "-P", "-B", "32", "-s", "96",
		"-a", "duration:"+strconv.Itoa(int(maxDur.Seconds())+1), "-w", c.file)
	c.cmd.Stdout, c.cmd.Stderr = io.Discard, c.stderr
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("dumpcap: %w", err)
	}
	go func() { c.err = c.cmd.Wait(); close(c.done) }()
	deadline := time.After(10 * time.Second)
	for {
		if fi, err := os.Stat(c.file); err == nil && fi.Size() >= 24 {
			return c, nil // the pcap header is written when capturing starts
		}
		select {
		case <-c.done:
			return nil, fmt.Errorf("dumpcap exited: %v: %s", c.err, c.stderr.String())
		case <-deadline:
			_ = c.cmd.Process.Kill()
			<-c.done
			return nil, fmt.Errorf("dumpcap did not start capturing: %s", c.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Stop ends the capture (dumpcap flushes on SIGINT) and returns the
// packets. Packets the kernel dropped are reported by dumpcap on stderr;
// Stop fails if it says any were.
func (c *Capture) Stop() ([]Packet, error) {
	_ = c.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
	pkts, err := ReadFile(c.file)
	if err != nil {
		return nil, err
	}
	if m := dropped.FindStringSubmatch(c.stderr.String()); m != nil && m[1] != "0" {
		return pkts, fmt.Errorf("dumpcap dropped %s packets: %s", m[1], strings.TrimSpace(c.stderr.String()))
	}
	return pkts, nil
}

// dropped finds the kernel's drop count in dumpcap's summary
// ("Packets received/dropped on interface 'lo': 10/0 (...)").
var dropped = regexp.MustCompile(`received/dropped on interface [^:]*: \d+/(\d+)`)

// File is the pcap file the capture writes.
func (c *Capture) File() string { return c.file }

// Packet is one captured UDP datagram.
type Packet struct {
	T        time.Time
	Src, Dst netip.AddrPort
}

// ReadFile reads the IPv4 UDP packets of a classic pcap file (Ethernet,
// BSD loopback or raw IP link types, microsecond or nanosecond stamps).
func ReadFile(name string) ([]Packet, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<16)
	var gh [24]byte
	if _, err := io.ReadFull(r, gh[:]); err != nil {
		return nil, fmt.Errorf("pcap header: %w", err)
	}
	var bo binary.ByteOrder = binary.LittleEndian
	nano := false
	switch binary.LittleEndian.Uint32(gh[:4]) {
	case 0xa1b2c3d4:
	case 0xa1b23c4d:
		nano = true
	case 0xd4c3b2a1:
		bo = binary.BigEndian
	case 0x4d3cb2a1:
		bo, nano = binary.BigEndian, true
	default:
		return nil, errors.New("not a classic pcap file (pcapng? run dumpcap with -P)")
	}
	link := bo.Uint32(gh[20:24])
	var out []Packet
	var rh [16]byte
	buf := make([]byte, 0, 256)
	for {
		if _, err := io.ReadFull(r, rh[:]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return out, nil // a capture stopped mid-record ends there
			}
			return out, err
		}
		sec, frac, incl := bo.Uint32(rh[0:4]), bo.Uint32(rh[4:8]), bo.Uint32(rh[8:12])
		if incl > 1<<18 {
			return out, fmt.Errorf("pcap record of %d bytes", incl)
		}
		buf = slices.Grow(buf[:0], int(incl))[:incl]
		if _, err := io.ReadFull(r, buf); err != nil {
			return out, nil
		}
		ns := int64(frac) * 1000
		if nano {
			ns = int64(frac)
		}
		if p, ok := parse(link, buf); ok {
			p.T = time.Unix(int64(sec), ns)
			out = append(out, p)
		}
	}
}

func parse(link uint32, b []byte) (Packet, bool) {
	switch link {
	case 1: // Ethernet
		if len(b) < 14 || binary.BigEndian.Uint16(b[12:14]) != 0x0800 {
			return Packet{}, false
		}
		b = b[14:]
	case 0: // BSD loopback
		if len(b) < 4 {
			return Packet{}, false
		}
		b = b[4:]
	case 101: // raw IP
	default:
		return Packet{}, false
	}
	if len(b) < 20 || b[0]>>4 != 4 || b[9] != 17 {
		return Packet{}, false
	}
	ihl := int(b[0]&0x0f) * 4
	if len(b) < ihl+8 {
		return Packet{}, false
	}
	src := netip.AddrFrom4([4]byte(b[12:16]))
	dst := netip.AddrFrom4([4]byte(b[16:20]))
	u := b[ihl:]
	return Packet{
		Src: netip.AddrPortFrom(src, binary.BigEndian.Uint16(u[0:2])),
		Dst: netip.AddrPortFrom(dst, binary.BigEndian.Uint16(u[2:4])),
	}, true
}

// ByDst groups arrival times by destination port, in order.
func ByDst(pkts []Packet) map[uint16][]time.Time {
	m := map[uint16][]time.Time{}
	for _, p := range pkts {
		m[p.Dst.Port()] = append(m[p.Dst.Port()], p.T)
	}
	for _, ts := range m {
		slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	}
	return m
}

// LongestGap is the longest time without an arrival in [from, to]: between
// consecutive arrivals, or from `from` to the first one, or from the last
// one to `to`. With no arrival at all it is to - from.
func LongestGap(ts []time.Time, from, to time.Time) time.Duration {
	prev := from
	var worst time.Duration
	for _, t := range ts {
		if t.Before(from) {
			prev = t // the gap may have begun before the window
			continue
		}
		if t.After(to) {
			break
		}
		worst = max(worst, t.Sub(prev))
		prev = t
	}
	if i, ok := slices.BinarySearchFunc(ts, to, func(a, b time.Time) int { return a.Compare(b) }); ok || i < len(ts) {
		// an arrival after the window closes the last gap
		worst = max(worst, ts[i].Sub(prev))
	} else {
		worst = max(worst, to.Sub(prev))
	}
	return worst
}

// Count is the number of arrivals in [from, to).
func Count(ts []time.Time, from, to time.Time) int {
	n := 0
	for _, t := range ts {
		if !t.Before(from) && t.Before(to) {
			n++
		}
	}
	return n
}

// Percentile returns the p-th percentile (0-100, nearest rank) of sorted.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
