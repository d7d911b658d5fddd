package mixer_test

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/switchboard-voip/switchboard/workers/conference/mixer"
)

// FuzzPut feeds Put frames of any size, for known and unknown members,
// interleaved with membership changes and Mix: it must return
// ErrFrameSize or ErrNoMember, never panic, and every output must be one
// frame long.
func FuzzPut(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3}, uint16(320), uint8(0))
	f.Add([]byte{0xff, 0x7f, 0x00, 0x80}, uint16(319), uint8(7))
	f.Add([]byte{}, uint16(0), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, size uint16, op uint8) {
		x, err := mixer.New(mixer.Config{Rate: 16000})
		if err != nil {
			t.Fatal(err)
		}
		ids := []string{"a", "b", "c"}
		for _, id := range ids[:2] {
			if err := x.Add(id, mixer.Settings{}); err != nil {
				t.Fatal(err)
			}
		}
		pcm := make([]int16, int(size)%2000)
		for i := range pcm {
			if 2*i+1 < len(data) {
				pcm[i] = int16(binary.LittleEndian.Uint16(data[2*i:]))
			}
		}
		for round := range 4 {
			id := ids[(int(op)+round)%3]
			err := x.Put(id, pcm)
			switch {
			case len(pcm) != x.FrameSamples():
				if !errors.Is(err, mixer.ErrFrameSize) {
					t.Fatalf("Put of %d samples: %v", len(pcm), err)
				}
			case x.Put(id, pcm) != err: // a second Put in a tick agrees
				t.Fatal("second Put disagrees")
			}
			switch (int(op) >> (2 * round)) & 3 {
			case 1:
				_ = x.Set(id, mixer.Settings{Muted: round%2 == 0, Deaf: round == 3})
			case 2:
				_ = x.Remove(id)
			case 3:
				_ = x.Add(id, mixer.Settings{Group: round})
			}
			out := x.Mix()
			if out.Everyone != nil && len(out.Everyone) != x.FrameSamples() {
				t.Fatal("short shared mix")
			}
			for _, s := range out.Speakers {
				if len(s.PCM) != x.FrameSamples() {
					t.Fatal("short individual mix")
				}
			}
		}
	})
}
