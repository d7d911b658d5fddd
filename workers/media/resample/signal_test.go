package resample

import "math"

// ratios are the conversions the media worker uses (8, 16 and 48 kHz) and
// the 2:3 pair (32 kHz <-> 48 kHz), named "in>out".
var ratios = []struct {
	name    string
	in, out int
}{
	{"8k>16k", 8000, 16000},
	{"16k>8k", 16000, 8000},
	{"16k>48k", 16000, 48000},
	{"48k>16k", 48000, 16000},
	{"8k>48k", 8000, 48000},
	{"48k>8k", 48000, 8000},
	{"32k>48k", 32000, 48000},
	{"48k>32k", 48000, 32000},
}

// tone returns n samples of amp·sin(2πf·i/rate).
func tone(n int, f, rate, amp float64) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(math.Round(amp * math.Sin(2*math.Pi*f*float64(i)/rate)))
	}
	return s
}

// sineFit fits a·sin(2πf·i/rate) + b·cos(2πf·i/rate) to y by least squares
// and returns the fitted amplitude, its phase (of the sine, in radians) and
// the power of what is left over: noise, distortion, aliases and images.
func sineFit(y []int16, f, rate float64) (amp, phase, resid float64) {
	var ss, sc, cc, ys, yc float64
	for i, v := range y {
		w := 2 * math.Pi * f * float64(i) / rate
		s, c := math.Sin(w), math.Cos(w)
		ss += s * s
		sc += s * c
		cc += c * c
		ys += float64(v) * s
		yc += float64(v) * c
	}
	det := ss*cc - sc*sc
	a := (ys*cc - yc*sc) / det
	b := (yc*ss - ys*sc) / det
	for i, v := range y {
		w := 2 * math.Pi * f * float64(i) / rate
		e := float64(v) - a*math.Sin(w) - b*math.Cos(w)
		resid += e * e
	}
	return math.Hypot(a, b), math.Atan2(b, a), resid / float64(len(y))
}

// rms is the root mean square of s.
func rms(s []int16) float64 {
	var e float64
	for _, v := range s {
		e += float64(v) * float64(v)
	}
	return math.Sqrt(e / float64(len(s)))
}

// convert runs all of src through a new Resampler in 20 ms frames.
func convert(in, out int, src []int16) ([]int16, *Resampler, error) {
	r, err := New(in, out)
	if err != nil {
		return nil, nil, err
	}
	dst := make([]int16, 0, r.MaxOutLen(len(src))+out/50)
	buf := make([]int16, r.MaxOutLen(in/50))
	for frame := in / 50; len(src) > 0; {
		n := min(frame, len(src))
		w, err := r.Process(buf, src[:n])
		if err != nil {
			return nil, nil, err
		}
		dst = append(dst, buf[:w]...)
		src = src[n:]
	}
	return dst, r, nil
}

func db(x float64) float64 { return 20 * math.Log10(x) }
