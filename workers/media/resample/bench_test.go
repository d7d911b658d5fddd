package resample

import "testing"

// BenchmarkProcess converts one 20 ms frame per iteration for each ratio;
// ns/op is the cost per frame of one stream direction.
func BenchmarkProcess(b *testing.B) {
	for _, rt := range ratios {
		b.Run(rt.name, func(b *testing.B) {
			r, err := New(rt.in, rt.out)
			if err != nil {
				b.Fatal(err)
			}
			src := tone(rt.in/50, 1000, float64(rt.in), 10000)
			dst := make([]int16, r.MaxOutLen(len(src)))
			b.SetBytes(int64(2 * len(src)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.Process(dst, src); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkNew measures designing a filter, which happens once per stream
// (a codec change on a call), for the costliest ratio.
func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(8000, 48000); err != nil {
			b.Fatal(err)
		}
	}
}
