package jitter

import (
	"math"
	"testing"
	"time"
)

func TestExtend(t *testing.T) {
	seqs := []struct {
		name string
		ref  int64
		seq  uint16
		want int64
	}{
		{"same", 100, 100, 100},
		{"next", 100, 101, 101},
		{"behind", 100, 90, 90},
		{"wrap forward", 65535, 0, 65536},
		{"wrap backward", 65536, 65535, 65535},
		{"half range ahead", 0, 32767, 32767},
		{"half range behind", 0, 32768, -32768},
		{"third cycle", 3 * 65536, 5, 3*65536 + 5},
	}
	for _, tt := range seqs {
		if got := extendSeq(tt.ref, tt.seq); got != tt.want {
			t.Errorf("%s: extendSeq(%d, %d) = %d, want %d", tt.name, tt.ref, tt.seq, got, tt.want)
		}
	}
	tss := []struct {
		name string
		ref  int64
		ts   uint32
		want int64
	}{
		{"same", 100, 100, 100},
		{"next frame", 100, 260, 260},
		{"wrap forward", 1<<32 - 160, 0, 1 << 32},
		{"wrap backward", 1 << 32, 1<<32 - 160, 1<<32 - 160},
		{"half range ahead", 0, 1<<31 - 1, 1<<31 - 1},
		{"half range behind", 0, 1 << 31, -(1 << 31)},
		{"second cycle", 1<<32 + 5, 9, 1<<32 + 9},
	}
	for _, tt := range tss {
		if got := extendTs(tt.ref, tt.ts); got != tt.want {
			t.Errorf("%s: extendTs(%d, %d) = %d, want %d", tt.name, tt.ref, tt.ts, got, tt.want)
		}
	}
}

func TestUnits(t *testing.T) {
	tests := []struct {
		d    time.Duration
		rate int64
		u    int64
	}{
		{20 * time.Millisecond, 8000, 160},
		{20 * time.Millisecond, 48000, 960},
		{-20 * time.Millisecond, 8000, -160},
		{90 * time.Minute, 48000, 90 * 60 * 48000},
		{125 * time.Microsecond, 8000, 1},
	}
	for _, tt := range tests {
		if got := durUnits(tt.d, tt.rate); got != tt.u {
			t.Errorf("durUnits(%v, %d) = %d, want %d", tt.d, tt.rate, got, tt.u)
		}
		if got := unitsDur(tt.u, tt.rate); got != tt.d {
			t.Errorf("unitsDur(%d, %d) = %v, want %v", tt.u, tt.rate, got, tt.d)
		}
	}
	if durUnits(math.MaxInt64, 192000) <= 0 || unitsDur(math.MaxInt64, 1000) != math.MaxInt64 || unitsDur(math.MinInt64, 1000) != math.MinInt64 {
		t.Error("extremes overflow")
	}
	for _, tt := range []struct{ a, b, q int64 }{{7, 2, 3}, {-7, 2, -4}, {-8, 2, -4}, {0, 5, 0}} {
		if got := floorDiv(tt.a, tt.b); got != tt.q {
			t.Errorf("floorDiv(%d, %d) = %d, want %d", tt.a, tt.b, got, tt.q)
		}
	}
}
