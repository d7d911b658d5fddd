package rfc4733

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/switchboard-voip/switchboard/workers/dtmf/digit"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// arrival is a packet and when it arrives.
type arrival struct {
	pkt Packet
	at  time.Time
}

// stream turns generated steps into packets as a sender would put them on
// the wire: consecutive sequence numbers, timestamps from base.
func stream(t *testing.T, digits string, cfg GenerateConfig) []arrival {
	t.Helper()
	steps, err := Generate(digits, cfg)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]arrival, len(steps))
	for i, s := range steps {
		out[i] = arrival{
			pkt: Packet{SSRC: 0x1234, SequenceNumber: uint16(60000 + i), Timestamp: 4_000_000_000 + s.Timestamp,
				Marker: s.Marker, Payload: append([]byte(nil), s.Payload[:]...)},
			at: t0.Add(s.At),
		}
	}
	return out
}

// receive pushes the arrivals (re-timed to be in order if reordered),
// ticking Expire every 20 ms, then lets everything time out.
func receive(t *testing.T, rate uint32, arr []arrival) ([]digit.Event, *Receiver) {
	t.Helper()
	r, err := NewReceiver(ReceiverConfig{ClockRate: rate, FixedClockRate: true})
	if err != nil {
		t.Fatal(err)
	}
	var evs []digit.Event
	now := t0
	for _, a := range arr {
		for now.Add(20 * time.Millisecond).Before(a.at) {
			now = now.Add(20 * time.Millisecond)
			evs = r.Expire(evs, now)
		}
		if a.at.After(now) {
			now = a.at
		}
		if evs, err = r.Push(evs, a.pkt, now); err != nil {
			t.Fatal(err)
		}
	}
	evs = r.Expire(evs, now.Add(DefaultTimeout))
	if r.Active() {
		t.Error("still active after the timeout")
	}
	return evs, r
}

func wantPresses(t *testing.T, evs []digit.Event, digits string, dur time.Duration) {
	t.Helper()
	if got := pressed(t, evs); got != digits {
		t.Fatalf("digits %q, want %q: %v", got, digits, evs)
	}
	for _, e := range evs {
		if e.Kind == digit.Ended && dur != 0 && e.Duration != dur {
			t.Errorf("%v, want duration %s", e, dur)
		}
	}
}

func TestReceiverRoundTrip(t *testing.T) {
	for _, rate := range []uint32{8000, 16000, 48000} {
		cfg := GenerateConfig{ClockRate: rate, Tone: 120 * time.Millisecond}
		evs, r := receive(t, rate, stream(t, "0123456789*#ABCD", cfg))
		wantPresses(t, evs, "0123456789*#ABCD", 120*time.Millisecond)
		if st := r.Stats(); st.LostEnds != 0 || st.Duplicates != 32 || st.Presses != 16 {
			t.Errorf("rate %d: stats %+v", rate, st)
		}
	}
}

// mutate returns the arrivals with f applied; f returns false to drop one.
func mutate(arr []arrival, f func(i int, a *arrival) bool) []arrival {
	var out []arrival
	for i, a := range arr {
		if f(i, &a) {
			out = append(out, a)
		}
	}
	return out
}

func TestReceiverRules(t *testing.T) {
	cfg8 := GenerateConfig{ClockRate: 8000}
	cfg48 := GenerateConfig{ClockRate: 48000}
	ms := time.Millisecond
	cases := []struct {
		name   string
		rate   uint32
		arr    []arrival
		digits string
		dur    time.Duration // 0: not checked
		lost   uint64
	}{
		{"no marker bit", 8000, mutate(stream(t, "1234", cfg8), func(_ int, a *arrival) bool {
			a.pkt.Marker = false
			return true
		}), "1234", 100 * ms, 0},
		{"marker on every packet", 8000, mutate(stream(t, "1234", cfg8), func(_ int, a *arrival) bool {
			a.pkt.Marker = true
			return true
		}), "1234", 100 * ms, 0},
		{"same digit twice", 8000, stream(t, "55", cfg8), "55", 100 * ms, 0},
		{"same digit twice, short gap", 8000, stream(t, "777", GenerateConfig{ClockRate: 8000, Tone: 40 * ms, Gap: 40 * ms}), "777", 40 * ms, 0},
		{"48 kHz durations", 48000, stream(t, "9#", GenerateConfig{ClockRate: 48000, Tone: 180 * ms}), "9#", 180 * ms, 0},
		{"end packets lost: timeout", 8000, mutate(stream(t, "8", cfg8), func(_ int, a *arrival) bool {
			return !a.pkt.hasEnd()
		}), "8", 80 * ms, 1},
		{"end packets lost, same digit twice", 8000, mutate(stream(t, "33", cfg8), func(_ int, a *arrival) bool {
			return !a.pkt.hasEnd()
		}), "33", 80 * ms, 2},
		{"only end packets", 8000, mutate(stream(t, "42", cfg8), func(_ int, a *arrival) bool {
			return a.pkt.hasEnd()
		}), "42", 100 * ms, 0},
		{"first packets lost", 8000, mutate(stream(t, "12", cfg8), func(i int, _ *arrival) bool {
			return i%7 > 1
		}), "12", 100 * ms, 0},
		{"one end packet of three", 8000, mutate(stream(t, "12", cfg8), func(i int, _ *arrival) bool {
			return i%7 != 4 && i%7 != 5
		}), "12", 100 * ms, 0},
		{"duplicated packets", 8000, duplicate(stream(t, "*0#", cfg8)), "*0#", 100 * ms, 0},
		{"reordered packets", 8000, reorder(stream(t, "1590", cfg8)), "1590", 100 * ms, 0},
		{"reordered 48 kHz", 48000, reorder(stream(t, "1590", cfg48)), "1590", 100 * ms, 0},
		{"long press 48 kHz segments", 48000, stream(t, "0", GenerateConfig{ClockRate: 48000, Tone: 5 * time.Second}), "0", 5 * time.Second, 0},
		{"long press 8 kHz segments", 8000, stream(t, "#", GenerateConfig{ClockRate: 8000, Tone: 20 * time.Second}), "#", 20 * time.Second, 0},
		{"long press wrapping field", 8000, wrapping(t, 8000, 10*time.Second), "6", 10 * time.Second, 0},
		{"long press wrapping 48 kHz, reordered", 48000, reorder(wrapping(t, 48000, 4*time.Second)), "6", 4 * time.Second, 0},
		{"flash between digits", 8000, withFlash(stream(t, "12", cfg8)), "12", 100 * ms, 0},
		{"stale packet after eviction", 8000, stale(stream(t, "1234567890", cfg8)), "1234567890", 100 * ms, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			evs, r := receive(t, c.rate, c.arr)
			wantPresses(t, evs, c.digits, c.dur)
			if st := r.Stats(); st.LostEnds != c.lost {
				t.Errorf("lost ends %d, want %d (%+v)", st.LostEnds, c.lost, st)
			}
		})
	}
}

func (p Packet) hasEnd() bool {
	var b Payload
	return b.Unmarshal(p.Payload) == nil && b.End
}

func duplicate(arr []arrival) []arrival {
	var out []arrival
	for _, a := range arr {
		out = append(out, a, a)
	}
	return out
}

// reorder swaps neighbours at random, deterministic seed.
func reorder(arr []arrival) []arrival {
	rng := rand.New(rand.NewPCG(1, 2))
	out := append([]arrival(nil), arr...)
	for i := 0; i+1 < len(out); i++ {
		if rng.IntN(3) == 0 {
			out[i].pkt, out[i+1].pkt = out[i+1].pkt, out[i].pkt
			i++
		}
	}
	return out
}

// wrapping is a long press from a sender that keeps one timestamp and lets
// the 16-bit duration wrap instead of segmenting.
func wrapping(t *testing.T, rate uint32, d time.Duration) []arrival {
	t.Helper()
	step := uint64(rate / 50)
	total := uint64(d) * uint64(rate) / uint64(time.Second)
	var out []arrival
	for i, u := 0, step; ; i, u = i+1, min(u+step, total) {
		p := Payload{Event: 6, End: u == total, Volume: 10, Duration: uint16(u)}
		out = append(out, arrival{pkt: Packet{SSRC: 9, SequenceNumber: uint16(i), Timestamp: 777, Marker: i == 0, Payload: p.Marshal()},
			at: t0.Add(time.Duration(i) * 20 * time.Millisecond)})
		if u == total {
			return out
		}
	}
}

// withFlash puts an RFC 4733 §3.2 flash (event 16) between the digits.
func withFlash(arr []arrival) []arrival {
	mid := len(arr) / 2
	last := arr[mid-1]
	flash := Payload{Event: 16, End: true, Duration: 800}
	f := arrival{pkt: Packet{SSRC: last.pkt.SSRC, SequenceNumber: last.pkt.SequenceNumber, Timestamp: last.pkt.Timestamp + 1000,
		Payload: flash.Marshal()}, at: last.at.Add(30 * time.Millisecond)}
	out := append(append(append([]arrival(nil), arr[:mid]...), f), arr[mid:]...)
	return out
}

// stale sends the first digit's end packet again at the very end, after
// nine more events have pushed it out of the remembered set.
func stale(arr []arrival) []arrival {
	late := arr[5]
	late.at = arr[len(arr)-1].at.Add(time.Millisecond)
	return append(append([]arrival(nil), arr...), late)
}

func TestReceiverTimeout(t *testing.T) {
	arr := mutate(stream(t, "8", GenerateConfig{ClockRate: 8000}), func(_ int, a *arrival) bool { return !a.pkt.hasEnd() })
	r, err := NewReceiver(ReceiverConfig{ClockRate: 8000, Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var evs []digit.Event
	for _, a := range arr {
		evs, _ = r.Push(evs, a.pkt, a.at)
	}
	last := arr[len(arr)-1].at
	if evs = r.Expire(evs, last.Add(199*time.Millisecond)); len(evs) != 1 || evs[0].Kind != digit.Started {
		t.Fatalf("before the timeout: %v", evs)
	}
	if evs = r.Expire(evs, last.Add(200*time.Millisecond)); len(evs) != 2 || evs[1].Kind != digit.Ended {
		t.Fatalf("at the timeout: %v", evs)
	}
	// A late end packet of the expired press is not a new press.
	end := stream(t, "8", GenerateConfig{ClockRate: 8000})[4]
	if evs, _ = r.Push(evs[:0], end.pkt, last.Add(250*time.Millisecond)); len(evs) != 0 {
		t.Errorf("late end packet: %v", evs)
	}
	if st := r.Stats(); st.LostEnds != 1 || st.Duplicates != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestReceiverFlushAndReset(t *testing.T) {
	arr := stream(t, "4", GenerateConfig{ClockRate: 8000})
	r, _ := NewReceiver(ReceiverConfig{ClockRate: 8000})
	evs, _ := r.Push(nil, arr[0].pkt, arr[0].at)
	if evs = r.Flush(evs); len(evs) != 2 || evs[1].Kind != digit.Ended || evs[1].Duration != 20*time.Millisecond {
		t.Errorf("flush: %v", evs)
	}
	r.Reset()
	// After a reset the same event is new again.
	if evs, _ = r.Push(nil, arr[0].pkt, arr[0].at); len(evs) != 1 {
		t.Errorf("after reset: %v", evs)
	}
}

func TestReceiverSSRCs(t *testing.T) {
	// Two sources whose events share a timestamp are two presses.
	a := stream(t, "1", GenerateConfig{ClockRate: 8000})
	b := mutate(stream(t, "2", GenerateConfig{ClockRate: 8000}), func(_ int, a *arrival) bool {
		a.pkt.SSRC = 0x9999
		a.at = a.at.Add(200 * time.Millisecond)
		return true
	})
	evs, _ := receive(t, 8000, append(a, b...))
	wantPresses(t, evs, "12", 100*time.Millisecond)
}

func TestReceiverPackedEvents(t *testing.T) {
	// RFC 4733 §2.5.1.5: two ended events in one payload.
	p := append(Payload{Event: 1, End: true, Duration: 800}.Marshal(), Payload{Event: 2, End: true, Duration: 640}.Marshal()...)
	r, _ := NewReceiver(ReceiverConfig{ClockRate: 8000})
	evs, err := r.Push(nil, Packet{Timestamp: 100, Payload: p}, t0)
	if err != nil {
		t.Fatal(err)
	}
	// The same payload again (redundancy) adds nothing.
	evs, _ = r.Push(evs, Packet{SequenceNumber: 1, Timestamp: 100, Payload: p}, t0.Add(20*time.Millisecond))
	wantPresses(t, evs, "12", 0)
	if evs[1].Duration != 100*time.Millisecond || evs[3].Duration != 80*time.Millisecond {
		t.Errorf("durations: %v", evs)
	}
}

func TestReceiverMalformed(t *testing.T) {
	r, _ := NewReceiver(ReceiverConfig{ClockRate: 8000})
	if _, err := r.Push(nil, Packet{Payload: []byte{1, 2, 3}}, t0); !errors.Is(err, ErrPayloadSize) {
		t.Errorf("err %v", err)
	}
	evs, _ := r.Push(nil, Packet{Timestamp: 5, Payload: Payload{Event: 1, Duration: 160}.Marshal()}, t0)
	// Another code at the same timestamp is not believed.
	evs, _ = r.Push(evs, Packet{SequenceNumber: 1, Timestamp: 5, Payload: Payload{Event: 2, End: true, Duration: 320}.Marshal()}, t0)
	evs = r.Flush(evs)
	wantPresses(t, evs, "1", 20*time.Millisecond)
	if st := r.Stats(); st.Malformed != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestReceiverLearnsClockRate(t *testing.T) {
	// baresip: SDP says 8000, the units are 48 kHz.
	arr := stream(t, "12", GenerateConfig{ClockRate: 48000, Tone: 180 * time.Millisecond})
	r, _ := NewReceiver(ReceiverConfig{ClockRate: 8000})
	var evs []digit.Event
	for _, a := range arr {
		evs, _ = r.Push(evs, a.pkt, a.at)
	}
	wantPresses(t, evs, "12", 180*time.Millisecond)
	if r.ClockRate() != 48000 {
		t.Errorf("rate %d", r.ClockRate())
	}
	// And back: SDP says 48000, the units are 8 kHz.
	arr = stream(t, "3", GenerateConfig{ClockRate: 8000, Tone: 180 * time.Millisecond})
	r, _ = NewReceiver(ReceiverConfig{ClockRate: 48000})
	evs = evs[:0]
	for _, a := range arr {
		evs, _ = r.Push(evs, a.pkt, a.at)
	}
	wantPresses(t, evs, "3", 180*time.Millisecond)
}

func TestReceiverConfig(t *testing.T) {
	for _, cfg := range []ReceiverConfig{{}, {ClockRate: 8000, Timeout: -1}} {
		if _, err := NewReceiver(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: err %v", cfg, err)
		}
	}
}

func TestReceiverNoAllocs(t *testing.T) {
	arr := stream(t, "123", GenerateConfig{ClockRate: 8000})
	r, _ := NewReceiver(ReceiverConfig{ClockRate: 8000})
	evs := make([]digit.Event, 0, 8)
	allocs := testing.AllocsPerRun(20, func() {
		r.Reset()
		for _, a := range arr {
			evs, _ = r.Push(evs[:0], a.pkt, a.at)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocs per stream", allocs)
	}
}
