package resample

import "errors"

var (
	// ErrRate means a sample rate is not positive, or the two rates reduce
	// to a ratio L/M with L or M above MaxFactor, whose filter would be
	// too large to keep per stream. Rates used in telephony (8, 16, 32,
	// 48 kHz and the 11.025/22.05/44.1 kHz family) are all accepted.
	ErrRate = errors.New("resample: unsupported sample rate ratio")

	// ErrShortBuffer means the output slice cannot hold what the input
	// produces: size it with OutLen (or MaxOutLen). Nothing was consumed.
	ErrShortBuffer = errors.New("resample: output buffer too short")
)
