package rfc4733

import (
	"testing"
	"time"

	"github.com/switchboard-voip/switchboard/workers/dtmf/digit"
)

// BenchmarkReceiverPush is the cost of one telephone-event packet.
func BenchmarkReceiverPush(b *testing.B) {
	steps, err := Generate("0123456789*#ABCD", GenerateConfig{ClockRate: 8000})
	if err != nil {
		b.Fatal(err)
	}
	r, _ := NewReceiver(ReceiverConfig{ClockRate: 8000})
	evs := make([]digit.Event, 0, 8)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s := steps[i%len(steps)]
		round := uint32(i / len(steps))
		evs, _ = r.Push(evs[:0], Packet{SSRC: 1, SequenceNumber: uint16(i), Timestamp: round*1_000_000 + s.Timestamp,
			Payload: s.Payload[:]}, t0.Add(time.Duration(round)*time.Hour+s.At))
	}
}
