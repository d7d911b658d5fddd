package workers

import (
	"testing"
	"time"
)

// TestSilentNeedsOwnBeats: a peer is silent only if the wall clock and our
// own heartbeats, as the watcher delivered them, both say so. A stalled
// watcher (no own beats delivered) declares nobody dead however long it
// stalls; after it resumes, the peer's next beat arrives in stream order
// and refreshes it.
func TestSilentNeedsOwnBeats(t *testing.T) {
	n := &Node{cfg: Config{NodeTimeout: 2500 * time.Millisecond, HeartbeatInterval: 500 * time.Millisecond}}
	now := time.Now()
	p := &peer{lastSeen: now.Add(-10 * time.Second), beatsAt: 7}
	for _, c := range []struct {
		beats  uint64
		since  time.Duration
		silent bool
	}{
		{7, 10 * time.Second, false}, // watcher stalled: no own beat seen since
		{9, 10 * time.Second, false}, // two beats: not enough
		{10, 10 * time.Second, true}, // three of the five we wrote: it is silent
		{20, 2 * time.Second, false}, // beats, but not node_timeout of wall time
	} {
		n.selfBeats = c.beats
		p.lastSeen = now.Add(-c.since)
		if got := n.silent(p, now); got != c.silent {
			t.Errorf("own beats %d since, %v of wall time: silent %v, want %v", c.beats-7, c.since, got, c.silent)
		}
	}
}

// TestSettleSuspended: what becomes of a partition suspended at a fence,
// by the lease the watcher shows. A renewal applied after its reply was
// lost (our lease, the new incarnation, a newer revision) is resumed, not
// released: releasing it made the node take its own calls over.
func TestSettleSuspended(t *testing.T) {
	s := suspension{rev: 10, inc: "old"}
	ours := func(rev uint64, inc string) leaseEntry {
		return leaseEntry{l: Lease{Node: "a", Incarnation: inc}, rev: rev}
	}
	for _, c := range []struct {
		name    string
		le      leaseEntry
		has     bool
		trusted bool
		want    settleAction
	}{
		{"untouched, fenced still", ours(10, "old"), true, false, settleWait},
		{"untouched, trusted again", ours(10, "old"), true, true, settleRenew},
		{"renewed, reply lost", ours(11, "new"), true, true, settleRenewed},
		{"renewed, fenced again meanwhile", ours(11, "new"), true, false, settleWait},
		{"taken by another node", leaseEntry{l: Lease{Node: "b", Incarnation: "x"}, rev: 11}, true, true, settleLost},
		{"taken by another node, fenced still", leaseEntry{l: Lease{Node: "b", Incarnation: "x"}, rev: 11}, true, false, settleLost},
		{"ours under a third incarnation", ours(12, "older"), true, true, settleLost},
		{"deleted", leaseEntry{}, false, true, settleLost},
	} {
		if got := settle(s, c.le, c.has, "a", "new", c.trusted); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}
