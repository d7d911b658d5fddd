package rfc4733

import (
	"errors"
	"testing"
	"time"

	"github.com/switchboard-voip/switchboard/workers/dtmf/digit"
)

func TestGenerateShape(t *testing.T) {
	for _, rate := range []uint32{8000, 48000} {
		steps, err := Generate("5#", GenerateConfig{ClockRate: rate})
		if err != nil {
			t.Fatal(err)
		}
		u := rate / 50 // units per 20 ms
		want := []struct {
			at     time.Duration
			ts     uint32
			marker bool
			end    bool
			dur    uint32
		}{
			{0, 0, true, false, u}, {20, 0, false, false, 2 * u}, {40, 0, false, false, 3 * u},
			{60, 0, false, false, 4 * u}, {80, 0, false, true, 5 * u}, {100, 0, false, true, 5 * u},
			{120, 0, false, true, 5 * u},
			{200, 10 * u, true, false, u}, {220, 10 * u, false, false, 2 * u}, {240, 10 * u, false, false, 3 * u},
			{260, 10 * u, false, false, 4 * u}, {280, 10 * u, false, true, 5 * u}, {300, 10 * u, false, true, 5 * u},
			{320, 10 * u, false, true, 5 * u},
		}
		if len(steps) != len(want) {
			t.Fatalf("rate %d: %d steps, want %d", rate, len(steps), len(want))
		}
		for i, s := range steps {
			w := want[i]
			var p Payload
			if err := p.Unmarshal(s.Payload[:]); err != nil {
				t.Fatal(err)
			}
			if s.At != w.at*time.Millisecond || s.Timestamp != w.ts || s.Marker != w.marker || s.End != w.end ||
				p.End != w.end || uint32(p.Duration) != w.dur || p.Volume != 10 || p.Event != s.Digit.Event() {
				t.Errorf("rate %d step %d: %+v %+v, want %+v", rate, i, s, p, w)
			}
		}
		if steps[0].Digit != '5' || steps[7].Digit != '#' {
			t.Errorf("digits %q %q", steps[0].Digit, steps[7].Digit)
		}
	}
}

func TestGenerateLongSegments(t *testing.T) {
	// 3 s at 48 kHz is 144000 units: segments of 0xFFFF (RFC 4733 §2.5.1.3).
	steps, err := Generate("1", GenerateConfig{ClockRate: 48000, Tone: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var segs []uint32
	var prevAt time.Duration
	for i, s := range steps {
		if len(segs) == 0 || segs[len(segs)-1] != s.Timestamp {
			segs = append(segs, s.Timestamp)
		}
		if s.At < prevAt {
			t.Fatalf("step %d goes back in time", i)
		}
		prevAt = s.At
		if s.Marker != (i == 0) {
			t.Errorf("step %d marker %v", i, s.Marker)
		}
	}
	if len(segs) != 3 || segs[1] != MaxDuration || segs[2] != 2*MaxDuration {
		t.Errorf("segments %v", segs)
	}
}

func TestGenerateErrors(t *testing.T) {
	for _, tc := range []struct {
		digits string
		cfg    GenerateConfig
		err    error
	}{
		{"1", GenerateConfig{}, ErrConfig},
		{"1", GenerateConfig{ClockRate: 8000, Volume: 64}, ErrConfig},
		{"1", GenerateConfig{ClockRate: 8000, Gap: 10 * time.Millisecond}, ErrConfig},
		{"1", GenerateConfig{ClockRate: 8000, Interval: time.Microsecond}, ErrConfig},
		{"1", GenerateConfig{ClockRate: 8000, Tone: -time.Second}, ErrConfig},
		{"12x", GenerateConfig{ClockRate: 8000}, digit.ErrInvalid},
	} {
		if _, err := Generate(tc.digits, tc.cfg); !errors.Is(err, tc.err) {
			t.Errorf("Generate(%q, %+v) err %v, want %v", tc.digits, tc.cfg, err, tc.err)
		}
	}
	if s, err := Generate("", GenerateConfig{ClockRate: 8000}); err != nil || len(s) != 0 {
		t.Errorf("empty: %v %v", s, err)
	}
}
