package rtpsession

import (
	"testing"
	"time"
)

func TestReceptionSequence(t *testing.T) {
	tests := []struct {
		name         string
		seqs         []uint16
		dropped      []int // indexes whose updateSeq must report false
		wantExpected uint64
		wantLost     int64
		wantExtMax   uint64
	}{
		{"in order", []uint16{10, 11, 12, 13}, nil, 4, 0, 13},
		{"wraparound", []uint16{65533, 65534, 65535, 0, 1, 2}, nil, 6, 0, 65536 + 2},
		{"loss", []uint16{0, 1, 3, 4, 7}, nil, 8, 3, 7},
		{"loss across wrap", []uint16{65534, 1}, nil, 4, 2, 65536 + 1},
		{"reorder", []uint16{0, 2, 1, 3}, nil, 4, 0, 3},
		{"reorder across wrap", []uint16{65534, 0, 65535, 1}, nil, 4, 0, 65536 + 1},
		{"duplicate makes lost negative", []uint16{0, 1, 1, 2}, nil, 3, -1, 2},
		{"late packet before base", []uint16{5, 6, 4}, nil, 3, 0, 6},
		{"first pair swapped", []uint16{1, 0, 3, 2}, nil, 4, 0, 3},
		{"first pair swapped across wrap", []uint16{0, 65535, 1}, nil, 3, 0, 1},
		{"late duplicate of base", []uint16{5, 6, 5}, nil, 2, -1, 6},
		{"single stray jump ignored", []uint16{0, 1, 2, 40000, 3, 4}, []int{3}, 5, 0, 4},
		{"confirmed jump restarts", []uint16{0, 1, 2, 10000, 10001, 10002}, []int{3}, 2, 0, 10002},
		{"gap under max dropout is loss", []uint16{0, 2999}, nil, 3000, 2998, 2999},
		{"2 wraps", append(seqRange(0, 65536), seqRange(0, 65536)...), nil, 2 * 65536, 0, 2*65536 - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r reception
			r.start(1, tt.seqs[0])
			drop := map[int]bool{}
			for _, i := range tt.dropped {
				drop[i] = true
			}
			for i, seq := range tt.seqs {
				if ok := r.updateSeq(seq); ok == drop[i] {
					t.Fatalf("packet %d (seq %d): accepted=%v", i, seq, ok)
				}
			}
			if r.expected() != tt.wantExpected || r.lost() != tt.wantLost || r.extMax() != tt.wantExtMax {
				t.Errorf("expected %d lost %d extMax %d, want %d %d %d",
					r.expected(), r.lost(), r.extMax(), tt.wantExpected, tt.wantLost, tt.wantExtMax)
			}
		})
	}
}

func seqRange(from, n int) []uint16 {
	s := make([]uint16, n)
	for i := range s {
		s[i] = uint16(from + i)
	}
	return s
}

func TestReceptionFraction(t *testing.T) {
	var r reception
	r.start(1, 0)
	// Interval 1: 10 expected, 2 lost -> 2*256/10 = 51.
	for _, s := range []uint16{0, 1, 2, 4, 5, 6, 8, 9} {
		r.updateSeq(s)
	}
	if f := r.interval(); f != 51 {
		t.Errorf("fraction = %d, want 51", f)
	}
	// Interval 2: nothing lost.
	for s := uint16(10); s < 20; s++ {
		r.updateSeq(s)
	}
	if f := r.interval(); f != 0 {
		t.Errorf("fraction = %d, want 0", f)
	}
	// Interval 3: nothing received.
	if f := r.interval(); f != 0 {
		t.Errorf("empty interval fraction = %d, want 0", f)
	}
	// Interval 4: duplicates only (negative loss) reports 0.
	r.updateSeq(19)
	r.updateSeq(19)
	if f := r.interval(); f != 0 {
		t.Errorf("duplicate interval fraction = %d, want 0", f)
	}
	if r.lost() != -2+2 {
		t.Errorf("lost = %d, want 0 (2 lost earlier, 2 duplicates)", r.lost())
	}
}

func TestReceptionJitter(t *testing.T) {
	tests := []struct {
		name     string
		arrivals []uint32 // arrival in timestamp units for packets 160 apart
		want     uint32
	}{
		{"perfect pacing", []uint32{1000, 1160, 1320, 1480, 1640}, 0},
		{"constant offset", []uint32{5000, 5160, 5320}, 0},
		// One packet 80 units late: |D| = 80 then 80: J = 80/16 = 5, then
		// 5 + (80-5)/16 = 9.6875 -> 9 in the integer form of A.8.
		{"one late packet", []uint32{1000, 1240, 1320}, 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r reception
			r.start(1, 0)
			for i, a := range tt.arrivals {
				r.updateJitter(a, uint32(i)*160)
			}
			if got := r.jitterUnits(); got != tt.want {
				t.Errorf("jitter = %d, want %d", got, tt.want)
			}
		})
	}
	// A steady ±10 ms alternation converges on |D| = 160 units.
	var r reception
	r.start(1, 0)
	for i := range 500 {
		off := uint32(0)
		if i%2 == 1 {
			off = 80
		}
		r.updateJitter(uint32(i)*160+off, uint32(i)*160)
	}
	if j := r.jitterUnits(); j < 75 || j > 80 {
		t.Errorf("alternating jitter = %d, want ~80", j)
	}
	if d := unitsDuration(80, 8000); d != 10*time.Millisecond {
		t.Errorf("80 units at 8 kHz = %v", d)
	}
}

func TestTSUnits(t *testing.T) {
	tests := []struct {
		d    time.Duration
		rate uint32
		want uint32
	}{
		{20 * time.Millisecond, 8000, 160},
		{time.Second, 48000, 48000},
		{1500 * time.Microsecond, 8000, 12},
		// A day at 90 kHz would overflow a naive d*rate in int64.
		{48 * time.Hour, 90000, uint32(uint64(48*3600) * 90000 % (1 << 32))},
	}
	for _, tt := range tests {
		if got := tsUnits(tt.d, tt.rate); got != tt.want {
			t.Errorf("tsUnits(%v, %d) = %d, want %d", tt.d, tt.rate, got, tt.want)
		}
	}
}
