package g711

import (
	"math"
	"testing"

	zaf "github.com/zaf/g711"
)

// TestTablesMatchZaf checks the transcoding tables against zaf/g711's
// direct per-sample conversions (the G.711 tables) for every octet.
func TestTablesMatchZaf(t *testing.T) {
	for i := range 256 {
		b := byte(i)
		if got, want := ulawToAlaw[b], zaf.Ulaw2AlawFrame(b); got != want {
			t.Errorf("ulaw %#02x -> alaw %#02x, zaf says %#02x", b, got, want)
		}
		if got, want := alawToUlaw[b], zaf.Alaw2UlawFrame(b); got != want {
			t.Errorf("alaw %#02x -> ulaw %#02x, zaf says %#02x", b, got, want)
		}
	}
}

// TestSlicesMatchPerSample checks every slice function against the
// per-sample functions, over all octets and a sweep of linear values.
func TestSlicesMatchPerSample(t *testing.T) {
	octets := make([]byte, 256)
	for i := range octets {
		octets[i] = byte(i)
	}
	lin := make([]int16, 0, 65536/7+1)
	for v := -32768; v <= 32767; v += 7 {
		lin = append(lin, int16(v))
	}
	lin = append(lin, 32767, -32768, 0, -1, 1)

	dec := make([]int16, 256)
	DecodeUlaw(dec, octets)
	for i, v := range dec {
		if v != zaf.DecodeUlawFrame(byte(i)) {
			t.Fatalf("DecodeUlaw[%d] = %d", i, v)
		}
	}
	DecodeAlaw(dec, octets)
	for i, v := range dec {
		if v != zaf.DecodeAlawFrame(byte(i)) {
			t.Fatalf("DecodeAlaw[%d] = %d", i, v)
		}
	}
	enc := make([]byte, len(lin))
	EncodeUlaw(enc, lin)
	for i, v := range lin {
		if enc[i] != zaf.EncodeUlawFrame(v) {
			t.Fatalf("EncodeUlaw(%d) = %#02x", v, enc[i])
		}
	}
	EncodeAlaw(enc, lin)
	for i, v := range lin {
		if enc[i] != zaf.EncodeAlawFrame(v) {
			t.Fatalf("EncodeAlaw(%d) = %#02x", v, enc[i])
		}
	}
}

// TestLengths checks the copy-like length rule and in-place transcoding.
func TestLengths(t *testing.T) {
	tests := []struct {
		name         string
		dstN, srcN   int
		wantN        int
		untouchedIdx int // first dst index that must stay unwritten, -1 if none
	}{
		{"equal", 160, 160, 160, -1},
		{"short dst", 80, 160, 80, -1},
		{"short src", 160, 80, 80, 80},
		{"empty src", 10, 0, 0, 0},
		{"nil dst", 0, 10, 0, -1},
	}
	const sentinel = 0x5a
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := make([]byte, tt.srcN)
			lin := make([]int16, tt.srcN)
			fns := map[string]func() (int, []byte){
				"UlawToAlaw": func() (int, []byte) {
					dst := fill(tt.dstN, sentinel)
					return UlawToAlaw(dst, src), dst
				},
				"AlawToUlaw": func() (int, []byte) {
					dst := fill(tt.dstN, sentinel)
					return AlawToUlaw(dst, src), dst
				},
				"EncodeUlaw": func() (int, []byte) {
					dst := fill(tt.dstN, sentinel)
					return EncodeUlaw(dst, lin), dst
				},
				"EncodeAlaw": func() (int, []byte) {
					dst := fill(tt.dstN, sentinel)
					return EncodeAlaw(dst, lin), dst
				},
			}
			for name, fn := range fns {
				n, dst := fn()
				if n != tt.wantN {
					t.Errorf("%s = %d, want %d", name, n, tt.wantN)
				}
				if tt.untouchedIdx >= 0 && tt.untouchedIdx < len(dst) && dst[tt.untouchedIdx] != sentinel {
					t.Errorf("%s wrote past the source", name)
				}
			}
			pcm := make([]int16, tt.dstN)
			if n := DecodeUlaw(pcm, src); n != tt.wantN {
				t.Errorf("DecodeUlaw = %d, want %d", n, tt.wantN)
			}
			if n := DecodeAlaw(pcm, src); n != tt.wantN {
				t.Errorf("DecodeAlaw = %d, want %d", n, tt.wantN)
			}
		})
	}

	// In place: a received payload transcoded where it lies.
	buf := []byte{0x00, 0x7f, 0x80, 0xff, 0x55}
	want := make([]byte, len(buf))
	UlawToAlaw(want, buf)
	UlawToAlaw(buf, buf)
	if string(buf) != string(want) {
		t.Errorf("in-place UlawToAlaw = %x, want %x", buf, want)
	}
}

func fill(n int, v byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = v
	}
	return b
}

// TestSineSNR measures the signal-to-noise ratio of a 1 kHz sine at
// -10 dBFS through each path; G.711 gives about 38 dB at that level, and
// the tests require more than 30 dB.
func TestSineSNR(t *testing.T) {
	const (
		rate = 8000
		n    = rate // one second
	)
	amp := 32767 * math.Pow(10, -10.0/20)
	sine := make([]int16, n)
	for i := range sine {
		sine[i] = int16(math.Round(amp * math.Sin(2*math.Pi*1000*float64(i)/rate+0.3)))
	}
	tests := []struct {
		name string
		path func(dst []int16, src []int16)
	}{
		{"ulaw", func(dst, src []int16) {
			b := make([]byte, len(src))
			EncodeUlaw(b, src)
			DecodeUlaw(dst, b)
		}},
		{"alaw", func(dst, src []int16) {
			b := make([]byte, len(src))
			EncodeAlaw(b, src)
			DecodeAlaw(dst, b)
		}},
		{"ulaw->alaw", func(dst, src []int16) {
			b := make([]byte, len(src))
			EncodeUlaw(b, src)
			UlawToAlaw(b, b)
			DecodeAlaw(dst, b)
		}},
		{"alaw->ulaw", func(dst, src []int16) {
			b := make([]byte, len(src))
			EncodeAlaw(b, src)
			AlawToUlaw(b, b)
			DecodeUlaw(dst, b)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := make([]int16, n)
			tt.path(out, sine)
			var sig, noise float64
			for i := range sine {
				s, e := float64(sine[i]), float64(out[i])-float64(sine[i])
				sig += s * s
				noise += e * e
			}
			snr := 10 * math.Log10(sig/noise)
			t.Logf("SNR %.1f dB", snr)
			if snr <= 30 {
				t.Errorf("SNR %.1f dB, want > 30 dB", snr)
			}
		})
	}
}

// TestNoAllocs checks the per-frame functions never allocate.
func TestNoAllocs(t *testing.T) {
	pcm := make([]int16, 160)
	b := make([]byte, 160)
	out := make([]byte, 160)
	fns := map[string]func(){
		"DecodeUlaw": func() { DecodeUlaw(pcm, b) },
		"DecodeAlaw": func() { DecodeAlaw(pcm, b) },
		"EncodeUlaw": func() { EncodeUlaw(b, pcm) },
		"EncodeAlaw": func() { EncodeAlaw(b, pcm) },
		"UlawToAlaw": func() { UlawToAlaw(out, b) },
		"AlawToUlaw": func() { AlawToUlaw(out, b) },
	}
	for name, fn := range fns {
		if a := testing.AllocsPerRun(100, fn); a != 0 {
			t.Errorf("%s: %.1f allocs per frame", name, a)
		}
	}
}
