package webrtcpeer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard-voip/switchboard/workers/media/codec"
)

var loopback = netip.MustParseAddr("127.0.0.1")

// newEngine is an engine restricted to 127.0.0.1.
func newEngine(t testing.TB, codecs ...string) *Engine {
	t.Helper()
	e, err := New(Config{IPs: []netip.Addr{loopback}, Codecs: codecs})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// offerer is the far end of the tests: a plain pion PeerConnection on
// 127.0.0.1 that offers the given codecs, sends through a sendStream (so
// that it can send telephone-events with their own payload type) and
// collects what it receives.
type offerer struct {
	pc     *webrtc.PeerConnection
	sender *webrtc.RTPSender
	out    *sendStream
	wg     sync.WaitGroup
	mu     sync.Mutex
	got    []rtp.Packet // copies
	conn   chan struct{}
	once   sync.Once
	// countOnly makes the offerer count packets instead of keeping them
	// (set before connecting); count is the number received.
	countOnly bool
	count     atomic.Uint64
}

// opusCodec and friends are what a browser offers, with Chrome's numbers.
var (
	opusCodec = webrtc.RTPCodecParameters{PayloadType: 111, RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}}
	pcmuCodec = webrtc.RTPCodecParameters{PayloadType: 0, RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypePCMU, ClockRate: 8000, Channels: 1}}
	pcmaCodec = webrtc.RTPCodecParameters{PayloadType: 8, RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypePCMA, ClockRate: 8000, Channels: 1}}
	te48Codec = webrtc.RTPCodecParameters{PayloadType: 110, RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: MimeTypeTelephoneEvent, ClockRate: 48000, Channels: 1, SDPFmtpLine: "0-16"}}
	te8Codec = webrtc.RTPCodecParameters{PayloadType: 126, RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: MimeTypeTelephoneEvent, ClockRate: 8000, Channels: 1, SDPFmtpLine: "0-16"}}
)

// loopbackSettings restricts a pion API to 127.0.0.1 (see PEERS.md).
func loopbackSettings() webrtc.SettingEngine {
	se := webrtc.SettingEngine{LoggerFactory: pionLogger{}}
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() && ip.To4() != nil })
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	return se
}

// newOfferer makes the far end; the first codec is the one it sends.
func newOfferer(t testing.TB, codecs ...webrtc.RTPCodecParameters) *offerer {
	t.Helper()
	return newOffererWith(t, loopbackSettings(), codecs...)
}

// blackhole is a socket that can be made to drop everything both ways, as
// if the far end's machine vanished without a word.
type blackhole struct {
	net.PacketConn
	dead atomic.Bool
}

func (b *blackhole) WriteTo(p []byte, a net.Addr) (int, error) {
	if b.dead.Load() {
		return len(p), nil
	}
	return b.PacketConn.WriteTo(p, a)
}

func (b *blackhole) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, a, err := b.PacketConn.ReadFrom(p)
		if err != nil || !b.dead.Load() {
			return n, a, err
		}
	}
}

// newMortalOfferer is an offerer whose ICE runs on one blackhole socket.
func newMortalOfferer(t testing.TB, codecs ...webrtc.RTPCodecParameters) (*offerer, *blackhole) {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	bh := &blackhole{PacketConn: conn}
	mux := ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: bh})
	t.Cleanup(func() { _ = mux.Close() }) // after the offerer's cleanup
	se := loopbackSettings()
	se.SetICEUDPMux(mux)
	return newOffererWith(t, se, codecs...), bh
}

// newOffererWith makes the far end with the given settings.
func newOffererWith(t testing.TB, se webrtc.SettingEngine, codecs ...webrtc.RTPCodecParameters) *offerer {
	t.Helper()
	me := &webrtc.MediaEngine{}
	for _, c := range codecs {
		if err := me.RegisterCodec(c, webrtc.RTPCodecTypeAudio); err != nil {
			t.Fatal(err)
		}
	}
	// The same interceptors as an Engine's, so that both ends cost the
	// same in the benchmark and RTCP reports flow both ways.
	reg := &interceptor.Registry{}
	st, err := stats.NewInterceptor()
	if err != nil {
		t.Fatal(err)
	}
	rr, err := report.NewReceiverInterceptor()
	if err != nil {
		t.Fatal(err)
	}
	sr, err := report.NewSenderInterceptor()
	if err != nil {
		t.Fatal(err)
	}
	reg.Add(st)
	reg.Add(rr)
	reg.Add(sr)
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se),
		webrtc.WithInterceptorRegistry(reg))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	o := &offerer{pc: pc, out: &sendStream{counters: &countersRef{}}, conn: make(chan struct{})}
	o.out.pt = uint8(codecs[0].PayloadType)
	if o.sender, err = pc.AddTrack(o.out); err != nil {
		t.Fatal(err)
	}
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			o.once.Do(func() { close(o.conn) })
		}
	})
	o.wg.Add(1) // released by the track handler or by close
	var started sync.Once
	release := func() { started.Do(o.wg.Done) }
	pc.OnTrack(func(tr *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
		defer release()
		// Read RTCP both ways as a browser does: the receiver's sender
		// reports give our receiver reports their LSR, hence the leg's
		// round-trip time.
		o.wg.Go(func() { drainRTCP(r.Read) })
		o.wg.Go(func() { drainRTCP(o.sender.Read) })
		if o.countOnly {
			buf := make([]byte, receiveMTU)
			for {
				if n, _, err := tr.Read(buf); err != nil && n == 0 {
					return
				}
				o.count.Add(1)
			}
		}
		for {
			p, _, err := tr.ReadRTP()
			if err != nil && p == nil {
				return
			}
			o.mu.Lock()
			o.got = append(o.got, *p)
			o.mu.Unlock()
		}
	})
	t.Cleanup(func() {
		_ = pc.GracefulClose()
		release()
		o.wg.Wait()
	})
	return o
}

// drainRTCP reads until the stream closes.
func drainRTCP(read func([]byte) (int, interceptor.Attributes, error)) {
	buf := make([]byte, receiveMTU)
	for {
		if _, _, err := read(buf); err != nil && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe)) {
			return
		}
	}
}

// offer makes the offer with every candidate in it.
func (o *offerer) offer(t testing.TB) []byte {
	t.Helper()
	b, err := o.makeOffer()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (o *offerer) makeOffer() ([]byte, error) {
	desc, err := o.pc.CreateOffer(nil)
	if err != nil {
		return nil, err
	}
	done := webrtc.GatheringCompletePromise(o.pc)
	if err := o.pc.SetLocalDescription(desc); err != nil {
		return nil, err
	}
	<-done
	return []byte(o.pc.LocalDescription().SDP), nil
}

// connect runs offer/answer between o and leg and waits until both are
// connected.
func connect(t testing.TB, o *offerer, leg *Leg) {
	t.Helper()
	if err := o.connect(leg, 10*time.Second); err != nil {
		t.Fatal(err)
	}
}

// connect is connect for any goroutine.
func (o *offerer) connect(leg *Leg, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	offer, err := o.makeOffer()
	if err != nil {
		return err
	}
	answer, err := leg.Answer(ctx, offer)
	if err != nil {
		return err
	}
	if err := o.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(answer)}); err != nil {
		return err
	}
	select {
	case <-o.conn:
	case <-ctx.Done():
		return errors.New("offerer did not connect")
	}
	for leg.State() != StateConnected {
		if ctx.Err() != nil {
			return fmt.Errorf("leg %s", leg.State())
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

// received returns copies of the packets the offerer got so far.
func (o *offerer) received() []rtp.Packet {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]rtp.Packet(nil), o.got...)
}

// waitFor polls cond every 10 ms until it holds or d passes.
func waitFor(t testing.TB, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// toneSender encodes a sine of freq Hz at rate into frames of 20 ms of
// format f and calls write with each payload and its timestamp step.
type toneSender struct {
	enc   codec.Encoder
	f     *codec.Format
	rate  int
	freq  float64
	n     int // samples generated so far
	pcm   []int16
	out   []byte
	write func(payload []byte, samples uint32, marker bool) error
}

func newToneSender(t testing.TB, f *codec.Format, freq float64, write func([]byte, uint32, bool) error) *toneSender {
	t.Helper()
	rate := f.Rates()[len(f.Rates())-1] // 48000 for Opus, 8000 for G.711
	enc, err := f.NewEncoder(rate, codec.DefaultOpusConfig(rate))
	if err != nil {
		t.Fatal(err)
	}
	return &toneSender{enc: enc, f: f, rate: rate, freq: freq, pcm: make([]int16, rate/50),
		out: make([]byte, codec.MaxPayload), write: write}
}

// frame sends the next 20 ms.
func (s *toneSender) frame() error {
	for i := range s.pcm {
		s.pcm[i] = int16(10000 * math.Sin(2*math.Pi*s.freq*float64(s.n+i)/float64(s.rate)))
	}
	first := s.n == 0
	s.n += len(s.pcm)
	n, err := s.enc.Encode(s.pcm, s.out)
	if err != nil {
		return err
	}
	return s.write(s.out[:n], s.f.Timestamp(len(s.pcm), s.rate), first)
}

// every20ms returns a loop that calls f every 20 ms, as the media worker's
// playout clock does, until stop is closed.
func every20ms[T any](stop <-chan struct{}, f func() T) func() {
	return func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				f()
			}
		}
	}
}

// decoder collects the PCM of the audio packets given to it.
type decoder struct {
	mu  sync.Mutex
	dec codec.Decoder
	pt  uint8
	pcm []int16
	buf []int16
}

func newDecoder(t testing.TB, f *codec.Format, pt uint8) *decoder {
	t.Helper()
	rate := f.Rates()[len(f.Rates())-1]
	dec, err := f.NewDecoder(rate)
	if err != nil {
		t.Fatal(err)
	}
	return &decoder{dec: dec, pt: pt, buf: make([]int16, codec.MaxPacketSamples(rate))}
}

func (d *decoder) push(p *rtp.Packet) {
	if p.PayloadType != d.pt {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if n, err := d.dec.Decode(p.Payload, d.buf); err == nil {
		d.pcm = append(d.pcm, d.buf[:n]...)
	}
}

func (d *decoder) samples() []int16 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]int16(nil), d.pcm...)
}

// goroutinesSettle waits until the process is back to at most base
// goroutines: every goroutine of pion and of the leg has ended.
func goroutinesSettle(t testing.TB, base int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines left, %d before:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}
