package media

import (
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// The governor turns Opus's complexity down under CPU pressure, before
// frames are late, and back up when the CPU is calm. The encoder is most
// of a transcoded call's cost and complexity its knob: 10 to 0 halves it
// (docs/codecs.md), at a loss of quality that is small for narrow-band
// speech. Once a second it reads the pressure, the larger of
//
//   - the busiest playout shard's share of wall time spent serving legs
//     (a shard at 100 % cannot keep its frames on time), and
//   - the machine's CPU use from /proc/stat (the process's, per CPU,
//     where /proc is not readable): a saturated CPU delays every shard's
//     wake-up, whatever its own share,
//
// and moves the complexity: two steps down when frames were late or the
// pressure is at least governorHigh, one down at governorRaise, one up after
// governorCalmFor seconds below governorLow.
const (
	governorEvery   = time.Second
	governorHigh    = 0.85
	governorRaise   = 0.70
	governorLow     = 0.50
	governorCalmFor = 5
)

type governor struct {
	ceiling, floor int
	cur            atomic.Int32
	pressure       atomic.Uint64 // float64 bits, for the gauge
	calm           int
	onChange       func(from, to int, pressure float64, late uint64)
}

func newGovernor(ceiling, floor int) *governor {
	ceiling = min(max(ceiling, 0), 10)
	floor = min(max(floor, 0), ceiling)
	g := &governor{ceiling: ceiling, floor: floor}
	g.cur.Store(int32(ceiling))
	return g
}

// complexity is the Opus complexity encoders should use now.
func (g *governor) complexity() int { return int(g.cur.Load()) }

// lastPressure is the pressure of the last step, 0 to 1.
func (g *governor) lastPressure() float64 {
	return math.Float64frombits(g.pressure.Load())
}

// step takes one interval's pressure (0 to 1) and late frames and returns
// the new complexity.
func (g *governor) step(pressure float64, late uint64) int {
	g.pressure.Store(math.Float64bits(pressure))
	from := int(g.cur.Load())
	c := from
	switch {
	case late > 0 || pressure >= governorHigh:
		c -= 2
		g.calm = 0
	case pressure >= governorRaise:
		c--
		g.calm = 0
	case pressure < governorLow:
		if g.calm++; g.calm >= governorCalmFor {
			c++
			g.calm = 0
		}
	default:
		g.calm = 0
	}
	c = min(max(c, g.floor), g.ceiling)
	if c != from {
		g.cur.Store(int32(c))
		if g.onChange != nil {
			g.onChange(from, c, pressure, late)
		}
	}
	return c
}

// govern is the governor's loop, owned by the playout clock.
func (p *playout) govern() {
	t := time.NewTicker(governorEvery)
	defer t.Stop()
	cpu := newCPUMeter()
	busy := make([]int64, len(p.shards))
	var late uint64
	last := time.Now()
	for {
		select {
		case <-p.stop:
			return
		case now := <-t.C:
			wall := now.Sub(last)
			last = now
			if wall <= 0 {
				continue
			}
			pressure := cpu.sample()
			var lateNow uint64
			for i, s := range p.shards {
				b := s.busyNS.Load()
				pressure = max(pressure, float64(b-busy[i])/float64(wall))
				busy[i] = b
				lateNow += s.lateN.Load()
			}
			p.gov.step(min(pressure, 1), lateNow-late)
			late = lateNow
		}
	}
}

// cpuMeter measures CPU use between samples: the machine's from /proc/stat,
// else this process's from getrusage divided by the CPUs it may use.
type cpuMeter struct {
	busy, total uint64 // /proc/stat jiffies at the last sample
	proc        bool   // /proc/stat unreadable: use getrusage
	used        time.Duration
	at          time.Time
}

func newCPUMeter() *cpuMeter {
	m := &cpuMeter{}
	m.sample()
	return m
}

// sample returns the share of CPU used since the last sample, 0 to 1.
func (m *cpuMeter) sample() float64 {
	if !m.proc {
		if busy, total, ok := procStat(); ok {
			db, dt := busy-m.busy, total-m.total
			m.busy, m.total = busy, total
			if dt == 0 || m.at.IsZero() {
				m.at = time.Now()
				return 0
			}
			return float64(db) / float64(dt)
		}
		m.proc = true
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	used := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	now := time.Now()
	defer func() { m.used, m.at = used, now }()
	if m.at.IsZero() {
		return 0
	}
	return float64(used-m.used) / float64(now.Sub(m.at)) / float64(runtime.GOMAXPROCS(0))
}

// procStat reads the aggregate "cpu" line of /proc/stat: busy and total
// jiffies (idle and iowait are not busy).
func procStat() (busy, total uint64, ok bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0, false
	}
	// user nice system idle iowait irq softirq steal; guest time is
	// already counted in user and nice.
	for i, v := range f[1:9] {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, 0, false
		}
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total, total > 0
}
