package jitter

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// driver feeds a buffer one 20 ms packet per step and pops one frame: the
// per-packet work of a call leg's receive path (Push on the RTP reader,
// Pop on the playout clock). Packet j arrives at j*20 ms + offset(j), with
// offsets of at most three frames, and is pushed before the first Pop at
// or after its arrival, as the reader and the clock would interleave.
type driver struct {
	b       *Buffer
	pkt     rtp.Packet
	step    uint32
	k       int
	pushed  [8]bool
	offset  func(j int) (time.Duration, bool) // arrival offset, dropped
	payload []byte
}

func newDriver(rate uint32, size int, offset func(int) (time.Duration, bool)) *driver {
	d := &driver{
		b:       New(Config{ClockRate: rate}),
		step:    rate / 50,
		offset:  offset,
		payload: make([]byte, size),
	}
	d.pkt.Version, d.pkt.SSRC = 2, 1
	return d
}

// tick advances one frame period: pushes what has arrived, pops a frame.
func (d *driver) tick() Frame {
	now := time.Duration(d.k) * 20 * time.Millisecond
	for j := max(d.k-3, 0); j <= d.k; j++ {
		off, drop := d.offset(j)
		if d.pushed[j%8] || time.Duration(j)*20*time.Millisecond+off > now {
			continue
		}
		d.pushed[j%8] = true
		if drop {
			continue
		}
		d.pkt.SequenceNumber, d.pkt.Timestamp = uint16(j), uint32(j)*d.step
		d.pkt.Payload = d.payload
		d.b.Push(&d.pkt, epoch.Add(time.Duration(j)*20*time.Millisecond+off))
	}
	d.pushed[(d.k+5)%8] = false // the slot of packet k+5, not pushed yet
	f, _ := d.b.Pop(epoch.Add(now))
	d.k++
	return f
}

// offsets returns a repeating table of seeded random offsets in [0, max]
// and drops with probability loss.
func offsets(maxOff time.Duration, loss float64) func(int) (time.Duration, bool) {
	rng := rand.New(rand.NewPCG(7, 7))
	off := make([]time.Duration, 4096)
	drop := make([]bool, 4096)
	for i := range off {
		if maxOff > 0 {
			off[i] = time.Duration(rng.Int64N(int64(maxOff) + 1))
		}
		drop[i] = rng.Float64() < loss
	}
	return func(j int) (time.Duration, bool) { return off[j%4096], drop[j%4096] }
}

// BenchmarkPushPop is the cost per packet of Push plus Pop, in steady state
// (the stream wraps its sequence numbers many times over b.N).
func BenchmarkPushPop(b *testing.B) {
	swap := func(j int) (time.Duration, bool) {
		if j%2 == 0 {
			return 21 * time.Millisecond, false // overtaken by the next packet
		}
		return 0, false
	}
	cases := []struct {
		name   string
		rate   uint32
		size   int
		offset func(int) (time.Duration, bool)
	}{
		{"G711/in-order", 8000, 160, offsets(0, 0)},
		{"Opus/in-order", 48000, 120, offsets(0, 0)},
		{"G711/reordered-pairs", 8000, 160, swap},
		{"G711/5pct-loss", 8000, 160, offsets(0, 0.05)},
		{"G711/jitter-60ms", 8000, 160, offsets(60*time.Millisecond, 0)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			d := newDriver(c.rate, c.size, c.offset)
			for range 1000 { // warm up: the delay settles
				d.tick()
			}
			b.ReportAllocs()
			ok := 0
			for b.Loop() {
				if d.tick().Status == Ok {
					ok++
				}
			}
			if ok == 0 {
				b.Fatal("no frame played")
			}
		})
	}
}

// BenchmarkStats is the snapshot the worker takes for its periodic call
// statistics.
func BenchmarkStats(b *testing.B) {
	d := newDriver(8000, 160, offsets(0, 0))
	for range 100 {
		d.tick()
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = d.b.Stats()
	}
}

// TestSteadyStateAllocs pins the zero-allocation claim of the package
// documentation: once warm, Push, Pop, Peek and Stats allocate nothing,
// whatever the network does.
func TestSteadyStateAllocs(t *testing.T) {
	for name, off := range map[string]func(int) (time.Duration, bool){
		"in order": offsets(0, 0), "jitter": offsets(60*time.Millisecond, 0), "loss": offsets(0, 0.05),
	} {
		d := newDriver(8000, 160, off)
		for range 500 {
			d.tick()
		}
		if n := testing.AllocsPerRun(2000, func() {
			d.tick()
			d.b.Peek()
			_ = d.b.Stats()
		}); n != 0 {
			t.Errorf("%s: %v allocations per packet", name, n)
		}
	}
}
