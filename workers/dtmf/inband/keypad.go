package inband

import "github.com/switchboard-voip/switchboard/workers/dtmf/digit"

// Low and high group frequencies in Hz (ITU-T Q.23 §2): a key is one tone
// of each group.
var (
	lowGroup  = [4]float64{697, 770, 852, 941}
	highGroup = [4]float64{1209, 1336, 1477, 1633}
)

// keys is the keypad: keys[low][high].
var keys = [4][4]digit.Digit{
	{'1', '2', '3', 'A'},
	{'4', '5', '6', 'B'},
	{'7', '8', '9', 'C'},
	{'*', '0', '#', 'D'},
}

// Tones returns the low- and high-group frequencies of d in Hz; ok is
// false if d is not a digit.
func Tones(d digit.Digit) (low, high float64, ok bool) {
	for i, row := range keys {
		for j, k := range row {
			if k == d {
				return lowGroup[i], highGroup[j], true
			}
		}
	}
	return 0, 0, false
}
