package rfc4733

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/switchboard-voip/switchboard/workers/dtmf/digit"
	"github.com/switchboard-voip/switchboard/workers/dtmf/digit/digittest"
)

func FuzzParsePayloads(f *testing.F) {
	f.Add([]byte{0x01, 0x0a, 0x03, 0xc0})
	f.Add([]byte{0x0b, 0x8a, 0x08, 0xc0, 0x02, 0x0a, 0x01, 0x40})
	f.Add([]byte{0x01, 0x02, 0x03})
	f.Fuzz(func(t *testing.T, b []byte) {
		ps, err := ParsePayloads(nil, b)
		if err != nil {
			return
		}
		var back []byte
		for _, p := range ps {
			back = p.AppendTo(back)
		}
		if !bytes.Equal(back, b) {
			t.Fatalf("round trip %x -> %x", b, back)
		}
	})
}

// FuzzReceiver reads the input as packets of 14 bytes: SSRC choice, flags,
// sequence number, timestamp, a 2-byte arrival step in ms, then a 4-byte
// block (or, when flags say so, a payload of another size). Whatever comes,
// the receiver must not panic and must report well-formed presses.
func FuzzReceiver(f *testing.F) {
	seed := func(digits string, rate uint32) []byte {
		steps, _ := Generate(digits, GenerateConfig{ClockRate: rate})
		var b []byte
		var prev time.Duration
		for i, s := range steps {
			var m byte
			if s.Marker {
				m = 1
			}
			b = append(b, 0, m)
			b = binary.BigEndian.AppendUint16(b, uint16(i))
			b = binary.BigEndian.AppendUint32(b, s.Timestamp)
			b = binary.BigEndian.AppendUint16(b, uint16((s.At-prev)/time.Millisecond))
			b = append(b, s.Payload[:]...)
			prev = s.At
		}
		return b
	}
	f.Add(seed("123", 8000), uint32(8000))
	f.Add(seed("#9", 48000), uint32(8000))
	f.Fuzz(func(t *testing.T, b []byte, rate uint32) {
		r, err := NewReceiver(ReceiverConfig{ClockRate: rate%50000 + 1})
		if err != nil {
			t.Fatal(err)
		}
		now := t0
		var evs []digit.Event
		for ; len(b) >= 14; b = b[14:] {
			p := Packet{
				SSRC:           uint32(b[0] & 3),
				Marker:         b[1]&1 != 0,
				SequenceNumber: binary.BigEndian.Uint16(b[2:]),
				Timestamp:      binary.BigEndian.Uint32(b[4:]),
				Payload:        b[10:14],
			}
			if b[1]&2 != 0 {
				p.Payload = b[10:13]
			}
			now = now.Add(time.Duration(binary.BigEndian.Uint16(b[8:])) * time.Millisecond)
			evs, _ = r.Push(evs, p, now)
			evs = r.Expire(evs, now)
		}
		evs = r.Flush(evs)
		if _, _, err := digittest.Presses(evs); err != nil {
			t.Fatal(err)
		}
		if r.Active() {
			t.Fatal("active after Flush")
		}
	})
}
