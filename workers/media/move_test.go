package media

import (
	"context"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/test/leak"
)

// counterOf is a counter's value in reg (0 if absent).
func counterOf(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) > 0 {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	return 0
}

// TestMoveRetriesAfter491: the phone answers the re-INVITE that moves its
// media with 491 Request Pending (it has a re-INVITE of its own going, say);
// the new owner tries again after RFC 3261 §14.1's 0-2 s instead of hanging
// up, and the call goes on and ends by the phone's BYE.
func TestMoveRetriesAfter491(t *testing.T) {
	leak.Check(t)
	rg := newRig(t)
	ph, callID := rg.answeredCall(phoneOpts{user: "echo", tone: true, refuse491: 1, reinvite: 1, byeAfter: 2 * time.Second})
	rg.addNode("m2")
	rg.first.stop()
	stopped := time.Now()
	ev, mig := waitEvent[*events.CallMigrated](t, rg.calls, callID, 10*time.Second)
	if mig.ToNode != "m2" {
		t.Fatalf("migrated: %+v", mig)
	}
	t.Logf("moved to m2 %v after m1 stopped, after a 491 and a second re-INVITE", ev.Time.Sub(stopped).Round(time.Millisecond))
	if code, out := ph.wait(t, 15*time.Second); code != 0 {
		t.Fatalf("sipp exit %d:\n%s", code, out)
	}
	_, done := waitEvent[*events.CallCompleted](t, rg.calls, callID, 5*time.Second)
	if done.HangupBy != events.ByRemote {
		t.Errorf("completed %+v: want the phone's BYE", done)
	}
}

// TestDrainKeepsMediaUntilThePhoneMoved: a draining node gives its
// partitions away but goes on echoing the phone's RTP until the phone
// follows the new owner's re-INVITE; WaitHandovers returns only then.
// And a node that joins does not take a busy partition back at once
// (rebalance delay), so the call moves once, when its owner drains.
func TestDrainKeepsMediaUntilThePhoneMoved(t *testing.T) {
	leak.Check(t)
	rg := newRig(t)
	rg.rebalanceDelay = time.Minute
	ph, callID := rg.answeredCall(phoneOpts{user: "echo", tone: true, reinvite: 1, byeAfter: 2 * time.Second})
	time.Sleep(300 * time.Millisecond) // echo flowing
	rg.addNode("m2")
	time.Sleep(time.Second) // m2 joined: it must not have taken the call's partition
	if moved := hasEvent[*events.CallMigrated](rg.calls, callID); moved {
		t.Fatal("the call moved when m2 joined; want it kept on m1 (rebalance delay)")
	}
	m1 := rg.first
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m1.node.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	released := counterOf(t, m1.reg, "sb_rtp_packets_sent_total")
	if err := m1.role.WaitHandovers(ctx); err != nil {
		t.Fatal(err)
	}
	handedOver := time.Now()
	echoed := counterOf(t, m1.reg, "sb_rtp_packets_sent_total") - released
	ev, mig := waitEvent[*events.CallMigrated](t, rg.calls, callID, 5*time.Second)
	if mig.FromNode != rg.role.cfg.NodeID || mig.ToNode != "m2" {
		t.Fatalf("migrated: %+v", mig)
	}
	if ev.Time.After(handedOver) {
		t.Errorf("WaitHandovers returned %v before the call moved", ev.Time.Sub(handedOver))
	}
	if echoed < 2 {
		t.Errorf("m1 sent %v packets after giving the partition away; want it to go on echoing until the phone moved", echoed)
	}
	t.Logf("m1 echoed %v packets after releasing the call's partition, until the phone moved (re-INVITE answered %.0f ms after the takeover)", echoed, mig.GapMS)
	m1.stop()
	if code, out := ph.wait(t, 15*time.Second); code != 0 {
		t.Fatalf("sipp exit %d:\n%s", code, out)
	}
}

// hasEvent reports whether an event of payload type P of callID arrived.
func hasEvent[P events.Payload](cl *callLog, callID string) bool {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	for _, e := range cl.evs {
		if _, ok := e.Data.(P); ok && e.CallID == callID {
			return true
		}
	}
	return false
}

func TestMigrateRetry(t *testing.T) {
	res := func(code int, retryAfter string) *sip.Response {
		r := sip.NewResponse(code, "x")
		if retryAfter != "" {
			r.AppendHeader(sip.NewHeader("Retry-After", retryAfter))
		}
		return r
	}
	in := &Call{Direction: events.DirectionInbound}
	out := &Call{Direction: events.DirectionOutbound}
	for range 50 {
		// RFC 3261 §14.1: 0-2 s when the far end chose the Call-ID, 2.1-4 s when we did.
		if d, ok := migrateRetry(in, res(491, "")); !ok || d < 0 || d >= 2*time.Second {
			t.Fatalf("491 on an inbound call: %v %v", d, ok)
		}
		if d, ok := migrateRetry(out, res(491, "")); !ok || d < 2100*time.Millisecond || d >= 4*time.Second {
			t.Fatalf("491 on an outbound call: %v %v", d, ok)
		}
	}
	for _, c := range []struct {
		code     int
		after    string
		ok       bool
		min, max time.Duration
	}{
		{500, "1", true, time.Second, 1500 * time.Millisecond},
		{500, "0 (busy)", true, 0, 500 * time.Millisecond},
		{503, "30;duration=10", true, 4 * time.Second, 4500 * time.Millisecond}, // at most 4 s
		{500, "", false, 0, 0},
		{503, "soon", false, 0, 0},
		{488, "", false, 0, 0},
		{481, "", false, 0, 0},
		{408, "", false, 0, 0},
	} {
		d, ok := migrateRetry(in, res(c.code, c.after))
		if ok != c.ok || ok && (d < c.min || d >= c.max) {
			t.Errorf("%d Retry-After %q: %v %v; want %v in [%v, %v)", c.code, c.after, d, ok, c.ok, c.min, c.max)
		}
	}
}

// TestOwnCallTakenBack: a node that lost a partition and got it straight
// back (its lease renewal after a fence went through with the reply lost,
// say) takes its own calls over like any other owner's: the phone gets a
// re-INVITE to the new session, the echo goes on, and its BYE is answered.
func TestOwnCallTakenBack(t *testing.T) {
	leak.Check(t)
	rg := newRig(t)
	ph, callID := rg.answeredCall(phoneOpts{user: "echo", tone: true, reinvite: 1, byeAfter: 3 * time.Second})
	time.Sleep(300 * time.Millisecond) // echo flowing
	p := events.Partition(callID, rigPartitions)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rg.role.Suspend(p) // a fence first, as when its lease renewal got no answer
	if err := rg.role.Release(ctx, p, true); err != nil {
		t.Fatal(err)
	}
	if err := rg.role.TakeOver(ctx, p, false); err != nil {
		t.Fatal(err)
	}
	_, mig := waitEvent[*events.CallMigrated](t, rg.calls, callID, 5*time.Second)
	if mig.FromNode != rg.role.cfg.NodeID || mig.ToNode != rg.role.cfg.NodeID {
		t.Fatalf("migrated: %+v", mig)
	}
	if code, out := ph.wait(t, 15*time.Second); code != 0 {
		t.Fatalf("sipp exit %d:\n%s", code, out)
	}
	_, done := waitEvent[*events.CallCompleted](t, rg.calls, callID, 5*time.Second)
	if done.Status != events.StatusCompleted || done.HangupBy != events.ByRemote {
		t.Fatalf("completed: %+v", done)
	}
}
