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
