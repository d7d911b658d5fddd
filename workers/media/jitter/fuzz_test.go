package jitter

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// fuzzMaxPackets is small so that fuzzed streams reach overflow easily.
const fuzzMaxPackets = 16

// FuzzPushPop drives one buffer with an arbitrary script of 4-byte
// operations: pushes with arbitrary sequence and timestamp steps (reorder,
// duplicates, wraps, jumps), markers, SSRC changes, payload sizes, time
// steps (forwards and a little backwards), Pops, Peeks and Resets. The
// buffer must never panic and must keep its invariants:
//
//   - at most MaxPackets held;
//   - within one timeline (between SSRC changes, resyncs and Resets) the
//     Ok and Lost frames advance in sequence number and never go back in
//     timestamp (RFC 3550 serial arithmetic);
//   - an Ok frame carries exactly the payload pushed with its sequence
//     number and timestamp (no aliasing of the reused buffers).
func FuzzPushPop(f *testing.F) {
	for _, seed := range fuzzSeeds() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, script []byte) {
		b := New(Config{ClockRate: 8000, MaxPackets: fuzzMaxPackets})
		var (
			now      time.Duration
			seq      uint16 = 65000
			ts       uint32 = 1<<32 - 4000
			ssrc     uint32 = 1
			resets   uint64
			gen      uint64
			prev     Frame
			havePrev bool
		)
		pkt := &rtp.Packet{Header: rtp.Header{Version: 2}}
		payload := make([]byte, 400)
		for ; len(script) >= 4; script = script[4:] {
			op, x, y, z := script[0], script[1], script[2], script[3]
			now += time.Duration(y) * time.Millisecond
			if z&0x80 != 0 {
				now -= time.Duration(y&0x0f) * time.Millisecond // a clock that steps back
			}
			switch op % 4 {
			case 0, 1: // push
				seq += uint16(int8(x))
				ts += uint32(int32(int8(z)) * 80)
				if op&0x20 != 0 {
					ts += uint32(x) << 24 // a timestamp jump
				}
				if op&0x40 != 0 {
					ssrc++
				}
				n := 10 + int(x%64)
				if op&0x08 != 0 {
					n = len(payload) // larger than an arena cell
				}
				binary.BigEndian.PutUint16(payload[0:], seq)
				binary.BigEndian.PutUint32(payload[2:], ts)
				binary.BigEndian.PutUint32(payload[6:], ssrc)
				for i := 10; i < n; i++ {
					payload[i] = byte(seq) + byte(i)
				}
				pkt.SequenceNumber, pkt.Timestamp, pkt.SSRC = seq, ts, ssrc
				pkt.Marker, pkt.PayloadType = op&0x10 != 0, x&0x7f
				pkt.Payload = payload[:n]
				b.Push(pkt, epoch.Add(now))
			case 2: // pop
				fr, ok := b.Pop(epoch.Add(now))
				if ok != (fr.Status != Empty) {
					t.Fatalf("Pop returned ok=%v with %v", ok, fr.Status)
				}
				st := b.Stats()
				if g := st.Resets + st.Resyncs + resets; g != gen {
					gen, havePrev = g, false
				}
				if fr.Status == Empty {
					break
				}
				if fr.Status == Ok {
					checkFuzzPayload(t, fr)
				}
				if havePrev && (int16(fr.SequenceNumber-prev.SequenceNumber) <= 0 || int32(fr.Timestamp-prev.Timestamp) < 0) {
					t.Fatalf("%v seq %d ts %d after %v seq %d ts %d", fr.Status, fr.SequenceNumber, fr.Timestamp,
						prev.Status, prev.SequenceNumber, prev.Timestamp)
				}
				prev, havePrev = fr, true
			case 3:
				if x == 0xff {
					b.Reset()
					resets++
				} else if fr, ok := b.Peek(); ok {
					checkFuzzPayload(t, fr)
				}
			}
			if n := b.Len(); n > fuzzMaxPackets {
				t.Fatalf("%d packets held, MaxPackets is %d", n, fuzzMaxPackets)
			}
		}
	})
}

// checkFuzzPayload checks that a frame carries the payload pushed for it.
func checkFuzzPayload(t *testing.T, fr Frame) {
	t.Helper()
	p := fr.Payload
	if len(p) < 10 || binary.BigEndian.Uint16(p) != fr.SequenceNumber || binary.BigEndian.Uint32(p[2:]) != fr.Timestamp {
		t.Fatalf("frame seq %d ts %d carries %x", fr.SequenceNumber, fr.Timestamp, p[:min(len(p), 10)])
	}
	for i := 10; i < len(p); i++ {
		if p[i] != byte(fr.SequenceNumber)+byte(i) {
			t.Fatalf("frame seq %d: payload byte %d is %d", fr.SequenceNumber, i, p[i])
		}
	}
}

// fuzzSeeds are scripts of the scenario kinds: steady, reordered, lossy,
// DTX, SSRC change, a stuck playout (overflow), jumps.
func fuzzSeeds() [][]byte {
	var seeds [][]byte
	steady := func(n int, seqStep, tsStep int8, extra func(i int) []byte) []byte {
		var s []byte
		for i := range n {
			s = append(s, 0, byte(seqStep), 20, byte(tsStep)) // push, 20 ms later
			s = append(s, 2, 0, 0, 0)                         // pop
			if extra != nil {
				s = append(s, extra(i)...)
			}
		}
		return s
	}
	seeds = append(seeds, steady(60, 1, 2, nil))
	seeds = append(seeds, steady(60, 1, 2, func(i int) []byte { // swapped pairs
		if i%2 == 0 {
			return []byte{1, 2, 0, 4, 1, 0xff, 0, 0xfe}
		}
		return nil
	}))
	seeds = append(seeds, steady(60, 1, 2, func(i int) []byte { // losses and duplicates
		switch i % 7 {
		case 3:
			return []byte{0, 1, 20, 2}
		case 5:
			return []byte{0, 0, 1, 0}
		}
		return nil
	}))
	seeds = append(seeds, steady(60, 1, 2, func(i int) []byte { // DTX: silence, marker on resume
		if i%15 == 14 {
			return []byte{2, 0, 200, 0, 2, 0, 200, 0, 0x10, 1, 20, 20}
		}
		return nil
	}))
	seeds = append(seeds, append(steady(30, 1, 2, nil), append([]byte{0x40, 1, 20, 2}, steady(30, 1, 2, nil)...)...)) // SSRC change
	var stuck []byte
	for range 40 {
		stuck = append(stuck, 0, 1, 20, 2) // pushes, no pops
	}
	seeds = append(seeds, append(stuck, steady(20, 1, 2, nil)...))
	seeds = append(seeds, steady(40, 1, 2, func(i int) []byte { // jumps
		switch i {
		case 10:
			return []byte{0x20, 0x80, 20, 2}
		case 20:
			return []byte{0, 0x7f, 20, 0x80}
		case 30:
			return []byte{3, 0xff, 0, 0}
		}
		return nil
	}))
	return seeds
}
