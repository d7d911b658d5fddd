package inband

import (
	"encoding/binary"
	"slices"
	"testing"

	"github.com/switchboard-voip/switchboard/workers/dtmf/digit"
	"github.com/switchboard-voip/switchboard/workers/dtmf/digit/digittest"
)

// FuzzDetector writes arbitrary PCM in chunks whose sizes come from the
// input: the detector must not panic and must report well-formed presses.
func FuzzDetector(f *testing.F) {
	var t testing.T
	tn := pcm16(tone{d: '#', low: -10, high: -10, dur: ms(60)}.synth(&t, nil))
	seed := make([]byte, 2*len(tn))
	for i, v := range tn {
		binary.LittleEndian.PutUint16(seed[2*i:], uint16(v))
	}
	f.Add(seed, uint8(160))
	f.Add([]byte{0xff, 0x7f, 0x00, 0x80}, uint8(1))
	f.Fuzz(func(t *testing.T, raw []byte, chunk uint8) {
		pcm := make([]int16, len(raw)/2)
		for i := range pcm {
			pcm[i] = int16(binary.LittleEndian.Uint16(raw[2*i:]))
		}
		d, err := New(Config{})
		if err != nil {
			t.Fatal(err)
		}
		var evs []digit.Event
		step := int(chunk) + 1
		for len(pcm) > 0 {
			k := min(step, len(pcm))
			evs = d.Write(evs, pcm[:k])
			pcm = pcm[k:]
		}
		evs = d.Flush(evs)
		if _, durs, err := digittest.Presses(evs); err != nil {
			t.Fatal(err)
		} else if slices.Contains(durs, 0) {
			t.Fatalf("zero duration: %v", evs)
		}
	})
}
