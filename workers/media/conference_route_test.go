package media

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/test/leak"
	"github.com/switchboard-voip/switchboard/test/natstest"
	"github.com/switchboard-voip/switchboard/workers/conference/frame"
)

// confRole stands in for the conference role's partition of a room: it
// takes conference_join requests and answers each with answer.
type confRole struct {
	mu    sync.Mutex
	joins []events.ConferenceJoin
	at    []time.Time
}

func (rg *rig) conferenceRole(room string, answer func(n int, j events.ConferenceJoin) events.Reply) *confRole {
	rg.t.Helper()
	cr := &confRole{}
	subject := events.PartitionCommandSubject(events.RoleConference, events.Partition(room, rigPartitions), "conference_join")
	sub, err := rg.nc.Subscribe(subject, func(m *nats.Msg) {
		var j events.ConferenceJoin
		if err := json.Unmarshal(m.Data, &j); err != nil {
			rg.t.Errorf("conference_join %q: %v", m.Data, err)
			return
		}
		cr.mu.Lock()
		cr.joins = append(cr.joins, j)
		cr.at = append(cr.at, time.Now())
		n := len(cr.joins)
		cr.mu.Unlock()
		b, _ := json.Marshal(answer(n, j))
		_ = m.Respond(b)
	})
	if err != nil {
		rg.t.Fatal(err)
	}
	_ = rg.nc.Flush()
	rg.t.Cleanup(func() { _ = sub.Unsubscribe() })
	return cr
}

func (cr *confRole) requests() ([]events.ConferenceJoin, []time.Time) {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	return append([]events.ConferenceJoin(nil), cr.joins...), append([]time.Time(nil), cr.at...)
}

// TestConferenceRoute: dialing conf-<room> answers the call and asks the
// conference role to join it; the conference role attaches it (a request
// back to the call's partition, while the join waits) and its audio flows.
// A 503 is retried after half a second.
func TestConferenceRoute(t *testing.T) {
	leak.Check(t)
	rg := newRig(t)
	cr := rg.conferenceRole("Room_1", func(n int, j events.ConferenceJoin) events.Reply {
		if n == 1 {
			return events.Reply{Code: 503, Reason: "conference moving"}
		}
		rep := memberAttach(t, rg.nc, events.MemberAttach{Op: events.AttachOp, Conference: j.Conference, CallID: j.CallID, Rate: 16000})
		return rep.Reply
	})
	ph := rg.startPhone(phoneOpts{user: "conf-Room_1", tone: true})
	ev, inc := waitEvent[*events.CallIncoming](t, rg.calls, "", 10*time.Second)
	callID := ev.CallID
	if inc.Route != "conference" {
		t.Errorf("route %q", inc.Route)
	}
	if _, ans := waitEvent[*events.CallAnswered](t, rg.calls, callID, 5*time.Second); ans.Codec != "PCMU/8000" {
		t.Errorf("answered: %+v", ans)
	}
	in := listenIn(t, rg.nc, "Room_1", callID)
	in.waitFor(t, 50, 8*time.Second)
	checkStream(t, in.since(0), 16000)
	joins, at := cr.requests()
	if len(joins) != 2 || joins[1].Conference != "Room_1" || joins[1].CallID != callID || joins[1].Muted || joins[1].StartOnEnter != nil {
		t.Fatalf("conference_join requests: %+v", joins)
	}
	if gap := at[1].Sub(at[0]); gap < 450*time.Millisecond || gap > 2*time.Second {
		t.Errorf("join retried after %v, want 500 ms", gap)
	}
	natstest.CheckFor(t, 2*time.Second, 10*time.Millisecond, func() error {
		if c := rg.saved(callID); c.Conference != "Room_1" || c.Room != "" || c.Route != "conference" {
			return fmt.Errorf("KV: conference %q, room %q, route %q", c.Conference, c.Room, c.Route)
		}
		return nil
	})
	if rep := rg.attach(events.MemberAttach{Op: events.DetachOp, Conference: "Room_1", CallID: callID, Hangup: true, Reason: "conference_ended"}); rep.Code != 200 {
		t.Fatalf("detach: %+v", rep)
	}
	if code, out := ph.wait(t, 10*time.Second); code != 0 {
		t.Errorf("sipp exit %d:\n%s", code, out)
	}
	if _, cc := waitEvent[*events.CallCompleted](t, rg.calls, callID, 5*time.Second); cc.Reason != "conference_ended" {
		t.Errorf("call.completed: %+v", cc)
	}
}

// TestConferenceRouteNotJoined: when no conference worker answers for
// about 5 s, or the conference role refuses, the call is hung up (BYE) and
// call.completed says why; a room that cannot be a conference's name is
// 404 Not Found.
func TestConferenceRouteNotJoined(t *testing.T) {
	t.Run("nobody answers", func(t *testing.T) {
		leak.Check(t)
		rg := newRig(t)
		ph := rg.startPhone(phoneOpts{user: "conf-empty"})
		ans, _ := waitEvent[*events.CallAnswered](t, rg.calls, "", 10*time.Second)
		done, cc := waitEvent[*events.CallCompleted](t, rg.calls, ans.CallID, 10*time.Second)
		after := done.Time.Sub(ans.Time)
		t.Logf("hung up %v after the answer: %s", after.Round(time.Millisecond), cc.Reason)
		if cc.Status != events.StatusCompleted || cc.HangupBy != events.ByPlatform || !strings.Contains(cc.Reason, "conference empty not joined: no conference worker answers") {
			t.Errorf("call.completed: %+v", cc)
		}
		if after < 4*time.Second || after > 7*time.Second {
			t.Errorf("hung up after %v; want about 5 s of retries", after)
		}
		if code, out := ph.wait(t, 5*time.Second); code != 0 {
			t.Errorf("sipp exit %d (no BYE?):\n%s", code, out)
		}
	})
	t.Run("refused", func(t *testing.T) {
		leak.Check(t)
		rg := newRig(t)
		cr := rg.conferenceRole("full", func(int, events.ConferenceJoin) events.Reply {
			return events.Reply{Code: 409, Reason: "conference is full"}
		})
		ph := rg.startPhone(phoneOpts{user: "conf-full"})
		ans, _ := waitEvent[*events.CallAnswered](t, rg.calls, "", 10*time.Second)
		done, cc := waitEvent[*events.CallCompleted](t, rg.calls, ans.CallID, 5*time.Second)
		if !strings.Contains(cc.Reason, "conference full not joined: conference_join: 409 conference is full") || done.Time.Sub(ans.Time) > time.Second {
			t.Errorf("call.completed %v after the answer: %+v", done.Time.Sub(ans.Time), cc)
		}
		if joins, _ := cr.requests(); len(joins) != 1 {
			t.Errorf("%d conference_join requests; a refusal is not retried", len(joins))
		}
		if code, out := ph.wait(t, 5*time.Second); code != 0 {
			t.Errorf("sipp exit %d (no BYE?):\n%s", code, out)
		}
	})
	for _, user := range []string{"conf-bad.room", "conf-", "conf-" + strings.Repeat("x", 65)} {
		t.Run(user[:min(len(user), 16)], func(t *testing.T) {
			leak.Check(t)
			rg := newRig(t)
			ph := rg.startPhone(phoneOpts{user: user, expect: 404})
			if code, out := ph.wait(t, 10*time.Second); code != 0 {
				t.Errorf("sipp exit %d (no 404?):\n%s", code, out)
			}
			if _, cc := waitEvent[*events.CallCompleted](t, rg.calls, "", 5*time.Second); cc.SIPCode != 404 || cc.Status != events.StatusFailed {
				t.Errorf("call.completed: %+v", cc)
			}
		})
	}
}

// TestConferenceMemberMovesWithItsCall: the node of a member's call leaves;
// the node that takes the call over moves its media (re-INVITE) and goes
// on publishing its audio and sending it the mixer's, on the same
// subjects: the conference is told nothing.
func TestConferenceMemberMovesWithItsCall(t *testing.T) {
	leak.Check(t)
	rg := newRig(t)
	gone := rg.watchGone("room7")
	cr := rg.conferenceRole("room7", func(int, events.ConferenceJoin) events.Reply {
		return events.Reply{Code: 500, Reason: "not expected"}
	})
	ph, callID := rg.answeredCall(phoneOpts{user: "echo", tone: true, reinvite: 1})
	in := listenIn(t, rg.nc, "room7", callID)
	if rep := rg.attach(events.MemberAttach{Op: events.AttachOp, Conference: "room7", CallID: callID, Rate: 16000}); rep.Code != 200 {
		t.Fatalf("attach: %+v", rep)
	}
	in.waitFor(t, 25, 5*time.Second)

	n2 := rg.addNode("m2")
	rg.first.stop()
	_, mig := waitEvent[*events.CallMigrated](t, rg.calls, callID, 15*time.Second)
	if mig.ToNode != "m2" {
		t.Fatalf("migrated: %+v", mig)
	}
	mark := in.count()
	in.waitFor(t, mark+50, 5*time.Second)
	hs := in.since(0)
	checkStream(t, hs, 16000)
	var moved []int
	for i, h := range hs[1:] {
		if h.hdr.Seq != hs[i].hdr.Seq+1 {
			moved = append(moved, i+1)
		}
	}
	if len(moved) != 1 || hs[moved[0]].hdr.Flags&frame.Discontinuity == 0 {
		t.Fatalf("the stream restarted at frames %v; want once, marked", moved)
	}
	t.Logf("frames from m1 until %v, from m2 after a %v gap (call.migrated gap %.0f ms)",
		hs[moved[0]-1].at.Format("15:04:05.000"), hs[moved[0]].at.Sub(hs[moved[0]-1].at).Round(time.Millisecond), mig.GapMS)

	mix := newMixerOut(t, frame.PCMU, 8000, 440, 8000)
	mix.send(t, rg.nc, "room7", callID, 10)
	natstest.CheckFor(t, 2*time.Second, 10*time.Millisecond, func() error {
		if n := framesOf(t, n2.reg, "out", "sent"); n != 10 {
			return fmt.Errorf("m2 sent %v of 10 frames to the phone", n)
		}
		return nil
	})
	rep := memberAttach(t, rg.nc, events.MemberAttach{Op: events.DetachOp, Conference: "room7", CallID: callID, Hangup: true})
	if rep.Code != 200 || rep.Node != "m2" {
		t.Fatalf("detach: %+v", rep)
	}
	if code, out := ph.wait(t, 10*time.Second); code != 0 {
		t.Errorf("sipp exit %d:\n%s", code, out)
	}
	if g := gone.all(); len(g) != 0 {
		t.Errorf("member_gone: %+v", g)
	}
	if joins, _ := cr.requests(); len(joins) != 0 {
		t.Errorf("conference_join: %+v", joins)
	}
}
