package jitter

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// This file is the playout simulation: a talker produces a scripted stream
// (talkspurts, silence, a network that delays, reorders and drops), and
// play feeds the arrivals to a Buffer while a 20 ms playout clock pops it,
// recording what every Pop returned. Scenario tests then read as "this
// network, therefore these frames".

// epoch is the scenario's time zero; any fixed instant works.
var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// arrival is one packet of a scenario: what it carries and when it comes.
type arrival struct {
	at     time.Duration // from the scenario's start
	seq    uint16
	ts     uint32
	ssrc   uint32
	marker bool
}

// sent is one packet the talker sent, delivered or not.
type sent struct {
	seq     uint16
	ts      uint32
	ssrc    uint32
	dropped bool
}

// network gives the one-way delay of a packet sent at time at and whether
// it is dropped.
type network func(at time.Duration) (delay time.Duration, drop bool)

// fixed is a network with a constant delay: no jitter, no loss.
func fixed(d time.Duration) network {
	return func(time.Duration) (time.Duration, bool) { return d, false }
}

// uniform adds uniform jitter of ±j to base, from a seeded source.
func uniform(rng *rand.Rand, base, j time.Duration) network {
	return func(time.Duration) (time.Duration, bool) {
		return base - j + time.Duration(rng.Int64N(int64(2*j)+1)), false
	}
}

// lossy drops a fraction p of the packets of n, from a seeded source.
func lossy(rng *rand.Rand, p float64, n network) network {
	return func(at time.Duration) (time.Duration, bool) {
		d, drop := n(at)
		return d, drop || rng.Float64() < p
	}
}

// stall holds every packet sent in [from, from+d) until from+d (a link
// that stops and then delivers its queue in a burst), on top of n.
func stall(from, d time.Duration, n network) network {
	return func(at time.Duration) (time.Duration, bool) {
		delay, drop := n(at)
		if at >= from && at < from+d {
			delay += from + d - at
		}
		return delay, drop
	}
}

// talker is a sender: 20 ms packets (or frame), sequence numbers and
// timestamps per RFC 3550 §5.1, no packets during silence and the marker
// bit on the first packet after it (RFC 3551 §4.1).
type talker struct {
	rate   uint32
	frame  time.Duration
	ssrc   uint32
	seq    uint16
	ts     uint32
	clock  time.Duration // send time of the next packet
	quiet  bool          // the next packet starts a talkspurt
	marker bool          // set the marker bit on talkspurt starts
	net    network
	out    []arrival
	log    []sent
}

func newTalker(rate uint32, seq uint16, ts uint32, net network) *talker {
	return &talker{rate: rate, frame: 20 * time.Millisecond, ssrc: 0x5eed, seq: seq, ts: ts, net: net, quiet: true, marker: true}
}

// step is the timestamp increment of one frame.
func (g *talker) step() uint32 { return uint32(int64(g.rate) * int64(g.frame) / int64(time.Second)) }

// talk sends n frames.
func (g *talker) talk(n int) *talker {
	for range n {
		delay, drop := g.net(g.clock)
		g.log = append(g.log, sent{seq: g.seq, ts: g.ts, ssrc: g.ssrc, dropped: drop})
		if !drop {
			g.out = append(g.out, arrival{at: g.clock + delay, seq: g.seq, ts: g.ts, ssrc: g.ssrc, marker: g.quiet && g.marker})
		}
		g.quiet = false
		g.seq++
		g.ts += g.step()
		g.clock += g.frame
	}
	return g
}

// silence stops sending for d (DTX): the timestamp runs on, the sequence
// number does not.
func (g *talker) silence(d time.Duration) *talker {
	g.clock += d
	g.ts += uint32(int64(g.rate) * int64(d) / int64(time.Second))
	g.quiet = true
	return g
}

// scenario is a scripted arrival schedule and the playout clock's ticks.
type scenario struct {
	cfg      Config
	arrivals []arrival
	tick     time.Duration // default 20 ms
	phase    time.Duration // first tick
	end      time.Duration // default: last arrival + 1 s
	// hook, if set, runs after every Pop (to sample the buffer's state).
	hook func(at time.Duration, b *Buffer)
}

// popped is what one Pop returned.
type popped struct {
	at     time.Duration
	status Status
	seq    uint16
	ts     uint32
	delay  time.Duration // Stats.Delay after the Pop
	target time.Duration // Stats.Target after the Pop
	gen    uint64        // Resets+Resyncs after the Pop: a new timeline
}

// result is a scenario's outcome.
type result struct {
	b     *Buffer
	pops  []popped
	stats Stats
}

// payloadFor is what a scripted packet carries, so that every Ok frame can
// be checked to be the packet it claims (no aliasing of reused buffers).
func payloadFor(buf []byte, a arrival) []byte {
	buf = buf[:160]
	binary.BigEndian.PutUint16(buf[0:], a.seq)
	binary.BigEndian.PutUint32(buf[2:], a.ts)
	binary.BigEndian.PutUint32(buf[6:], a.ssrc)
	for i := 10; i < len(buf); i++ {
		buf[i] = byte(a.seq) ^ byte(i)
	}
	return buf
}

// play runs a scenario: arrivals due at or before a tick are pushed before
// it, in arrival order (ties keep script order).
func play(t testing.TB, sc scenario) result {
	t.Helper()
	if sc.cfg.ClockRate == 0 {
		sc.cfg.ClockRate = 8000
	}
	if sc.tick == 0 {
		sc.tick = 20 * time.Millisecond
	}
	arr := slices.Clone(sc.arrivals)
	slices.SortStableFunc(arr, func(a, b arrival) int { return int(a.at - b.at) })
	if sc.end == 0 && len(arr) > 0 {
		sc.end = arr[len(arr)-1].at + time.Second
	}
	b := New(sc.cfg)
	var res result
	res.b = b
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2}}
	scratch := make([]byte, 160)
	next := 0
	for at := sc.phase; at <= sc.end; at += sc.tick {
		for ; next < len(arr) && arr[next].at <= at; next++ {
			a := arr[next]
			pkt.SequenceNumber, pkt.Timestamp, pkt.SSRC, pkt.Marker = a.seq, a.ts, a.ssrc, a.marker
			pkt.Payload = payloadFor(scratch, a)
			b.Push(pkt, epoch.Add(a.at))
			clear(scratch) // the buffer must have copied it
		}
		f, ok := b.Pop(epoch.Add(at))
		if ok != (f.Status != Empty) {
			t.Fatalf("at %v: Pop returned ok=%v with %v", at, ok, f.Status)
		}
		if f.Status == Ok {
			want := payloadFor(make([]byte, 160), arrival{seq: f.SequenceNumber, ts: f.Timestamp, ssrc: binary.BigEndian.Uint32(f.Payload[6:])})
			if string(f.Payload) != string(want) {
				t.Fatalf("at %v: frame seq %d ts %d carries the payload of seq %d ts %d", at, f.SequenceNumber, f.Timestamp,
					binary.BigEndian.Uint16(f.Payload), binary.BigEndian.Uint32(f.Payload[2:]))
			}
		}
		st := b.Stats()
		res.pops = append(res.pops, popped{at: at, status: f.Status, seq: f.SequenceNumber, ts: f.Timestamp, delay: st.Delay, target: st.Target, gen: st.Resets + st.Resyncs})
		if sc.hook != nil {
			sc.hook(at, b)
		}
	}
	res.stats = b.Stats()
	return res
}

// played returns the Ok and Lost frames in order (Empty left out).
func (r result) played() []popped {
	var out []popped
	for _, p := range r.pops {
		if p.status != Empty {
			out = append(out, p)
		}
	}
	return out
}

// count returns how many Pops returned status s.
func (r result) count(s Status) int {
	n := 0
	for _, p := range r.pops {
		if p.status == s {
			n++
		}
	}
	return n
}

// maxTarget is the highest target seen after any Pop in [from, to).
func (r result) maxTarget(from, to time.Duration) time.Duration {
	var m time.Duration
	for _, p := range r.pops {
		if p.at >= from && p.at < to {
			m = max(m, p.target)
		}
	}
	return m
}

// targetAt is the target after the last Pop at or before at.
func (r result) targetAt(at time.Duration) time.Duration {
	var t time.Duration
	for _, p := range r.pops {
		if p.at > at {
			break
		}
		t = p.target
	}
	return t
}

// checkOrder fails unless, within each timeline, the played frames'
// sequence numbers and timestamps never go backwards (serial arithmetic,
// RFC 3550 A.1).
func checkOrder(t testing.TB, r result) {
	t.Helper()
	fr := r.played()
	for i := 1; i < len(fr); i++ {
		if fr[i].gen != fr[i-1].gen {
			continue
		}
		if int16(fr[i].seq-fr[i-1].seq) <= 0 || int32(fr[i].ts-fr[i-1].ts) < 0 {
			t.Fatalf("frame %d (seq %d ts %d, %v) after seq %d ts %d", i, fr[i].seq, fr[i].ts, fr[i].status, fr[i-1].seq, fr[i-1].ts)
		}
	}
}
