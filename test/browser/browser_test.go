package browser_test

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pion/rtp"

	"github.com/switchboard-voip/switchboard/test/audio"
	"github.com/switchboard-voip/switchboard/test/browser"
	"github.com/switchboard-voip/switchboard/workers/dtmf/digit"
	"github.com/switchboard-voip/switchboard/workers/dtmf/rfc4733"
	"github.com/switchboard-voip/switchboard/workers/media/codec"
	"github.com/switchboard-voip/switchboard/workers/media/webrtcpeer"
)

// TestLoopbackNetns proves the harness: inside, loopback is the only
// interface, it is up, and any other destination is unreachable.
func TestLoopbackNetns(t *testing.T) {
	if !browser.InLoopbackNetns(t) {
		return
	}
	ifs, _ := net.Interfaces()
	for _, i := range ifs {
		t.Logf("interface %s %v", i.Name, i.Flags)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
		}
	}()
	c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second)
	if err != nil {
		t.Fatalf("loopback unusable: %v", err)
	}
	c.Close()
	// 192.0.2.0/24 is TEST-NET-1 (RFC 5737): with no route at all the
	// kernel refuses at once instead of sending anything.
	if c, err := net.DialTimeout("udp", "192.0.2.1:9", time.Second); err == nil {
		_, err = c.Write([]byte("x"))
		c.Close()
		if err == nil {
			t.Fatal("a packet to 192.0.2.1 left the namespace")
		}
	} else {
		t.Logf("192.0.2.1: %v", err)
	}
}

// legServer is the test's stand-in for the edge's WHIP-style endpoint: a
// POSTed offer is answered by a webrtcpeer leg (201 and the answer), or
// refused with 400/488 and the reason. The leg sends a 1 kHz tone, decodes
// the browser's Opus and collects its RFC 4733 digits.
type legServer struct {
	t      *testing.T
	engine *webrtcpeer.Engine

	mu     sync.Mutex
	leg    *webrtcpeer.Leg
	pcm    []int16
	digits string
	dec    codec.Decoder
	dtmf   *rfc4733.Receiver
	buf    []int16
	events []digit.Event

	stop chan struct{}
	wg   sync.WaitGroup
}

func (s *legServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	offer, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	for _, line := range strings.Split(string(offer), "\r\n") {
		if strings.HasPrefix(line, "m=") || strings.HasPrefix(line, "a=candidate:") {
			s.t.Logf("offer: %s", line)
		}
	}
	leg := s.engine.NewLeg(webrtcpeer.LegConfig{OnPacket: s.onPacket})
	answer, err := leg.Answer(r.Context(), offer)
	if err != nil {
		_ = leg.Close()
		code := http.StatusInternalServerError
		switch {
		case errors.Is(err, webrtcpeer.ErrBadOffer):
			code = http.StatusBadRequest
		case errors.Is(err, webrtcpeer.ErrNotAcceptable):
			code = 488
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, err.Error())
		return
	}
	neg := leg.Negotiated()
	s.t.Logf("answered: audio %+v, telephone-event %+v", neg.Audio, neg.TelephoneEvent)
	s.mu.Lock()
	s.leg = leg
	f, _ := codec.Lookup(neg.Audio.Name, neg.Audio.ClockRate, neg.Audio.Channels)
	rate := f.Rates()[len(f.Rates())-1]
	s.dec, _ = f.NewDecoder(rate)
	s.buf = make([]int16, codec.MaxPacketSamples(rate))
	if te := neg.TelephoneEvent; te != nil {
		s.dtmf, _ = rfc4733.NewReceiver(rfc4733.ReceiverConfig{ClockRate: te.ClockRate})
	}
	s.mu.Unlock()
	s.wg.Go(func() { s.sendTone(leg, f, rate, 1000) })
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", "/leg/1")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(answer)
}

// onPacket runs on the leg's receive goroutine.
func (s *legServer) onPacket(p *rtp.Packet) {
	s.mu.Lock()
	defer s.mu.Unlock()
	neg := s.leg.Negotiated()
	switch {
	case p.PayloadType == neg.Audio.PayloadType:
		if n, err := s.dec.Decode(p.Payload, s.buf); err == nil {
			s.pcm = append(s.pcm, s.buf[:n]...)
		}
	case neg.TelephoneEvent != nil && p.PayloadType == neg.TelephoneEvent.PayloadType:
		s.events, _ = s.dtmf.Push(s.events[:0], rfc4733.Packet{SSRC: p.SSRC, SequenceNumber: p.SequenceNumber,
			Timestamp: p.Timestamp, Marker: p.Marker, Payload: p.Payload}, time.Now())
		for _, ev := range s.events {
			if ev.Kind == digit.Ended {
				s.digits += ev.Digit.String()
			}
		}
	}
}

// sendTone sends freq Hz in 20 ms frames until the server stops.
func (s *legServer) sendTone(leg *webrtcpeer.Leg, f *codec.Format, rate int, freq float64) {
	enc, err := f.NewEncoder(rate, codec.DefaultOpusConfig(rate))
	if err != nil {
		s.t.Error(err)
		return
	}
	pcm := make([]int16, rate/50)
	out := make([]byte, codec.MaxPayload)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for n := 0; ; n += len(pcm) {
		select {
		case <-s.stop:
			return
		case <-tick.C:
		}
		for i := range pcm {
			pcm[i] = int16(12000 * math.Sin(2*math.Pi*freq*float64(n+i)/float64(rate)))
		}
		k, err := enc.Encode(pcm, out)
		if err == nil {
			_ = leg.WriteSample(out[:k], f.Timestamp(len(pcm), rate), n == 0)
		}
	}
}

func (s *legServer) received() ([]int16, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int16(nil), s.pcm...), s.digits
}

func (s *legServer) close() {
	close(s.stop)
	s.wg.Wait()
	s.mu.Lock()
	leg := s.leg
	s.mu.Unlock()
	if leg != nil {
		_ = leg.Close()
	}
}

// pageResult is the page's window.result.
type pageResult struct {
	State  string  `json:"state"`
	Error  *string `json:"error"`
	PeakHz float64 `json:"peakHz"`
	PeakDB float64 `json:"peakDb"`
	Frames int     `json:"frames"`
	Status int     `json:"status"`
	Reason string  `json:"reason"`
}

// TestBrowserLeg connects headless Chromium to a webrtcpeer leg, all on
// 127.0.0.1 in a loopback-only namespace: the page's fake microphone
// plays a sox-made 660 Hz WAV, which the Go side decodes and measures;
// the page measures the leg's 1 kHz tone with a WebAudio FFT; and
// insertDTMF("159#") reaches the leg as RFC 4733 events. A bad offer
// gets 400 and the reason.
func TestBrowserLeg(t *testing.T) {
	browser.NeedTools(t, "chromium", "sox")
	if !browser.InLoopbackNetns(t) {
		return
	}
	wav := filepath.Join(t.TempDir(), "mic.wav")
	if out, err := exec.Command("sox", "-n", "-r", "48000", "-c", "1", "-b", "16", wav,
		"synth", "60", "sine", "660", "vol", "0.5").CombinedOutput(); err != nil {
		t.Fatalf("sox: %v\n%s", err, out)
	}
	page, err := os.ReadFile(filepath.Join("testdata", "leg.html"))
	if err != nil {
		t.Fatal(err)
	}

	engine, err := webrtcpeer.New(webrtcpeer.Config{IPs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}})
	if err != nil {
		t.Fatal(err)
	}
	ls := &legServer{t: t, engine: engine, stop: make(chan struct{})}
	defer ls.close()
	mux := http.NewServeMux()
	mux.Handle("POST /offer", ls)
	mux.HandleFunc("GET /", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(page)
	})
	srv := httptest.NewServer(mux) // 127.0.0.1
	defer srv.Close()

	ctx := browser.Start(t, browser.Config{FakeAudio: wav})
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`start("/offer")`)); err != nil {
		t.Fatal(err)
	}
	poll := func(what, expr string, timeout time.Duration) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr,
			chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(timeout))); err != nil {
			r, _ := chromedp.Run(ctx, chromedp.Evaluate[pageResult](`window.result`))
			t.Fatalf("%s: %v (page: %+v)", what, err, r)
		}
	}
	poll("connected", `window.result.state === "connected" || window.result.error !== null`, 20*time.Second)
	if r, _ := chromedp.Run(ctx, chromedp.Evaluate[pageResult](`window.result`)); r.Error != nil {
		t.Fatalf("page: %s", *r.Error)
	}

	// The browser hears the leg's 1 kHz.
	poll("1 kHz heard", `window.result.frames >= 10 && Math.abs(window.result.peakHz - 1000) < 30`, 15*time.Second)
	r, err := chromedp.Run(ctx, chromedp.Evaluate[pageResult](`window.result`))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("browser hears %.0f Hz at %.1f dB", r.PeakHz, r.PeakDB)
	if r.PeakDB < -60 {
		t.Errorf("the leg's tone reaches the browser at %.1f dB only", r.PeakDB)
	}

	// The leg hears the browser's 660 Hz.
	deadline := time.Now().Add(10 * time.Second)
	for {
		pcm, _ := ls.received()
		if len(pcm) >= 48000*3/2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	pcm, _ := ls.received()
	if len(pcm) < 48000 {
		t.Fatalf("the leg decoded only %d samples", len(pcm))
	}
	pcm = pcm[len(pcm)-48000:] // the last second
	hz, rms := audio.PeakFrequency(pcm, 48000, 5)
	level := audio.ToneLevel(pcm, 48000, 660)
	t.Logf("leg hears %.0f Hz, RMS %.1f dBFS, 660 Hz at %.1f dBFS", hz, rms, level)
	if math.Abs(hz-660) > 15 || level < rms-3 || rms < -40 {
		t.Errorf("the leg hears %.0f Hz at RMS %.1f dBFS (660 Hz at %.1f), want the WAV's 660 Hz", hz, rms, level)
	}

	// DTMF from the browser.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`sendDTMF("159#")`)); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(10 * time.Second)
	var digits string
	for time.Now().Before(deadline) {
		if _, digits = ls.received(); digits == "159#" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("leg got digits %q", digits)
	if digits != "159#" {
		t.Errorf("the leg got digits %q, want \"159#\"", digits)
	}
	st := ls.leg.Stats()
	t.Logf("leg stats: sent %d, received %d, lost %d, jitter %s, RTT %s", st.PacketsSent, st.PacketsReceived, st.Lost, st.JitterDuration, st.RTT)

	// A bad offer from the page gets 400 and the reason.
	bad := fmt.Sprintf(`fetch(%q, {method: "POST", body: "not sdp"}).then(async r => r.status + " " + await r.text())`, srv.URL+"/offer")
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](bad, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got, "400 ") || !strings.Contains(got, "malformed offer") {
		t.Errorf("bad offer: %q", got)
	}
	_, _ = chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`pc.close()`))
}
