// Package resample converts 16-bit mono audio between sample rates with a
// polyphase FIR filter (a Kaiser-windowed sinc), for the media worker's
// paths between 8 kHz (G.711, ITU-T G.711), 16 kHz and 48 kHz (Opus's
// full-band rate, RFC 6716 §2) when a codec cannot run at the rate the
// other side needs.
//
// A Resampler converts one stream: it keeps the last input samples between
// calls, so a stream cut into 20 ms frames comes out sample for sample the
// same as the whole stream converted at once, with no click at frame edges.
// It does not allocate after New.
//
// # Filter
//
// The ratio out/in is reduced to L/M (L up, M down). One low-pass prototype
// runs at in·L Hz; its pass band ends at 85 % of the lower Nyquist
// frequency (3.4 kHz for 8 kHz, the edge of the G.711 telephone band;
// 6.8 kHz for 16 kHz) and its stop band starts at that Nyquist frequency,
// with DesignAttenuation dB of attenuation there, so that nothing above the
// new Nyquist frequency folds back into the output. The number of taps comes
// from Kaiser's formula for that transition width and attenuation. The
// prototype is split into L phases; each output sample is one dot product
// of one phase with the most recent input samples, so only the samples
// actually output are computed.
//
// The filter is linear-phase: every ratio delays the signal by a constant
// Delay, reported by the Resampler (about 3.5 ms for 8 kHz<->48 kHz).
//
// docs/codecs.md has the measured figures (pass-band ripple, stop-band
// attenuation, round-trip SNR) and the cost per 20 ms frame.
package resample
