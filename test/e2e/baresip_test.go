package e2e

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/test/audio"
	"github.com/switchboard-voip/switchboard/test/natstest"
)

// TestBaresipBridge: baresip A (sending 440 Hz) calls the app route and
// rings; the app answers it, dials baresip B (sending 1 kHz, auto answer)
// with bridge_to A, and each phone records what it receives. A must hear
// B's tone and B A's tone, at a sane level, and neither its own. Hanging up
// A by command ends B too.
func TestBaresipBridge(t *testing.T) {
	for _, c := range []bridgeCase{
		{name: "g711", rtpBase: 44000, codecsA: "PCMU/8000/1,PCMA/8000/1", codecsB: "PCMU/8000/1,PCMA/8000/1", wantA: "PCMU/8000", wantB: "PCMU/8000"},
		// A speaks Opus, B only G.711: the bridge transcodes both ways.
		{name: "opus-pcmu", rtpBase: 45000, codecsA: "opus/48000/2", codecsB: "PCMU/8000/1", wantA: "opus/48000", wantB: "PCMU/8000", transcoding: true},
		// Both speak Opus and G.711: the dial offers the caller's Opus first,
		// so the bridge relays Opus untouched.
		{name: "opus-opus", rtpBase: 45500, codecsA: "opus/48000/2,PCMU/8000/1", codecsB: "PCMU/8000/1,opus/48000/2", wantA: "opus/48000", wantB: "opus/48000"},
	} {
		t.Run(c.name, func(t *testing.T) { baresipBridge(t, c) })
	}
}

type bridgeCase struct {
	name             string
	rtpBase          int
	codecsA, codecsB string
	wantA, wantB     string
	transcoding      bool
}

func baresipBridge(t *testing.T, c bridgeCase) {
	needTools(t, "baresip")
	const (
		toneA, toneB = 440.0, 1000.0
		bridgedAudio = 3 * time.Second        // recorded by each side after the bridge
		settle       = 500 * time.Millisecond // skipped at the start of that (jitter buffer, transients)
	)
	optsA := baresipOpts{user: "a", toneHz: int(toneA), codecs: c.codecsA}
	optsB := baresipOpts{user: "b", toneHz: int(toneB), codecs: c.codecsB}
	nc, ce, phoneA, phoneB, legs := bridgePhones(t, c, optsA, optsB)
	caller, callee := legs.caller, legs.callee

	// Where each recording stood at the bridge, then poll until each side
	// has recorded bridgedAudio more.
	startA, startB := recordedSamples(t, phoneA), recordedSamples(t, phoneB)
	waitRecorded(t, bridgedAudio, map[*baresip]int{phoneA: startA, phoneB: startB})

	// The app hangs up A; B goes down with it.
	if r := cmdReq[events.Reply](t, nc, "hangup", map[string]any{"call_id": caller}); r.Code != 200 {
		t.Fatalf("hangup: %+v", r)
	}
	doneA := ce.wait(t, typeCompleted, caller, 1, 5*time.Second)[0].Data.(*events.CallCompleted)
	doneB := ce.wait(t, typeCompleted, callee, 1, 5*time.Second)[0].Data.(*events.CallCompleted)
	if doneA.Status != events.StatusCompleted || doneA.HangupBy != events.ByApp ||
		doneB.Status != events.StatusCompleted || doneB.HangupBy != events.ByPeer || doneB.Direction != events.DirectionOutbound {
		t.Errorf("completed: A %+v, B %+v", doneA, doneB)
	}
	// Both phones must have taken the platform's BYE (not answered it 481:
	// the BYE must carry the dialog's tags).
	for _, p := range []*baresip{phoneA, phoneB} {
		if e, ok := p.eventWithin("CALL_CLOSED", 5*time.Second); ok {
			t.Logf("baresip %s: call closed (%s)", p.opts.user, e.Param)
			continue
		}
		t.Errorf("baresip %s: its call is still up 5 s after the platform hung up; requests it refused (481):\n%s",
			p.opts.user, strings.Join(p.refusedRequests(), "\n--\n"))
	}

	// Quit both phones so sndfile finalizes the recordings, then measure.
	phoneA.stop(t)
	phoneB.stop(t)
	for _, p := range []struct {
		b, peer     *baresip
		start       int
		hear, own   float64
		description string
	}{
		{phoneA, phoneB, startA, toneB, toneA, "A hears B"},
		{phoneB, phoneA, startB, toneA, toneB, "B hears A"},
	} {
		w := recordedWAV(t, p.b)
		sent := recordedWAV(t, p.peer, "enc")
		from := p.start + int(settle.Seconds()*float64(w.rate))
		to := p.start + int(bridgedAudio.Seconds()*float64(w.rate))
		if w.rate == 0 || to > len(w.samples) {
			t.Errorf("%s: recording %s has %d samples at %d Hz; want %d", p.description, p.b.recording(t, "dec"), len(w.samples), w.rate, to)
			continue
		}
		seg := w.samples[from:to]
		// What the peer sent (its encoder's input), after the same settling.
		sentRMS := math.Inf(-1)
		if skip := int(settle.Seconds() * float64(sent.rate)); skip < len(sent.samples) {
			sentRMS = audio.RMS(sent.samples[skip:])
		}
		pre, preRMS := audio.PeakFrequency(w.samples[:p.start], float64(w.rate), 10)
		t.Logf("%s: %d Hz/%dch recording; the peer sent %.1f dBFS; before the bridge: %.2f s recorded, peak %.0f Hz, RMS %.1f dBFS",
			p.description, w.rate, w.channels, sentRMS, float64(p.start)/float64(w.rate), pre, preRMS)
		checkTone(t, p.description, seg, float64(w.rate), p.hear, p.own, sentRMS)
	}
}

// recordedWAV reads what a phone has received so far (its sndfile "dec"
// dump), or sent with kind "enc"; zero while it has none.
func recordedWAV(t *testing.T, b *baresip, kind ...string) wavPCM {
	t.Helper()
	k := "dec"
	if len(kind) > 0 {
		k = kind[0]
	}
	path := b.recording(t, k)
	if path == "" {
		return wavPCM{}
	}
	w, err := readWAV(path)
	if err != nil {
		// The header is written first; a file caught before that is empty.
		return wavPCM{}
	}
	return w
}

func recordedSamples(t *testing.T, b *baresip) int {
	t.Helper()
	return len(recordedWAV(t, b).samples)
}

// bridgePhones runs the platform with RTP on c.rtpBase..+199 and two
// baresips on the next 100 ports each (A then B; B answers by itself), and
// bridges them as an application does: A calls the app route and rings,
// the app answers it, dials B with bridge_to A, and B answers. It checks
// the codecs each leg negotiated (c.wantA, c.wantB) and the bridge.
func bridgePhones(t *testing.T, c bridgeCase, optsA, optsB baresipOpts) (*nats.Conn, *callEvents, *baresip, *baresip, bridgedLegs) {
	t.Helper()
	a := sipApp(t, c.rtpBase)
	nc := connect(t, a.NATSURL())
	ce := watchCalls(t, nc)
	optsA.rtpPorts = fmt.Sprintf("%d-%d", c.rtpBase+200, c.rtpBase+299)
	optsB.rtpPorts, optsB.autoAnswer = fmt.Sprintf("%d-%d", c.rtpBase+300, c.rtpBase+399), true
	phoneA, phoneB := startBaresip(t, optsA), startBaresip(t, optsB)

	phoneA.mustCommand(t, "dial", "sip:alice@"+a.SIPAddr())
	legs := answerCaller(t, nc, ce)
	phoneA.waitEvent(t, "CALL_RINGING", 5*time.Second)
	phoneA.waitEvent(t, "CALL_ESTABLISHED", 5*time.Second)
	legs.dialBridged(t, nc, ce, phoneB.SIPURI())
	phoneB.waitEvent(t, "CALL_ESTABLISHED", 5*time.Second)
	legs.check(t, c.wantA, c.wantB, c.transcoding)
	return nc, ce, phoneA, phoneB, legs
}

// bridgedLegs is a caller on the app route bridged to a leg the app dialed.
type bridgedLegs struct {
	caller, callee string
	ansA, ansB     *events.CallAnswered
	brA, brB       *events.CallBridged
}

// answerCaller waits for a call on the app route, sees it ring, and answers
// it by command, as an application does.
func answerCaller(t *testing.T, nc *nats.Conn, ce *callEvents) bridgedLegs {
	t.Helper()
	inc := ce.wait(t, typeIncoming, "", 1, 10*time.Second)[0]
	if r := inc.Data.(*events.CallIncoming).Route; r != "app" {
		t.Fatalf("route %q, want app: %+v", r, inc.Data)
	}
	ce.wait(t, typeRinging, inc.CallID, 1, 5*time.Second)
	if r := cmdReq[events.Reply](t, nc, "answer", map[string]any{"call_id": inc.CallID}); r.Code != 200 {
		t.Fatalf("answer: %+v", r)
	}
	ans := ce.wait(t, typeAnswered, inc.CallID, 1, 5*time.Second)[0].Data.(*events.CallAnswered)
	return bridgedLegs{caller: inc.CallID, ansA: ans}
}

// dialBridged dials to with bridge_to the caller and waits until the callee
// has answered and both legs are bridged.
func (l *bridgedLegs) dialBridged(t *testing.T, nc *nats.Conn, ce *callEvents, to string) {
	t.Helper()
	d := cmdReq[events.DialReply](t, nc, "dial", map[string]any{"to": to, "bridge_to": l.caller, "timeout": 10})
	if d.Code != 202 || d.CallID == "" {
		t.Fatalf("dial: %+v", d)
	}
	l.callee = d.CallID
	l.ansB = ce.wait(t, typeAnswered, l.callee, 1, 10*time.Second)[0].Data.(*events.CallAnswered)
	l.brA = ce.wait(t, typeBridged, l.caller, 1, 5*time.Second)[0].Data.(*events.CallBridged)
	l.brB = ce.wait(t, typeBridged, l.callee, 1, 5*time.Second)[0].Data.(*events.CallBridged)
	t.Logf("A leg %s: %s, %s <-> %s; B leg %s: %s, %s <-> %s", l.caller, l.ansA.Codec, l.ansA.LocalRTP, l.ansA.RemoteRTP,
		l.callee, l.ansB.Codec, l.ansB.LocalRTP, l.ansB.RemoteRTP)
}

// check compares the legs' codecs and bridge events with what is expected.
func (l *bridgedLegs) check(t *testing.T, wantA, wantB string, transcoding bool) {
	t.Helper()
	if l.ansA.Codec != wantA || l.ansB.Codec != wantB {
		t.Errorf("codecs %q and %q; want %q and %q", l.ansA.Codec, l.ansB.Codec, wantA, wantB)
	}
	if l.brA.PeerCallID != l.callee || l.brB.PeerCallID != l.caller || l.brA.Transcoding != transcoding || l.brB.Transcoding != transcoding {
		t.Errorf("bridged: A %+v, B %+v", l.brA, l.brB)
	}
}

// waitRecorded polls until each phone has received (recorded) d of audio
// after its start position, a sample count.
func waitRecorded(t *testing.T, d time.Duration, starts map[*baresip]int) {
	t.Helper()
	natstest.CheckFor(t, d+5*time.Second, 100*time.Millisecond, func() error {
		for b, start := range starts {
			w := recordedWAV(t, b)
			if got, want := len(w.samples)-start, int(d.Seconds()*float64(w.rate)); w.rate == 0 || got < want {
				return fmt.Errorf("baresip %s recorded %d of %d samples since the bridge", b.opts.user, got, want)
			}
		}
		return nil
	})
}
