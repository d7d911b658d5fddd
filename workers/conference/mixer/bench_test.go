package mixer_test

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/switchboard-voip/switchboard/workers/conference/mixer"
)

// voice is 1 s of a voice-like signal at rate cut into 20 ms frames: a
// 120 Hz pulse train's first 20 harmonics, amplitude-modulated at 4 Hz
// like syllables, peaking near -6 dBFS. It keeps the limiter and the
// encoders on the paths that speech takes.
func voice(rate int) [][]int16 {
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
	frames := make([][]int16, 0, 50)
	for i := 0; i+n <= len(sig); i += n {
		frames = append(frames, sig[i:i+n])
	}
	return frames
}

// benchRoom is one conference of a benchmark: a mixer and its members'
// ids, of which the first speakers send a frame every tick.
type benchRoom struct {
	x        *mixer.Mixer
	ids      []string
	speakers int
}

func newBenchRooms(b *testing.B, rate, rooms, members, speakers int) []benchRoom {
	rs := make([]benchRoom, rooms)
	for i := range rs {
		rs[i] = benchRoom{x: newMixer(b, rate), speakers: speakers}
		for j := range members {
			id := fmt.Sprintf("room%d-member%d", i, j)
			rs[i].ids = append(rs[i].ids, id)
			if err := rs[i].x.Add(id, mixer.Settings{}); err != nil {
				b.Fatal(err)
			}
		}
	}
	return rs
}

// tick puts the speakers' frames and mixes one room.
func (r *benchRoom) tick(b *testing.B, frame []int16) *mixer.Output {
	for _, id := range r.ids[:r.speakers] {
		if err := r.x.Put(id, frame); err != nil {
			b.Fatal(err)
		}
	}
	return r.x.Mix()
}

// reportPerMember adds the figures the docs quote: ns per member per tick,
// and the share of one core that this load takes in real time (a tick
// every 20 ms).
func reportPerMember(b *testing.B, members int) {
	perTick := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(perTick/float64(members), "ns/member-tick")
	b.ReportMetric(100*perTick/float64(mixer.FrameDuration/time.Nanosecond), "%core")
}

// BenchmarkMix is one tick (Put of every speaker's frame and Mix) of one
// room of 10 members with 1, 2 and 10 speakers, and of 50 such rooms (500
// members, the aim for a 2-core box). The mixer's cost alone: no
// codec.
func BenchmarkMix(b *testing.B) {
	for _, rate := range []int{16000, 48000} {
		frames := voice(rate)
		for _, c := range []struct{ rooms, speakers int }{{1, 1}, {1, 2}, {1, 10}, {50, 1}, {50, 2}, {50, 10}} {
			b.Run(fmt.Sprintf("%dk/rooms=%d/members=10/speakers=%d", rate/1000, c.rooms, c.speakers), func(b *testing.B) {
				rooms := newBenchRooms(b, rate, c.rooms, 10, c.speakers)
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					for k := range rooms {
						rooms[k].tick(b, frames[i%len(frames)])
					}
					i++
				}
				reportPerMember(b, 10*c.rooms)
			})
		}
	}
}

// BenchmarkMixLargeRoom shows that the cost grows with speakers and
// members, not with members squared: one speaker in rooms of 10, 100 and
// 1000 members.
func BenchmarkMixLargeRoom(b *testing.B) {
	frames := voice(16000)
	for _, members := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("16k/members=%d/speakers=1", members), func(b *testing.B) {
			rooms := newBenchRooms(b, 16000, 1, members, 1)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				rooms[0].tick(b, frames[i%len(frames)])
				i++
			}
			reportPerMember(b, members)
		})
	}
}
