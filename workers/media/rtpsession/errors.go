package rtpsession

import "errors"

// Sentinel errors. Callers test them with errors.Is: the wrapped text only
// adds detail for logs.
var (
	// ErrConfig is wrapped by every configuration error of New and NewPorts,
	// so that the worker can tell a bug in its own setup from a runtime
	// failure.
	ErrConfig = errors.New("rtpsession: bad config")
	// ErrNoPorts is returned by Ports.Allocate when every even/odd pair of
	// the range is taken (by us or by another process): the call must be
	// refused (488/503) rather than set up without media.
	ErrNoPorts = errors.New("rtpsession: no free RTP port pair")
	// ErrClosed is returned by the write methods after Close, so that a
	// bridge writing into a leg that has just hung up stops cleanly.
	ErrClosed = errors.New("rtpsession: session closed")
	// ErrNoRemote is returned by the write methods while the session knows
	// no address to send to: no SetRemote yet and nothing latched (RFC 4961
	// symmetric RTP learns it from the first packets received).
	ErrNoRemote = errors.New("rtpsession: remote address unknown")
	// ErrPayloadTooLarge is returned when a frame would not fit the
	// session's preallocated send buffer (an RTP packet larger than a
	// typical MTU would be fragmented anyway).
	ErrPayloadTooLarge = errors.New("rtpsession: payload too large")
	// ErrPayloadType is returned when a payload type does not fit the 7-bit
	// PT field of RFC 3550 §5.1.
	ErrPayloadType = errors.New("rtpsession: payload type out of range 0-127")
)
