package e2e

import (
	"fmt"
	"github.com/nats-io/nats.go"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-voip/switchboard/cmd/app"
	"github.com/switchboard-voip/switchboard/cmd/config"
	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/test/leak"
	"github.com/switchboard-voip/switchboard/test/natstest"
	"github.com/switchboard-voip/switchboard/workers/dtmf/digit"
	"github.com/switchboard-voip/switchboard/workers/dtmf/inband"
	"github.com/switchboard-voip/switchboard/workers/media/g711"
)

// DTMF tests use RTP ports 47000-47999.

const (
	typeDTMF        = "io.switchboard.call.v1.dtmf"
	typeDTMFStarted = "io.switchboard.call.v1.dtmf_started"
	typeGather      = "io.switchboard.call.v1.gather_completed"
)

// digitsOf returns the digits, sources and seqs of a call's dtmf events.
func digitsOf(evs []events.Event) (digits string, sources []string, seqs []uint64) {
	for _, e := range evs {
		switch d := e.Data.(type) {
		case *events.CallDTMF:
			digits += d.Digit
			sources = append(sources, d.Source)
			seqs = append(seqs, d.Seq)
		case *events.CallDTMFStarted:
			digits += d.Digit
			sources = append(sources, d.Source)
			seqs = append(seqs, d.Seq)
		}
	}
	return digits, sources, seqs
}

// checkDigits waits for the call's dtmf events, then checks that exactly
// want arrived, in order, numbered 1..n, from source, with one dtmf_started
// each unless started is false.
func checkDigits(t *testing.T, ce *callEvents, callID, want, source string, started bool) []events.Event {
	t.Helper()
	got := ce.wait(t, typeDTMF, callID, len(want), 10*time.Second)
	time.Sleep(500 * time.Millisecond) // nothing more may come
	got = ce.of(typeDTMF, callID)
	digits, sources, seqs := digitsOf(got)
	if digits != want {
		t.Errorf("dtmf digits %q, want %q", digits, want)
	}
	for i := range got {
		if sources[i] != source || seqs[i] != uint64(i+1) {
			t.Errorf("dtmf %d: source %s seq %d, want %s %d", i, sources[i], seqs[i], source, i+1)
		}
	}
	if started {
		st := ce.of(typeDTMFStarted, callID)
		sd, _, sseq := digitsOf(st)
		if sd != want {
			t.Errorf("dtmf_started digits %q, want %q", sd, want)
		}
		for i := range sseq {
			if sseq[i] != uint64(i+1) {
				t.Errorf("dtmf_started %d has seq %d", i, sseq[i])
			}
		}
	}
	return got
}

// TestDTMFSippRFC4733: sipp streams PCMU audio and then RFC 4733 digits
// 1, 2, # from its own captures, on another SSRC than the audio: exactly
// three dtmf events arrive, in order, each after one dtmf_started, and the
// audio's loss figures are not disturbed by the second SSRC.
func TestDTMFSippRFC4733(t *testing.T) {
	leak.Check(t)
	needTools(t, "sipp", "sox")
	a := sipApp(t, 47000)
	nc := connect(t, a.NATSURL())
	ce := watchCalls(t, nc)
	dir := sippDir(t, 8, 440)
	code, out := sipp(t, dir, 30*time.Second, a.SIPAddr(), "-sf", "uac_rtpstream_dtmf.xml", "-s", "echo", "-m", "1",
		"-i", "127.0.0.1", "-p", itoa(freeUDPPort(t)), "-mi", "127.0.0.1", "-mp", "47800")
	if code != 0 {
		t.Fatalf("sipp exit %d:\n%s", code, out)
	}
	done := ce.wait(t, typeCompleted, "", 1, 5*time.Second)[0]
	got := checkDigits(t, ce, done.CallID, "12#", events.DTMFSourceRFC4733, true)
	for _, e := range got {
		if d := e.Data.(*events.CallDTMF).DurationMS; d < 100 || d > 400 {
			t.Errorf("digit %s lasted %d ms", e.Data.(*events.CallDTMF).Digit, d)
		}
	}
	for _, e := range ce.of(typeStats, done.CallID) {
		if s := e.Data.(*events.CallMediaStats); s.Final && s.PacketsLost > 5 {
			t.Errorf("the telephone-event SSRC disturbed the audio's figures: %+v", s)
		}
	}
	if v := metricValue(t, a, `sb_dtmf_digits_total{source="rfc4733"}`); v != 3 {
		t.Errorf("sb_dtmf_digits_total{rfc4733} = %v", v)
	}
	for _, ev := range []string{"started", "ended"} {
		sum := metricValue(t, a, `sb_dtmf_event_latency_seconds_sum{event="`+ev+`"}`)
		n := metricValue(t, a, `sb_dtmf_event_latency_seconds_count{event="`+ev+`"}`)
		t.Logf("arrival at the media worker -> %s event published: mean %.2f ms over %v", ev, 1000*sum/n, n)
	}
}

// TestDTMFSipInfo: SIP INFO with application/dtmf-relay and
// application/dtmf gets 200 and a digit each; text/plain gets 415 and a
// bad body 400 (sipp's scenario checks the codes), both counted.
func TestDTMFSipInfo(t *testing.T) {
	leak.Check(t)
	needTools(t, "sipp", "sox")
	a := sipApp(t, 47200)
	nc := connect(t, a.NATSURL())
	ce := watchCalls(t, nc)
	dir := sippDir(t, 1, 440)
	code, out := sipp(t, dir, 30*time.Second, a.SIPAddr(), "-sf", "uac_info_dtmf.xml", "-s", "echo", "-m", "1",
		"-i", "127.0.0.1", "-p", itoa(freeUDPPort(t)), "-mi", "127.0.0.1", "-mp", "47810")
	if code != 0 {
		t.Fatalf("sipp exit %d:\n%s", code, out)
	}
	done := ce.wait(t, typeCompleted, "", 1, 5*time.Second)[0]
	got := checkDigits(t, ce, done.CallID, "59#", events.DTMFSourceSIPInfo, false)
	if d := got[0].Data.(*events.CallDTMF).DurationMS; d != 160 {
		t.Errorf("duration %d, want 160", d)
	}
	for series, want := range map[string]float64{
		`sb_media_sip_info_total{result="ok"}`: 3, `sb_media_sip_info_total{result="unsupported_type"}`: 1,
		`sb_media_sip_info_total{result="bad_body"}`: 1,
	} {
		if v := metricValue(t, a, series); v != want {
			t.Errorf("%s = %v, want %v", series, v, want)
		}
	}
}

// writeTones writes µ-law DTMF tones: lead of silence, then each digit
// for tone with gap of silence after it, at -10 dBm0 per tone.
func writeTones(t *testing.T, path, digits string, lead, tone, gap time.Duration) {
	t.Helper()
	amp := 32767 * math.Pow(10, -3.14/20) * math.Pow(10, -10.0/20)
	var pcm []int16
	silence := func(d time.Duration) { pcm = append(pcm, make([]int16, int(d.Seconds()*8000))...) }
	silence(lead)
	for i := range len(digits) {
		d, err := digit.Parse(digits[i])
		if err != nil {
			t.Fatal(err)
		}
		lo, hi, _ := inband.Tones(d)
		n := int(tone.Seconds() * 8000)
		for k := range n {
			x := float64(k) / 8000
			pcm = append(pcm, int16(amp*(math.Sin(2*math.Pi*lo*x)+math.Sin(2*math.Pi*hi*x))))
		}
		silence(gap)
	}
	silence(4 * time.Second)
	out := make([]byte, len(pcm))
	g711.EncodeUlaw(out, pcm)
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDTMFInband: sipp calls without telephone-event and streams tones
// (generated here, µ-law); with dtmf_inband on, the digits are detected.
// Speech (espeak-ng) on the same kind of call gives none.
func TestDTMFInband(t *testing.T) {
	leak.Check(t)
	needTools(t, "sipp", "sox", "espeak-ng")
	a := sipApp(t, 47400, func(c *config.Config) { c.DTMFInband = true })
	nc := connect(t, a.NATSURL())
	ce := watchCalls(t, nc)

	t.Run("tones", func(t *testing.T) {
		dir := sippDir(t, 1, 440)
		writeTones(t, filepath.Join(dir, "inband.ulaw"), "1590#*", 500*time.Millisecond, 100*time.Millisecond, 100*time.Millisecond)
		code, out := sipp(t, dir, 30*time.Second, a.SIPAddr(), "-sf", "uac_inband.xml", "-s", "echo", "-m", "1",
			"-i", "127.0.0.1", "-p", itoa(freeUDPPort(t)), "-mi", "127.0.0.1", "-mp", "47820")
		if code != 0 {
			t.Fatalf("sipp exit %d:\n%s", code, out)
		}
		done := ce.wait(t, typeCompleted, "", 1, 5*time.Second)[0]
		got := checkDigits(t, ce, done.CallID, "1590#*", events.DTMFSourceInband, true)
		for _, e := range got {
			if d := e.Data.(*events.CallDTMF).DurationMS; d < 60 || d > 140 {
				t.Errorf("in-band digit %s lasted %d ms", e.Data.(*events.CallDTMF).Digit, d)
			}
		}
	})
	t.Run("speech", func(t *testing.T) {
		dir := sippDir(t, 1, 440)
		wav := filepath.Join(dir, "speech.wav")
		text := "Please enter your account number, then press the pound key. One two three four five six seven eight nine zero."
		if out, err := exec.Command("espeak-ng", "-w", wav, text).CombinedOutput(); err != nil {
			t.Fatalf("espeak-ng: %v %s", err, out)
		}
		if out, err := exec.Command("sox", wav, "-r", "8000", "-c", "1", "-t", "ul", filepath.Join(dir, "inband.ulaw")).CombinedOutput(); err != nil {
			t.Fatalf("sox: %v %s", err, out)
		}
		before := len(ce.of(typeCompleted, ""))
		code, out := sipp(t, dir, 30*time.Second, a.SIPAddr(), "-sf", "uac_inband.xml", "-s", "echo", "-m", "1",
			"-i", "127.0.0.1", "-p", itoa(freeUDPPort(t)), "-mi", "127.0.0.1", "-mp", "47830")
		if code != 0 {
			t.Fatalf("sipp exit %d:\n%s", code, out)
		}
		done := ce.wait(t, typeCompleted, "", before+1, 5*time.Second)[before]
		time.Sleep(500 * time.Millisecond)
		if got := ce.of(typeDTMF, done.CallID); len(got) != 0 {
			d, _, _ := digitsOf(got)
			t.Errorf("speech gave digits %q", d)
		}
		if v := metricValue(t, a, `sb_media_dtmf_feed_records_total{kind="pcm"}`); v < 100 {
			t.Errorf("only %v pcm records forwarded: was the speech analysed at all?", v)
		}
	})
}

// echoCallFrom dials the echo route from phone and returns the call's id.
func echoCallFrom(t *testing.T, a *app.App, ce *callEvents, phone *baresip) string {
	t.Helper()
	before := len(ce.of(typeAnswered, ""))
	phone.mustCommand(t, "dial", "sip:echo@"+a.SIPAddr())
	phone.waitEvent(t, "CALL_ESTABLISHED", 10*time.Second)
	return ce.wait(t, typeAnswered, "", before+1, 5*time.Second)[before].CallID
}

// pressKeys makes baresip send keys as RFC 4733 events, one every 400 ms.
func pressKeys(t *testing.T, phone *baresip, keys string) {
	t.Helper()
	for i := range len(keys) {
		phone.mustCommand(t, "sndcode", keys[i:i+1])
		time.Sleep(400 * time.Millisecond)
	}
}

// TestDTMFInbandCommand: with dtmf_inband off (the default), in-band
// detection is switched on for one call by command while it runs.
func TestDTMFInbandCommand(t *testing.T) {
	leak.Check(t)
	needTools(t, "sipp", "sox")
	a := sipApp(t, 47400)
	nc := connect(t, a.NATSURL())
	ce := watchCalls(t, nc)
	dir := sippDir(t, 1, 440)
	writeTones(t, filepath.Join(dir, "inband.ulaw"), "73", 2*time.Second, 100*time.Millisecond, 100*time.Millisecond)
	uac := sippBG(t, dir, a.SIPAddr(), "-sf", "uac_inband.xml", "-s", "echo", "-m", "1",
		"-i", "127.0.0.1", "-p", itoa(freeUDPPort(t)), "-mi", "127.0.0.1", "-mp", "47840")
	callID := ce.wait(t, typeAnswered, "", 1, 10*time.Second)[0].CallID
	if rep := cmdReq[events.Reply](t, nc, "dtmf_inband", map[string]any{"call_id": callID, "enabled": true}); rep.Code != 200 {
		t.Fatalf("dtmf_inband: %+v", rep)
	}
	if rep := cmdReq[events.Reply](t, nc, "dtmf_inband", map[string]any{"call_id": "nope@x", "enabled": true}); rep.Code != 404 {
		t.Errorf("dtmf_inband on an unknown call: %+v", rep)
	}
	checkDigits(t, ce, callID, "73", events.DTMFSourceInband, true)
	<-uac.done
}

// TestDTMFBaresip: a real phone on G.711 and on Opus (whose durations
// count 48 kHz units) sends "123*9#" and then "55": every key arrives once,
// in order, from rfc4733, and the repeated 5 is two digits.
func TestDTMFBaresip(t *testing.T) {
	for _, tc := range []struct{ name, codecs string }{{"pcmu", "PCMU/8000/1"}, {"opus", "opus/48000/2"}} {
		t.Run(tc.name, func(t *testing.T) {
			_, ce, phone, callID := baresipEchoCall(t, tc.codecs)
			time.Sleep(300 * time.Millisecond)
			pressKeys(t, phone, "123*9#55")
			got := checkDigits(t, ce, callID, "123*9#55", events.DTMFSourceRFC4733, true)
			for _, e := range got {
				if d := e.Data.(*events.CallDTMF).DurationMS; d < 40 || d > 1000 {
					t.Errorf("%s: digit %s lasted %d ms", tc.name, e.Data.(*events.CallDTMF).Digit, d)
				}
			}
			phone.mustCommand(t, "hangup", "")
			ce.wait(t, typeCompleted, callID, 1, 5*time.Second)
		})
	}
}

// TestDTMFSendToBaresip: dtmf_send on a call with baresip, by RFC 4733 and
// SIP INFO: baresip reports the RFC 4733 keys it received as
// CALL_DTMF_START events and in its log, and logs the INFO; bad input gets
// coded errors.
func TestDTMFSendToBaresip(t *testing.T) {
	nc, ce, phone, callID := baresipEchoCall(t, "PCMU/8000/1")

	rep := cmdReq[events.Reply](t, nc, "dtmf_send", map[string]any{"call_id": callID, "digits": "147*0#", "method": "rfc4733"})
	if rep.Code != events.CodeAccepted {
		t.Fatalf("dtmf_send: %+v", rep)
	}
	var keys string
	natstest.CheckFor(t, 10*time.Second, 50*time.Millisecond, func() error {
		keys = ""
		for _, e := range phone.events("CALL_DTMF_START") {
			keys += e.Param
		}
		if len(keys) < 6 {
			return fmt.Errorf("baresip received %q so far", keys)
		}
		return nil
	})
	if keys != "147*0#" {
		t.Errorf("baresip received %q, want 147*0#", keys)
	}
	natstest.CheckFor(t, 5*time.Second, 50*time.Millisecond, func() error {
		if !strings.Contains(phone.out.String(), "received event: '#' (end=1)") {
			return fmt.Errorf("baresip's log does not show the end of '#'")
		}
		return nil
	})
	// One send at a time per call: 409 until the first is done.
	natstest.CheckFor(t, 5*time.Second, 50*time.Millisecond, func() error {
		rep := cmdReq[events.Reply](t, nc, "dtmf_send", map[string]any{"call_id": callID, "digits": "9", "method": "info"})
		if rep.Code != events.CodeAccepted {
			return fmt.Errorf("dtmf_send info: %+v", rep)
		}
		return nil
	})
	natstest.CheckFor(t, 5*time.Second, 50*time.Millisecond, func() error {
		if !strings.Contains(phone.out.String(), "application/dtmf-relay") {
			return fmt.Errorf("baresip has not logged the INFO")
		}
		return nil
	})

	for _, c := range []struct {
		body map[string]any
		code int
	}{
		{map[string]any{"call_id": "nope@nowhere", "digits": "1"}, events.CodeNotFound},
		{map[string]any{"call_id": callID, "digits": "12x"}, events.CodeBadRequest},
		{map[string]any{"call_id": callID, "digits": ""}, events.CodeBadRequest},
		{map[string]any{"call_id": callID, "digits": "1", "method": "fax"}, events.CodeBadRequest},
		{map[string]any{"call_id": callID, "digits": "1", "duration_ms": 5}, events.CodeBadRequest},
	} {
		if rep := cmdReq[events.Reply](t, nc, "dtmf_send", c.body); rep.Code != c.code {
			t.Errorf("dtmf_send %v: %d %s, want %d", c.body, rep.Code, rep.Reason, c.code)
		}
	}
	phone.mustCommand(t, "hangup", "")
	ce.wait(t, typeCompleted, callID, 1, 5*time.Second)
}

// TestGather: gather completes on the finish key with the digits before
// it, on max_digits, on a first-digit timeout, and on hangup; an unknown
// call gets 404.
func TestGather(t *testing.T) {
	nc, ce, phone, callID := baresipEchoCall(t, "PCMU/8000/1")
	gather := func(body map[string]any) {
		t.Helper()
		body["call_id"] = callID
		if rep := cmdReq[events.Reply](t, nc, "gather", body); rep.Code != events.CodeAccepted {
			t.Fatalf("gather: %+v", rep)
		}
	}
	result := func(n int) *events.CallGatherCompleted {
		t.Helper()
		return ce.wait(t, typeGather, callID, n, 10*time.Second)[n-1].Data.(*events.CallGatherCompleted)
	}

	gather(map[string]any{"finish_on_key": "#"})
	pressKeys(t, phone, "42#")
	if g := result(1); g.Digits != "42" || g.Reason != events.GatherFinishKey {
		t.Errorf("finish key: %+v", g)
	}
	gather(map[string]any{"max_digits": 2})
	pressKeys(t, phone, "78")
	if g := result(2); g.Digits != "78" || g.Reason != events.GatherMaxDigits {
		t.Errorf("max digits: %+v", g)
	}
	start := time.Now()
	gather(map[string]any{"first_timeout_ms": 500})
	if g := result(3); g.Digits != "" || g.Reason != events.GatherTimeout {
		t.Errorf("timeout: %+v", g)
	}
	if d := time.Since(start); d < 450*time.Millisecond || d > 2*time.Second {
		t.Errorf("the 500 ms timeout took %v", d)
	}
	gather(map[string]any{"first_timeout_ms": 60000})
	phone.mustCommand(t, "hangup", "")
	if g := result(4); g.Reason != events.GatherHangup {
		t.Errorf("hangup: %+v", g)
	}
	if rep := cmdReq[events.Reply](t, nc, "gather", map[string]any{"call_id": "nope@nowhere"}); rep.Code != events.CodeNotFound {
		t.Errorf("unknown call: %+v", rep)
	}
}

// TestDTMFBridgePassThrough: two baresips bridged by the platform; the keys
// A presses reach B as RFC 4733 events on B's stream, and are published as
// A's dtmf events.
func TestDTMFBridgePassThrough(t *testing.T) {
	leak.Check(t)
	needTools(t, "baresip")
	c := bridgeCase{rtpBase: 47500, codecsA: "PCMU/8000/1", codecsB: "PCMU/8000/1", wantA: "PCMU/8000", wantB: "PCMU/8000"}
	_, ce, phoneA, phoneB, legs := bridgePhones(t, c, baresipOpts{user: "a", toneHz: 440}, baresipOpts{user: "b", toneHz: 880})
	pressKeys(t, phoneA, "19#")
	checkDigits(t, ce, legs.caller, "19#", events.DTMFSourceRFC4733, true)
	var keys string
	natstest.CheckFor(t, 5*time.Second, 50*time.Millisecond, func() error {
		keys = ""
		for _, e := range phoneB.events("CALL_DTMF_START") {
			keys += e.Param
		}
		if keys != "19#" {
			return fmt.Errorf("B received %q", keys)
		}
		return nil
	})
	if got := ce.of(typeDTMF, legs.callee); len(got) != 0 {
		t.Errorf("the callee leg published %d digits it did not send", len(got))
	}
}

// baresipEchoCall starts a platform and a baresip speaking codecs, which
// calls the echo route; it returns the call once answered.
func baresipEchoCall(t *testing.T, codecs string) (*nats.Conn, *callEvents, *baresip, string) {
	t.Helper()
	leak.Check(t)
	needTools(t, "baresip")
	a := sipApp(t, 47600)
	nc := connect(t, a.NATSURL())
	ce := watchCalls(t, nc)
	phone := startBaresip(t, baresipOpts{user: "dtmf", toneHz: 440, codecs: codecs, rtpPorts: "47900-47949"})
	return nc, ce, phone, echoCallFrom(t, a, ce, phone)
}
