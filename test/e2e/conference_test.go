package e2e

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/test/audio"
	"github.com/switchboard-voip/switchboard/test/natstest"
)

const (
	typeConfStarted    = "io.switchboard.conference.v1.started"
	typeConfEnded      = "io.switchboard.conference.v1.ended"
	typeMemberJoined   = "io.switchboard.conference.v1.member_joined"
	typeMemberLeft     = "io.switchboard.conference.v1.member_left"
	typeMemberMuted    = "io.switchboard.conference.v1.member_muted"
	typeTalkingStarted = "io.switchboard.conference.v1.talking_started"
)

// confMember is one baresip in a conference test.
type confMember struct {
	phone  *baresip
	hz     float64
	callID string
	codec  string
}

// joinPhones starts one baresip per tone (with its codecs) on RTP ports
// from rtpBase, 50 each, and has each dial conf-<room> in turn, waiting for
// its member_joined before the next dials, so the i-th join is the i-th
// phone.
func joinPhones(t *testing.T, sipAddr, room string, cf *callEvents, rtpBase int, tones []int, codecs []string) []*confMember {
	t.Helper()
	var ms []*confMember
	for i, hz := range tones {
		p := startBaresip(t, baresipOpts{user: fmt.Sprintf("m%d", hz), toneHz: hz, codecs: codecs[i],
			rtpPorts: fmt.Sprintf("%d-%d", rtpBase+50*i, rtpBase+50*i+49)})
		p.mustCommand(t, "dial", "sip:conf-"+room+"@"+sipAddr)
		p.waitEvent(t, "CALL_ESTABLISHED", 5*time.Second)
		j := cf.wait(t, typeMemberJoined, "", i+1, 5*time.Second)[i]
		if j.Conference != room {
			t.Fatalf("member_joined for conference %q, want %q", j.Conference, room)
		}
		mj := j.Data.(*events.MemberJoined)
		if mj.Members != i+1 {
			t.Errorf("member_joined says %d members, want %d", mj.Members, i+1)
		}
		ms = append(ms, &confMember{phone: p, hz: float64(hz), callID: j.CallID, codec: mj.Codec})
		t.Logf("member %d Hz: call %s, %s", hz, j.CallID, mj.Codec)
	}
	return ms
}

// marks returns where each phone's recording stands now.
func marks(t *testing.T, ms []*confMember) []int {
	out := make([]int, len(ms))
	for i, m := range ms {
		out[i] = recordedSamples(t, m.phone)
	}
	return out
}

// recordFor polls until every phone recorded d more than at from.
func recordFor(t *testing.T, ms []*confMember, from []int, d time.Duration) {
	t.Helper()
	starts := map[*baresip]int{}
	for i, m := range ms {
		starts[m.phone] = from[i]
	}
	waitRecorded(t, d, starts)
}

// hears checks, in pcm, that each tone of hear is present at a sane level
// and each tone of absent at least 25 dB below the weakest heard one
// (what is left of it is the limiter's and the codecs' distortion of the
// others: with tones 200 Hz apart their intermodulation products land on
// the absent one).
func hears(t *testing.T, what string, pcm []int16, rate float64, hear, absent []float64) {
	t.Helper()
	weakest := math.Inf(1)
	var got []string
	for _, f := range hear {
		l := audio.ToneLevel(pcm, rate, f)
		got = append(got, fmt.Sprintf("%.0f Hz %.1f dBFS", f, l))
		weakest = min(weakest, l)
		if l < -30 || l > -1 {
			t.Errorf("%s: %.0f Hz at %.1f dBFS; want it heard at a sane level (-30 to -1 dBFS)", what, f, l)
		}
	}
	for _, f := range absent {
		l := audio.ToneLevel(pcm, rate, f)
		got = append(got, fmt.Sprintf("%.0f Hz %.1f dBFS (absent)", f, l))
		if l > weakest-25 {
			t.Errorf("%s: %.0f Hz at %.1f dBFS, only %.1f dB below the weakest tone heard: it should not be there", what, f, l, weakest-l)
		}
	}
	t.Logf("%s (%.2f s): %s", what, float64(len(pcm))/rate, strings.Join(got, ", "))
}

// TestConferenceFourPhones: four baresip phones, sending 300, 500, 700 and
// 900 Hz, dial conf-room1 with G.711 (PCMU, PCMA) and Opus. Each must hear
// the three others and not itself (mix-minus); talking_started fires for
// each; muting the 900 Hz member removes its tone from the others while it
// still hears them; a kick hangs that member up; the others hanging up
// empties and ends the conference.
func TestConferenceFourPhones(t *testing.T) {
	needTools(t, "baresip")
	a := sipApp(t, 48500)
	nc := connect(t, a.NATSURL())
	ce := watchCalls(t, nc)
	cf := watchEvents(t, nc, "sb.evt.conf.>")

	ms := joinPhones(t, a.SIPAddr(), "room1", cf, 48700, []int{300, 500, 700, 900},
		[]string{"PCMU/8000/1", "PCMA/8000/1", "opus/48000/2", "opus/48000/2"})
	for i, want := range []string{"PCMU/8000", "PCMA/8000", "opus/48000", "opus/48000"} {
		if !strings.EqualFold(ms[i].codec, want) {
			t.Errorf("member %.0f Hz joined with %s, want %s", ms[i].hz, ms[i].codec, want)
		}
	}
	if st := cf.wait(t, typeConfStarted, "", 1, 5*time.Second); len(st) != 1 {
		t.Errorf("%d conference started events, want 1", len(st))
	}
	for _, m := range ms {
		ts := cf.wait(t, typeTalkingStarted, m.callID, 1, 5*time.Second)[0].Data.(*events.TalkingStarted)
		t.Logf("talking_started %.0f Hz at %.1f dBFS", m.hz, ts.Level)
	}

	// Everyone unmuted.
	const settle = 500 * time.Millisecond
	all := marks(t, ms)
	recordFor(t, ms, all, 3*time.Second)

	// Mute the 900 Hz member.
	muted := ms[3]
	if r := cmdReq[events.Reply](t, nc, "conference_mute", map[string]any{"conference": "room1", "call_id": muted.callID}); r.Code != 200 {
		t.Fatalf("conference_mute: %+v", r)
	}
	cf.wait(t, typeMemberMuted, muted.callID, 1, 5*time.Second)
	mutedAt := marks(t, ms)
	recordFor(t, ms, mutedAt, 2500*time.Millisecond)
	list := cmdReq[events.ConferenceListReply](t, nc, "conference_list", map[string]any{"conference": "room1"})
	if list.Code != 200 || len(list.Members) != 4 || !list.Started {
		t.Errorf("conference_list: %+v", list)
	}
	for _, lm := range list.Members {
		if lm.Muted != (lm.CallID == muted.callID) {
			t.Errorf("conference_list member %s muted=%v", lm.CallID, lm.Muted)
		}
	}
	end := marks(t, ms)

	// Kick the 300 Hz member: its phone is hung up.
	kicked := ms[0]
	if r := cmdReq[events.Reply](t, nc, "conference_kick", map[string]any{"conference": "room1", "call_id": kicked.callID}); r.Code != 200 {
		t.Fatalf("conference_kick: %+v", r)
	}
	if _, ok := kicked.phone.eventWithin("CALL_CLOSED", 5*time.Second); !ok {
		t.Error("the kicked member's phone was not hung up")
	}
	if l := cf.wait(t, typeMemberLeft, kicked.callID, 1, 5*time.Second)[0].Data.(*events.MemberLeft); l.Reason != events.LeftKicked || l.Members != 3 {
		t.Errorf("kicked: member_left %+v", l)
	}
	// The others hang up: each leaves (hangup) and the last one ends it.
	for _, m := range ms[1:] {
		m.phone.mustCommand(t, "hangup", "")
		if l := cf.wait(t, typeMemberLeft, m.callID, 1, 5*time.Second)[0].Data.(*events.MemberLeft); l.Reason != events.LeftHangup {
			t.Errorf("member %.0f Hz left with %+v, want reason hangup", m.hz, l)
		}
	}
	ended := cf.wait(t, typeConfEnded, "", 1, 5*time.Second)[0].Data.(*events.ConferenceEnded)
	if ended.Reason != events.EndedEmpty {
		t.Errorf("conference ended: %+v, want reason empty", ended)
	}
	for _, m := range ms {
		ce.wait(t, typeCompleted, m.callID, 1, 5*time.Second)
	}
	if r := cmdReq[events.ConferenceListReply](t, nc, "conference_list", map[string]any{"conference": "room1"}); r.Code != 404 {
		t.Errorf("conference_list after the end: %+v, want 404", r)
	}

	for _, m := range ms {
		m.phone.stop(t)
	}
	for i, m := range ms {
		w := recordedWAV(t, m.phone)
		rate := float64(w.rate)
		skip := int(settle.Seconds() * rate)
		if w.rate == 0 || end[i] > len(w.samples) {
			t.Fatalf("member %.0f Hz: recording has %d samples, want %d", m.hz, len(w.samples), end[i])
		}
		var others []float64
		for _, o := range ms {
			if o != m {
				others = append(others, o.hz)
			}
		}
		hears(t, fmt.Sprintf("%.0f Hz member, all unmuted", m.hz), w.samples[all[i]+skip:mutedAt[i]], rate, others, []float64{m.hz})
		if m == muted {
			hears(t, fmt.Sprintf("%.0f Hz member (muted)", m.hz), w.samples[mutedAt[i]+skip:end[i]], rate, others, []float64{m.hz})
			continue
		}
		var heard []float64
		for _, f := range others {
			if f != muted.hz {
				heard = append(heard, f)
			}
		}
		hears(t, fmt.Sprintf("%.0f Hz member, 900 Hz muted", m.hz), w.samples[mutedAt[i]+skip:end[i]], rate, heard, []float64{m.hz, muted.hz})
	}
}

// TestConferenceTenJoinLeave: a baresip listener (440 Hz) sits in a room
// while sipp brings ten members (1 kHz) in at ten calls a second, each
// staying 1-2.5 s. Every member joins and leaves once (hangup), nobody is
// left behind, and what the listener hears has no clicks: no 20 ms window
// where the signal's second difference jumps beyond what the 1 kHz tone
// itself can make.
func TestConferenceTenJoinLeave(t *testing.T) {
	needTools(t, "baresip", "sipp", "sox")
	a := sipApp(t, 49000)
	nc := connect(t, a.NATSURL())
	cf := watchEvents(t, nc, "sb.evt.conf.>")
	listener := joinPhones(t, a.SIPAddr(), "busy", cf, 49400, []int{440}, []string{"PCMU/8000/1"})[0]
	start := recordedSamples(t, listener.phone)

	dir := sippDir(t, 10, 1000)
	code, out := sipp(t, dir, 30*time.Second, "-sf", filepath.Join(dir, "uac_conf_member.xml"), "-s", "conf-busy",
		"-m", "10", "-r", "10", "-l", "10", "-mp", "49200", "-i", "127.0.0.1", a.SIPAddr())
	if code != 0 {
		t.Fatalf("sipp exit %d:\n%s", code, lastLines(out, 30))
	}
	left := cf.wait(t, typeMemberLeft, "", 10, 10*time.Second)
	joined := cf.of(typeMemberJoined, "")
	if len(joined) != 11 || len(left) != 10 {
		t.Errorf("%d member_joined (want 11), %d member_left (want 10)", len(joined), len(left))
	}
	seen := map[string]int{}
	for _, e := range joined[1:] {
		seen[e.CallID]++
	}
	for _, e := range left {
		if r := e.Data.(*events.MemberLeft).Reason; r != events.LeftHangup {
			t.Errorf("member %s left with reason %q, want hangup", e.CallID, r)
		}
		seen[e.CallID] += 10
	}
	for id, n := range seen {
		if n != 11 {
			t.Errorf("member %s: joined %d times, left %d times", id, n%10, n/10)
		}
	}
	list := cmdReq[events.ConferenceListReply](t, nc, "conference_list", map[string]any{"conference": "busy"})
	if list.Code != 200 || len(list.Members) != 1 || list.Members[0].CallID != listener.callID {
		t.Errorf("after the ten left, conference_list: %+v", list)
	}
	if v := metricValue(t, a, "sb_conference_members"); v != 1 {
		t.Errorf("sb_conference_members = %v, want 1", v)
	}
	listener.phone.stop(t)

	w := recordedWAV(t, listener.phone)
	pcm := w.samples[start:]
	if l := audio.ToneLevel(pcm, float64(w.rate), 1000); l < -30 {
		t.Errorf("the listener heard the members' 1 kHz at %.1f dBFS", l)
	}
	checkNoClicks(t, pcm, float64(w.rate), 1000)
}

// checkNoClicks: in every 20 ms window with signal, the largest second
// difference stays within what a tone of at most maxHz at the window's peak
// can make (2-2cos(2 pi maxHz/rate) of the peak), plus 20 % of the peak
// for G.711's quantization (up to 9 % at these levels) and the limiter's
// gain moving within the window. A click (a step) shows as a second
// difference as large as the step: a member heard from silence without
// its fade-in gives up to 1.6 of the peak.
func checkNoClicks(t *testing.T, pcm []int16, rate, maxHz float64) {
	t.Helper()
	n := int(rate / 50)
	bound := 2 - 2*math.Cos(2*math.Pi*maxHz/rate) + 0.2
	worst, windows := 0.0, 0
	for off := 2; off+n <= len(pcm); off += n {
		peak, d2 := 0.0, 0.0
		for i := off; i < off+n; i++ {
			peak = max(peak, math.Abs(float64(pcm[i])))
			d2 = max(d2, math.Abs(float64(pcm[i])-2*float64(pcm[i-1])+float64(pcm[i-2])))
		}
		if peak < 32768*0.01 { // below -40 dBFS: silence, nothing to click
			continue
		}
		windows++
		if r := d2 / peak; r > worst {
			worst = r
			if r > bound {
				t.Errorf("click at %.3f s: second difference %.0f, %.2f of the window's peak %.0f (bound %.2f)", float64(off)/rate, d2, r, peak, bound)
			}
		}
	}
	t.Logf("clicks: %d windows with signal, worst second difference %.2f of the peak (bound %.2f)", windows, worst, bound)
	if windows == 0 {
		t.Error("no window with signal")
	}
}

// TestConferenceAcrossWorkers: the conference role runs in one process
// (with the edge and NATS) and the media role in another: two baresip
// members, PCMU and Opus, dial conf-x and hear each other.
func TestConferenceAcrossWorkers(t *testing.T) {
	needTools(t, "baresip")
	up := startProc(t, "up", "--node-id", "edge", "--roles", "conference,dtmf", "--data", t.TempDir(), "--nats-port", "-1",
		"--http", "127.0.0.1:0", "--sip-host", "127.0.0.1", "--sip-port", "0", "--sip-advertise", "127.0.0.1")
	natsURL, sipAddr := up.logValue(t, "url"), up.logValue(t, "sip")
	startProc(t, "worker", "--node-id", "w2", "--nats", natsURL, "--roles", "media", "--http", "127.0.0.1:0",
		"--media-ip", "127.0.0.1", "--rtp-port-min", "49500", "--rtp-port-max", "49599")
	natstest.CheckFor(t, 15*time.Second, 100*time.Millisecond, func() error {
		owned := map[string]int{}
		for _, n := range ctlNodes(t, natsURL) {
			owned[n.ID] = len(n.Partitions["media"]) + 1000*len(n.Partitions["conference"])
		}
		if owned["w2"] != 64 || owned["edge"] != 64000 {
			return fmt.Errorf("partitions (media + 1000 x conference) %v", owned)
		}
		return nil
	})
	nc := connect(t, natsURL)
	ce := watchCalls(t, nc)
	cf := watchEvents(t, nc, "sb.evt.conf.>")
	ms := joinPhones(t, sipAddr, "x", cf, 49600, []int{440, 1000}, []string{"PCMU/8000/1", "opus/48000/2"})
	for _, m := range ms {
		ans := ce.wait(t, typeAnswered, m.callID, 1, 5*time.Second)[0]
		join := cf.of(typeMemberJoined, m.callID)[0]
		if ans.Node != "w2" || join.Node != "edge" {
			t.Errorf("call answered by %s, joined by %s; want media on w2, the conference on edge", ans.Node, join.Node)
		}
	}
	from := marks(t, ms)
	recordFor(t, ms, from, 2500*time.Millisecond)
	for _, m := range ms {
		m.phone.stop(t)
	}
	for i, m := range ms {
		w := recordedWAV(t, m.phone)
		other := ms[1-i]
		sent := audio.RMS(recordedWAV(t, other.phone, "enc").samples)
		checkTone(t, fmt.Sprintf("%.0f Hz member hears %.0f Hz across workers", m.hz, other.hz),
			w.samples[from[i]+w.rate/2:], float64(w.rate), other.hz, m.hz, sent)
	}
}

// TestConferenceSurvivesMixerKill: four baresip members in a room mixed by
// one of two conference worker processes (media, the edge and NATS run in
// a third). kill -9 of the mixer: the other conference worker takes the
// partition over, rebuilds the room from KV, and the members hear each
// other again without redialing or re-INVITEs (their audio goes to
// subjects named by conference and member, not by host).
func TestConferenceSurvivesMixerKill(t *testing.T) {
	needTools(t, "baresip")
	up := startProc(t, "up", "--node-id", "edge", "--roles", "media,dtmf", "--data", t.TempDir(), "--nats-port", "-1",
		"--http", "127.0.0.1:0", "--sip-host", "127.0.0.1", "--sip-port", "0", "--sip-advertise", "127.0.0.1",
		"--media-ip", "127.0.0.1", "--rtp-port-min", "49700", "--rtp-port-max", "49799")
	natsURL, sipAddr := up.logValue(t, "url"), up.logValue(t, "sip")
	mixers := map[string]*proc{}
	for _, id := range []string{"c1", "c2"} {
		mixers[id] = startProc(t, "worker", "--node-id", id, "--nats", natsURL, "--roles", "conference", "--http", "127.0.0.1:0")
	}
	natstest.CheckFor(t, 15*time.Second, 100*time.Millisecond, func() error {
		owned := map[string]int{}
		for _, n := range ctlNodes(t, natsURL) {
			owned[n.ID] = len(n.Partitions["conference"])
		}
		if owned["c1"] == 0 || owned["c2"] == 0 || owned["c1"]+owned["c2"] != 64 {
			return fmt.Errorf("conference partitions %v", owned)
		}
		return nil
	})
	nc := connect(t, natsURL)
	ce := watchCalls(t, nc)
	cf := watchEvents(t, nc, "sb.evt.conf.>")
	ms := joinPhones(t, sipAddr, "kill", cf, 49800, []int{300, 500, 700, 900},
		[]string{"PCMU/8000/1", "PCMU/8000/1", "opus/48000/2", "PCMA/8000/1"})
	owner := cf.of(typeMemberJoined, ms[0].callID)[0].Node
	recordFor(t, ms, marks(t, ms), time.Second)

	killed := time.Now()
	_ = mixers[owner].cmd.Process.Kill()
	<-mixers[owner].done
	// The survivor resumes the room: its talking events name it.
	natstest.CheckFor(t, 10*time.Second, 50*time.Millisecond, func() error {
		for _, e := range cf.of(typeTalkingStarted, "") {
			if e.Node != owner {
				return nil
			}
		}
		return fmt.Errorf("no talking_started from the new mixer yet")
	})
	t.Logf("mixer %s killed; the room is mixed again by the survivor %v later", owner, time.Since(killed).Round(time.Millisecond))
	after := marks(t, ms)
	recordFor(t, ms, after, 2500*time.Millisecond)
	list := cmdReq[events.ConferenceListReply](t, nc, "conference_list", map[string]any{"conference": "kill"})
	if list.Code != 200 || len(list.Members) != 4 || list.Node == owner {
		t.Errorf("conference_list after the kill: %+v", list)
	}
	if n := len(ce.of(typeCompleted, "")); n != 0 {
		t.Errorf("%d calls ended during the mixer failover", n)
	}
	for _, m := range ms {
		m.phone.stop(t)
	}
	for i, m := range ms {
		w := recordedWAV(t, m.phone)
		var others []float64
		for _, o := range ms {
			if o != m {
				others = append(others, o.hz)
			}
		}
		hears(t, fmt.Sprintf("%.0f Hz member after the mixer's kill", m.hz), w.samples[after[i]+w.rate/2:], float64(w.rate), others, []float64{m.hz})
	}
}
