package jitter

// Status says what Pop produced for one frame period.
type Status uint8

const (
	// Empty: nothing to play. The buffer is still filling, the stream is
	// silent (DTX or silence suppression, RFC 3551 §4.1), the buffer ran
	// dry (underrun), or it is holding one frame back to grow its delay.
	// After a frame that was Ok or Lost the caller conceals (the frame
	// runs on) and lets the concealment fade to silence or comfort noise;
	// otherwise it plays silence or comfort noise. Empty is the zero value.
	Empty Status = iota
	// Ok: Payload is the packet due now.
	Ok
	// Lost: the packet due now is missing (a later one is already here).
	// The caller conceals it: with Opus, FEC from the next packet if Peek
	// has it (RFC 6716 §2.1.7), else PLC; with G.711, repeat and fade
	// (ITU-T G.711 Appendix I).
	Lost
)

// String returns the status name for logs and test failures.
func (s Status) String() string {
	switch s {
	case Empty:
		return "Empty"
	case Ok:
		return "Ok"
	case Lost:
		return "Lost"
	}
	return "Status(?)"
}

// Frame is what Pop returns for one frame period.
type Frame struct {
	Status Status
	// Payload is the packet's payload for Ok (from Peek, the next packet's)
	// and nil otherwise. It belongs to the buffer and stays valid until the
	// next call of Pop (for Peek: of Pop or Peek): a decoder consumes it in
	// the same tick.
	Payload []byte
	// Timestamp is the RTP timestamp of the frame; for Lost the one the
	// missing packet would have had. Within one stream (between resets) the
	// Timestamps of Ok and Lost frames never decrease.
	Timestamp uint32
	// SequenceNumber is the packet's (for Lost: the missing one's).
	SequenceNumber uint16
	// Samples is the frame's duration in timestamp units: the step to the
	// next packet when it is known, else the learned packet duration. A
	// G.711 concealment repeats this many samples.
	Samples uint32
	// PayloadType and Marker are the packet's (zero unless Ok).
	PayloadType uint8
	Marker      bool
}
