package jitter

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

const ms = time.Millisecond

// tc is one scenario test: a network script, and what the buffer must make
// of it. Every scenario also gets the common checks of checkCommon.
type tc struct {
	name  string
	cfg   Config
	tick  time.Duration
	build func() *talker
	check func(t *testing.T, r result, g *talker)
}

// scenarios are the cases ("Opus and transcoding": start 40-60 ms,
// max 200 ms, reorder, drop late packets) as scripted networks. Random
// ones are seeded: every run is the same run.
func scenarios() []tc {
	return []tc{
		{
			name:  "steady in order",
			build: func() *talker { return newTalker(8000, 1000, 5000, fixed(50*ms)).talk(3000) },
			check: func(t *testing.T, r result, g *talker) {
				contiguous(t, r)
				st := r.stats
				if st.Lost != 0 || st.Late != 0 || st.Underrun != 0 || st.Inserted != 0 {
					t.Errorf("lost %d late %d underrun %d inserted %d, want none", st.Lost, st.Late, st.Underrun, st.Inserted)
				}
				if n := r.count(Ok); n != 3000-int(st.Skipped) || st.Skipped > 2 {
					t.Errorf("%d Ok frames, %d skipped to shrink: want all 3000 played but at most 2", n, st.Skipped)
				}
				convergedNearMin(t, r)
			},
		},
		{
			name: "steady in order, Opus 48 kHz",
			cfg:  Config{ClockRate: 48000},
			build: func() *talker {
				return newTalker(48000, 7, 1<<31, fixed(50*ms)).talk(3000)
			},
			check: func(t *testing.T, r result, g *talker) {
				if st := r.stats; st.Lost != 0 || st.Late != 0 || st.Underrun != 0 || r.count(Ok) < 2998 {
					t.Errorf("%d Ok, stats %+v", r.count(Ok), st)
				}
				convergedNearMin(t, r)
			},
		},
		{
			name: "reordered adjacent pairs",
			build: func() *talker {
				i := 0
				return newTalker(8000, 1000, 5000, func(time.Duration) (time.Duration, bool) {
					i++
					if i%2 == 1 {
						return 71 * ms, false // overtaken by the next one, which takes 50 ms
					}
					return 50 * ms, false
				}).talk(3000)
			},
			check: func(t *testing.T, r result, g *talker) {
				st := r.stats
				if st.Reordered != 1500 {
					t.Errorf("reordered %d, want 1500", st.Reordered)
				}
				if st.Lost != 0 || st.Late != 0 || r.count(Lost) != 0 {
					t.Errorf("lost %d late %d, want none", st.Lost, st.Late)
				}
				contiguous(t, r)
			},
		},
		{
			name: "5% random loss",
			build: func() *talker {
				rng := rand.New(rand.NewPCG(5, 5))
				g := newTalker(8000, 1000, 5000, lossy(rng, 0.05, fixed(50*ms))).talk(3000)
				g.net = fixed(50 * ms)
				return g.talk(5) // the stream does not end on a loss
			},
			check: func(t *testing.T, r result, g *talker) {
				// Walk what was sent next to what was played: a dropped
				// packet must come out Lost, a delivered one Ok, except the
				// few skipped to shrink the delay.
				fr := r.played()
				first := 0
				for first < len(g.log) && g.log[first].seq != fr[0].seq {
					first++
				}
				dropped, skipped, j := 0, 0, 0
				for _, s := range g.log[first:] {
					if s.dropped {
						dropped++
					}
					if j < len(fr) && fr[j].seq == s.seq {
						if (fr[j].status == Lost) != s.dropped {
							t.Fatalf("seq %d (dropped %v) played %v", s.seq, s.dropped, fr[j].status)
						}
						j++
						continue
					}
					if skipped++; s.dropped || skipped > int(r.stats.Skipped) {
						t.Fatalf("seq %d (dropped %v) neither played nor skipped", s.seq, s.dropped)
					}
				}
				if r.stats.Lost != uint64(dropped) || r.stats.Late != 0 || r.count(Lost) != dropped {
					t.Errorf("lost %d (%d frames) late %d, want %d and 0", r.stats.Lost, r.count(Lost), r.stats.Late, dropped)
				}
			},
		},
		{
			name: "jitter ±30 ms",
			build: func() *talker {
				rng := rand.New(rand.NewPCG(30, 30))
				return newTalker(8000, 1000, 5000, uniform(rng, 80*ms, 30*ms)).talk(3000)
			},
			check: func(t *testing.T, r result, g *talker) {
				if tg := r.stats.Target; tg < 55*ms || tg > 70*ms {
					t.Errorf("target %v, want 55-70 ms for ±30 ms of jitter", tg)
				}
				latePct(t, r, g, 1)
			},
		},
		{
			name: "jitter ±30 ms, 150 ms stall, then calm",
			build: func() *talker {
				rng := rand.New(rand.NewPCG(150, 150))
				g := newTalker(8000, 1000, 5000, uniform(rng, 80*ms, 30*ms)).talk(1000)
				g.net = stall(g.clock, 150*ms, uniform(rng, 80*ms, 30*ms))
				g.talk(500)
				g.net = fixed(50 * ms)
				return g.talk(5000) // 100 s of calm
			},
			check: func(t *testing.T, r result, g *talker) {
				if tg := r.targetAt(20 * time.Second); tg < 55*ms || tg > 70*ms {
					t.Errorf("target before the stall %v, want 55-70 ms", tg)
				}
				if m := r.maxTarget(20*time.Second, 21*time.Second); m < 150*ms {
					t.Errorf("target after the stall %v, want >= 150 ms", m)
				}
				latePct(t, r, g, 1)
				convergedNearMin(t, r)
			},
		},
		{
			name: "late packets",
			build: func() *talker {
				i := 0
				return newTalker(8000, 1000, 5000, func(time.Duration) (time.Duration, bool) {
					i++
					switch i {
					case 1501:
						return 350 * ms, false // after its play time, and beyond MaxDelay
					case 2401:
						return 150 * ms, false // after its play time
					}
					return 50 * ms, false
				}).talk(3000)
			},
			check: func(t *testing.T, r result, g *talker) {
				if r.stats.Late != 2 || r.stats.Lost != 2 {
					t.Errorf("late %d lost %d, want 2 and 2", r.stats.Late, r.stats.Lost)
				}
				for _, p := range r.played() {
					if late := p.seq == 2500 || p.seq == 3400; late != (p.status == Lost) {
						t.Errorf("seq %d played %v", p.seq, p.status)
					}
				}
				contiguous(t, r)
				if tg := r.stats.Target; tg != 40*ms {
					t.Errorf("target %v: two isolated late packets must not raise it", tg)
				}
			},
		},
		{
			name:  "sequence and timestamp wrap",
			build: func() *talker { return newTalker(8000, 65436, 1<<32-16000, fixed(50*ms)).talk(400) },
			check: func(t *testing.T, r result, g *talker) {
				if r.stats.Lost != 0 || r.stats.Late != 0 || r.count(Ok) < 398 {
					t.Errorf("%d Ok, stats %+v", r.count(Ok), r.stats)
				}
				contiguous(t, r)
			},
		},
		{
			name: "SSRC change",
			build: func() *talker {
				g := newTalker(8000, 1000, 5000, fixed(50*ms)).talk(250)
				// A transfer: another source, other sequence and timestamp
				// bases, same network.
				g.ssrc, g.seq, g.ts, g.quiet = 0xb0b, 40000, 123456789, true
				return g.talk(250)
			},
			check: func(t *testing.T, r result, g *talker) {
				if r.stats.Resets != 1 || r.stats.Lost != 0 || r.stats.Late != 0 {
					t.Errorf("stats %+v, want 1 reset and no loss", r.stats)
				}
				got := map[uint16]bool{}
				for _, p := range r.played() {
					got[p.seq] = true
				}
				for _, s := range g.log[250:] {
					if !got[s.seq] {
						t.Errorf("new source's seq %d not played", s.seq)
					}
				}
			},
		},
		{
			name: "duplicates",
			build: func() *talker {
				g := newTalker(8000, 1000, 5000, fixed(50*ms)).talk(1000)
				n := len(g.out)
				for i := 0; i < n; i += 5 {
					d := g.out[i]
					d.at += ms // right behind the original
					if i%10 == 0 {
						d.at += 300 * ms // long after it was played
					}
					g.out = append(g.out, d)
				}
				return g
			},
			check: func(t *testing.T, r result, g *talker) {
				if r.stats.Duplicate != 200 || r.stats.Late != 0 || r.stats.Lost != 0 {
					t.Errorf("stats %+v, want 200 duplicates and nothing late or lost", r.stats)
				}
				contiguous(t, r)
			},
		},
		{
			name:  "DTX: 400 ms silences, marker on resume",
			build: func() *talker { return dtx(true) },
			check: checkDTX,
		},
		{
			name:  "DTX: 400 ms silences, no marker",
			build: func() *talker { return dtx(false) },
			check: checkDTX,
		},
		{
			name: "DTX with ±20 ms jitter and 3% loss",
			build: func() *talker {
				rng := rand.New(rand.NewPCG(3, 20))
				g := newTalker(8000, 1000, 5000, lossy(rng, 0.03, uniform(rng, 70*ms, 20*ms)))
				for k := range 30 {
					g.talk(30 + 10*(k%5)).silence(time.Duration(200+100*(k%7)) * ms)
				}
				g.net = fixed(70 * ms)
				return g.talk(5)
			},
			check: func(t *testing.T, r result, g *talker) {
				// Silence is never taken for loss, and every dropped packet
				// is concealed, at talkspurt starts too, except the last
				// packet of a talkspurt: nothing shows it missing until the
				// next talkspurt, long after its play time.
				reported := map[uint16]bool{}
				for _, p := range r.played() {
					reported[p.seq] = p.status == Lost
				}
				dropped := 0
				for i, s := range g.log {
					if !s.dropped {
						continue
					}
					dropped++
					tail := i+1 < len(g.log) && g.log[i+1].ts-s.ts > g.step()
					if !reported[s.seq] && !tail {
						t.Errorf("dropped seq %d not reported Lost", s.seq)
					}
				}
				if r.stats.Lost != uint64(dropped)+r.stats.Late || r.count(Lost) > dropped+int(r.stats.Late) {
					t.Errorf("%d Lost frames, %d lost: %d dropped, %d late", r.count(Lost), r.stats.Lost, dropped, r.stats.Late)
				}
				latePct(t, r, g, 1)
				contiguous(t, r)
			},
		},
		{
			name: "1 s outage beyond MaxDelay",
			build: func() *talker {
				g := newTalker(8000, 1000, 5000, fixed(50*ms)).talk(500)
				g.net = stall(g.clock, time.Second, fixed(50*ms))
				g.talk(1000)
				g.net = fixed(50 * ms)
				return g.talk(2000)
			},
			check: func(t *testing.T, r result, g *talker) {
				if r.stats.Late == 0 {
					t.Errorf("no late packets after a 1 s outage: %+v", r.stats)
				}
				for _, p := range r.pops {
					if p.status != Empty && p.delay > 200*ms+20*ms+5*ms {
						t.Fatalf("at %v a frame played %v late, beyond MaxDelay", p.at, p.delay)
					}
				}
				contiguous(t, r)
				convergedNearMin(t, r)
			},
		},
		{
			name: "30 ms packets, duration learned",
			tick: 30 * ms,
			build: func() *talker {
				g := newTalker(8000, 1000, 5000, fixed(50*ms))
				g.frame = 30 * ms
				return g.talk(2000)
			},
			check: func(t *testing.T, r result, g *talker) {
				if r.stats.FrameDuration != 30*ms {
					t.Errorf("frame duration %v, want 30ms learned", r.stats.FrameDuration)
				}
				if r.stats.Lost != 0 || r.stats.Late != 0 || r.stats.Underrun != 0 {
					t.Errorf("stats %+v", r.stats)
				}
				contiguous(t, r)
			},
		},
	}
}

// dtx is 20 talkspurts of 1 s separated by 400 ms without packets (Opus DTX,
// G.711 with VAD): RFC 3551 §4.1 silence suppression.
func dtx(marker bool) *talker {
	rng := rand.New(rand.NewPCG(400, 400))
	g := newTalker(8000, 1000, 5000, uniform(rng, 60*ms, 10*ms))
	g.marker = marker
	for range 20 {
		g.talk(50).silence(400 * ms)
	}
	return g
}

func checkDTX(t *testing.T, r result, g *talker) {
	if st := r.stats; st.Lost != 0 || st.Late != 0 || st.Underrun != 0 || r.count(Lost) != 0 {
		t.Errorf("stats %+v: silence must be Empty, not Lost", st)
	}
	if n := r.count(Ok) + int(r.stats.Skipped); n != len(g.log) {
		t.Errorf("%d frames played or skipped, want %d", n, len(g.log))
	}
	if e := r.count(Empty); e < 19*20 {
		t.Errorf("%d Empty frames, want at least the 19 silences of 20 frames", e)
	}
	contiguous(t, r)
}

// contiguous fails unless the frames played (Ok or Lost) advance one
// sequence number at a time, with non-decreasing timestamps, except for as
// many packets as were skipped, dropped late or lost without a frame.
func contiguous(t *testing.T, r result) {
	t.Helper()
	checkOrder(t, r)
	fr := r.played()
	skipped := int(r.stats.Skipped + r.stats.Late + r.stats.Lost - uint64(r.count(Lost)))
	for i := 1; i < len(fr); i++ {
		if fr[i].gen != fr[i-1].gen {
			continue
		}
		if step := int(uint16(fr[i].seq - fr[i-1].seq)); step != 1 {
			if skipped -= step - 1; skipped < 0 {
				t.Fatalf("seq %d after %d: a gap that was neither skipped nor reported", fr[i].seq, fr[i-1].seq)
			}
		}
	}
}

// convergedNearMin checks the end of a calm stream: target back at MinDelay
// and the delay within the band the buffer keeps (a frame and its
// hysteresis above target).
func convergedNearMin(t *testing.T, r result) {
	t.Helper()
	if st := r.stats; st.Target != 40*ms || st.Delay < 40*ms || st.Delay >= 40*ms+20*ms+5*ms {
		t.Errorf("end: target %v delay %v, want 40ms and 40-65 ms", st.Target, st.Delay)
	}
}

// latePct fails if more than pct % of the packets sent were dropped late.
func latePct(t *testing.T, r result, g *talker, pct float64) {
	t.Helper()
	if p := 100 * float64(r.stats.Late) / float64(len(g.log)); p > pct {
		t.Errorf("%.2f %% late (%d), want at most %v %%", p, r.stats.Late, pct)
	}
}

// TestScenarios runs the scripted networks. With -v each logs the row of
// the table in docs/jitter.md.
func TestScenarios(t *testing.T) {
	for _, c := range scenarios() {
		t.Run(c.name, func(t *testing.T) {
			g := c.build()
			r := play(t, scenario{cfg: c.cfg, arrivals: g.out, tick: c.tick, phase: 7 * ms})
			checkOrder(t, r)
			if r.stats.Buffered > 64 {
				t.Errorf("buffered %d", r.stats.Buffered)
			}
			c.check(t, r, g)
			t.Log(row(c.name, r, g))
		})
	}
}

// row is a scenario's line of the docs table.
func row(name string, r result, g *talker) string {
	missing := 0
	for _, s := range g.log {
		if s.dropped {
			missing++
		}
	}
	st := r.stats
	return fmt.Sprintf("| %s | %d | %v | %v | %v | %.2f %% (%d) | %d / %d | %d | %d / %d |",
		name, len(g.log), r.maxTarget(0, time.Hour), st.Target, st.Delay,
		100*float64(st.Late)/float64(len(g.log)), st.Late, r.count(Lost), missing,
		st.Underrun, st.Skipped, st.Inserted)
}
