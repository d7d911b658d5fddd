package resample

import (
	"encoding/binary"
	"slices"
	"testing"
)

// FuzzChunks feeds arbitrary samples, cut at arbitrary places, through
// every ratio: Process must never panic, must write exactly OutLen
// samples, and the output must not depend on where the input was cut.
// The first byte picks the ratio, the next eight the cut sizes, the rest
// are the samples. testdata/fuzz/FuzzChunks holds the corpus.
func FuzzChunks(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 0x00, 0x80, 0xff, 0x7f})
	f.Add(append([]byte{5, 160, 1, 255, 3, 9, 0, 0, 17}, make([]byte, 2000)...))
	seed := make([]byte, 9, 9+3000)
	seed[0] = 6
	for i := range 1500 {
		seed = binary.LittleEndian.AppendUint16(seed, uint16(i*7919))
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 9 {
			return
		}
		rt := ratios[int(data[0])%len(ratios)]
		sizes := make([]int, 8)
		for i := range sizes {
			sizes[i] = int(data[1+i])*7 + 1
		}
		src := make([]int16, (len(data)-9)/2)
		for i := range src {
			src[i] = int16(binary.LittleEndian.Uint16(data[9+2*i:]))
		}
		whole := chunked(t, rt.in, rt.out, src, []int{len(src) + 1})
		if got := chunked(t, rt.in, rt.out, src, sizes); !slices.Equal(got, whole) {
			t.Fatalf("%s: chunking at %v changed the output", rt.name, sizes)
		}
	})
}
