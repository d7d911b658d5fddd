package conference

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/test/audio"
	"github.com/switchboard-voip/switchboard/test/leak"
	"github.com/switchboard-voip/switchboard/test/natstest"
	"github.com/switchboard-voip/switchboard/workers/conference/frame"
)

var tones = []float64{300, 500, 700, 900}

// hears checks that a phone's latest audio has every other phone's tone
// at about -17 dBFS and not its own.
func hears(ph *phone, all []*phone, skip ...*phone) error {
	tail := ph.tail(400*time.Millisecond, 0)
	if tail == nil {
		return fmt.Errorf("%s: not enough audio yet", ph.call)
	}
	for _, o := range all {
		lv := audio.ToneLevel(tail, float64(ph.decRate), o.tone)
		switch {
		case o == ph || slices.Contains(skip, o):
			if lv > -50 {
				return fmt.Errorf("%s hears %v Hz at %.1f dBFS, want < -50", ph.call, o.tone, lv)
			}
		case lv < -19 || lv > -15:
			return fmt.Errorf("%s hears %v Hz at %.1f dBFS, want -17 ± 2", ph.call, o.tone, lv)
		}
	}
	return nil
}

// levels is a phone's tone levels, for logs.
func levels(ph *phone, all []*phone) string {
	tail := ph.tail(400*time.Millisecond, 0)
	s := ph.call + ":"
	for _, o := range all {
		s += fmt.Sprintf(" %v Hz %.2f", o.tone, audio.ToneLevel(tail, float64(ph.decRate), o.tone))
	}
	return s
}

// TestMixMinus: four G.711 members sending 300, 500, 700 and 900 Hz each
// hear the three others and not themselves; muting one takes its tone out
// of the others' audio (it still hears them); a deaf member gets nothing
// until undeaf. Out-frames are numbered per member without a gap.
func TestMixMinus(t *testing.T) {
	leak.Check(t)
	h, _, reg := newHarness(t, Config{})
	var ps []*phone
	for i, f := range tones {
		codecName := "PCMU/8000"
		if i == 1 {
			codecName = "pcma/8000"
		}
		ps = append(ps, h.newPhone("room1", fmt.Sprintf("call-%d@example.com", i), codecName, 16000, f))
	}
	for _, ph := range ps {
		ph.join(nil)
	}
	deaf := h.newPhone("room1", "deaf@example.com", "PCMU/8000", 16000, 0)
	deaf.join(map[string]any{"deaf": true})

	for _, ph := range ps {
		natstest.CheckFor(t, 5*time.Second, 20*time.Millisecond, func() error { return hears(ph, ps) })
		t.Log(levels(ph, ps))
	}
	if n := deaf.frameCount(); n != 0 {
		t.Errorf("deaf member received %d frames", n)
	}

	h.must("conference_mute", memberOf("room1", ps[0].call))
	for _, ph := range ps[1:] {
		mark := ph.frameCount()
		natstest.CheckFor(t, 5*time.Second, 20*time.Millisecond, func() error {
			if ph.tail(400*time.Millisecond, mark) == nil {
				return fmt.Errorf("%s: no audio since the mute yet", ph.call)
			}
			return hears(ph, ps, ps[0])
		})
	}
	if err := hears(ps[0], ps); err != nil {
		t.Errorf("muted member: %v", err)
	}
	if code, _ := h.do("conference_mute", memberOf("room1", ps[0].call)); code != 409 {
		t.Errorf("mute of a muted member: %d, want 409", code)
	}
	h.must("conference_unmute", memberOf("room1", ps[0].call))
	h.must("conference_undeaf", memberOf("room1", deaf.call))
	natstest.CheckFor(t, 5*time.Second, 20*time.Millisecond, func() error { return hears(deaf, ps) })

	for _, ph := range append(ps, deaf) {
		ph.mu.Lock()
		if ph.disc != 1 || ph.badOrder != 0 {
			t.Errorf("%s: %d frames with Discontinuity, %d out of order; want 1 and 0", ph.call, ph.disc, ph.badOrder)
		}
		ph.mu.Unlock()
	}
	l := h.list("room1")
	if l.Code != 200 || !l.Started || l.Rate != 16000 || len(l.Members) != 5 || l.Members[1].Codec != "pcma/8000" {
		t.Errorf("list: %+v", l)
	}
	if v := metric(t, reg, "sb_conference_frames_total", frameMixed); v < 100 {
		t.Errorf("frames mixed: %v", v)
	}
	if v := metric(t, reg, "sb_conference_errors_total", errNotMember); v != 0 {
		t.Errorf("%v frames counted as a non-member's (sent while joining)", v)
	}
	if v := metric(t, reg, "sb_conference_members", ""); v != 5 {
		t.Errorf("members gauge %v", v)
	}
	t.Logf("frames: mixed %v, missing %v, late %v, dropped %v",
		metric(t, reg, "sb_conference_frames_total", frameMixed), metric(t, reg, "sb_conference_frames_total", frameMissing),
		metric(t, reg, "sb_conference_frames_total", frameLate), metric(t, reg, "sb_conference_frames_total", frameDropped))
}

// TestMixedCodecs: G.711 and Opus members in one 48 kHz room hear each
// other; Opus members get Opus at 48 kHz, G.711 ones 8 kHz.
func TestMixedCodecs(t *testing.T) {
	leak.Check(t)
	h, _, _ := newHarness(t, Config{Rate: 48000})
	codecs := []string{"PCMU/8000", "PCMA/8000", "opus/48000", "OPUS/48000/2"}
	var ps []*phone
	for i, f := range tones {
		ps = append(ps, h.newPhone("mixed", fmt.Sprintf("m%d@example.com", i), codecs[i], 48000, f))
	}
	for _, ph := range ps {
		ph.join(nil)
	}
	for _, ph := range ps {
		natstest.CheckFor(t, 5*time.Second, 20*time.Millisecond, func() error { return hears(ph, ps) })
		t.Log(levels(ph, ps))
	}
	// A silent Opus member is a listener: it shares the group's encoding.
	ps[3].setSending(false)
	mark := ps[3].frameCount()
	natstest.CheckFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		if ps[3].tail(400*time.Millisecond, mark) == nil {
			return fmt.Errorf("no audio yet")
		}
		return hears(ps[3], ps[:3])
	})
}

// TestEvents: the events of a room's life, with their envelopes: joined
// (members counted), started once, talking_started only for the member
// with signal, member_left with each reason, talking_stopped of a member
// leaving while it talks, then ended (empty).
func TestEvents(t *testing.T) {
	leak.Check(t)
	h, _, _ := newHarness(t, Config{})
	a := h.newPhone("ev", "a@x", "PCMU/8000", 16000, 500)
	b := h.newPhone("ev", "b@x", "PCMU/8000", 16000, 0)
	c := h.newPhone("ev", "c@x", "opus/48000", 16000, 0)
	for _, ph := range []*phone{a, b, c} {
		ph.join(nil)
	}
	started := h.waitEvents("talking_started", "", 1)
	if d := started[0].Data.(*events.TalkingStarted); started[0].CallID != "a@x" || d.Level < -18 || d.Level > -16 {
		t.Errorf("talking_started %s %+v", started[0].CallID, d)
	}
	p := events.Partition("ev", partitions)
	for i, e := range h.waitEvents("member_joined", "", 3) {
		d := e.Data.(*events.MemberJoined)
		if e.Conference != "ev" || e.Partition == nil || *e.Partition != p || e.CallID != []string{"a@x", "b@x", "c@x"}[i] || d.Members != i+1 || e.Node != "n1" {
			t.Errorf("member_joined %d: %+v %+v", i, e.Header, d)
		}
	}
	if e := h.waitEvents("started", "", 1); e[0].Data.(*events.ConferenceStarted).Rate != 16000 || e[0].CallID != "" {
		t.Errorf("started: %+v", e[0])
	}

	natstest.CheckFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		tail := b.tail(400*time.Millisecond, 0)
		if lv := audio.ToneLevel(tail, 8000, 500); tail == nil || lv < -19 {
			return fmt.Errorf("b does not hear a yet")
		}
		return nil
	})
	h.must("conference_leave", memberOf("ev", "b@x"))
	h.must("conference_kick", memberOf("ev", "c@x"))
	gone, _ := json.Marshal(events.MemberGone{Conference: "ev", CallID: "a@x", Reason: events.GoneHangup})
	if err := h.nc.Publish(events.PartitionSubject(events.RoleConference, p, events.ConferenceKindMember), gone); err != nil {
		t.Fatal(err)
	}
	left := h.waitEvents("member_left", "", 3)
	for i, want := range []string{events.LeftLeft, events.LeftKicked, events.LeftHangup} {
		if d := left[i].Data.(*events.MemberLeft); d.Reason != want || d.Members != 2-i {
			t.Errorf("member_left %d (%s): %+v, want %s", i, left[i].CallID, d, want)
		}
	}
	ended := h.waitEvents("ended", "", 1)
	if d := ended[0].Data.(*events.ConferenceEnded); d.Reason != events.EndedEmpty || d.Duration <= 0 {
		t.Errorf("ended: %+v", d)
	}
	if st := h.events("talking_stopped", "a@x"); len(st) != 1 {
		t.Errorf("%d talking_stopped, want 1 (a leaves while talking)", len(st))
	} else if d := st[0].Data.(*events.TalkingStopped); d.DurationMS < 300 || d.Level < -18 || d.Level > -16 {
		t.Errorf("talking_stopped of a member leaving while talking: %+v", d)
	}
	if n := len(h.events("talking_started", "")); n != 1 {
		t.Errorf("%d talking_started, want 1 (only a sends signal)", n)
	}
	if n := len(h.events("started", "")); n != 1 {
		t.Errorf("%d started", n)
	}
	// Detaches: leave without hangup, kick with; the gone member none.
	det := h.mediaRequests(events.DetachOp)
	if len(det) != 2 || det[0].CallID != "b@x" || det[0].Hangup || det[1].CallID != "c@x" || !det[1].Hangup {
		t.Errorf("detaches: %+v", det)
	}
	if l := h.list("ev"); l.Code != 404 {
		t.Errorf("list of an ended conference: %d", l.Code)
	}
}

// TestChurn: ten members join and leave at once, concurrently: every
// command succeeds, each gets one member_joined and one member_left, the
// conference ends once and nothing is left behind.
func TestChurn(t *testing.T) {
	leak.Check(t)
	h, r, reg := newHarness(t, Config{})
	const n = 10
	var ps []*phone
	for i := range n {
		ps = append(ps, h.newPhone("churn", fmt.Sprintf("c%d@x", i), "PCMU/8000", 16000, 300+100*float64(i)))
	}
	var wg sync.WaitGroup
	for _, ph := range ps {
		wg.Go(func() { ph.join(nil) })
	}
	wg.Wait()
	if l := h.list("churn"); len(l.Members) != n {
		t.Fatalf("%d members after the joins", len(l.Members))
	}
	for _, ph := range ps {
		wg.Go(func() {
			ph.setSending(false)
			h.must("conference_leave", memberOf("churn", ph.call))
		})
	}
	wg.Wait()
	h.waitEvents("ended", "", 1)
	for _, ph := range ps {
		if j, l := len(h.events("member_joined", ph.call)), len(h.events("member_left", ph.call)); j != 1 || l != 1 {
			t.Errorf("%s: %d joined, %d left", ph.call, j, l)
		}
	}
	if l := h.list("churn"); l.Code != 404 {
		t.Errorf("list after everyone left: %+v", l)
	}
	if m, c := metric(t, reg, "sb_conference_members", ""), metric(t, reg, "sb_conference_conferences", ""); m != 0 || c != 0 {
		t.Errorf("gauges: %v members, %v conferences", m, c)
	}
	if k := keys(t, r); len(k) != 0 {
		t.Errorf("KV keys left: %v", k)
	}
	// A rejoin makes a new conference.
	ps[0].join(nil)
	h.waitEvents("started", "", 2)
	h.must("conference_leave", memberOf("churn", ps[0].call))
	h.waitEvents("ended", "", 2)
}

func keys(t *testing.T, r *Role) []string {
	t.Helper()
	l, err := r.kv.ListKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for k := range l.Keys() {
		out = append(out, k)
	}
	return out
}

// TestTakeover: a second role instance takes the partition over after the
// first lost it, resumes the room from KV, and the members' audio goes on
// (each member's stream restarting with Discontinuity) with no command to
// their media workers.
func TestTakeover(t *testing.T) {
	leak.Check(t)
	h, r1, _ := newHarness(t, Config{})
	var ps []*phone
	for i, f := range tones[:3] {
		ps = append(ps, h.newPhone("fo", fmt.Sprintf("fo%d@x", i), []string{"PCMU/8000", "opus/48000", "PCMA/8000"}[i], 16000, f))
	}
	for _, ph := range ps {
		ph.join(nil)
	}
	h.must("conference_mute", memberOf("fo", ps[2].call))
	for _, ph := range ps {
		natstest.CheckFor(t, 5*time.Second, 20*time.Millisecond, func() error { return hears(ph, ps, ps[2]) })
	}
	attaches := len(h.mediaRequests(events.AttachOp))

	p := events.Partition("fo", partitions)
	h.owner[p].Store(nil)
	if err := r1.Release(context.Background(), p, true); err != nil {
		t.Fatal(err)
	}
	r2, _ := h.role("n2", Config{})
	h.own(r2, p)
	for _, ph := range ps {
		mark := ph.frameCount()
		natstest.CheckFor(t, 5*time.Second, 20*time.Millisecond, func() error {
			if ph.tail(400*time.Millisecond, mark) == nil {
				return fmt.Errorf("%s: no audio since the takeover", ph.call)
			}
			return hears(ph, ps, ps[2])
		})
		ph.mu.Lock()
		if ph.disc != 2 || ph.badOrder != 0 {
			t.Errorf("%s: %d discontinuities, %d out of order; want 2 and 0", ph.call, ph.disc, ph.badOrder)
		}
		ph.mu.Unlock()
	}
	if n := len(h.mediaRequests(events.AttachOp)); n != attaches {
		t.Errorf("takeover sent %d attaches", n-attaches)
	}
	l := h.list("fo")
	if l.Code != 200 || l.Node != "n2" || !l.Started || len(l.Members) != 3 || !l.Members[2].Muted || l.Members[1].Codec != "opus/48000" {
		t.Errorf("list after takeover: %+v", l)
	}
	h.must("conference_leave", memberOf("fo", ps[0].call))
	if e := h.waitEvents("member_left", ps[0].call, 1); e[0].Node != "n2" {
		t.Errorf("member_left from %s", e[0].Node)
	}
	// A graceful hand-back writes the state; the next owner has it.
	h.owner[p].Store(nil)
	if err := r2.Release(context.Background(), p, false); err != nil {
		t.Fatal(err)
	}
	h.own(r1, p)
	if l := h.list("fo"); l.Node != "n1" || len(l.Members) != 2 {
		t.Errorf("list after hand-back: %+v", l)
	}
}

// TestBadInput: malformed frames, frames of non-members, of the wrong
// rate, size or codec, and bad MemberGone messages are counted and
// dropped; the room goes on.
func TestBadInput(t *testing.T) {
	leak.Check(t)
	h, _, reg := newHarness(t, Config{})
	a := h.newPhone("bad", "a@x", "PCMU/8000", 16000, 500)
	b := h.newPhone("bad", "b@x", "PCMU/8000", 16000, 700)
	a.join(nil)
	b.join(nil)
	in := events.ConferenceInSubject("bad", "a@x")
	pcm := func(rate, n int) []byte {
		f := frame.Frame{Codec: frame.PCM, Level: -127, Rate: rate, Samples: n, PCM: make([]int16, n)}
		m, err := f.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	ulaw, _ := (&frame.Frame{Codec: frame.PCMU, Level: -127, Rate: 8000, Samples: 160, Payload: make([]byte, 160)}).MarshalBinary()
	send := map[string][][]byte{
		errMalformedFrame: {nil, []byte("garbage"), append([]byte{9}, pcm(16000, 320)[1:]...), pcm(16000, 320)[:300]},
		errWrongRate:      {pcm(48000, 960), pcm(8000, 160)},
		errWrongSize:      {pcm(16000, 160), pcm(16000, 640)},
		errWrongCodec:     {ulaw},
	}
	for _, msgs := range send {
		for _, m := range msgs {
			_ = h.nc.Publish(in, m)
		}
	}
	_ = h.nc.Publish(events.ConferenceInSubject("bad", "stranger@x"), pcm(16000, 320))
	gone := events.PartitionSubject(events.RoleConference, events.Partition("bad", partitions), events.ConferenceKindMember)
	for _, m := range []string{`{`, `{"conference":"bad"}`, `{"conference":"no such room!","call_id":"a@x"}`, `[]`} {
		_ = h.nc.Publish(gone, []byte(m))
	}
	_ = h.nc.Publish(events.PartitionSubject(events.RoleConference, events.Partition("bad", partitions), "nonsense"), []byte("x"))
	want := map[string]float64{errMalformedFrame: 4, errWrongRate: 2, errWrongSize: 2, errWrongCodec: 1, errNotMember: 1, errBadGone: 4, errUnknownKind: 1}
	natstest.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		for reason, n := range want {
			if v := metric(t, reg, "sb_conference_errors_total", reason); v != n {
				return fmt.Errorf("%s: %v, want %v", reason, v, n)
			}
		}
		return nil
	})
	ps := []*phone{a, b}
	for _, ph := range ps {
		mark := ph.frameCount()
		natstest.CheckFor(t, 5*time.Second, 20*time.Millisecond, func() error {
			if ph.tail(400*time.Millisecond, mark) == nil {
				return fmt.Errorf("no audio yet")
			}
			return hears(ph, ps)
		})
	}
	if l := h.list("bad"); len(l.Members) != 2 {
		t.Errorf("members: %+v", l.Members)
	}
}

// TestJoinErrors: what a join answers when it cannot be done, and that a
// conference created for a failed join goes without an event.
func TestJoinErrors(t *testing.T) {
	leak.Check(t)
	h, _, reg := newHarness(t, Config{AttachTimeout: 300 * time.Millisecond})
	h.answer = func(a events.MemberAttach) *events.MemberAttachReply {
		switch a.CallID {
		case "ringing@x":
			return &events.MemberAttachReply{Reply: events.Reply{Code: 409, Reason: "call not answered"}}
		case "nosuch@x":
			return &events.MemberAttachReply{Reply: events.Reply{Code: 404, Reason: "no such call"}}
		case "slow@x":
			if a.Op == events.AttachOp {
				return nil
			}
		case "g729@x":
			return &events.MemberAttachReply{Reply: events.Reply{Code: 200, Reason: "OK"}, Codec: "G729/8000"}
		}
		return &events.MemberAttachReply{Reply: events.Reply{Code: 200, Reason: "OK"}, Codec: "PCMU/8000"}
	}
	for _, c := range []struct {
		body map[string]any
		code int
	}{
		{memberOf("e1", "ringing@x"), 409},
		{memberOf("e1", "nosuch@x"), 404},
		{memberOf("e1", "slow@x"), 504},
		{memberOf("e1", "g729@x"), 500},
		{memberOf("bad name", "a@x"), 400},
		{memberOf("e1", ""), 400},
	} {
		if code, reason := h.do("conference_join", c.body); code != c.code {
			t.Errorf("join %v: %d %s, want %d", c.body, code, reason, c.code)
		}
	}
	if l := h.list("e1"); l.Code != 404 {
		t.Errorf("conference of failed joins exists: %+v", l)
	}
	// The slow attach and the unusable codec are taken back.
	var undone []string
	natstest.CheckFor(t, 2*time.Second, 10*time.Millisecond, func() error {
		undone = nil
		for _, d := range h.mediaRequests(events.DetachOp) {
			undone = append(undone, d.CallID)
		}
		if len(undone) < 2 {
			return fmt.Errorf("detaches %v", undone)
		}
		return nil
	})
	slices.Sort(undone)
	if !slices.Equal(undone, []string{"g729@x", "slow@x"}) {
		t.Errorf("detaches %v", undone)
	}
	h.must("conference_join", memberOf("e1", "ok@x"))
	if code, _ := h.do("conference_join", memberOf("e1", "ok@x")); code != 409 {
		t.Errorf("second join: %d, want 409", code)
	}
	// A failed join into an existing conference leaves it alone.
	if code, _ := h.do("conference_join", memberOf("e1", "nosuch@x")); code != 404 {
		t.Errorf("join: %d", code)
	}
	if l := h.list("e1"); len(l.Members) != 1 {
		t.Errorf("members: %+v", l.Members)
	}
	for verb, code := range map[string]int{"conference_mute": 404, "conference_leave": 404, "conference_kick": 404, "conference_undeaf": 404} {
		if c, _ := h.do(verb, memberOf("e1", "stranger@x")); c != code {
			t.Errorf("%s of a non-member: %d", verb, c)
		}
	}
	if c, _ := h.do("conference_unmute", memberOf("e1", "ok@x")); c != 409 {
		t.Errorf("unmute of an unmuted member: %d", c)
	}
	if c, _ := h.do("conference_end", map[string]string{"conference": "nope"}); c != 404 {
		t.Errorf("end of nothing: %d", c)
	}
	if c, _ := h.do("conference_frobnicate", map[string]string{"conference": "e1"}); c != 501 {
		t.Errorf("unknown verb: %d", c)
	}
	// Nobody answers for media: 503, retry.
	_ = h.mediaSub.Unsubscribe()
	_ = h.nc.Flush()
	var rep events.Reply
	_ = json.Unmarshal(h.cmd("conference_join", memberOf("e2", "a@x")), &rep)
	if rep.Code != 503 || rep.RetryAfter != 1 {
		t.Errorf("join without a media owner: %+v", rep)
	}
	if n := len(h.events("member_joined", "")); n != 1 {
		t.Errorf("%d member_joined", n)
	}
	if v := metric(t, reg, "sb_conference_conferences", ""); v != 1 {
		t.Errorf("conferences gauge %v", v)
	}
}

// TestStartEndOnExit: members who join before a start_on_enter member wait
// in silence; when the end_on_exit member is kicked, the others are hung
// up and the conference ends with reason end_on_exit.
func TestStartEndOnExit(t *testing.T) {
	leak.Check(t)
	h, _, _ := newHarness(t, Config{})
	a := h.newPhone("lobby", "a@x", "PCMU/8000", 16000, 500)
	b := h.newPhone("lobby", "b@x", "PCMU/8000", 16000, 700)
	host := h.newPhone("lobby", "host@x", "PCMU/8000", 16000, 900)
	a.join(map[string]any{"start_on_enter": false})
	b.join(map[string]any{"start_on_enter": false})
	natstest.CheckFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		tail := b.tail(400*time.Millisecond, 0)
		if tail == nil {
			return fmt.Errorf("no audio yet")
		}
		if rms := audio.RMS(tail); rms > -90 {
			return fmt.Errorf("b hears %.1f dBFS before the start", rms)
		}
		return nil
	})
	if l := h.list("lobby"); l.Started || len(h.events("started", "")) != 0 || len(h.events("talking_started", "")) != 0 {
		t.Errorf("started without a start_on_enter member: %+v", l)
	}
	host.join(map[string]any{"end_on_exit": true, "moderator": true})
	h.waitEvents("started", "", 1)
	ps := []*phone{a, b, host}
	mark := b.frameCount()
	natstest.CheckFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		if b.tail(400*time.Millisecond, mark) == nil {
			return fmt.Errorf("no audio yet")
		}
		return hears(b, ps)
	})
	h.must("conference_kick", memberOf("lobby", host.call))
	ended := h.waitEvents("ended", "", 1)
	if d := ended[0].Data.(*events.ConferenceEnded); d.Reason != events.EndedEndOnExit {
		t.Errorf("ended: %+v", d)
	}
	reasons := map[string]string{}
	for _, e := range h.events("member_left", "") {
		reasons[e.CallID] = e.Data.(*events.MemberLeft).Reason
	}
	if reasons["host@x"] != events.LeftKicked || reasons["a@x"] != events.LeftConferenceEnded || reasons["b@x"] != events.LeftConferenceEnded {
		t.Errorf("member_left reasons: %v", reasons)
	}
	hung := map[string]bool{}
	for _, d := range h.mediaRequests(events.DetachOp) {
		hung[d.CallID] = d.Hangup
	}
	if len(hung) != 3 || !hung["a@x"] || !hung["b@x"] || !hung["host@x"] {
		t.Errorf("detaches: %v", hung)
	}

	// conference_end: everyone hung up, reason command.
	for _, ph := range ps {
		ph.join(nil)
	}
	h.must("conference_end", map[string]string{"conference": "lobby"})
	ended = h.waitEvents("ended", "", 2)
	if d := ended[1].Data.(*events.ConferenceEnded); d.Reason != events.EndedCommand {
		t.Errorf("ended: %+v", d)
	}
	if n := len(h.events("member_left", "")); n != 6 {
		t.Errorf("%d member_left", n)
	}
}

// TestLiveness: a member nothing is heard from is looked up in the media
// role's KV: gone if its call is not there, kept if it is.
func TestLiveness(t *testing.T) {
	leak.Check(t)
	h, _, reg := newHarness(t, Config{MemberTimeout: 200 * time.Millisecond})
	js, err := jetstream.New(h.nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	h.must("conference_join", memberOf("live", "dead@x"))
	h.must("conference_join", memberOf("live", "alive@x"))
	// Without the media role's bucket there is no verdict: nobody goes.
	natstest.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if v := metric(t, reg, "sb_conference_errors_total", errLiveness); v < 4 {
			return fmt.Errorf("%v lookups without a verdict", v)
		}
		return nil
	})
	if l := h.list("live"); len(l.Members) != 2 {
		t.Fatalf("members without the calls bucket: %+v", l.Members)
	}
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: events.BucketCalls})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, events.CallKey(events.Partition("alive@x", partitions), "alive@x"), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	e := h.waitEvents("member_left", "dead@x", 1)
	if d := e[0].Data.(*events.MemberLeft); d.Reason != events.LeftGone || d.Members != 1 {
		t.Errorf("member_left: %+v", d)
	}
	time.Sleep(500 * time.Millisecond) // more sweeps: the live call stays
	if l := h.list("live"); len(l.Members) != 1 || l.Members[0].CallID != "alive@x" {
		t.Errorf("members: %+v", l.Members)
	}
	if n := len(h.mediaRequests(events.DetachOp)); n != 0 {
		t.Errorf("%d detaches for a gone call", n)
	}
}

// TestCloseStopsEverything: Close with conferences running stops their
// clocks and subscriptions (leak.Check fails otherwise).
func TestCloseStopsEverything(t *testing.T) {
	leak.Check(t)
	h, r, _ := newHarness(t, Config{})
	for i := range 3 {
		h.must("conference_join", memberOf(fmt.Sprintf("r%d", i), "a@x"))
	}
	r.Close()
	r.Close()
	sub, _ := h.nc.SubscribeSync("sb.conf.r0.out.>")
	defer sub.Unsubscribe()
	if _, err := sub.NextMsg(200 * time.Millisecond); err != nats.ErrTimeout {
		t.Errorf("out-frames after Close: %v", err)
	}
}

// TestLatency measures how long a sound takes from a member's media
// worker to another's: the time from the publication of the first frame
// of a tone to the arrival of the first out-frame whose level shows it,
// over 10 onsets. It is a frame's wait in the queue for the next tick
// (0-20 ms, up to 40 when jitter made it keep one) plus two NATS hops.
func TestLatency(t *testing.T) {
	leak.Check(t)
	h, _, _ := newHarness(t, Config{})
	a := h.newPhone("lat", "a@x", "PCMU/8000", 16000, 0)
	b := h.newPhone("lat", "b@x", "PCMU/8000", 16000, 0)
	a.join(nil)
	b.join(nil)
	var lat []time.Duration
	for range 10 {
		a.mu.Lock()
		a.tone, a.toneOff = 0, true
		a.mu.Unlock()
		natstest.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
			if tail := b.tail(100*time.Millisecond, 0); tail == nil || audio.RMS(tail) > -60 {
				return fmt.Errorf("b still hears a")
			}
			return nil
		})
		b.mu.Lock()
		b.loud = nil
		b.mu.Unlock()
		a.mu.Lock()
		a.tone = 500
		a.mu.Unlock()
		var d time.Duration
		natstest.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
			a.mu.Lock()
			sent, on := !a.toneOff, a.onsets
			a.mu.Unlock()
			b.mu.Lock()
			defer b.mu.Unlock()
			if !sent || len(b.loud) == 0 {
				return fmt.Errorf("no onset heard yet")
			}
			d = b.loud[0].Sub(on[len(on)-1])
			return nil
		})
		lat = append(lat, d)
	}
	slices.Sort(lat)
	t.Logf("latency over %d onsets: min %v, median %v, max %v", len(lat), lat[0], lat[len(lat)/2], lat[len(lat)-1])
	if lat[len(lat)/2] > 60*time.Millisecond {
		t.Errorf("median latency %v, want at most 3 frames", lat[len(lat)/2])
	}
}
