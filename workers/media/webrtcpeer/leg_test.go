package webrtcpeer

import (
	"context"
	"errors"
	"math"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/switchboard-voip/switchboard/test/audio"
	"github.com/switchboard-voip/switchboard/test/leak"
	"github.com/switchboard-voip/switchboard/workers/dtmf/digit"
	"github.com/switchboard-voip/switchboard/workers/dtmf/rfc4733"
	"github.com/switchboard-voip/switchboard/workers/media/codec"
)

// checkTone asserts that pcm (skipping its first 200 ms) is a tone of
// freq Hz.
func checkTone(t *testing.T, who string, pcm []int16, rate int, freq float64) {
	t.Helper()
	skip := rate / 5
	if len(pcm) < skip+rate/2 {
		t.Fatalf("%s: only %d samples", who, len(pcm))
	}
	pcm = pcm[skip:]
	hz, rms := audio.PeakFrequency(pcm, float64(rate), 10)
	level := audio.ToneLevel(pcm, float64(rate), freq)
	t.Logf("%s: peak %.0f Hz, RMS %.1f dBFS, %.0f Hz at %.1f dBFS", who, hz, rms, freq, level)
	if math.Abs(hz-freq) > 20 || level < rms-3 {
		t.Errorf("%s: heard a peak at %.0f Hz (%.0f Hz at %.1f dBFS, RMS %.1f), want %.0f Hz", who, hz, freq, level, rms, freq)
	}
}

// TestOpusBothWays connects a pion offerer to a leg over DTLS-SRTP on
// 127.0.0.1: the offerer's 440 Hz reaches OnPacket, the leg's 1 kHz
// reaches the offerer, RTCP gives a round-trip time, and Close leaves no
// goroutine behind.
func TestOpusBothWays(t *testing.T) {
	leak.Check(t)
	base := runtime.NumGoroutine()
	e := newEngine(t)
	in := newDecoder(t, &codec.Opus, 111)
	var stMu sync.Mutex
	var states []State
	leg := e.NewLeg(LegConfig{OnPacket: in.push, OnState: func(s State) {
		stMu.Lock()
		states = append(states, s)
		stMu.Unlock()
	}})
	defer leg.Close()
	o := newOfferer(t, opusCodec, te48Codec)
	connect(t, o, leg)

	neg := leg.Negotiated()
	if neg.Audio.Name != "opus" || neg.Audio.PayloadType != 111 || neg.Audio.ClockRate != 48000 {
		t.Fatalf("negotiated %+v", neg.Audio)
	}
	if neg.TelephoneEvent == nil || neg.TelephoneEvent.PayloadType != 110 || neg.TelephoneEvent.ClockRate != 48000 {
		t.Fatalf("telephone-event %+v", neg.TelephoneEvent)
	}

	// pion's report interceptors send every second: go on until the
	// receiver report about our stream gives the round-trip time.
	exchangeTones(t, o, leg, &codec.Opus, 1500*time.Millisecond, func() bool { return leg.Stats().RTT > 0 })

	checkTone(t, "leg", in.samples(), 48000, 440)
	out := newDecoder(t, &codec.Opus, 111)
	for _, p := range o.received() {
		out.push(&p)
	}
	checkTone(t, "offerer", out.samples(), 48000, 1000)

	st := leg.Stats()
	t.Logf("stats: %+v", st)
	if st.PacketsSent < 50 || st.PacketsReceived < 50 || st.SSRC == 0 || st.RemoteSSRC == 0 || st.RTCPReceived == 0 {
		t.Errorf("stats %+v", st)
	}
	if st.RTT <= 0 || st.RTT > time.Second {
		t.Errorf("RTT %s", st.RTT)
	}
	if got := leg.LastActivity(); time.Since(got) > time.Second {
		t.Errorf("last activity %s ago", time.Since(got))
	}
	for _, p := range o.received() {
		if p.SSRC != st.SSRC {
			t.Fatalf("SSRC changed: %08x, then %08x", st.SSRC, p.SSRC)
		}
	}

	if err := leg.Close(); err != nil {
		t.Error(err)
	}
	if err := leg.WriteSample([]byte{1}, 960, false); !errors.Is(err, ErrClosed) {
		t.Errorf("write after close: %v", err)
	}
	_ = o.pc.GracefulClose()
	stMu.Lock()
	got := append([]State(nil), states...)
	stMu.Unlock()
	if len(got) < 2 || got[len(got)-1] != StateClosed || !containsState(got, StateConnected) {
		t.Errorf("states %v", got)
	}
	goroutinesSettle(t, base)
}

func containsState(s []State, want State) bool {
	for _, x := range s {
		if x == want {
			return true
		}
	}
	return false
}

// exchangeTones plays 440 Hz from the offerer and 1 kHz from the leg in
// format f for d, and then until until holds (if not nil, for at most 5 s).
func exchangeTones(t *testing.T, o *offerer, leg *Leg, f *codec.Format, d time.Duration, until func() bool) {
	t.Helper()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(stop)
	wg.Go(every20ms(stop, newToneSender(t, f, 440, o.out.writeSample).frame))
	wg.Go(every20ms(stop, newToneSender(t, f, 1000, leg.WriteSample).frame))
	time.Sleep(d)
	if until != nil {
		waitFor(t, 5*time.Second, until)
	}
}

// TestPCMUOnly checks that an offer of PCMU alone is answered with PCMU,
// and that G.711 flows both ways with payload type 0.
func TestPCMUOnly(t *testing.T) {
	leak.Check(t)
	e := newEngine(t)
	in := newDecoder(t, &codec.PCMU, 0)
	leg := e.NewLeg(LegConfig{OnPacket: in.push})
	defer leg.Close()
	o := newOfferer(t, pcmuCodec, te8Codec)
	connect(t, o, leg)
	neg := leg.Negotiated()
	if neg.Audio.Name != "PCMU" || neg.Audio.PayloadType != 0 || neg.Audio.ClockRate != 8000 ||
		neg.TelephoneEvent == nil || neg.TelephoneEvent.ClockRate != 8000 {
		t.Fatalf("negotiated %+v, %+v", neg.Audio, neg.TelephoneEvent)
	}
	exchangeTones(t, o, leg, &codec.PCMU, 1200*time.Millisecond, nil)
	checkTone(t, "leg", in.samples(), 8000, 440)
	out := newDecoder(t, &codec.PCMU, 0)
	for _, p := range o.received() {
		if p.PayloadType != 0 {
			t.Fatalf("offerer got payload type %d", p.PayloadType)
		}
		out.push(&p)
	}
	checkTone(t, "offerer", out.samples(), 8000, 1000)
}

// TestTelephoneEvents sends "159#" as RFC 4733 events on the audio's SSRC,
// as a browser does, and checks that OnPacket gets them with their payload
// type, between the audio packets, and that they decode to the digits.
// The leg sends events back the same way.
func TestTelephoneEvents(t *testing.T) {
	leak.Check(t)
	e := newEngine(t)
	recv, err := rfc4733.NewReceiver(rfc4733.ReceiverConfig{ClockRate: 48000, FixedClockRate: true})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var digits []string
	var audioPackets int
	var evs []digit.Event
	leg := e.NewLeg(LegConfig{OnPacket: func(p *rtp.Packet) {
		mu.Lock()
		defer mu.Unlock()
		switch p.PayloadType {
		case 111:
			audioPackets++
		case 110:
			evs, _ = recv.Push(evs[:0], rfc4733.Packet{SSRC: p.SSRC, SequenceNumber: p.SequenceNumber,
				Timestamp: p.Timestamp, Marker: p.Marker, Payload: p.Payload}, time.Now())
			for _, ev := range evs {
				if ev.Kind == digit.Ended {
					digits = append(digits, ev.Digit.String())
				}
			}
		default:
			t.Errorf("payload type %d", p.PayloadType)
		}
	}})
	defer leg.Close()
	o := newOfferer(t, opusCodec, te48Codec)
	connect(t, o, leg)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	stopped := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer stopped()
	tone := newToneSender(t, &codec.Opus, 440, o.out.writeSample)
	for range 5 {
		if err := tone.frame(); err != nil {
			t.Fatal(err)
		}
	}
	sendEvents(t, o.out.beginEvent, o.out.writeAt, o.out.endEvent, "159#", 110)
	wg.Go(every20ms(stop, tone.frame))
	// The leg sends "*0" back on its own stream.
	sendEvents(t, leg.BeginEvent, leg.WriteAt, leg.EndEvent, "*0", 110)
	time.Sleep(200 * time.Millisecond)
	stopped()

	mu.Lock()
	got := strings.Join(digits, "")
	n := audioPackets
	mu.Unlock()
	if got != "159#" || n < 5 {
		t.Errorf("leg got digits %q and %d audio packets, want \"159#\" and audio", got, n)
	}

	back, _ := rfc4733.NewReceiver(rfc4733.ReceiverConfig{ClockRate: 48000, FixedClockRate: true})
	var echoed string
	for _, p := range o.received() {
		if p.PayloadType != 110 {
			continue
		}
		evs, _ = back.Push(evs[:0], rfc4733.Packet{SSRC: p.SSRC, SequenceNumber: p.SequenceNumber,
			Timestamp: p.Timestamp, Marker: p.Marker, Payload: p.Payload}, time.Now())
		for _, ev := range evs {
			if ev.Kind == digit.Ended {
				echoed += ev.Digit.String()
			}
		}
	}
	if echoed != "*0" {
		t.Errorf("offerer got digits %q, want \"*0\"", echoed)
	}
}

// sendEvents plays digits as RFC 4733 packets in real time through the
// BeginEvent/WriteAt/EndEvent methods of a stream.
func sendEvents(t *testing.T, begin func() uint32, writeAt func(uint8, []byte, uint32, bool) error,
	end func(uint32), digits string, pt uint8) {
	t.Helper()
	steps, err := rfc4733.Generate(digits, rfc4733.GenerateConfig{ClockRate: 48000})
	if err != nil {
		t.Fatal(err)
	}
	base := begin()
	start := time.Now()
	for _, st := range steps {
		time.Sleep(time.Until(start.Add(st.At)))
		if err := writeAt(pt, st.Payload[:], base+st.Timestamp, st.Marker); err != nil {
			t.Fatal(err)
		}
	}
	end(uint32(time.Since(start) * 48000 / time.Second))
}

// TestWriteBeforeConnected checks that writes before DTLS is up advance
// the clock and say so, and that a leg closed before Answer refuses it.
func TestWriteBeforeConnected(t *testing.T) {
	leak.Check(t)
	e := newEngine(t)
	leg := e.NewLeg(LegConfig{})
	ts := leg.Timestamp()
	if err := leg.WriteSample([]byte{1, 2, 3}, 960, true); !errors.Is(err, ErrNotConnected) {
		t.Errorf("write before answer: %v", err)
	}
	if got := leg.Timestamp(); got != ts+960 {
		t.Errorf("timestamp %d, want %d", got, ts+960)
	}
	leg.Skip(480)
	if got := leg.Timestamp(); got != ts+1440 {
		t.Errorf("timestamp after Skip %d, want %d", got, ts+1440)
	}
	if err := leg.WriteSample(make([]byte, MaxPayload+1), 960, false); !errors.Is(err, ErrPayloadTooLarge) {
		t.Errorf("oversized write: %v", err)
	}
	if err := leg.WriteRTP(128, nil, 0, false); !errors.Is(err, ErrPayloadType) {
		t.Errorf("PT 128: %v", err)
	}
	if err := leg.Close(); err != nil {
		t.Fatal(err)
	}
	o := newOfferer(t, opusCodec)
	if _, err := leg.Answer(context.Background(), o.offer(t)); !errors.Is(err, ErrState) {
		t.Errorf("answer after close: %v", err)
	}
	if leg.State() != StateClosed {
		t.Errorf("state %s", leg.State())
	}
}

// TestAnswerTwice checks that a second offer on an answered leg is
// refused (renegotiation is not supported yet).
func TestAnswerTwice(t *testing.T) {
	leak.Check(t)
	e := newEngine(t)
	leg := e.NewLeg(LegConfig{})
	defer leg.Close()
	o := newOfferer(t, opusCodec)
	offer := o.offer(t)
	if _, err := leg.Answer(context.Background(), offer); err != nil {
		t.Fatal(err)
	}
	if _, err := leg.Answer(context.Background(), offer); !errors.Is(err, ErrState) {
		t.Errorf("second answer: %v", err)
	}
}

// stateLog records what OnState reports.
type stateLog struct {
	mu     sync.Mutex
	states []State
}

func (s *stateLog) on(st State) {
	s.mu.Lock()
	s.states = append(s.states, st)
	s.mu.Unlock()
}

func (s *stateLog) get() []State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]State(nil), s.states...)
}

func (s *stateLog) has(want State) bool { return containsState(s.get(), want) }

// TestRemoteClose checks that the far end closing the connection (DTLS
// close_notify, as a browser's pc.close() sends) is reported as
// StateClosed at once, and only once when the owner then closes the leg.
func TestRemoteClose(t *testing.T) {
	leak.Check(t)
	e := newEngine(t)
	var states stateLog
	leg := e.NewLeg(LegConfig{OnState: states.on})
	defer leg.Close()
	o := newOfferer(t, opusCodec)
	connect(t, o, leg)
	if err := o.pc.GracefulClose(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, func() bool { return states.has(StateClosed) })
	if leg.State() != StateClosed {
		t.Errorf("state %s", leg.State())
	}
	if err := leg.Close(); err != nil {
		t.Error(err)
	}
	got := states.get()
	if got[len(got)-1] != StateClosed || len(got) < 2 || got[len(got)-2] == StateClosed {
		t.Errorf("states %v: want one closed, last", got)
	}
}

// TestPeerVanishes checks that a far end that stops answering without
// closing (a browser whose machine went away) turns the leg disconnected,
// then failed, within the configured ICE consent timeouts.
func TestPeerVanishes(t *testing.T) {
	leak.Check(t)
	e, err := New(Config{IPs: []netip.Addr{loopback}, DisconnectedTimeout: 500 * time.Millisecond,
		FailedTimeout: time.Second, KeepaliveInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var states stateLog
	leg := e.NewLeg(LegConfig{OnState: states.on})
	defer leg.Close()
	o, hole := newMortalOfferer(t, opusCodec)
	connect(t, o, leg)
	start := time.Now()
	hole.dead.Store(true)
	waitFor(t, 10*time.Second, func() bool { return states.has(StateFailed) })
	t.Logf("failed after %s: %v", time.Since(start).Round(time.Millisecond), states.get())
	if !states.has(StateDisconnected) {
		t.Errorf("states %v: no disconnected before failed", states.get())
	}
}
