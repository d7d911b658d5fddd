package frame

import "errors"

var (
	// ErrShort means the message is shorter than the header.
	ErrShort = errors.New("frame: shorter than the header")
	// ErrVersion means the message is of a version this code does not
	// know: the sender is newer, or the bytes are not a frame.
	ErrVersion = errors.New("frame: unknown version")
	// ErrCodec means the codec field names no known codec.
	ErrCodec = errors.New("frame: unknown codec")
	// ErrFlags means a flag bit this version does not define is set.
	ErrFlags = errors.New("frame: unknown flags")
	// ErrLevel means the level is outside 0 to −127 dBFS.
	ErrLevel = errors.New("frame: level out of range")
	// ErrRate means the sample rate is not 8000, 16000 or 48000, or not
	// one the codec runs at.
	ErrRate = errors.New("frame: unsupported sample rate")
	// ErrSamples means the frame's duration is zero, longer than
	// MaxDuration, or (Opus) not a multiple of 2.5 ms.
	ErrSamples = errors.New("frame: bad frame duration")
	// ErrSize means the payload's length does not match the codec and the
	// number of samples.
	ErrSize = errors.New("frame: payload size does not match")
	// ErrShortBuffer means Frame.PCM has too little capacity for the
	// samples of a PCM frame: Unmarshal does not allocate.
	ErrShortBuffer = errors.New("frame: PCM buffer too short")
)
