package media

import (
	"context"
	"sync"
	"time"
)

// Make-before-break handover. When this node gives a partition away (drain,
// rebalance, or a lease lost at a fence), its answered SIP calls keep their
// RTP running here instead of going silent: the phone goes on sending to
// this node's address until the new owner's re-INVITE reaches it, and what
// arrives meanwhile is still echoed or bridged. Once the phone has moved
// (nothing received for lingerIdle), or after lingerMax, the session closes.
// The media gap of a drain is then the time the phone takes to switch, not
// release + takeover + re-INVITE round trip. A draining node waits for its
// lingering calls (WaitHandovers) before it exits.
//
// A lingering call is out of its partition: no SIP, command, timer or KV
// write touches it again; only its RTP goroutine (reading the forwarding
// target, as always) and the reaper below. Conference members and WebRTC
// legs do not linger: the new owner sends a member the mixer's audio at
// once, and a second sender would double it; a WebRTC leg cannot move.
const (
	lingerIdle  = 500 * time.Millisecond
	lingerMax   = 15 * time.Second
	lingerCheck = 50 * time.Millisecond
)

type lingering struct {
	mu     sync.Mutex
	calls  map[*Call]time.Time // since when
	empty  chan struct{}       // closed and replaced whenever calls becomes empty
	closed bool
}

func newLingering() *lingering {
	e := make(chan struct{})
	close(e)
	return &lingering{calls: map[*Call]time.Time{}, empty: e}
}

// canLinger reports whether c's media may run on after its partition left.
func canLinger(c *Call) bool {
	return c.State == StateAnswered && !c.ended && c.sess.Load() != nil && !c.isWebRTC() &&
		c.Conference == "" && c.Route != "conference" && c.member.Load() == nil
}

// add keeps c's media running until the phone moved. Under the partition's
// lock, as the partition is released.
func (l *lingering) add(c *Call) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	if len(l.calls) == 0 {
		l.empty = make(chan struct{})
	}
	l.calls[c] = time.Now()
	return true
}

// reap closes the sessions of calls whose phone has moved, or that lingered
// for lingerMax. It returns how many still linger.
func (l *lingering) reap(now time.Time) int {
	l.mu.Lock()
	var done []*Call
	for c, since := range l.calls {
		last := since
		if s := c.sess.Load(); s != nil {
			last = later(last, s.LastActivity())
		}
		if now.Sub(last) >= lingerIdle || now.Sub(since) >= lingerMax {
			done = append(done, c)
			delete(l.calls, c)
		}
	}
	left := len(l.calls)
	if left == 0 {
		select {
		case <-l.empty:
		default:
			close(l.empty)
		}
	}
	l.mu.Unlock()
	for _, c := range done {
		c.stopMedia() // waits for the RTP goroutine; outside l.mu
	}
	return left
}

// run is the reaper: the role owns it (started in New, ended by Close).
func (l *lingering) run(stop <-chan struct{}) {
	t := time.NewTicker(lingerCheck)
	defer t.Stop()
	for {
		select {
		case <-stop:
			l.closeAll()
			return
		case now := <-t.C:
			l.reap(now)
		}
	}
}

// closeAll ends every lingering session (the role is closing).
func (l *lingering) closeAll() {
	l.mu.Lock()
	l.closed = true
	calls := l.calls
	l.calls = map[*Call]time.Time{}
	select {
	case <-l.empty:
	default:
		close(l.empty)
	}
	l.mu.Unlock()
	for c := range calls {
		c.stopMedia()
	}
}

// count is how many calls linger now.
func (l *lingering) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.calls)
}

// WaitHandovers returns when no call of this node lingers any more (each
// phone moved its media to the new owner, or gave up), or when ctx ends. A
// draining node calls it after handing its partitions over, before it
// leaves: exiting earlier would cut the audio of calls whose move is not
// finished.
func (r *Role) WaitHandovers(ctx context.Context) error {
	r.linger.mu.Lock()
	empty := r.linger.empty
	r.linger.mu.Unlock()
	select {
	case <-empty:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
