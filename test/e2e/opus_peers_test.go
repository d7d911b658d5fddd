package e2e

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
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

	// What reached sipp: baresip's tone, in A-law, not sipp's own.
	toSipp := rtpAudio(dirs["to sipp"], 8)
	if skip := int(settle.Seconds() * 8000); len(toSipp) > skip {
		toSipp = toSipp[skip:]
	}
	checkTone(t, "sipp hears baresip (PCMA on the wire)", toSipp, 8000, phoneTone, sippTone, math.Inf(-1))

	// What baresip recorded: sipp's tone, at the level sipp sent (sox vol
	// 0.5 is -9 dBFS), not its own.
	w := recordedWAV(t, phone)
	from, to := start+int(settle.Seconds()*float64(w.rate)), start+int(bridgedAudio.Seconds()*float64(w.rate))
	if w.rate == 0 || to > len(w.samples) {
		t.Fatalf("baresip recorded %d samples at %d Hz; want %d", len(w.samples), w.rate, to)
	}
	checkTone(t, "baresip hears sipp (Opus)", w.samples[from:to], float64(w.rate), sippTone, phoneTone, -9)
}

// checkTone asserts that pcm carries the tone hear (±2 %) at a sane level
// (within 2 dB of sentDBFS unless that is -Inf) and own at least 30 dB
// below it.
func checkTone(t *testing.T, what string, pcm []int16, rate, hear, own, sentDBFS float64) {
	t.Helper()
	peak, rms := audio.PeakFrequency(pcm, rate, 10)
	h, o := audio.ToneLevel(pcm, rate, hear), audio.ToneLevel(pcm, rate, own)
	t.Logf("%s: %.2f s at %.0f Hz: peak %.0f Hz, RMS %.1f dBFS; %.0f Hz at %.1f dBFS, %.0f Hz (own) at %.1f dBFS",
		what, float64(len(pcm))/rate, rate, peak, rms, hear, h, own, o)
	if len(pcm) == 0 || math.Abs(peak-hear) > 0.02*hear {
		t.Errorf("%s: peak at %.0f Hz; want %.0f Hz ±2%%", what, peak, hear)
	}
	if rms < -30 || rms > -1 || (!math.IsInf(sentDBFS, -1) && math.Abs(rms-sentDBFS) > 2) {
		t.Errorf("%s: %.1f dBFS RMS; want a sane level (-30 to -1 dBFS, within 2 dB of the %.1f dBFS sent)", what, rms, sentDBFS)
	}
	if o > h-30 {
		t.Errorf("%s: its own %.0f Hz tone is at %.1f dBFS, only %.1f dB below the peer's", what, own, o, h-o)
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

var _ = slices.Clone[[]int16]
var _ = sort.Ints
