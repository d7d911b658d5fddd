package digittest

import (
	"testing"
	"time"

	"github.com/switchboard-voip/switchboard/workers/dtmf/digit"
)

func TestPresses(t *testing.T) {
	st := func(d digit.Digit) digit.Event { return digit.Event{Kind: digit.Started, Digit: d} }
	en := func(d digit.Digit) digit.Event {
		return digit.Event{Kind: digit.Ended, Digit: d, Duration: time.Second}
	}
	if s, durs, err := Presses([]digit.Event{st('1'), en('1'), st('#'), en('#')}); s != "1#" || len(durs) != 2 || err != nil {
		t.Errorf("good: %q %v %v", s, durs, err)
	}
	for _, bad := range [][]digit.Event{
		{st('1')}, {en('1')}, {st('1'), en('2')}, {st('1'), st('1')}, {st('x'), en('x')},
	} {
		if _, _, err := Presses(bad); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}
