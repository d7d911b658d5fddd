package rfc4733

import (
	"bytes"
	"errors"
	"testing"
)

func TestPayloadRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		raw  []byte
		want Payload
	}{
		{[]byte{0x01, 0x0a, 0x03, 0xc0}, Payload{Event: 1, Volume: 10, Duration: 960}},
		{[]byte{0x0b, 0x8a, 0x08, 0xc0}, Payload{Event: 11, End: true, Volume: 10, Duration: 2240}},
		{[]byte{0x10, 0x7f, 0xff, 0xff}, Payload{Event: 16, Reserved: true, Volume: 63, Duration: 0xFFFF}},
		{[]byte{0xff, 0xc0, 0x00, 0x00}, Payload{Event: 255, End: true, Reserved: true}},
	} {
		var p Payload
		if err := p.Unmarshal(tc.raw); err != nil || p != tc.want {
			t.Errorf("Unmarshal(%x) = %+v, %v; want %+v", tc.raw, p, err, tc.want)
		}
		if got := tc.want.Marshal(); !bytes.Equal(got, tc.raw) {
			t.Errorf("Marshal(%+v) = %x, want %x", tc.want, got, tc.raw)
		}
	}
}

func TestPayloadSizes(t *testing.T) {
	for _, n := range []int{0, 1, 3, 5, 7, 9, 13} {
		if _, err := ParsePayloads(nil, make([]byte, n)); !errors.Is(err, ErrPayloadSize) {
			t.Errorf("%d bytes: err %v", n, err)
		}
		var p Payload
		if err := p.Unmarshal(make([]byte, n)); !errors.Is(err, ErrPayloadSize) {
			t.Errorf("Unmarshal of %d bytes: err %v", n, err)
		}
	}
	// RFC 4733 §2.5.1.5: several events in one payload.
	got, err := ParsePayloads(nil, []byte{0x01, 0x8a, 0x03, 0x20, 0x02, 0x0a, 0x01, 0x40})
	if err != nil || len(got) != 2 || got[0].Event != 1 || !got[0].End || got[1].Event != 2 || got[1].Duration != 320 {
		t.Errorf("two blocks: %+v, %v", got, err)
	}
}

func TestVolumeMasked(t *testing.T) {
	if b := (Payload{Volume: 64 + 5}).Marshal(); b[1] != 5 {
		t.Errorf("volume byte %#x", b[1])
	}
}
