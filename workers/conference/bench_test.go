package conference

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-voip/switchboard/test/natstest"
	"github.com/switchboard-voip/switchboard/workers/conference/mixer"
)

// benchVoice is 1 s of a voice-like signal cut into 20 ms frames: a
// 120 Hz pulse train's first 20 harmonics, amplitude-modulated at 4 Hz
// like syllables, peaking near -6 dBFS (as the mixer's own benchmarks).
func benchVoice(rate int) [][]int16 {
	n := rate / 50
	sig := make([]int16, rate)
	for i := range sig {
		t := float64(i) / float64(rate)
		var v float64
		for h := 1; h <= 20 && 120*h < rate/2; h++ {
			v += math.Sin(2*math.Pi*120*float64(h)*t) / float64(h)
		}
		env := 0.5 + 0.5*math.Sin(2*math.Pi*4*t)
		sig[i] = int16(v * env * 0.5 * 32767 / 1.8)
	}
	var frames [][]int16
	for i := 0; i+n <= len(sig); i += n {
		frames = append(frames, sig[i:i+n])
	}
	return frames
}

// benchNoise is a frame of white noise at about -70 dBFS: a silent
// member's line, below the gate.
func benchNoise(rate int) []int16 {
	pcm := make([]int16, rate/50)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range pcm {
		pcm[i] = int16(rng.NormFloat64() * 10)
	}
	return pcm
}

// BenchmarkTick is one tick of 50 conferences of 10 members, 2 of them
// speaking and 8 sending line noise, as the role runs it: each member's
// frame taken from its queue through its VAD and the gate, mixed
// ("mix"); then ("encode") each listener group's mix encoded once, each
// speaker's own mix encoded and one out-frame per member marshalled; and
// ("full") those frames published to NATS (an embedded server, no
// subscriber). All members of a room share one codec: G.711 µ-law with the room
// at 16 kHz (resampled to 8 kHz), or Opus at 48 kHz (complexity 5, FEC).
// encode − mix is the codecs' share, full − encode NATS's.
func BenchmarkTick(b *testing.B) {
	const rooms, members, speakers = 50, 10, 2
	for _, c := range []struct {
		name  string
		rate  int
		codec string
	}{{"pcmu/16k", 16000, "PCMU/8000"}, {"opus/48k", 48000, "opus/48000"}} {
		for _, mode := range []string{"mix", "encode", "full"} {
			full := mode != "mix"
			b.Run(fmt.Sprintf("%s/rooms=%d/members=%d/speakers=%d/%s", c.name, rooms, members, speakers, mode), func(b *testing.B) {
				srv := natstest.Run(b)
				r, err := New(context.Background(), natstest.Connect(b, srv), Config{NodeID: "bench", Rate: c.rate}, nil, prometheus.NewRegistry())
				if err != nil {
					b.Fatal(err)
				}
				defer r.Close()
				if mode == "encode" {
					r.out = func(string, []byte) error { return nil }
				}
				fc, _ := parseCodec(c.codec)
				voice, noise := benchVoice(c.rate), benchNoise(c.rate)
				now := time.Now()
				var cs []*conference
				for i := range rooms {
					cf, err := newConference(r, 0, fmt.Sprintf("room%d", i), c.rate, now)
					if err != nil {
						b.Fatal(err)
					}
					cf.started = true
					for j := range members {
						m, err := cf.newMember(fmt.Sprintf("call-%d-%d@bench", i, j), c.codec, fc, now)
						if err != nil {
							b.Fatal(err)
						}
						if err := cf.add(m); err != nil {
							b.Fatal(err)
						}
					}
					cs = append(cs, cf)
				}
				b.ReportAllocs()
				k := 0
				for b.Loop() {
					for _, cf := range cs {
						// The frames' arrival (onFrame's copy into the
						// queue), then the tick.
						for j, m := range cf.order {
							pcm := noise
							if j < speakers {
								pcm = voice[k%len(voice)]
							}
							m.q.push(pcm, 0)
						}
						if full {
							cf.tick()
							continue
						}
						cf.mu.Lock()
						cf.mix()
						cf.mu.Unlock()
					}
					k++
				}
				perTick := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
				b.ReportMetric(perTick/(rooms*members), "ns/member-tick")
				b.ReportMetric(100*perTick/float64(mixer.FrameDuration/time.Nanosecond), "%core")
				if n := cs[0].order[0].seq; full && n == 0 {
					b.Fatal("nothing sent")
				}
			})
		}
	}
}
