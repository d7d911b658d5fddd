package inband

import (
	"time"

	"github.com/switchboard-voip/switchboard/workers/dtmf/digit"
)

// Detector finds DTMF digits in one 8 kHz PCM stream. It is not safe for
// concurrent use; the media worker owns one per call leg that needs it.
type Detector struct {
	// Thresholds, as power ratios; minPow as a mean square.
	minPow, normalTwist, reverseTwist, relPeak, toneRatio float64

	lowC, highC       [4]float64 // Goertzel coefficients at the tones
	lowSide, highSide [4][2]float64
	buf               [2 * BlockSize]float64 // previous block, then the one being filled
	n                 int                    // samples in the block being filled
	block             uint64                 // index of the block being filled
	cand              digit.Digit            // what the last blocks showed
	candRun           int                    // for how many blocks in a row
	candStart         uint64                 // from which block
	cur               digit.Digit            // the digit reported Started, or 0
	curStart, curEnd  uint64                 // its first block and one past its last
	misses            int                    // blocks in a row without it
}

// New returns a Detector, or an error wrapping ErrConfig.
func New(cfg Config) (*Detector, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	d := &Detector{
		minPow:       dBm0Power * dB(cfg.MinLevel),
		normalTwist:  dB(cfg.NormalTwist),
		reverseTwist: dB(cfg.ReverseTwist),
		relPeak:      dB(cfg.RelativePeak),
		toneRatio:    cfg.MinToneRatio,
	}
	for i := range 4 {
		d.lowC[i], d.highC[i] = coefficient(lowGroup[i]), coefficient(highGroup[i])
		d.lowSide[i] = [2]float64{coefficient(lowGroup[i] * (1 - frequencyStep)), coefficient(lowGroup[i] * (1 + frequencyStep))}
		d.highSide[i] = [2]float64{coefficient(highGroup[i] * (1 - frequencyStep)), coefficient(highGroup[i] * (1 + frequencyStep))}
	}
	return d, nil
}

// Write takes the next samples of the stream, in chunks of any size, and
// appends to out the Started and Ended events they complete. It allocates
// nothing when out has room.
func (d *Detector) Write(out []digit.Event, pcm []int16) []digit.Event {
	for len(pcm) > 0 {
		k := min(len(pcm), BlockSize-d.n)
		dst := d.buf[BlockSize+d.n : BlockSize+d.n+k]
		for i, s := range pcm[:k] {
			dst[i] = float64(s)
		}
		d.n += k
		pcm = pcm[k:]
		if d.n == BlockSize {
			out = d.step(out, d.analyze())
			copy(d.buf[:BlockSize], d.buf[BlockSize:])
			d.n = 0
			d.block++
		}
	}
	return out
}

// Flush ends the digit in progress, if any: for the end of the stream.
func (d *Detector) Flush(out []digit.Event) []digit.Event {
	if d.cur != 0 {
		out = d.end(out)
	}
	d.cand, d.candRun = 0, 0
	return out
}

// Reset forgets the stream, reporting nothing.
func (d *Detector) Reset() {
	d.buf = [2 * BlockSize]float64{}
	d.n, d.block = 0, 0
	d.cand, d.candRun, d.candStart = 0, 0, 0
	d.cur, d.curStart, d.curEnd, d.misses = 0, 0, 0, 0
}

// Position returns how much audio has been written since New or Reset.
func (d *Detector) Position() time.Duration {
	return samples(d.block*BlockSize + uint64(d.n))
}

func samples(n uint64) time.Duration {
	return time.Duration(n) * time.Second / SampleRate
}

// step runs the debounce on one block's verdict: minOn blocks in a row
// start a digit, minOff blocks without it end it.
func (d *Detector) step(out []digit.Event, k digit.Digit) []digit.Event {
	if k != 0 && k == d.cand {
		d.candRun++
	} else {
		d.cand, d.candRun, d.candStart = k, 1, d.block
	}
	if d.cur != 0 {
		if k == d.cur {
			d.misses, d.curEnd = 0, d.block+1
			return out
		}
		if d.misses++; d.misses < minOff {
			return out
		}
		out = d.end(out)
	}
	if k != 0 && d.candRun >= minOn {
		d.cur, d.curStart, d.curEnd, d.misses = k, d.candStart, d.block+1, 0
		out = append(out, digit.Event{Kind: digit.Started, Digit: k})
	}
	return out
}

func (d *Detector) end(out []digit.Event) []digit.Event {
	out = append(out, digit.Event{Kind: digit.Ended, Digit: d.cur, Duration: samples((d.curEnd - d.curStart) * BlockSize)})
	d.cur = 0
	return out
}

// analyze returns the digit the block just filled holds, or 0. The checks
// go from cheap to dear, so silence and most speech cost one pass.
func (d *Detector) analyze() digit.Digit {
	x := d.buf[BlockSize:]
	var e1, e2 float64
	for _, v := range x[:BlockSize/2] {
		e1 += v * v
	}
	for _, v := range x[BlockSize/2:] {
		e2 += v * v
	}
	mean := (e1 + e2) / BlockSize
	// Level: two tones at the floor (Q.24 minimum level).
	if mean < 2*d.minPow || e1 < steadyRatio*e2 || e2 < steadyRatio*e1 {
		return 0
	}
	var lo, hi [4]float64
	goertzel4(x, &d.lowC, &lo)
	goertzel4(x, &d.highC, &hi)
	r, c := strongest(&lo), strongest(&hi)
	const scale = 2.0 / (BlockSize * BlockSize) // |X|² to the tone's mean square
	pr, pc := lo[r]*scale, hi[c]*scale
	switch {
	case pr < d.minPow || pc < d.minPow:
		return 0
	case pc > pr*d.reverseTwist || pc*d.normalTwist < pr: // Q.24 twist
		return 0
	case !dominates(&lo, r, d.relPeak) || !dominates(&hi, c, d.relPeak):
		return 0
	case pr+pc < d.toneRatio*mean: // most of the power is in the two tones
		return 0
	}
	// Q.23 frequency tolerance, over the last two blocks (204 samples,
	// 39 Hz bins) for the finer resolution.
	var a, b [4]float64
	goertzel4(d.buf[:], &[4]float64{d.lowC[r], d.lowSide[r][0], d.lowSide[r][1], d.highC[c]}, &a)
	goertzel4(d.buf[:], &[4]float64{d.highSide[c][0], d.highSide[c][1]}, &b)
	if !centred(a[0], a[1], a[2]) || !centred(a[3], b[0], b[1]) {
		return 0
	}
	return keys[r][c]
}

func strongest(p *[4]float64) int {
	best := 0
	for i := 1; i < 4; i++ {
		if p[i] > p[best] {
			best = i
		}
	}
	return best
}

// dominates reports whether p[best] exceeds every other p by ratio.
func dominates(p *[4]float64, best int, ratio float64) bool {
	for i, v := range p {
		if i != best && v*ratio > p[best] {
			return false
		}
	}
	return true
}

// centred reports whether the power at a tone's centre frequency exceeds
// the power at both side frequencies ±5 % away: the tone is within about
// ±2.5 % of the centre.
func centred(centre, below, above float64) bool {
	return centre > below && centre > above
}
