package mixer_test

import (
	"fmt"
	"testing"

	"github.com/switchboard-voip/switchboard/workers/media/codec"
	"github.com/switchboard-voip/switchboard/workers/media/resample"
)

// streamEncoder turns one output stream of the mixer into payloads, as the
// conference worker will: G.711 members' audio is resampled from the
// mixer's 16 kHz to 8 kHz first; Opus members' is encoded at the mixer's
// rate.
type streamEncoder struct {
	rs      *resample.Resampler // nil for Opus
	enc     codec.Encoder
	pcm     []int16
	payload []byte
}

func newStreamEncoder(b *testing.B, kind string) *streamEncoder {
	e := &streamEncoder{payload: make([]byte, codec.MaxPayload), pcm: make([]int16, 960)}
	var err error
	switch kind {
	case "pcmu":
		if e.rs, err = resample.New(16000, 8000); err == nil {
			e.enc = codec.NewPCMUEncoder()
		}
	case "opus":
		e.enc, err = codec.NewOpusEncoder(48000, codec.DefaultOpusConfig(48000))
	}
	if err != nil {
		b.Fatal(err)
	}
	return e
}

func (e *streamEncoder) encode(b *testing.B, pcm []int16) {
	if e.rs != nil {
		n, err := e.rs.Process(e.pcm, pcm)
		if err != nil {
			b.Fatal(err)
		}
		pcm = e.pcm[:n]
	}
	if _, err := e.enc.Encode(pcm, e.payload); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkMixEncode is one tick of 50 rooms of 10 members with 2 speakers
// each, mixed and encoded, all members on one codec: G.711 µ-law (mixer at
// 16 kHz, resampled to 8 kHz) or Opus (mixer at 48 kHz, complexity 5, FEC
// on). "shared" encodes the listeners' mix once per room and each
// speaker's own mix once (3 encodings per room); "per-member" encodes every
// member's stream (10 per room), as a mixer without the shared mix must.
// Compare with BenchmarkMix for the mixer's own share.
func BenchmarkMixEncode(b *testing.B) {
	const rooms, members, speakers = 50, 10, 2
	for _, c := range []struct {
		kind string
		rate int
	}{{"pcmu", 16000}, {"opus", 48000}} {
		for _, shared := range []bool{true, false} {
			name := map[bool]string{true: "shared", false: "per-member"}[shared]
			b.Run(fmt.Sprintf("%s/%dk/%s", c.kind, c.rate/1000, name), func(b *testing.B) {
				frames := voice(c.rate)
				rs := newBenchRooms(b, c.rate, rooms, members, speakers)
				// Encoders of every member, plus each room's group encoder.
				encs := make([]map[string]*streamEncoder, rooms)
				for i := range rs {
					encs[i] = map[string]*streamEncoder{"": newStreamEncoder(b, c.kind)}
					for _, id := range rs[i].ids {
						encs[i][id] = newStreamEncoder(b, c.kind)
					}
				}
				b.ReportAllocs()
				k := 0
				for b.Loop() {
					for i := range rs {
						out := rs[i].tick(b, frames[k%len(frames)])
						for _, s := range out.Speakers {
							encs[i][s.Member].encode(b, s.PCM)
						}
						for _, g := range out.Listeners {
							if shared {
								encs[i][""].encode(b, out.Everyone)
								continue
							}
							for _, id := range g.Members {
								encs[i][id].encode(b, out.Everyone)
							}
						}
					}
					k++
				}
				reportPerMember(b, rooms*members)
			})
		}
	}
}
