// Package codec decodes and encodes the audio of the media worker's RTP
// legs: G.711 µ-law and A-law (ITU-T G.711; RTP payload types 0 and 8 of
// RFC 3551) and Opus (RFC 6716, carried in RTP as RFC 7587 says), so that
// two legs that negotiated different codecs can be bridged.
//
// Every codec works on caller-provided buffers of 16-bit mono linear PCM
// and never allocates on the per-packet path: a Decoder turns one RTP
// payload into samples, and conceals one lost packet (Conceal) so that a
// loss is heard as a short, fading continuation rather than a click and
// a gap; an Encoder turns one frame of samples into one RTP payload.
// Decoders and encoders keep state between packets (prediction, concealment
// history), so each direction of each call leg has its own, used from one
// goroutine.
//
// # Sample rates
//
// G.711 runs at 8 kHz. Opus runs at an internal rate of 8, 16 or 48 kHz
// chosen by the caller: libopus decodes straight to that rate and encodes
// from it, so a G.711<->Opus bridge runs Opus at 8 kHz and needs no
// resampler. Whatever the internal rate, Opus's RTP clock is 48 kHz and its
// SDP name is opus/48000/2 (RFC 7587 §4.1, §7): Format.Timestamp converts
// a number of samples at the internal rate into the RTP timestamp step.
//
// # Loss
//
// G.711 has no redundancy; its Conceal is a pitch-repeating waveform
// substitution after ITU-T G.711 Appendix I (see G711Decoder). Opus's
// Conceal is libopus's own PLC, and an OpusDecoder also recovers a lost
// packet from the in-band FEC (LBRR) of the packet after it (DecodeFEC,
// RFC 6716 §2.1.7), when the encoder was told to send FEC.
//
// docs/codecs.md has the measured quality and costs.
package codec
