package rfc4733

import "errors"

var (
	// ErrPayloadSize is returned for a payload whose length is not a
	// positive multiple of the 4-byte event block (RFC 4733 §2.3).
	ErrPayloadSize = errors.New("rfc4733: payload is not a multiple of 4 bytes")
	// ErrConfig is wrapped by every configuration error.
	ErrConfig = errors.New("rfc4733: bad config")
)
