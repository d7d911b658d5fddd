package main

import (
	"bufio"
	"io"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Machine-wide figures read from /proc: they tell the platform's share of
// the machine from sipp's and from whatever else runs on it.

// cpuTimes is the idle time of all CPUs from /proc/stat, in clock ticks,
// and when it was read.
//
// Busy time is derived from idle time and the wall clock, not from the busy
// columns of /proc/stat: on a tickless kernel idle time is measured exactly
// while busy time is sampled at ticks, and bursty work such as the
// platform's (many short runs between idle periods) is mostly missed by
// the samples. On the bench machine the busy columns showed as little as a
// fifth of the CPU time the platform's own counter reported.
type cpuTimes struct {
	idle float64
	at   time.Time
}

func readCPU() cpuTimes {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTimes{}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return cpuTimes{}
	}
	idle, _ := strconv.ParseFloat(f[4], 64)
	iowait, _ := strconv.ParseFloat(f[5], 64)
	return cpuTimes{idle: idle + iowait, at: time.Now()}
}

// busyPct is how busy the whole machine was between a and b, in percent of
// what all its cores could do in that wall-clock time (100 = all busy).
func busyPct(a, b cpuTimes) float64 {
	c := b.at.Sub(a.at).Seconds() * float64(runtime.NumCPU()) * clockTicks
	if c <= 0 || a.at.IsZero() {
		return math.NaN()
	}
	return min(100, max(0, 100*(1-(b.idle-a.idle)/c)))
}

// loadavg is the first three fields of /proc/loadavg.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// procCPU is a process's user+system CPU seconds (all its threads) from
// /proc/<pid>/stat; -1 when the process is gone.
func procCPU(pid int) float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return -1
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(s[i+1:])
	// Fields after the command: state is f[0]; utime and stime are the
	// 14th and 15th fields of the whole line, f[11] and f[12] here.
	if len(f) < 13 {
		return -1
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / clockTicks
}

// clockTicks is USER_HZ, 100 on every Linux the bench runs on.
const clockTicks = 100

// softnetDropped sums the "dropped" column of /proc/net/softnet_stat: packets
// the kernel dropped because a CPU's input backlog was full.
func softnetDropped() uint64 {
	f, err := os.Open("/proc/net/softnet_stat")
	if err != nil {
		return 0
	}
	defer f.Close()
	var n uint64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) > 1 {
			v, _ := strconv.ParseUint(fs[1], 16, 64)
			n += v
		}
	}
	return n
}

// udpSocket is one line of /proc/net/udp.
type udpSocket struct {
	port  int
	inode uint64
	drops uint64
}

// readUDPSockets lists the IPv4 UDP sockets bound on 127.0.0.1 or any
// address, with their receive-buffer drop counters.
func readUDPSockets() []udpSocket {
	f, err := os.Open("/proc/net/udp")
	if err != nil {
		return nil
	}
	defer f.Close()
	return parseUDPSockets(f)
}

func parseUDPSockets(f io.Reader) []udpSocket {
	var out []udpSocket
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	first := true
	for sc.Scan() {
		if first { // header
			first = false
			continue
		}
		fs := strings.Fields(sc.Text())
		if len(fs) < 13 {
			continue
		}
		_, hexPort, ok := strings.Cut(fs[1], ":")
		if !ok {
			continue
		}
		port, err := strconv.ParseUint(hexPort, 16, 16)
		if err != nil {
			continue
		}
		inode, _ := strconv.ParseUint(fs[9], 10, 64)
		drops, _ := strconv.ParseUint(fs[len(fs)-1], 10, 64)
		out = append(out, udpSocket{port: int(port), inode: inode, drops: drops})
	}
	return out
}

// dropTracker follows the drop counters of sockets that come and go (a
// call's RTP sockets live only as long as the call): it keeps the highest
// count seen per socket, so that a closed socket's drops are not lost.
type dropTracker struct {
	match   func(port int) bool
	base    map[uint64]uint64 // drops of sockets that existed before the run
	max     map[uint64]uint64
	open    int // matching sockets at the last look
	maxOpen int
}

func newDropTracker(match func(int) bool) *dropTracker {
	t := &dropTracker{match: match, base: map[uint64]uint64{}, max: map[uint64]uint64{}}
	for _, s := range readUDPSockets() {
		if match(s.port) {
			t.base[s.inode] = s.drops
		}
	}
	return t
}

func (t *dropTracker) look() {
	t.open = 0
	for _, s := range readUDPSockets() {
		if !t.match(s.port) {
			continue
		}
		t.open++
		if s.drops > t.max[s.inode] {
			t.max[s.inode] = s.drops
		}
	}
	t.maxOpen = max(t.maxOpen, t.open)
}

// drops is the total of drops during the run.
func (t *dropTracker) drops() uint64 {
	var n uint64
	for inode, d := range t.max {
		if d > t.base[inode] {
			n += d - t.base[inode]
		}
	}
	return n
}
