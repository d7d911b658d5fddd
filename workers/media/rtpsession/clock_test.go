package rtpsession

import "testing"

// TestClock: frames advance the timestamp; an event run holds it, drops
// frames, and on its end moves it by the run's length and marks the next
// frame; Skip counts only outside a run; sequence numbers wrap.
func TestClock(t *testing.T) {
	c := NewClock(65535, 1000)
	if ts, m, ok := c.Frame(160, false); !ok || ts != 1000 || m {
		t.Fatalf("first frame: %d %v %v", ts, m, ok)
	}
	if s1, s2 := c.Seq(), c.Seq(); s1 != 65535 || s2 != 0 {
		t.Fatalf("seq %d then %d, want 65535 then 0", s1, s2)
	}
	c.Skip(160) // a frame not played
	if at := c.BeginEvent(); at != 1320 {
		t.Fatalf("event starts at %d, want 1320", at)
	}
	if _, _, ok := c.Frame(160, false); ok {
		t.Fatal("a frame was stamped during an event")
	}
	c.Skip(160) // ignored: EndEvent accounts for the run
	c.EndEvent(800)
	if ts, m, ok := c.Frame(160, false); !ok || ts != 2120 || !m {
		t.Fatalf("frame after the event: %d %v %v, want 2120 marked", ts, m, ok)
	}
	if ts, m, _ := c.Frame(160, false); ts != 2280 || m {
		t.Fatalf("next frame: %d %v, want 2280 unmarked", ts, m)
	}
	if c.Timestamp() != 2440 {
		t.Fatalf("timestamp %d, want 2440", c.Timestamp())
	}
}
