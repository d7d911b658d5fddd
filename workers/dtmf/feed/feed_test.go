package feed

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	at := time.Unix(1700000000, 123456789)
	h, rest, err := ParseHeader(AppendRTP(nil, "a@b", at, RTP{SSRC: 7, Seq: 65535, Timestamp: 1 << 31, Marker: true, ClockRate: 48000, Payload: []byte{1, 0x8a, 0, 160}}))
	if err != nil || h.CallID != "a@b" || !h.At.Equal(at) {
		t.Fatalf("header %+v %v", h, err)
	}
	p, err := ParseRTP(rest)
	if err != nil || p.SSRC != 7 || p.Seq != 65535 || p.Timestamp != 1<<31 || !p.Marker || p.ClockRate != 48000 || !slices.Equal(p.Payload, []byte{1, 0x8a, 0, 160}) {
		t.Fatalf("rtp %+v %v", p, err)
	}
	_, rest, _ = ParseHeader(AppendInfo(nil, "c", at, Info{Digit: '#', Duration: 250 * time.Millisecond}))
	if i, err := ParseInfo(rest); err != nil || i.Digit != '#' || i.Duration != 250*time.Millisecond {
		t.Fatalf("info %+v %v", i, err)
	}
	pcm := []int16{0, -1, 32767, -32768}
	_, rest, _ = ParseHeader(AppendPCM(nil, "c", at, pcm))
	if got, err := ParsePCM(nil, rest); err != nil || !slices.Equal(got, pcm) {
		t.Fatalf("pcm %v %v", got, err)
	}
	if _, rest, err := ParseHeader(AppendEnd(nil, "c", at)); err != nil || len(rest) != 0 {
		t.Fatalf("end %v %v", rest, err)
	}
}

func TestMalformed(t *testing.T) {
	good := AppendInfo(nil, "call", time.Now(), Info{Digit: '1'})
	for i := range len(good) - 5 {
		if _, _, err := ParseHeader(good[:i]); !errors.Is(err, ErrMalformed) {
			t.Errorf("%d bytes: %v", i, err)
		}
	}
	bad := slices.Clone(good)
	bad[0] = 9
	if _, _, err := ParseHeader(bad); !errors.Is(err, ErrMalformed) {
		t.Error("version not checked")
	}
	if _, err := ParseRTP(make([]byte, 14)); !errors.Is(err, ErrMalformed) {
		t.Error("short rtp")
	}
	if _, err := ParseInfo(make([]byte, 4)); !errors.Is(err, ErrMalformed) {
		t.Error("short info")
	}
	if _, err := ParsePCM(nil, make([]byte, 3)); !errors.Is(err, ErrMalformed) {
		t.Error("odd pcm")
	}
}
