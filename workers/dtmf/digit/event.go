package digit

import (
	"fmt"
	"time"
)

// Kind says which edge of a key press an Event reports.
type Kind uint8

const (
	// Started is reported once, as soon as a detector is sure a press has
	// begun, so the role can publish a low-latency dtmf.started.
	Started Kind = iota + 1
	// Ended is reported exactly once per press, after its Started, with
	// the press's duration.
	Ended
)

// String returns "started" or "ended".
func (k Kind) String() string {
	switch k {
	case Started:
		return "started"
	case Ended:
		return "ended"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Event is one report of a detector. Detectors append events to a slice the
// caller owns, so a caller that reuses the slice allocates nothing.
type Event struct {
	// Kind is Started or Ended.
	Kind Kind
	// Digit is the key.
	Digit Digit
	// Duration is how long the key was held; zero for Started.
	Duration time.Duration
}

// String returns, for example, "ended 5 160ms".
func (e Event) String() string {
	if e.Kind == Started {
		return fmt.Sprintf("%s %s", e.Kind, e.Digit)
	}
	return fmt.Sprintf("%s %s %s", e.Kind, e.Digit, e.Duration)
}
