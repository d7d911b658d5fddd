package e2e

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-voip/switchboard/cmd/config"
	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/test/leak"
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

// writeTones writes µ-law DTMF tones: 500 ms of silence, then each digit
// for tone with gap of silence after it, at -10 dBm0 per tone.
func writeTones(t *testing.T, path, digits string, tone, gap time.Duration) {
	t.Helper()
	amp := 32767 * math.Pow(10, -3.14/20) * math.Pow(10, -10.0/20)
	var pcm []int16
	silence := func(d time.Duration) { pcm = append(pcm, make([]int16, int(d.Seconds()*8000))...) }
	silence(500 * time.Millisecond)
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
		writeTones(t, filepath.Join(dir, "inband.ulaw"), "1590#*", 100*time.Millisecond, 100*time.Millisecond)
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

