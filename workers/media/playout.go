package media

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-voip/switchboard/workers/media/codec"
	"github.com/switchboard-voip/switchboard/workers/media/jitter"
)

// The playout clock drives every leg whose received audio is decoded (a
// G.711<->Opus bridge): packets go into the leg's jitter buffer as they
// arrive, and the clock takes one frame out per frame period, decodes or
// conceals it, and encodes it for the other leg. Legs relayed without
// decoding (same codec, PCMU<->PCMA) keep the packet-driven path: a relay
// does not de-jitter, the far end's own buffer does (adding ours would add
// its delay for nothing).
//
// One goroutine a CPU ("shard") ticks every tickPeriod and serves the legs
// whose frame is due, rather than a timer a leg: 1,000 legs cost two
// goroutines waking 100 times a second, not 1,000 waking 50 times.

// tickPeriod is the shards' tick: a quarter of the usual 20 ms frame, so a
// frame leaves within a few ms of when it is due even when a tick takes a
// while to serve its legs, and 10, 30 and 60 ms frames are served on time
// too.
const tickPeriod = 5 * time.Millisecond

// maxCatchUp bounds the frames one leg plays in one tick after the shard
// was held up; beyond, the leg's clock jumps to now (the frames were late
// anyway, and the jitter buffer counts what it dropped).
const maxCatchUp = 4

// PlayoutConfig is the settings of decoded legs.
type PlayoutConfig struct {
	// Opus is the encoder's starting settings for Opus legs (bitrate,
	// complexity, FEC). The complexity is the ceiling the governor returns
	// to when the CPU is calm.
	Opus codec.OpusConfig
	// MinComplexity is the floor the governor lowers Opus's complexity
	// to under CPU pressure.
	MinComplexity int
	// Jitter is the jitter buffer's delays (ClockRate is set per leg).
	Jitter jitter.Config
}

// DefaultPlayoutConfig is what the media role uses for zero settings.
func DefaultPlayoutConfig() PlayoutConfig {
	return PlayoutConfig{Opus: codec.DefaultOpusConfig(transcodeRate), MinComplexity: 0}
}

// validate checks the settings when the role starts, so that a bad value
// stops the process rather than a call.
func (c PlayoutConfig) validate() error {
	if _, err := codec.NewOpusEncoder(transcodeRate, c.Opus); err != nil {
		return fmt.Errorf("opus settings %+v: %w", c.Opus, err)
	}
	if c.MinComplexity < 0 || c.MinComplexity > c.Opus.Complexity {
		return fmt.Errorf("opus minimum complexity %d outside 0-%d (the complexity)", c.MinComplexity, c.Opus.Complexity)
	}
	for _, rate := range []uint32{8000, codec.OpusClockRate} {
		j := c.Jitter
		j.ClockRate = rate
		if err := j.Validate(); err != nil {
			return fmt.Errorf("jitter buffer: %w", err)
		}
	}
	return nil
}

// playout is the clock of the decoded legs of one media role.
type playout struct {
	cfg    PlayoutConfig
	gov    *governor
	shards []*shard
	late   prometheus.Counter
	stop   chan struct{}
	wg     sync.WaitGroup
}

// shard is one goroutine's legs.
type shard struct {
	mu     sync.Mutex
	legs   []*leg
	busyNS atomic.Int64 // time spent serving legs, for the governor
	lateN  atomic.Uint64
}

func newPlayout(cfg PlayoutConfig, late prometheus.Counter) *playout {
	p := &playout{cfg: cfg, late: late, stop: make(chan struct{})}
	p.gov = newGovernor(cfg.Opus.Complexity, cfg.MinComplexity)
	for range max(runtime.GOMAXPROCS(0), 1) {
		p.shards = append(p.shards, &shard{})
	}
	return p
}

// opusConfig is the settings a new Opus encoder starts with: the
// configured ones at the governor's current complexity.
func (p *playout) opusConfig() codec.OpusConfig {
	if p == nil {
		return DefaultPlayoutConfig().Opus
	}
	c := p.cfg.Opus
	c.Complexity = p.gov.complexity()
	return c
}

// start runs the shards and the governor until close.
func (p *playout) start() {
	p.startShards()
	p.wg.Go(func() { p.govern() })
}

// startShards runs the shards only: the complexity stays what it is (tests
// that set it themselves, whatever the machine's load).
func (p *playout) startShards() {
	for _, s := range p.shards {
		p.wg.Go(func() { p.run(s) })
	}
}

func (p *playout) close() {
	close(p.stop)
	p.wg.Wait()
}

// add puts l on the shard with the fewest legs.
func (p *playout) add(l *leg) {
	best := p.shards[0]
	for _, s := range p.shards[1:] {
		if s.count() < best.count() {
			best = s
		}
	}
	// l.shard is set before the shard can see l: its goroutine may play
	// l (and detach it, which reads l.shard) as soon as the lock is free.
	l.shard = best
	best.mu.Lock()
	best.legs = append(best.legs, l)
	best.mu.Unlock()
}

// remove takes l off its shard; idempotent.
func (p *playout) remove(l *leg) {
	s := l.shard
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, x := range s.legs {
		if x == l {
			last := len(s.legs) - 1
			s.legs[i], s.legs[last] = s.legs[last], nil
			s.legs = s.legs[:last]
			return
		}
	}
}

func (s *shard) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.legs)
}

// legs returns the number of legs being played, for the metric.
func (p *playout) legs() int {
	n := 0
	for _, s := range p.shards {
		n += s.count()
	}
	return n
}

// run is one shard's loop.
func (p *playout) run(s *shard) {
	t := time.NewTicker(tickPeriod)
	defer t.Stop()
	var legs []*leg
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		start := time.Now()
		s.mu.Lock()
		legs = append(legs[:0], s.legs...)
		s.mu.Unlock()
		for _, l := range legs {
			if late := l.run(start, p); late > 0 {
				s.lateN.Add(uint64(late))
				p.late.Add(float64(late))
			}
		}
		clear(legs) // no stale pointers kept between ticks
		s.busyNS.Add(int64(time.Since(start)))
	}
}
