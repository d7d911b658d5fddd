package e2e

import (
	"context"
	"fmt"
	"math"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/nats-io/nats.go"

	"github.com/switchboard-voip/switchboard/cmd/app"
	"github.com/switchboard-voip/switchboard/cmd/config"
	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/test/audio"
	"github.com/switchboard-voip/switchboard/test/browser"
)

// The demo page (edge/web/index.html) in headless Chromium, against the
// whole platform and baresip phones, all inside a loopback-only network
// namespace (test/browser): the browser's fake microphone plays a 660 Hz
// WAV, the phones send tones of their own, and each side measures what it
// hears. RTP 35000-35499 (platform 35000-35199, phones above), WebRTC
// 35500-35999.

const browserHz = 660

// browserApp runs `up` in-process with SIP, RTP and WebRTC on loopback.
func browserApp(t *testing.T) *app.App {
	t.Helper()
	return sipApp(t, 35000, func(c *config.Config) {
		c.WebRTCPortMin, c.WebRTCPortMax = 35500, 35999
	})
}

// demoPage is headless Chromium on the platform's demo page, its fake
// microphone playing a browserHz tone.
type demoPage struct {
	t   *testing.T
	ctx context.Context
}

func openDemo(t *testing.T, httpAddr string) *demoPage {
	t.Helper()
	wav := filepath.Join(t.TempDir(), "mic.wav")
	if out, err := exec.Command("sox", "-n", "-r", "48000", "-c", "1", "-b", "16", wav,
		"synth", "120", "sine", fmt.Sprint(browserHz), "vol", "0.5").CombinedOutput(); err != nil {
		t.Fatalf("sox: %v\n%s", err, out)
	}
	ctx := browser.Start(t, browser.Config{FakeAudio: wav, Timeout: 3 * time.Minute})
	if err := chromedp.Do(ctx, chromedp.Navigate("http://"+httpAddr+"/?raw=1")); err != nil {
		t.Fatal(err)
	}
	p := &demoPage{t: t, ctx: ctx}
	p.eval(measureJS)
	return p
}

// eval runs JavaScript in the page (a format string).
func (p *demoPage) eval(js string, args ...any) {
	p.t.Helper()
	if _, err := chromedp.Run(p.ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(js, args...))); err != nil {
		p.t.Fatalf("%s: %v", fmt.Sprintf(js, args...), err)
	}
}

func evalAs[T any](p *demoPage, js string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		p.t.Fatalf("%s: %v", js, err)
	}
	return v
}

// poll waits until expr is true in the page.
func (p *demoPage) poll(what, expr string, d time.Duration) {
	p.t.Helper()
	if _, err := chromedp.Run(p.ctx, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(d))); err != nil {
		st := evalAs[string](p, `sb.state + " " + sb.error + " call " + sb.callId + " peer " + sb.peerCallId + "; events: " +
			sb.events.filter(e => !e.type.endsWith("media_stats")).map(e => e.type.slice(15) + " " + e.call_id + " " + JSON.stringify(e.data)).join("\n")`)
		p.t.Fatalf("%s: %v (page: %s)", what, err, st)
	}
}

// connected waits for the page's call to be up.
func (p *demoPage) connected(d time.Duration) string {
	p.t.Helper()
	p.poll("page connected", `sb.state === "connected" || sb.state === "failed"`, d)
	if s := evalAs[string](p, `sb.state + " " + sb.error`); !strings.HasPrefix(s, "connected") {
		p.t.Fatalf("page: %s", s)
	}
	return evalAs[string](p, `sb.callId`)
}

// measureJS measures what the page's call receives: the strongest
// frequency (100-3500 Hz) and the level at chosen frequencies, ten times
// a second over 8192-point FFTs, following sb.remoteStream when the page
// reconnects.
const measureJS = `
window.meas = {frames: 0, peakHz: 0, peakDb: -Infinity, at: {}, freqs: []};
(function () {
  let stream = null, an = null, bins = null, hz = 0;
  const ctx = new AudioContext();
  setInterval(() => {
    if (sb.remoteStream && sb.remoteStream !== stream) {
      stream = sb.remoteStream;
      ctx.resume();
      an = ctx.createAnalyser();
      an.fftSize = 8192;
      an.smoothingTimeConstant = 0;
      ctx.createMediaStreamSource(stream).connect(an);
      bins = new Float32Array(an.frequencyBinCount);
      hz = ctx.sampleRate / an.fftSize;
    }
    if (!an) return;
    an.getFloatFrequencyData(bins);
    let best = -Infinity, at = 0;
    for (let i = Math.ceil(100 / hz); i <= 3500 / hz; i++) {
      if (bins[i] > best) { best = bins[i]; at = i; }
    }
    meas.peakHz = at * hz;
    meas.peakDb = best;
    for (const f of meas.freqs) {
      let m = -Infinity;
      for (let i = Math.round(f / hz) - 2; i <= Math.round(f / hz) + 2; i++) m = Math.max(m, bins[i]);
      meas.at[f] = m;
    }
    meas.frames++;
  }, 100);
})();
`

// hearing is the page's measurement.
type hearing struct {
	Frames int                `json:"frames"`
	PeakHz float64            `json:"peakHz"`
	PeakDb float64            `json:"peakDb"`
	At     map[string]float64 `json:"at"`
}

// hear waits until the page hears the loudest of tones (after 10 fresh
// frames) and returns the measurement, with the level at every tone.
func (p *demoPage) hear(tones ...float64) hearing {
	p.t.Helper()
	js := make([]string, len(tones))
	for i, f := range tones {
		js[i] = fmt.Sprint(f)
	}
	p.eval(`meas.freqs = [%s]; meas.frames = 0`, strings.Join(js, ","))
	cond := make([]string, len(tones))
	for i, f := range tones {
		cond[i] = fmt.Sprintf("Math.abs(meas.peakHz - %g) < 25", f)
	}
	p.poll(fmt.Sprintf("page hears %v", tones), "meas.frames >= 10 && ("+strings.Join(cond, " || ")+")", 15*time.Second)
	return evalAs[hearing](p, `meas`)
}

// pageEvents is the type of every event the page got from /events.
func (p *demoPage) pageEvents() []string {
	return evalAs[[]string](p, `sb.events.map(e => e.type.replace("io.switchboard.", "") + " " + (e.call_id || e.conference))`)
}

func hasEvent(evs []string, prefix string) bool {
	return slices.ContainsFunc(evs, func(e string) bool { return strings.HasPrefix(e, prefix) })
}

// lastSeconds is the last d of pcm.
func lastSeconds(w wavPCM, d float64) []int16 {
	n := int(d * float64(w.rate))
	if len(w.samples) < n {
		return w.samples
	}
	return w.samples[len(w.samples)-n:]
}

// bothHear checks that the page hears the phone's tone (WebAudio FFT) and
// the phone hears the browser's (its last second of recording).
func (p *demoPage) bothHear(t *testing.T, phone *baresip, what string) {
	t.Helper()
	hz := float64(phone.opts.toneHz)
	h := p.hear(hz)
	t.Logf("page hears %.0f Hz at %.1f dB (%s)", h.PeakHz, h.PeakDb, what)
	if math.Abs(h.PeakHz-hz) > 25 || h.PeakDb < -70 {
		t.Errorf("page hears %.0f Hz at %.1f dB, want the phone's %.0f Hz (%s)", h.PeakHz, h.PeakDb, hz, what)
	}
	waitRecorded(t, 1500*time.Millisecond, map[*baresip]int{phone: recordedSamples(t, phone)})
	w := recordedWAV(t, phone)
	checkTone(t, phone.opts.user+" hears the browser ("+what+")", lastSeconds(w, 1), float64(w.rate), browserHz, hz, -9)
}

// browserTest starts what every demo page test needs, inside the
// namespace; ok false means this is the parent, which must return.
func browserTest(t *testing.T, tools ...string) (a *app.App, nc *nats.Conn, ok bool) {
	t.Helper()
	needTools(t, append([]string{"chromium", "sox"}, tools...)...)
	if !browser.InLoopbackNetns(t) {
		return nil, nil, false
	}
	a = browserApp(t)
	return a, connect(t, a.NATSURL()), true
}

// TestDemoPageCallsBaresip: the demo page dials a baresip phone through
// the platform (Opus to the browser, G.711 to the phone, transcoded).
// The phone hears the browser's 660 Hz, the page hears the phone's 440 Hz
// (WebAudio FFT), insertDTMF("159#") becomes exactly four dtmf events on
// NATS, the page's live log shows the calls' events, and Hang up ends both
// calls and the phone's.
func TestDemoPageCallsBaresip(t *testing.T) {
	a, nc, ok := browserTest(t, "baresip")
	if !ok {
		return
	}
	ce := watchCalls(t, nc)
	bob := startBaresip(t, baresipOpts{user: "bob", toneHz: 440, autoAnswer: true, rtpPorts: "35200-35299"})
	page := openDemo(t, a.HTTPAddr())

	page.eval(`sb.call(%q)`, bob.SIPURI())
	callID := page.connected(20 * time.Second)
	bob.waitEvent(t, "CALL_ESTABLISHED", 10*time.Second)
	peer := evalAs[string](page, `sb.peerCallId`)
	br := ce.wait(t, typeBridged, callID, 1, 10*time.Second)[0].Data.(*events.CallBridged)
	if br.PeerCallID != peer || peer == "" {
		t.Fatalf("browser call bridged to %q, page says its peer is %q", br.PeerCallID, peer)
	}
	inc := ce.wait(t, typeIncoming, callID, 1, time.Second)[0].Data.(*events.CallIncoming)
	ans := ce.wait(t, typeAnswered, callID, 1, time.Second)[0].Data.(*events.CallAnswered)
	ansPeer := ce.wait(t, typeAnswered, peer, 1, time.Second)[0].Data.(*events.CallAnswered)
	t.Logf("browser call %s (%s, route %s, %s) bridged to %s (%s), transcoding %v",
		callID, inc.Transport, inc.Route, ans.Codec, peer, ansPeer.Codec, br.Transcoding)
	if inc.Transport != events.TransportWebRTC || !strings.HasPrefix(ans.Codec, "opus") || !br.Transcoding {
		t.Errorf("browser call: transport %s, codec %s, transcoding %v; want webrtc, Opus, transcoded", inc.Transport, ans.Codec, br.Transcoding)
	}

	page.bothHear(t, bob, "bridged")

	// Mute: the phone hears the browser no more; unmute: again.
	page.eval(`sb.mute(true)`)
	time.Sleep(500 * time.Millisecond)
	waitRecorded(t, time.Second, map[*baresip]int{bob: recordedSamples(t, bob)})
	w := recordedWAV(t, bob)
	muted := audio.ToneLevel(lastSeconds(w, 0.8), float64(w.rate), browserHz)
	page.eval(`sb.mute(false)`)
	time.Sleep(500 * time.Millisecond)
	waitRecorded(t, time.Second, map[*baresip]int{bob: recordedSamples(t, bob)})
	w = recordedWAV(t, bob)
	unmuted := audio.ToneLevel(lastSeconds(w, 0.8), float64(w.rate), browserHz)
	t.Logf("bob hears the browser's %d Hz at %.1f dBFS muted, %.1f dBFS unmuted", browserHz, muted, unmuted)
	if muted > -50 || unmuted < -15 {
		t.Errorf("mute: %.1f dBFS muted, %.1f unmuted; want silence then the tone", muted, unmuted)
	}

	// DTMF from the keypad's code path.
	dtmf := watchEvents(t, nc, events.CallEventSubject(callID, "dtmf"))
	page.eval(`sb.sendDTMF("159#")`)
	got := dtmf.wait(t, "io.switchboard.call.v1.dtmf", callID, 4, 10*time.Second)
	time.Sleep(time.Second) // a duplicate would come within this
	got = dtmf.of("io.switchboard.call.v1.dtmf", callID)
	var digits []string
	for _, e := range got {
		d := e.Data.(*events.CallDTMF)
		digits = append(digits, d.Digit+"/"+d.Source)
	}
	t.Logf("dtmf events: %v", digits)
	if len(got) != 4 || strings.Join(digits, " ") != "1/rfc4733 5/rfc4733 9/rfc4733 #/rfc4733" {
		t.Errorf("dtmf events %v, want 1 5 9 # once each from rfc4733", digits)
	}

	// The page's log has seen the calls' events through /events.
	page.poll("page saw the dtmf", `sb.events.filter(e => e.type.endsWith(".dtmf")).length >= 4`, 5*time.Second)
	evs := page.pageEvents()
	for _, want := range []string{"call.v1.incoming " + callID, "call.v1.answered " + callID, "call.v1.bridged " + callID, "call.v1.answered " + peer} {
		if !hasEvent(evs, want) {
			t.Errorf("the page's event log lacks %q: %v", want, evs)
		}
	}

	// Hang up from the page.
	page.eval(`sb.hangup()`)
	for _, id := range []string{callID, peer} {
		c := ce.wait(t, typeCompleted, id, 1, 10*time.Second)[0].Data.(*events.CallCompleted)
		t.Logf("%s completed: %s by %s (%s)", id, c.Status, c.HangupBy, c.Reason)
	}
	if c := ce.of(typeCompleted, callID)[0].Data.(*events.CallCompleted); c.HangupBy != events.ByApp {
		t.Errorf("browser call hung up by %q, want %q (DELETE)", c.HangupBy, events.ByApp)
	}
	bob.waitEvent(t, "CALL_CLOSED", 10*time.Second)
	page.poll("page ended", `sb.state === "ended"`, 5*time.Second)
}

// TestDemoPageAnswersRingingCall: a phone calls the platform's app route;
// the call rings; the demo page answers it by call id (POST
// /whip?call_id=), and the phone and the browser hear each other.
func TestDemoPageAnswersRingingCall(t *testing.T) {
	a, nc, ok := browserTest(t, "baresip")
	if !ok {
		return
	}
	ce := watchCalls(t, nc)
	alice := startBaresip(t, baresipOpts{user: "alice", toneHz: 520, codecs: "PCMA/8000/1", rtpPorts: "35200-35299"})
	page := openDemo(t, a.HTTPAddr())

	alice.mustCommand(t, "dial", "sip:support@"+a.SIPAddr())
	inc := ce.wait(t, typeIncoming, "", 1, 10*time.Second)[0]
	ce.wait(t, typeRinging, inc.CallID, 1, 5*time.Second)
	alice.waitEvent(t, "CALL_RINGING", 5*time.Second)

	page.eval(`sb.answer(%q)`, inc.CallID)
	callID := page.connected(20 * time.Second)
	alice.waitEvent(t, "CALL_ESTABLISHED", 5*time.Second)
	br := ce.wait(t, typeBridged, callID, 1, 5*time.Second)[0].Data.(*events.CallBridged)
	if br.PeerCallID != inc.CallID {
		t.Fatalf("browser call bridged to %s, want the ringing call %s", br.PeerCallID, inc.CallID)
	}
	if p := evalAs[string](page, `sb.peerCallId`); p != inc.CallID {
		t.Errorf("page's peer %q, want %q", p, inc.CallID)
	}
	ans := ce.wait(t, typeAnswered, inc.CallID, 1, time.Second)[0].Data.(*events.CallAnswered)
	t.Logf("ringing call %s answered by the browser's %s (%s)", inc.CallID, callID, ans.Codec)

	page.bothHear(t, alice, "answered")

	// A call that is no longer ringing nor free cannot be taken twice.
	got, err := chromedp.Run(page.ctx, chromedp.Evaluate[string](fmt.Sprintf(`fetch("/whip?call_id=%s", {method: "POST",
		headers: {"Content-Type": "application/sdp"}, body: sb.pc.localDescription.sdp}).then(async r => r.status + " " + await r.text())`,
		inc.CallID), chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("second attach: %s", strings.TrimSpace(got))
	if !strings.HasPrefix(got, "409 ") || !strings.Contains(got, "already bridged") {
		t.Errorf("attaching to a bridged call: %q, want 409 already bridged", got)
	}

	alice.mustCommand(t, "hangup", "")
	ce.wait(t, typeCompleted, callID, 1, 10*time.Second)
	page.poll("page ended", `sb.state === "ended"`, 5*time.Second)
}

// TestDemoPageJoinsConference: two baresip members (PCMU 400 Hz, Opus
// 900 Hz) in a room, and the demo page joins it: the page hears both
// tones, each phone hears the browser and the other phone but not itself,
// and the page's log shows the room's events.
func TestDemoPageJoinsConference(t *testing.T) {
	a, nc, ok := browserTest(t, "baresip")
	if !ok {
		return
	}
	cf := watchEvents(t, nc, "sb.evt.conf.>")
	const room = "webroom"
	ms := joinPhones(t, a.SIPAddr(), room, cf, 35200, []int{400, 900}, []string{"PCMU/8000/1", "opus/48000/2"})
	page := openDemo(t, a.HTTPAddr())

	page.eval(`sb.join(%q)`, room)
	callID := page.connected(20 * time.Second)
	j := cf.wait(t, typeMemberJoined, callID, 1, 10*time.Second)[0].Data.(*events.MemberJoined)
	t.Logf("browser %s joined %s as member %d (%s)", callID, room, j.Members, j.Codec)
	if j.Members != 3 {
		t.Errorf("member_joined says %d members, want 3", j.Members)
	}

	page.hear(400, 900)
	// Then the level at its own tone too, which must not come back.
	page.eval(`meas.freqs = [400, 900, 660]; meas.frames = 0`)
	page.poll("page measured", `meas.frames >= 5`, 5*time.Second)
	h := evalAs[hearing](page, `meas`)
	t.Logf("page hears 400 Hz at %.1f dB, 900 Hz at %.1f dB, 660 Hz (own) at %.1f dB", h.At["400"], h.At["900"], h.At["660"])
	if h.At["400"] < -70 || h.At["900"] < -70 || math.Abs(h.At["400"]-h.At["900"]) > 15 {
		t.Errorf("page hears 400 Hz at %.1f dB and 900 Hz at %.1f dB; want both, at similar levels", h.At["400"], h.At["900"])
	}
	if h.At["660"] > min(h.At["400"], h.At["900"])-25 {
		t.Errorf("page hears its own 660 Hz at %.1f dB (others %.1f, %.1f): mix-minus broken", h.At["660"], h.At["400"], h.At["900"])
	}

	from := marks(t, ms)
	recordFor(t, ms, from, 2*time.Second)
	for i, m := range ms {
		w := recordedWAV(t, m.phone)
		other := ms[1-i].hz
		hears(t, fmt.Sprintf("%.0f Hz phone", m.hz), lastSeconds(w, 1), float64(w.rate), []float64{browserHz, other}, []float64{m.hz})
	}

	page.poll("page saw the room", `sb.events.some(e => e.type.endsWith("conference.v1.member_joined"))`, 5*time.Second)
	page.eval(`sb.hangup()`)
	left := cf.wait(t, typeMemberLeft, callID, 1, 10*time.Second)[0].Data.(*events.MemberLeft)
	t.Logf("browser left: %s", left.Reason)
}

// TestDemoPageComesBackAfterWorkerKill (issue 8): the demo page calls a
// baresip phone; the edge and NATS run in one process, the media role in
// two others. kill -9 of the worker that owns the call: the survivor
// takes the phone's leg over (re-INVITE) and ends the browser's leg (a
// DTLS-SRTP session cannot move) with 503 "owner changed"; the page sees
// that on its event stream and comes back to the same phone by itself
// (POST /whip?call_id=<phone's call>); both hear each other again and the
// phone's call never ends.
func TestDemoPageComesBackAfterWorkerKill(t *testing.T) {
	needTools(t, "chromium", "baresip", "sox")
	if !browser.InLoopbackNetns(t) {
		return
	}
	up := startProc(t, "up", "--node-id", "edge", "--roles", "conference,dtmf", "--data", t.TempDir(), "--nats-port", "-1",
		"--http", "127.0.0.1:0", "--sip-host", "127.0.0.1", "--sip-port", "0", "--sip-advertise", "127.0.0.1")
	natsURL, httpAddr := up.logValue(t, "url"), strings.TrimPrefix(up.logValue(t, "http"), "http://")
	workers := map[string]*proc{}
	for i, id := range []string{"w2", "w3"} {
		rtp, webrtc := 35000+100*i, 35500+250*i
		workers[id] = startProc(t, "worker", "--node-id", id, "--nats", natsURL, "--roles", "media", "--http", "127.0.0.1:0",
			"--media-ip", "127.0.0.1", "--rtp-port-min", itoa(rtp), "--rtp-port-max", itoa(rtp+99),
			"--webrtc-port-min", itoa(webrtc), "--webrtc-port-max", itoa(webrtc+249))
	}
	mediaSplit(t, natsURL, "w2", "w3")
	nc := connect(t, natsURL)
	ce := watchCalls(t, nc)
	bob := startBaresip(t, baresipOpts{user: "bob", toneHz: 440, autoAnswer: true, rtpPorts: "35200-35299"})
	page := openDemo(t, httpAddr)

	page.eval(`sb.call(%q)`, bob.SIPURI())
	callID := page.connected(20 * time.Second)
	bob.waitEvent(t, "CALL_ESTABLISHED", 10*time.Second)
	peer := evalAs[string](page, `sb.peerCallId`)
	page.hear(440)

	owner := ce.of(typeAnswered, callID)[0].Node
	killed := time.Now()
	_ = workers[owner].cmd.Process.Kill()
	c := ce.wait(t, typeCompleted, callID, 1, 10*time.Second)[0]
	t.Logf("browser leg %s ended by %s %v after the kill: %+v", callID, c.Node, c.Time.Sub(killed).Round(time.Millisecond), c.Data)
	m := ce.wait(t, typeMigrated, peer, 1, 10*time.Second)[0]
	t.Logf("phone leg %s migrated to %s %v after the kill", peer, m.Node, m.Time.Sub(killed).Round(time.Millisecond))

	page.poll("page came back", `sb.reconnects === 1 && sb.state === "connected"`, 20*time.Second)
	back := evalAs[string](page, `sb.callId`)
	br := ce.wait(t, typeBridged, back, 1, 10*time.Second)[0]
	t.Logf("page came back as %s, bridged to %s, %v after the kill", back, br.Data.(*events.CallBridged).PeerCallID, br.Time.Sub(killed).Round(time.Millisecond))
	if br.Data.(*events.CallBridged).PeerCallID != peer {
		t.Fatalf("the page came back to %s, want the phone's call %s", br.Data.(*events.CallBridged).PeerCallID, peer)
	}
	page.bothHear(t, bob, fmt.Sprintf("again, %v after the kill", time.Since(killed).Round(time.Millisecond)))
	if n := len(ce.of(typeCompleted, peer)); n != 0 {
		t.Errorf("the phone's call ended during the failover")
	}
	if _, ok := bob.eventWithin("CALL_CLOSED", 0); ok {
		t.Errorf("bob's call was closed")
	}
	page.eval(`sb.hangup()`)
	ce.wait(t, typeCompleted, peer, 1, 10*time.Second)
	bob.waitEvent(t, "CALL_CLOSED", 10*time.Second)
}

// TestDemoPageEcho: what a new user tries first after `switchboard up`:
// the demo page's echo test (POST /whip?echo) hears its own microphone
// back through the platform.
func TestDemoPageEcho(t *testing.T) {
	a, _, ok := browserTest(t)
	if !ok {
		return
	}
	page := openDemo(t, a.HTTPAddr())
	page.eval(`sb.callEcho()`)
	page.connected(20 * time.Second)
	h := page.hear(browserHz)
	t.Logf("page hears its own %.0f Hz back at %.1f dB", h.PeakHz, h.PeakDb)
	if math.Abs(h.PeakHz-browserHz) > 25 || h.PeakDb < -70 {
		t.Errorf("page hears %.0f Hz at %.1f dB, want its own %d Hz echoed", h.PeakHz, h.PeakDb, browserHz)
	}
	page.eval(`sb.hangup()`)
	page.poll("page ended", `sb.state === "ended"`, 5*time.Second)
}
