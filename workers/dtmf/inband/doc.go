// Package inband detects DTMF tones in 8 kHz 16-bit linear PCM, for
// carriers that send digits only as audio. The media worker decodes G.711
// or Opus to 8 kHz and writes the samples in whatever chunks it has (20 ms
// frames of 160 samples, usually); the Detector buffers internally and
// reports the same Started/Ended events as the RFC 4733 receiver, timed by
// the number of samples written, so tests never sleep.
//
// The detector runs the Goertzel algorithm on the eight DTMF frequencies
// over blocks of 102 samples (12.75 ms) and accepts a block as a digit
// only if it passes the ITU-T Q.24 checks: a level floor per tone, twist
// limits, each tone dominating its group, the two tones carrying most of
// the block's power, steady power across the block, and a frequency check
// that accepts ±1.5 % and rejects ±3.5 % (Q.23 §4). Two accepted blocks in a
// row start a digit (so tones under about 25 ms are ignored and 40 ms tones
// are always seen); three rejected blocks in a row end it (so a 40 ms pause
// separates two presses and a 10 ms drop-out does not). docs/dtmf.md has
// the figures and the reasons.
package inband
