package jitter

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// pk is a packet of SSRC 1 whose payload is 160 copies of a tag.
func pk(seq uint16, ts uint32, tag byte) *rtp.Packet {
	return &rtp.Packet{
		Header:  rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts, SSRC: 1},
		Payload: bytes.Repeat([]byte{tag}, 160),
	}
}

// at is the scenario time d.
func at(d time.Duration) time.Time { return epoch.Add(d) }

func TestPopBeforePush(t *testing.T) {
	b := New(Config{ClockRate: 8000})
	b.Push(nil, at(0))
	if f, ok := b.Pop(at(0)); ok || f.Status != Empty || f.Payload != nil {
		t.Errorf("Pop on an empty buffer = %+v, %v", f, ok)
	}
	if _, ok := b.Peek(); ok {
		t.Error("Peek on an empty buffer")
	}
	if st := b.Stats(); st.Received != 0 || st.Buffered != 0 || b.Len() != 0 || b.Delay() != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestStatusString(t *testing.T) {
	for s, want := range map[Status]string{Empty: "Empty", Ok: "Ok", Lost: "Lost", 9: "Status(?)"} {
		if s.String() != want {
			t.Errorf("%d.String() = %q", s, s.String())
		}
	}
}

// TestStartDelay: the first packet waits StartDelay, then frames follow one
// per Pop.
func TestStartDelay(t *testing.T) {
	b := New(Config{ClockRate: 8000})
	want := map[time.Duration]uint16{60 * ms: 0, 80 * ms: 1, 100 * ms: 2}
	for i := range 6 {
		tick := time.Duration(i) * 20 * ms
		b.Push(pk(uint16(i), uint32(i*160), byte(i)), at(tick))
		f, _ := b.Pop(at(tick))
		seq, due := want[tick]
		if due != (f.Status == Ok) || (due && (f.SequenceNumber != seq || f.Payload[0] != byte(seq) || f.Samples != 160)) {
			t.Errorf("Pop at %v = %v seq %d samples %d, want due=%v seq %d", tick, f.Status, f.SequenceNumber, f.Samples, due, seq)
		}
	}
	if d := b.Delay(); d != 60*ms {
		t.Errorf("delay %v, want 60ms", d)
	}
}

// TestFirstPairSwapped: a packet older than the first one, arriving while
// filling, becomes the head.
func TestFirstPairSwapped(t *testing.T) {
	b := New(Config{ClockRate: 8000})
	b.Push(pk(11, 1760, 11), at(0))
	b.Push(pk(10, 1600, 10), at(ms))
	f, _ := b.Pop(at(100 * ms))
	if f.Status != Ok || f.SequenceNumber != 10 {
		t.Errorf("first frame %v seq %d, want Ok 10", f.Status, f.SequenceNumber)
	}
	if st := b.Stats(); st.Reordered != 1 || st.Late != 0 {
		t.Errorf("reordered %d late %d, want 1 and 0", st.Reordered, st.Late)
	}
}

// TestPushCopies: the caller's packet buffer is reused at once (rtpsession's
// contract); the frame must still carry what was pushed.
func TestPushCopies(t *testing.T) {
	b := New(Config{ClockRate: 8000})
	p := pk(1, 160, 0xaa)
	b.Push(p, at(0))
	for i := range p.Payload {
		p.Payload[i] = 0
	}
	f, _ := b.Pop(at(100 * ms))
	if f.Status != Ok || !bytes.Equal(f.Payload, bytes.Repeat([]byte{0xaa}, 160)) {
		t.Errorf("frame %v payload %x...", f.Status, f.Payload[:4])
	}
}

// TestPayloadValidUntilNextPop: pushes that reuse every slot of the ring
// must not touch the payload handed out by the last Pop.
func TestPayloadValidUntilNextPop(t *testing.T) {
	b := New(Config{ClockRate: 8000, MaxPackets: 12})
	b.Push(pk(0, 0, 7), at(0))
	f, _ := b.Pop(at(60 * ms))
	if f.Status != Ok {
		t.Fatalf("first frame %v", f.Status)
	}
	for i := 1; i <= 30; i++ {
		b.Push(pk(uint16(i), uint32(i*160), 0xee), at(60*ms+time.Duration(i)*ms))
	}
	if !bytes.Equal(f.Payload, bytes.Repeat([]byte{7}, 160)) {
		t.Error("payload changed before the next Pop")
	}
}

// TestPeekForFEC is the Opus loss path: Pop says Lost, Peek shows the next
// packet (whose in-band FEC carries the lost frame), the next Pop plays it.
func TestPeekForFEC(t *testing.T) {
	b := New(Config{ClockRate: 48000})
	var lost Frame
	i := 0
	for ; i < 20 && lost.Status != Lost; i++ {
		if i != 5 {
			b.Push(pk(uint16(i), uint32(i*960), byte(i)), at(time.Duration(i)*20*ms))
		}
		if f, _ := b.Pop(at(time.Duration(i) * 20 * ms)); f.Status == Lost {
			lost = f
		}
	}
	if lost.Status != Lost || lost.SequenceNumber != 5 || lost.Timestamp != 5*960 || lost.Samples != 960 {
		t.Fatalf("lost frame %+v, want seq 5 ts 4800 samples 960", lost)
	}
	next, ok := b.Peek()
	if !ok || next.SequenceNumber != 6 || next.Timestamp != lost.Timestamp+lost.Samples || next.Payload[0] != 6 {
		t.Fatalf("Peek = %+v %v, want seq 6 right after the lost frame", next, ok)
	}
	if again, _ := b.Peek(); again.SequenceNumber != 6 {
		t.Error("Peek consumed the packet")
	}
	b.Push(pk(uint16(i), uint32(i*960), byte(i)), at(time.Duration(i)*20*ms))
	if f, _ := b.Pop(at(time.Duration(i) * 20 * ms)); f.Status != Ok || f.SequenceNumber != 6 {
		t.Errorf("after Peek, Pop = %v seq %d, want Ok 6", f.Status, f.SequenceNumber)
	}
}

// TestOverflowWithoutPlayout: nobody pops (a stuck playout goroutine); the
// buffer keeps the newest MaxPackets packets.
func TestOverflowWithoutPlayout(t *testing.T) {
	b := New(Config{ClockRate: 8000, MaxPackets: 16})
	for i := range 100 {
		b.Push(pk(uint16(i), uint32(i*160), byte(i)), at(time.Duration(i)*20*ms))
		if n := b.Len(); n > 16 {
			t.Fatalf("after %d packets %d held, MaxPackets is 16", i+1, n)
		}
	}
	st := b.Stats()
	if st.Overflow != 84 || st.Buffered != 16 {
		t.Errorf("overflow %d buffered %d, want 84 and 16", st.Overflow, st.Buffered)
	}
	// Playout resumes: the newest packets play in order, within MaxDelay.
	prev := -1
	for k := range 20 {
		f, _ := b.Pop(at(2*time.Second + time.Duration(k)*20*ms))
		if f.Status != Ok {
			continue
		}
		if int(f.SequenceNumber) <= prev || f.SequenceNumber < 84 {
			t.Fatalf("frame seq %d after %d", f.SequenceNumber, prev)
		}
		prev = int(f.SequenceNumber)
		if d := b.Delay(); d > 225*ms {
			t.Errorf("seq %d played %v late", f.SequenceNumber, d)
		}
	}
	if prev != 99 {
		t.Errorf("last frame %d, want 99", prev)
	}
}

// TestResync covers the timeline restarts within one SSRC: 50 packets,
// then 20 of the new timeline from 1 s + gap on, played by the 20 ms clock
// of the scenario helper.
func TestResync(t *testing.T) {
	tests := []struct {
		name    string
		seq     uint16
		ts      uint32
		gap     time.Duration
		resyncs uint64
		lost    uint64
	}{
		{"next packet", 50, 50 * 160, 0, 0, 0},
		{"loss burst within the ring", 80, 80 * 160, 600 * ms, 0, 30},
		{"sequence jump beyond the ring", 1050, 50 * 160, 0, 1, 0},
		{"far behind (a restart RFC 3550 A.1 confirmed)", 65000, 50 * 160, 0, 1, 0},
		{"timestamp backwards", 50, 10, 0, 1, 0},
		{"timestamp 2^30 ahead", 50, 1<<30 + 50*160 + 1, 0, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var arr []arrival
			for i := range 50 {
				arr = append(arr, arrival{at: time.Duration(i) * 20 * ms, seq: uint16(i), ts: uint32(i * 160), ssrc: 1})
			}
			for i := range 20 {
				arr = append(arr, arrival{at: time.Second + tt.gap + time.Duration(i)*20*ms, seq: tt.seq + uint16(i), ts: tt.ts + uint32(i*160), ssrc: 1})
			}
			r := play(t, scenario{cfg: Config{ClockRate: 8000}, arrivals: arr})
			oks := 0
			for _, p := range r.pops {
				if p.status == Ok && p.seq-tt.seq < 20 {
					oks++
				}
			}
			st := r.stats
			if st.Resyncs != tt.resyncs || st.Late != 0 || st.Lost != tt.lost {
				t.Errorf("resyncs %d late %d lost %d, want %d, 0 and %d", st.Resyncs, st.Late, st.Lost, tt.resyncs, tt.lost)
			}
			if oks < 19 {
				t.Errorf("%d frames of the new timeline played", oks)
			}
			checkOrder(t, r)
		})
	}
}

// TestReset: the worker's explicit reset on a media change.
func TestReset(t *testing.T) {
	b := New(Config{ClockRate: 8000})
	for i := range 5 {
		b.Push(pk(uint16(i), uint32(i*160), 1), at(time.Duration(i)*20*ms))
	}
	b.Reset()
	if b.Len() != 0 {
		t.Fatal("packets held after Reset")
	}
	if f, _ := b.Pop(at(200 * ms)); f.Status != Empty {
		t.Errorf("Pop after Reset = %v", f.Status)
	}
	b.Push(pk(9000, 777, 3), at(300*ms))
	if f, _ := b.Pop(at(400 * ms)); f.Status != Ok || f.SequenceNumber != 9000 {
		t.Errorf("first frame after Reset %v seq %d", f.Status, f.SequenceNumber)
	}
	if st := b.Stats(); st.Resets != 0 || st.Resyncs != 0 {
		t.Errorf("Reset counted as %d resets %d resyncs", st.Resets, st.Resyncs)
	}
}

// TestConcurrent runs Push and Pop on two goroutines, as the RTP reader and
// the playout clock do; under -race it checks the locking. Times are
// synthetic: nothing sleeps.
func TestConcurrent(t *testing.T) {
	b := New(Config{ClockRate: 8000})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 2000 {
			b.Push(pk(uint16(i), uint32(i*160), byte(i)), at(time.Duration(i)*20*ms))
		}
	})
	wg.Go(func() {
		for i := range 2000 {
			if f, _ := b.Pop(at(time.Duration(i) * 20 * ms)); f.Status == Ok && f.Payload[0] != byte(f.SequenceNumber) {
				t.Errorf("seq %d carries %d", f.SequenceNumber, f.Payload[0])
			}
			_ = b.Stats()
			b.Peek()
		}
	})
	wg.Wait()
}
