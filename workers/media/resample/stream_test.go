package resample

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// chunked converts src with a new Resampler, cutting it at the given
// sizes (cycled), and returns the concatenated output.
func chunked(t testing.TB, in, out int, src []int16, sizes []int) []int16 {
	r, err := New(in, out)
	if err != nil {
		t.Fatal(err)
	}
	var dst []int16
	for i := 0; len(src) > 0; i++ {
		n := min(sizes[i%len(sizes)], len(src))
		buf := make([]int16, r.OutLen(n))
		w, err := r.Process(buf, src[:n])
		if err != nil {
			t.Fatal(err)
		}
		if w != len(buf) {
			t.Fatalf("wrote %d, OutLen said %d", w, len(buf))
		}
		if w > r.MaxOutLen(n) {
			t.Fatalf("wrote %d > MaxOutLen %d", w, r.MaxOutLen(n))
		}
		dst = append(dst, buf...)
		src = src[n:]
	}
	return dst
}

// TestFrameBoundaries converts a tone in 20 ms frames, in odd-sized
// pieces and in one call: the outputs must be identical sample for
// sample, so frame edges add nothing (no click, no phase jump), and a
// 20 ms frame always gives 20 ms of output.
func TestFrameBoundaries(t *testing.T) {
	for _, rt := range ratios {
		t.Run(rt.name, func(t *testing.T) {
			src := tone(rt.in/2+7, 1000, float64(rt.in), 20000)
			whole := chunked(t, rt.in, rt.out, src, []int{len(src)})
			frame := rt.in / 50
			tests := []struct {
				name  string
				sizes []int
			}{
				{"20ms", []int{frame}},
				{"10ms+30ms", []int{frame / 2, frame * 3 / 2}},
				{"1,2,3,...", []int{1, 2, 3, 5, 7, 11, 13, 997, 1999}},
				{"random", randomSizes(1000)},
			}
			for _, tt := range tests {
				if got := chunked(t, rt.in, rt.out, src, tt.sizes); !slices.Equal(got, whole) {
					t.Errorf("%s: output differs from the one-call conversion", tt.name)
				}
			}
			r, _ := New(rt.in, rt.out)
			buf := make([]int16, rt.out/50)
			for i := range 10 {
				if n := r.OutLen(frame); n != rt.out/50 {
					t.Fatalf("frame %d: OutLen(20 ms) = %d, want %d", i, n, rt.out/50)
				}
				if _, err := r.Process(buf, src[:frame]); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func randomSizes(n int) []int {
	rng := rand.New(rand.NewPCG(1, 2))
	s := make([]int, n)
	for i := range s {
		s[i] = 1 + rng.IntN(3000)
	}
	return s
}

// TestNew checks the ratio validation.
func TestNew(t *testing.T) {
	tests := []struct {
		in, out int
		err     error
		taps    int // 0: don't care
	}{
		{8000, 48000, nil, 0},
		{48000, 8000, nil, 0},
		{22050, 8000, nil, 0},
		{44100, 48000, nil, 0},
		{8000, 8000, nil, 1},
		{0, 8000, ErrRate, 0},
		{8000, -1, ErrRate, 0},
		{8000, 8001, ErrRate, 0},
		{1000003, 8000, ErrRate, 0},
	}
	for _, tt := range tests {
		r, err := New(tt.in, tt.out)
		if !errors.Is(err, tt.err) {
			t.Errorf("New(%d, %d) = %v, want %v", tt.in, tt.out, err, tt.err)
			continue
		}
		if err == nil && tt.taps != 0 && r.Taps() != tt.taps {
			t.Errorf("New(%d, %d) has %d taps, want %d", tt.in, tt.out, r.Taps(), tt.taps)
		}
	}
}

// TestIdentity checks that equal rates copy the input exactly.
func TestIdentity(t *testing.T) {
	src := tone(1000, 440, 8000, 30000)
	if got := chunked(t, 8000, 8000, src, []int{160}); !slices.Equal(got, src) {
		t.Error("8000 -> 8000 changed the signal")
	}
}

// TestShortBuffer checks that a too-short output consumes nothing.
func TestShortBuffer(t *testing.T) {
	r, _ := New(8000, 48000)
	src := tone(160, 1000, 8000, 10000)
	if _, err := r.Process(make([]int16, 959), src); !errors.Is(err, ErrShortBuffer) {
		t.Fatalf("err = %v, want ErrShortBuffer", err)
	}
	if r.t != 0 || rms16(r.buf) != 0 {
		t.Fatal("a refused Process changed the state")
	}
}

// TestReset checks that Reset returns a used Resampler to a fresh one's
// output.
func TestReset(t *testing.T) {
	src := tone(480, 1000, 16000, 10000)
	r, _ := New(16000, 48000)
	a := make([]int16, 1440)
	b := make([]int16, 1440)
	r.Process(a, src)
	r.Process(a, src[:100])
	r.Reset()
	r.Process(b, src)
	fresh, _ := New(16000, 48000)
	fresh.Process(a, src)
	if !slices.Equal(a, b) {
		t.Error("Reset did not clear the history")
	}
}

// TestSaturation checks that a full-scale 50 Hz square wave, whose
// filtered overshoot (Gibbs) exceeds 16 bits, saturates instead of
// wrapping around: away from its edges the output has the square's sign,
// and it does reach full scale.
func TestSaturation(t *testing.T) {
	src := make([]int16, 9600)
	for i := range src {
		src[i] = 32767
		if i/480%2 == 1 {
			src[i] = -32768
		}
	}
	r, _ := New(48000, 8000)
	out := chunked(t, 48000, 8000, src, []int{960})
	d := r.Delay() * 8000
	peak := 0
	for k, v := range out {
		x := float64(k) - d // input time of output k, in 8 kHz samples
		if x < 0 {
			continue
		}
		edge := math.Mod(x, 80)
		if edge < 4 || edge > 76 {
			continue
		}
		want := 1
		if int(x/80)%2 == 1 {
			want = -1
		}
		if int(v)*want < 0 {
			t.Fatalf("sample %d = %d, the square is %+d there: wrapped around", k, v, want)
		}
		peak = max(peak, int(v))
	}
	if peak != 32767 {
		t.Errorf("peak %d: the test did not saturate", peak)
	}
}

// TestClamp checks rounding and saturation to 16 bits.
func TestClamp(t *testing.T) {
	tests := []struct {
		in   float32
		want int16
	}{
		{0, 0}, {0.49, 0}, {0.5, 1}, {-0.5, -1}, {-0.49, 0}, {1.6, 2}, {-1.6, -2},
		{32766.6, 32767}, {32767, 32767}, {40000, 32767}, {-32768, -32768}, {-40000, -32768},
	}
	for _, tt := range tests {
		if got := clamp(tt.in); got != tt.want {
			t.Errorf("clamp(%v) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

// TestNoAllocs checks that Process does not allocate.
func TestNoAllocs(t *testing.T) {
	for _, rt := range ratios {
		r, _ := New(rt.in, rt.out)
		src := tone(rt.in/50, 1000, float64(rt.in), 10000)
		dst := make([]int16, r.MaxOutLen(len(src)))
		if a := testing.AllocsPerRun(50, func() { r.Process(dst, src) }); a != 0 {
			t.Errorf("%s: %.1f allocs per frame", rt.name, a)
		}
	}
}

func rms16(s []float32) float64 {
	var e float64
	for _, v := range s {
		e += float64(v) * float64(v)
	}
	return e
}
