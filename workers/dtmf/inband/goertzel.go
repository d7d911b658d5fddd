package inband

import "math"

// coefficient returns the Goertzel coefficient 2·cos(2πf/fs) for f Hz.
func coefficient(f float64) float64 {
	return 2 * math.Cos(2*math.Pi*f/SampleRate)
}

// goertzel4 returns in out |X(f)|², the squared magnitude of the DTFT of
// x, at the four frequencies whose coefficients are in c. For a sine of
// amplitude A at f it is about (A·len(x)/2)². The frequencies need not be
// whole bins: the generalised form costs the same. One loop keeps four
// independent recurrences in flight, several times faster than four passes
// of one, whose every step waits for the last.
func goertzel4(x []float64, c *[4]float64, out *[4]float64) {
	var a1, a2, b1, b2, c1, c2, d1, d2 float64
	ca, cb, cc, cd := c[0], c[1], c[2], c[3]
	for _, v := range x {
		a1, a2 = v+ca*a1-a2, a1
		b1, b2 = v+cb*b1-b2, b1
		c1, c2 = v+cc*c1-c2, c1
		d1, d2 = v+cd*d1-d2, d1
	}
	out[0] = a1*a1 + a2*a2 - ca*a1*a2
	out[1] = b1*b1 + b2*b2 - cb*b1*b2
	out[2] = c1*c1 + c2*c2 - cc*c1*c2
	out[3] = d1*d1 + d2*d2 - cd*d1*d2
}
