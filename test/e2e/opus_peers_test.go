package e2e

import (
	"context"
	"fmt"
	"math"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/test/audio"
)

// TestSippPCMAToBaresipOpus: sipp calls the app route offering only PCMA
// and streams a 1 kHz tone; the app answers it and dials a baresip that
// accepts only opus/48000/2 (sending 440 Hz), bridged to sipp. tshark on lo
// sees both legs' RTP both ways with the right payload types (8 on sipp's
// leg, the Opus PT the SDP negotiated on baresip's, nothing else); baresip
// records sipp's tone, and the A-law that reaches sipp carries baresip's.
func TestSippPCMAToBaresipOpus(t *testing.T) {
	needTools(t, "sipp", "sox", "tshark", "baresip")
	const (
		rtpBase              = 47000 // the platform: 47000-47199
		sippTone, phoneTone  = 1000.0, 440.0
		bridgedAudio, settle = 3 * time.Second, 500 * time.Millisecond
	)
	a := sipApp(t, rtpBase)
	nc := connect(t, a.NATSURL())
	ce := watchCalls(t, nc)
	dir := sippDir(t, 30, int(sippTone))
	phone := startBaresip(t, baresipOpts{user: "b", toneHz: int(phoneTone), codecs: "opus/48000/2", rtpPorts: "47300-47399", autoAnswer: true})
	uac := sippBG(t, dir, a.SIPAddr(), "-sf", "uac_pcma_wait_bye.xml", "-s", "alice", "-m", "1",
		"-i", "127.0.0.1", "-p", itoa(freeUDPPort(t)), "-mi", "127.0.0.1", "-mp", "47400")

	legs := answerCaller(t, nc, ce)
	legs.dialBridged(t, nc, ce, phone.SIPURI())
	phone.waitEvent(t, "CALL_ESTABLISHED", 5*time.Second)
	legs.check(t, "PCMA/8000", "opus/48000", true)
	opusPT := answeredPT(t, phone, "opus/48000/2")

	// Every RTP packet to and from the platform's two media ports.
	portA, portB := rtpPort(t, legs.ansA.LocalRTP), rtpPort(t, legs.ansB.LocalRTP)
	capt := startCapture(t, fmt.Sprintf("udp and (port %s or port %s)", portA, portB), 30*time.Second)
	start := recordedSamples(t, phone)
	waitRecorded(t, bridgedAudio, map[*baresip]int{phone: start})

	if r := cmdReq[events.Reply](t, nc, "hangup", map[string]any{"call_id": legs.caller}); r.Code != 200 {
		t.Fatalf("hangup: %+v", r)
	}
	ce.wait(t, typeCompleted, legs.callee, 1, 5*time.Second)
	if code := uac.wait(t, 10*time.Second); code != 0 {
		t.Errorf("sipp exit %d", code)
	}
	phone.stop(t)

	// Payload types per direction.
	dirs := map[string][]udpPacket{}
	for _, p := range rtpOnly(capt.packets()) {
		switch {
		case p.src == portA:
			dirs["to sipp"] = append(dirs["to sipp"], p)
		case p.dst == portA:
			dirs["from sipp"] = append(dirs["from sipp"], p)
		case p.src == portB:
			dirs["to baresip"] = append(dirs["to baresip"], p)
		case p.dst == portB:
			dirs["from baresip"] = append(dirs["from baresip"], p)
		}
	}
	want := map[string]byte{"to sipp": 8, "from sipp": 8, "to baresip": opusPT, "from baresip": opusPT}
	for _, d := range []string{"from sipp", "to baresip", "from baresip", "to sipp"} {
		pts := ptCounts(dirs[d])
		t.Logf("%s: %d RTP packets, by payload type %v", d, len(dirs[d]), pts)
		if len(dirs[d]) < 100 {
			t.Errorf("%s: %d RTP packets in %v; want audio flowing (≥ 100)", d, len(dirs[d]), bridgedAudio)
		}
		for pt, n := range pts {
			if pt != want[d] {
				t.Errorf("%s: %d packets with PT %d; want only PT %d", d, n, pt, want[d])
			}
		}
	}

	// What reached sipp: baresip's tone, in A-law, at the level baresip
	// sent (its encoder's input), not sipp's own.
	toSipp := rtpAudio(dirs["to sipp"], 8)
	if skip := int(settle.Seconds() * 8000); len(toSipp) > skip {
		toSipp = toSipp[skip:]
	}
	enc := recordedWAV(t, phone, "enc")
	sent := math.Inf(-1)
	if skip := int(settle.Seconds() * float64(enc.rate)); skip < len(enc.samples) {
		sent = audio.RMS(enc.samples[skip:])
	}
	checkTone(t, "sipp hears baresip (PCMA on the wire)", toSipp, 8000, phoneTone, sippTone, sent)

	// What baresip recorded: sipp's tone, at the level sipp sent (sox vol
	// 0.5 is -9.0 dBFS), not its own.
	w := recordedWAV(t, phone)
	from, to := start+int(settle.Seconds()*float64(w.rate)), start+int(bridgedAudio.Seconds()*float64(w.rate))
	if w.rate == 0 || to > len(w.samples) {
		t.Fatalf("baresip recorded %d samples at %d Hz; want %d", len(w.samples), w.rate, to)
	}
	checkTone(t, "baresip hears sipp (Opus)", w.samples[from:to], float64(w.rate), sippTone, phoneTone, 20*math.Log10(0.5/math.Sqrt2))
}

// checkTone asserts that pcm carries the tone hear (±2 %) at a sane level
// (-30 to -1 dBFS, and within 1 dB of sentDBFS, what the peer sent) and own at least 30 dB below it: the peer is heard, at the
// level it spoke, and not oneself.
func checkTone(t *testing.T, what string, pcm []int16, rate, hear, own, sentDBFS float64) {
	t.Helper()
	peak, rms := audio.PeakFrequency(pcm, rate, 10)
	h, o := audio.ToneLevel(pcm, rate, hear), audio.ToneLevel(pcm, rate, own)
	t.Logf("%s: %.2f s at %.0f Hz: peak %.0f Hz, RMS %.1f dBFS (sent %.1f); %.0f Hz at %.1f dBFS, %.0f Hz (own) at %.1f dBFS",
		what, float64(len(pcm))/rate, rate, peak, rms, sentDBFS, hear, h, own, o)
	if len(pcm) == 0 || math.Abs(peak-hear) > 0.02*hear {
		t.Errorf("%s: peak at %.0f Hz; want %.0f Hz ±2%%", what, peak, hear)
	}
	if rms < -30 || rms > -1 {
		t.Errorf("%s: %.1f dBFS RMS; want a sane level (-30 to -1 dBFS)", what, rms)
	}
	if math.Abs(rms-sentDBFS) > 1 || math.IsNaN(rms-sentDBFS) {
		t.Errorf("%s: %.1f dBFS RMS, but the peer sent %.1f dBFS: the bridge changed the level", what, rms, sentDBFS)
	}
	if o > h-30 {
		t.Errorf("%s: its own %.0f Hz tone is at %.1f dBFS, only %.1f dB below the peer's: it hears itself", what, own, o, h-o)
	}
}

// rtpPort is the port of an "ip:port" media address.
func rtpPort(t *testing.T, addr string) string {
	t.Helper()
	i := strings.LastIndexByte(addr, ':')
	if _, err := strconv.Atoi(addr[i+1:]); i < 0 || err != nil {
		t.Fatalf("media address %q", addr)
	}
	return addr[i+1:]
}

// ptCounts counts RTP packets by payload type.
func ptCounts(pkts []udpPacket) map[byte]int {
	n := map[byte]int{}
	for _, p := range pkts {
		n[p.payload[1]&0x7f]++
	}
	return n
}

// answeredPT is the payload type a baresip put for codec (e.g.
// "opus/48000/2") in the SDP of the 200 OK it sent, from its SIP trace.
func answeredPT(t *testing.T, b *baresip, codec string) byte {
	t.Helper()
	re := regexp.MustCompile(`a=rtpmap:(\d+) ` + regexp.QuoteMeta(codec) + `\b`)
	for _, m := range b.sipTrace() {
		lines := strings.SplitN(m, "\n", 3)
		if len(lines) < 3 || !strings.HasPrefix(lines[1], "SIP/2.0 200") || !strings.Contains(sipHeader(m, "CSeq"), "INVITE") {
			continue
		}
		if sm := re.FindStringSubmatch(m); sm != nil {
			pt, _ := strconv.Atoi(sm[1])
			t.Logf("baresip %s answered %s as PT %d", b.opts.user, codec, pt)
			if pt < 96 || pt > 127 {
				t.Errorf("%s has PT %d; want a dynamic one (96-127)", codec, pt)
			}
			return byte(pt)
		}
	}
	t.Fatalf("baresip %s sent no 200 OK with %s in its SDP:\n%s", b.opts.user, codec, strings.Join(b.sipTrace(), "\n--\n"))
	return 0
}

// speech is a spoken sentence: a WAV file baresip plays (aufile, 48 kHz
// stereo, the sentence over and over for half a minute) and the same
// audio at 8 kHz mono, the reference recordings are compared with.
type speech struct {
	path string
	ref  []int16
}

// makeSpeech speaks text with espeak-ng and prepares it for baresip and as
// a reference.
func makeSpeech(t *testing.T, dir, name, text string) speech {
	t.Helper()
	raw, path := filepath.Join(dir, name+"-raw.wav"), filepath.Join(dir, name+".wav")
	for _, args := range [][]string{
		{"espeak-ng", "-w", raw, text},
		// -3 dBFS peaks, 0.5 s of silence after each sentence, 8 times.
		{"sox", raw, "-r", "48000", "-c", "2", "-b", "16", path, "gain", "-n", "-3", "pad", "0", "0.5", "repeat", "7"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	w, err := readWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := audio.Resample(w.samples, w.rate, 8000)
	if err != nil {
		t.Fatal(err)
	}
	return speech{path: path, ref: ref}
}

// TestBaresipSpeechCorrelates: baresip A (Opus only) and baresip B (PCMU
// only) are bridged through the app route as in TestBaresipBridge, each
// playing a different espeak-ng sentence. What one side records, aligned
// with what the other played by cross-correlation at 8 kHz (the narrow
// leg's band), must correlate highly with it, and must not correlate with
// the same speech reversed nor with the recorder's own sentence. Both
// directions: Opus -> PCMU and PCMU -> Opus.
func TestBaresipSpeechCorrelates(t *testing.T) {
	needTools(t, "baresip", "espeak-ng", "sox")
	dir, began := t.TempDir(), time.Now()
	s1 := makeSpeech(t, dir, "s1", "The quick brown fox jumps over the lazy dog near the river bank.")
	s2 := makeSpeech(t, dir, "s2", "Seven silver spoons were found beneath an old wooden table yesterday.")
	t.Logf("two sentences spoken and prepared in %v", time.Since(began).Round(time.Millisecond))
	t.Run("opus-to-pcmu", func(t *testing.T) { speechBridge(t, true, s1, s2) })
	t.Run("pcmu-to-opus", func(t *testing.T) { speechBridge(t, false, s1, s2) })
}

// speechBridge bridges A (Opus) and B (PCMU); the speaker (A if aSpeaks)
// plays said, the listener plays other; the listener's recording is
// compared with both.
func speechBridge(t *testing.T, aSpeaks bool, said, other speech) {
	const (
		window                = 3 * time.Second        // of the listener's recording compared
		settle                = 500 * time.Millisecond // skipped after the bridge
		maxLag                = 8000                   // ±1 s at 8 kHz around where the speaker's file stood
		minCorr, maxUnrelated = 0.8, 0.3
	)
	c := bridgeCase{rtpBase: 47500, codecsA: "opus/48000/2", codecsB: "PCMU/8000/1", wantA: "opus/48000", wantB: "PCMU/8000", transcoding: true}
	srcA, srcB := said, other
	if !aSpeaks {
		srcA, srcB = other, said
	}
	_, _, phoneA, phoneB, _ := bridgePhones(t, c,
		baresipOpts{user: "a", codecs: c.codecsA, source: "aufile," + srcA.path},
		baresipOpts{user: "b", codecs: c.codecsB, source: "aufile," + srcB.path})
	speaker, listener := phoneA, phoneB
	if !aSpeaks {
		speaker, listener = phoneB, phoneA
	}
	// At the bridge: how far the speaker's file has played (what it has
	// sent so far) and where the listener's recording stands.
	sent, start := recordedWAV(t, speaker, "enc"), recordedSamples(t, listener)
	waitRecorded(t, settle+window, map[*baresip]int{listener: start})
	speaker.stop(t)
	listener.stop(t)

	w := recordedWAV(t, listener)
	rec, err := audio.Resample(w.samples[start:], w.rate, 8000)
	if err != nil {
		t.Fatal(err)
	}
	from, to := int(settle.Seconds()*8000), int((settle+window).Seconds()*8000)
	if len(rec) < to {
		t.Fatalf("%s recorded %d samples at 8 kHz after the bridge; want %d", listener.opts.user, len(rec), to)
	}
	x := rec[from:to]
	expect := from
	if sent.rate > 0 {
		expect += len(sent.samples) * 8000 / sent.rate
	}
	// Aligned in half-second pieces, each on its own: a jitter buffer that
	// grows or shrinks its delay by a frame mid-window (as it should under
	// jitter) shifts the rest of the recording, which one alignment of the
	// whole window would count against the audio. The median piece says
	// how well the speech came through; the whole-window figure is logged.
	lag, whole := audio.Align(said.ref, x, expect-maxLag, expect+maxLag)
	const piece = 4000
	var pieces []float64
	for off := 0; off+piece <= len(x); off += piece {
		_, c := audio.Align(said.ref, x[off:off+piece], expect+off-maxLag, expect+off+maxLag)
		pieces = append(pieces, c)
	}
	slices.Sort(pieces)
	corr := pieces[len(pieces)/2]
	t.Logf("%s hears %s: half-second pieces correlate %.3f (worst) to %.3f (best), median %.3f; whole window %.3f",
		listener.opts.user, speaker.opts.user, pieces[0], pieces[len(pieces)-1], corr, whole)
	reversed := slices.Clone(said.ref)
	slices.Reverse(reversed)
	_, corrRev := audio.Align(reversed, x, expect-maxLag, expect+maxLag)
	_, corrOwn := audio.Align(other.ref, x, 0, len(other.ref))
	t.Logf("%s hears %s (%s recording at %d Hz, %.1f dBFS): correlation %.3f at %+.1f ms from where the file stood; same speech reversed %.3f; its own sentence %.3f",
		listener.opts.user, speaker.opts.user, listener.opts.codecs, w.rate, audio.RMS(x), corr, float64(lag-expect)/8, corrRev, corrOwn)
	if corr < minCorr {
		t.Errorf("%s's recording correlates %.3f with what %s played; want ≥ %.2f", listener.opts.user, corr, speaker.opts.user, minCorr)
	}
	if corrRev > maxUnrelated || corrOwn > maxUnrelated {
		t.Errorf("%s's recording correlates %.3f with the speech reversed and %.3f with its own sentence; want both ≤ %.2f",
			listener.opts.user, corrRev, corrOwn, maxUnrelated)
	}
}
