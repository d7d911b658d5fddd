package digittest

import (
	"fmt"
	"time"

	"github.com/switchboard-voip/switchboard/workers/dtmf/digit"
)

// Presses returns the digits of evs in order and their durations, or an
// error naming the first event out of the Started d, Ended d pattern.
func Presses(evs []digit.Event) (string, []time.Duration, error) {
	var s []byte
	var durs []time.Duration
	for i, e := range evs {
		want := digit.Started
		if i%2 == 1 {
			want = digit.Ended
		}
		switch {
		case e.Kind != want || !e.Digit.Valid() || e.Duration < 0:
			return "", nil, fmt.Errorf("event %d is %v, want %s: %v", i, e, want, evs)
		case e.Kind == digit.Ended && e.Digit != evs[i-1].Digit:
			return "", nil, fmt.Errorf("event %d ends another digit: %v", i, evs)
		case e.Kind == digit.Ended:
			s = append(s, byte(e.Digit))
			durs = append(durs, e.Duration)
		}
	}
	if len(evs)%2 != 0 {
		return "", nil, fmt.Errorf("press not ended: %v", evs)
	}
	return string(s), durs, nil
}
