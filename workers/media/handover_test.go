package media

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/workers/media/rtpsession"
)

// fakeMedia is a Media whose last activity the test sets.
type fakeMedia struct {
	Media  // nil: any other method panics
	last   atomic.Int64
	closed atomic.Int32
}

func (f *fakeMedia) LastActivity() time.Time { return time.Unix(0, f.last.Load()) }
func (f *fakeMedia) Close() error            { f.closed.Add(1); return nil }
func (f *fakeMedia) Stats() rtpsession.Stats { return rtpsession.Stats{} }

func lingeringCall(last time.Time) (*Call, *fakeMedia) {
	m := &fakeMedia{}
	m.last.Store(last.UnixNano())
	c := &Call{ID: "c", State: StateAnswered, Route: "echo"}
	c.sess.Store(&mediaBox{m})
	return c, m
}

// TestLingeringCallsCloseWhenThePhoneMoved: a released call's media runs on
// while RTP keeps arriving, closes once nothing came for lingerIdle (the
// phone follows the new owner's re-INVITE) or after lingerMax, and
// WaitHandovers returns when none is left.
func TestLingeringCallsCloseWhenThePhoneMoved(t *testing.T) {
	l := newLingering()
	if err := (&Role{linger: l}).WaitHandovers(context.Background()); err != nil {
		t.Fatalf("WaitHandovers with nothing lingering: %v", err)
	}
	now := time.Now()
	talking, tm := lingeringCall(now)
	moved, mm := lingeringCall(now)
	stuck, sm := lingeringCall(now)
	for _, c := range []*Call{talking, moved, stuck} {
		if !canLinger(c) || !l.add(c) {
			t.Fatal("an answered echo call cannot linger")
		}
	}
	r := &Role{linger: l}
	waited := make(chan error, 1)
	go func() { waited <- r.WaitHandovers(context.Background()) }()

	// 400 ms on: every phone still sending.
	at := now.Add(400 * time.Millisecond)
	tm.last.Store(at.UnixNano())
	sm.last.Store(at.UnixNano())
	mm.last.Store(at.UnixNano())
	if left := l.reap(at); left != 3 {
		t.Fatalf("%d lingering while every phone still sends; want 3", left)
	}
	// One phone moved (nothing since), the others still send.
	at2 := at.Add(lingerIdle)
	tm.last.Store(at2.UnixNano())
	sm.last.Store(at2.UnixNano())
	if left := l.reap(at2); left != 2 || mm.closed.Load() != 1 {
		t.Fatalf("after the phone moved: %d left, its media closed %d times", left, mm.closed.Load())
	}
	// One phone never moves: lingerMax ends it; the other moves too.
	end := time.Now().Add(lingerMax)
	sm.last.Store(end.UnixNano())
	if left := l.reap(end); left != 0 || sm.closed.Load() != 1 || tm.closed.Load() != 1 {
		t.Fatalf("at lingerMax: %d left, closed %d and %d", left, sm.closed.Load(), tm.closed.Load())
	}
	select {
	case err := <-waited:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Second):
		t.Fatal("WaitHandovers did not return when nothing lingered any more")
	}
}

func TestCannotLinger(t *testing.T) {
	for name, c := range map[string]*Call{
		"ringing":    {State: StateRinging},
		"webrtc":     {State: StateAnswered, Transport: events.TransportWebRTC},
		"conference": {State: StateAnswered, Route: "conference"},
		"member":     {State: StateAnswered, Conference: "room"},
		"no media":   {State: StateAnswered},
	} {
		if name != "no media" {
			c.sess.Store(&mediaBox{&fakeMedia{}})
		}
		if canLinger(c) {
			t.Errorf("%s call may linger", name)
		}
	}
}
