package codec

// Timing of the G.711 concealment, in 8 kHz samples, after ITU-T G.711
// Appendix I (§I.2).
const (
	// plcHistory is the history kept: 48.75 ms, which is 3.25 times the
	// longest pitch period, enough for a pattern of three periods plus
	// the quarter period blended at its end.
	plcHistory = 390
	// plcFlat is how long a loss is concealed at full level: 10 ms.
	plcFlat = 80
	// plcFade is the span of the linear fade that follows, 20 % per
	// 10 ms, reaching silence 60 ms into the loss.
	plcFade = 400
	// plcMergeMin, plcMergeStep and plcMergeMax size the overlap-add
	// that joins the concealment to the first packet after it: 4 ms,
	// plus 4 ms for each further 10 ms lost, at most 10 ms.
	plcMergeMin  = 32
	plcMergeStep = 32
	plcMergeMax  = 80
)

// plc is the packet-loss concealment of G711Decoder, a simplified ITU-T
// G.711 Appendix I:
//
//   - At the first lost sample it estimates the pitch period P of the last
//     output (pitchPeriod) and repeats the last P samples. The last
//     quarter period of the repeated pattern is overlap-added with the
//     quarter period before the pattern, so that the pattern joins
//     itself without a step at every repetition.
//   - After 10 ms and again after 20 ms of loss the pattern grows to two
//     and then three periods of the history (cross-faded over a quarter
//     period, keeping the phase), which makes a long loss sound less
//     buzzy than one period repeated many times.
//   - The first 10 ms are at full level; then the level falls linearly by
//     20 % per 10 ms, to silence 60 ms into the loss.
//   - The first packet after a loss is overlap-added with the
//     continuation of the concealment over 4 ms, plus 4 ms per further
//     10 ms lost (at most 10 ms), so the real signal fades in.
//
// Unlike Appendix I it adds no delay: Appendix I holds back 3.75 ms of
// output so that it can also smooth the junction between the last real
// sample and the first synthetic one. Here that junction is left as it
// is: it is continuous to the extent that the signal is periodic in P,
// which the pitch search maximizes. Zero delay matters more to a B2BUA
// than that refinement.
type plc struct {
	hist [plcHistory]int16 // last output, oldest first

	erased int // samples concealed in the current loss; 0 outside a loss
	period int
	// src is the history frozen at the start of the loss: the patterns
	// are cut from it, while hist moves on with the synthetic output.
	src [plcHistory]float32
	// pat[cur] is the pattern playing; pat[1-cur] the one before it
	// while they cross-fade.
	pat      [2][3 * pitchMax]float32
	patLen   [2]int
	pos      [2]int
	cur      int
	fadeLeft int // samples of cross-fade from pat[1-cur] to pat[cur] left
	fadeLen  int
}

// push appends output samples to the history.
func (c *plc) push(s []int16) {
	if len(s) >= plcHistory {
		copy(c.hist[:], s[len(s)-plcHistory:])
		return
	}
	copy(c.hist[:], c.hist[len(s):])
	copy(c.hist[plcHistory-len(s):], s)
}

// good takes a decoded frame: after a loss it merges the concealment into
// the frame's start; then the frame becomes history.
func (c *plc) good(frame []int16) {
	if c.erased > 0 {
		m := min(plcMergeMin+plcMergeStep*((c.erased-1)/plcFlat), plcMergeMax, len(frame))
		for j := range m {
			w := float32(j+1) / float32(m+1)
			frame[j] = clamp16((1-w)*c.next() + w*float32(frame[j]))
		}
		c.erased = 0
	}
	c.push(frame)
}

// conceal fills out with synthetic audio continuing the loss.
func (c *plc) conceal(out []int16) {
	if c.erased == 0 {
		c.start()
	}
	for i := range out {
		out[i] = clamp16(c.next())
	}
	c.push(out)
}

// start begins a loss: freeze the history, find the pitch, play one
// period.
func (c *plc) start() {
	for i, v := range c.hist {
		c.src[i] = float32(v)
	}
	c.period = pitchPeriod(c.src[:])
	c.cur = 0
	c.setPattern(0, 1)
	c.pos[0] = 0
	c.fadeLeft = 0
}

// setPattern cuts the last k periods of src into pat[i], blending its last
// quarter period with the quarter period before it (Appendix I's
// overlap-add), so that its end runs into its start.
func (c *plc) setPattern(i, k int) {
	p := c.period
	n := k * p
	l := max(p/4, 1)
	end := plcHistory
	copy(c.pat[i][:n], c.src[end-n:end])
	for j := range l {
		w := float32(j+1) / float32(l+1)
		c.pat[i][n-l+j] = (1-w)*c.src[end-l+j] + w*c.src[end-n-l+j]
	}
	c.patLen[i] = n
}

// grow switches to a pattern of k periods, cross-fading over a quarter
// period from the current one. The new pattern starts at the same phase
// in its oldest period.
func (c *plc) grow(k int) {
	old := c.cur
	c.cur = 1 - old
	c.setPattern(c.cur, k)
	c.pos[c.cur] = c.pos[old] % c.period
	c.fadeLen = max(c.period/4, 1)
	c.fadeLeft = c.fadeLen
}

// read returns pattern i's next sample and advances it.
func (c *plc) read(i int) float32 {
	v := c.pat[i][c.pos[i]]
	c.pos[i]++
	if c.pos[i] == c.patLen[i] {
		c.pos[i] = 0
	}
	return v
}

// next returns the next synthetic sample of the loss, attenuated.
func (c *plc) next() float32 {
	e := c.erased
	if e >= plcFlat+plcFade {
		return 0 // silent from 60 ms on; erased stops counting
	}
	switch e {
	case plcFlat:
		c.grow(2)
	case 2 * plcFlat:
		c.grow(3)
	}
	v := c.read(c.cur)
	if c.fadeLeft > 0 {
		w := float32(c.fadeLen-c.fadeLeft+1) / float32(c.fadeLen+1)
		v = w*v + (1-w)*c.read(1-c.cur)
		c.fadeLeft--
	}
	c.erased++
	if e > plcFlat {
		v *= 1 - float32(e-plcFlat)/plcFade
	}
	return v
}

// clamp16 rounds v to the nearest 16-bit sample, saturating.
func clamp16(v float32) int16 {
	switch {
	case v >= 32767:
		return 32767
	case v <= -32768:
		return -32768
	case v >= 0:
		return int16(v + 0.5)
	default:
		return int16(v - 0.5)
	}
}
