package codec

// OpusConfig is the encoder's settings. Start from DefaultOpusConfig: the
// zero value is not usable (a bitrate of 0 is refused).
type OpusConfig struct {
	// Bitrate is the target in bits per second, 6000 to 510000 (RFC 6716
	// §2.1.1). RFC 7587 §3.1.1 suggests 8-12 kb/s for narrow-band speech,
	// 16-20 kb/s wide-band and 28-40 kb/s full-band; in-band FEC takes a
	// share of it, hence the higher defaults.
	Bitrate int
	// Complexity trades CPU for quality, 0 (cheapest) to 10. The encoder
	// is most of a transcoded call's CPU (docs/codecs.md), so this is the
	// knob to turn down under CPU pressure (OpusEncoder.SetComplexity).
	Complexity int
	// FEC makes the encoder add a low-bitrate copy of each frame to the
	// next packet (LBRR, RFC 6716 §2.1.7) when it expects loss, which the
	// far end's decoder uses to rebuild a lost packet. It only takes
	// effect with PacketLossPerc > 0 and in SILK or hybrid mode, which the
	// VOIP application chooses for speech at these bitrates.
	FEC bool
	// PacketLossPerc is the loss the encoder plans for, 0-100 %: the
	// higher, the more of the bitrate goes to FEC and the less the frames
	// depend on each other. Feed it from RTCP receiver reports
	// (OpusEncoder.SetPacketLossPerc).
	PacketLossPerc int
	// DTX lets the encoder send almost nothing during silence: Encode
	// then returns payloads of one or two bytes, which need not be sent
	// (the far end's decoder conceals the gap with comfort noise). Off by
	// default because some endpoints take the missing packets for loss.
	DTX bool
}

// DefaultOpusConfig returns the settings for telephony at the given
// internal rate: the VOIP application (always; see NewOpusEncoder),
// complexity 5, in-band FEC for 5 % expected loss, no DTX, and 24 kb/s
// (narrow- and wide-band, 8 and 16 kHz) or 32 kb/s (48 kHz), which leaves
// room for FEC above RFC 7587's speech bitrates.
func DefaultOpusConfig(rate int) OpusConfig {
	c := OpusConfig{Bitrate: 24000, Complexity: 5, FEC: true, PacketLossPerc: 5}
	if rate > 16000 {
		c.Bitrate = 32000
	}
	return c
}

// check validates the ranges.
func (c OpusConfig) check() error {
	if err := checkBitrate(c.Bitrate); err != nil {
		return err
	}
	if err := checkComplexity(c.Complexity); err != nil {
		return err
	}
	return checkLoss(c.PacketLossPerc)
}

func checkBitrate(b int) error {
	if b < 6000 || b > 510000 {
		return ErrConfig
	}
	return nil
}

func checkComplexity(c int) error {
	if c < 0 || c > 10 {
		return ErrConfig
	}
	return nil
}

func checkLoss(p int) error {
	if p < 0 || p > 100 {
		return ErrConfig
	}
	return nil
}
