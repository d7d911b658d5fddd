package inband

import (
	"fmt"
	"math"
)

const (
	// SampleRate is the only rate the detector takes: the media worker
	// decodes every codec to 8 kHz for it.
	SampleRate = 8000
	// BlockSize is the Goertzel block: 102 samples, 12.75 ms. Its 78 Hz
	// bins keep adjacent DTMF frequencies (73 Hz apart at the closest,
	// 697/770) near each other's null, and it is short enough that any
	// 40 ms tone holds two whole blocks (2·102 plus up to 101 samples of
	// misalignment is 305 < 320), which the two-block start rule needs.
	// 205 samples, the other classic size, would need 77 ms to see two.
	BlockSize = 102

	// frequencyStep is where the frequency check places its side filters,
	// ±5 % of each tone: a tone nearer the centre than the side is within
	// ±2.5 %, half-way between Q.23's ±1.5 % (accept) and ±3.5 % (reject).
	frequencyStep = 0.05

	// minOn is how many accepted blocks in a row start a digit (25.5 ms).
	minOn = 2
	// minOff is how many other blocks in a row end it (38 ms): a 40 ms
	// pause always gives three, a 10 ms drop-out spoils at most two.
	minOff = 3
	// steadyRatio bounds the power of one half of a block against the
	// other (6 dB): it turns away blocks a tone only partly fills, so a
	// 20 ms burst cannot make two accepted blocks, and much of speech.
	steadyRatio = 0.25
)

// dBm0Power is the mean-square value, in 16-bit linear units, of a 0 dBm0
// sine: G.711 puts a full-scale sine at +3.14 dBm0 (ITU-T G.711 Table 5
// and 6), so 0 dBm0 is a sine of peak 32767·10^(-3.14/20) ≈ 22,820.
var dBm0Power = math.Pow(32767*math.Pow(10, -3.14/20), 2) / 2

// Config tunes the acceptance checks. A zero field means its default; the
// defaults are ITU-T Q.24's common values and need no change.
type Config struct {
	// MinLevel is the quietest tone accepted, per tone, in dBm0.
	// Default -30 (a tone of about -33 dBFS).
	MinLevel float64
	// NormalTwist is how many dB the high-group tone may be weaker than
	// the low-group tone (lines lose more of the high frequencies).
	// Default 8.
	NormalTwist float64
	// ReverseTwist is how many dB the high-group tone may be stronger
	// than the low-group tone. Default 4.
	ReverseTwist float64
	// RelativePeak is how many dB each of the two tones must exceed the
	// other three frequencies of its group. Default 8.
	RelativePeak float64
	// MinToneRatio is the share of the block's power that the two tones
	// must carry, between 0 and 1: pure DTMF carries nearly all of it,
	// speech and music much less. Default 0.7.
	MinToneRatio float64
}

func (c *Config) fill() error {
	if c.MinLevel == 0 {
		c.MinLevel = -30
	}
	if c.NormalTwist == 0 {
		c.NormalTwist = 8
	}
	if c.ReverseTwist == 0 {
		c.ReverseTwist = 4
	}
	if c.RelativePeak == 0 {
		c.RelativePeak = 8
	}
	if c.MinToneRatio == 0 {
		c.MinToneRatio = 0.7
	}
	switch {
	case c.MinLevel > 3.14:
		return fmt.Errorf("%w: MinLevel %.1f dBm0 is above full scale", ErrConfig, c.MinLevel)
	case c.NormalTwist < 0 || c.ReverseTwist < 0 || c.RelativePeak < 0:
		return fmt.Errorf("%w: negative twist or relative peak", ErrConfig)
	case c.MinToneRatio < 0 || c.MinToneRatio > 1:
		return fmt.Errorf("%w: MinToneRatio %.2f is not in [0, 1]", ErrConfig, c.MinToneRatio)
	}
	return nil
}

// dB turns decibels into a power ratio.
func dB(x float64) float64 { return math.Pow(10, x/10) }
