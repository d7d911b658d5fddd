package jitter

import "testing"

// At 8 kHz: 40 units = 5 ms, 4000 units = 500 ms.

func TestHistogramQuantile(t *testing.T) {
	tests := []struct {
		name    string
		samples []int64
		want    int64
	}{
		{"first sample replaces everything", []int64{0}, 40},
		{"zero is the first bucket", []int64{0, 0, 0}, 40},
		{"bucket upper edge", []int64{41, 41, 41}, 80},
		{"a single late interval among many is ignored", append(repeat(0, 200), 800), 40},
		{"two close late intervals move it", append(repeat(0, 200), 800, 0, 800), 800},
		{"beyond the range lands in the last bucket", repeat(1<<40, 3), 1680},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHistogram(8000, 1600) // 200 ms range
			for _, s := range tt.samples {
				h.add(s)
			}
			if !h.haveQ || h.q != tt.want {
				t.Errorf("quantile %d (have %v), want %d", h.q, h.haveQ, tt.want)
			}
			sum := 0.0
			for _, m := range h.mass {
				sum += m
			}
			if sum < 0.999999 || sum > 1.000001 {
				t.Errorf("mass sums to %v", sum)
			}
		})
	}
}

func repeat(v int64, n int) []int64 {
	s := make([]int64, n)
	for i := range s {
		s[i] = v
	}
	return s
}

func TestHistogramResampling(t *testing.T) {
	h := newHistogram(8000, 1600)
	// One interval of 500 ms: only its maximum counts, when it closes.
	for i, r := range []int64{10, 300, 20} {
		if h.observe(int64(i)*160, r) {
			t.Fatal("interval closed early")
		}
	}
	if !h.observe(4000, 0) || h.n != 1 || h.q != 320 {
		t.Errorf("after the first interval: n %d q %d, want 1 and 320 (300 rounded up to 5 ms)", h.n, h.q)
	}
	h.restart()
	if h.observe(9000, 5) || h.n != 1 {
		t.Error("restart must drop the open interval, not close it")
	}
}

func TestPeakTracker(t *testing.T) {
	const sec = 8000
	tests := []struct {
		name   string
		spikes [][2]int64 // time, relative delay
		at     int64
		want   int64
	}{
		{"none", nil, 0, 0},
		{"a single spike is an outlier", [][2]int64{{0, 1200}}, 0, 0},
		{"two within 10 s", [][2]int64{{0, 1200}, {3 * sec, 800}}, 3 * sec, 1200},
		{"two 11 s apart", [][2]int64{{0, 1200}, {11 * sec, 800}}, 11 * sec, 0},
		{"below threshold is not a spike", [][2]int64{{0, 100}, {sec, 100}}, sec, 0},
		{"held 5 s", [][2]int64{{0, 1200}, {0, 1200}}, 5 * sec, 1200},
		{"then halves in 2 s", [][2]int64{{0, 1200}, {0, 1200}}, 7 * sec, 600},
		{"and fades out", [][2]int64{{0, 1200}, {0, 1200}}, 60 * sec, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPeakTracker(8000)
			for _, s := range tt.spikes {
				p.observe(s[0], s[1], 480)
			}
			if got := p.current(tt.at); got != tt.want {
				t.Errorf("level %d, want %d", got, tt.want)
			}
		})
	}
}

func TestMinWindow(t *testing.T) {
	w := minWindow{blockLen: 2000} // 250 ms at 8 kHz
	steps := []struct {
		t, v, want int64
	}{
		{0, 50, 50},
		{100, 70, 50},
		{2100, 60, 50},
		{13999, 65, 50}, // block 6: block 0 still in the window
		{16000, 65, 60}, // block 8: block 0 left, block 1's 60 remains
		{18100, 80, 65},
		{-5000, 10, 10}, // a clock that stepped back: no panic, no stale blocks
	}
	for i, s := range steps {
		if got := w.add(s.t, s.v); got != s.want {
			t.Errorf("step %d: min %d, want %d", i, got, s.want)
		}
	}
}

func TestJitterA8(t *testing.T) {
	e := newEstimator(8000, 1600)
	// Transit alternates by 80 units (10 ms): |D| = 80 each time, J tends to 80.
	for i := range int64(400) {
		e.observe(i*160+(i%2)*80, i*160, 480, 160)
	}
	if j := e.jitter(); j < 78 || j > 80 {
		t.Errorf("A.8 jitter %d, want about 80", j)
	}
}
