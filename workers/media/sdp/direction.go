package sdp

import "strings"

// Direction is a stream's direction attribute (RFC 4566 §6, RFC 3264
// §5.1): it says what the side that wrote it is willing to do, so an
// answer states the reverse of what it accepts from the offer.
type Direction string

// The four directions of RFC 4566 §6. The zero Direction is not one of
// them; Offer and Answer read it as SendRecv, the RFC's default.
const (
	SendRecv Direction = "sendrecv"
	SendOnly Direction = "sendonly"
	RecvOnly Direction = "recvonly"
	Inactive Direction = "inactive"
)

// Valid reports whether d is one of the four directions, so that callers
// and this package can refuse anything else before writing it out.
func (d Direction) Valid() bool {
	switch d {
	case SendRecv, SendOnly, RecvOnly, Inactive:
		return true
	}
	return false
}

// Sends reports whether the side declaring d will send media.
func (d Direction) Sends() bool { return d == SendRecv || d == SendOnly }

// Receives reports whether the side declaring d will receive media.
func (d Direction) Receives() bool { return d == SendRecv || d == RecvOnly }

// Reverse returns the direction seen from the other side: sendonly and
// recvonly swap, sendrecv and inactive stay. It turns an offer's direction
// into the most an answer may declare (RFC 3264 §6.1).
func (d Direction) Reverse() Direction {
	return direction(d.Receives(), d.Sends())
}

// Intersect returns the direction allowing only what both d and o allow;
// Answer uses it to combine the reversed offer with what the caller wants
// (RFC 3264 §6.1: offer sendonly lets the answer be recvonly or inactive).
func (d Direction) Intersect(o Direction) Direction {
	return direction(d.Sends() && o.Sends(), d.Receives() && o.Receives())
}

// direction builds a Direction from its two capabilities.
func direction(sends, receives bool) Direction {
	switch {
	case sends && receives:
		return SendRecv
	case sends:
		return SendOnly
	case receives:
		return RecvOnly
	}
	return Inactive
}

// orDefault returns d, or SendRecv when d is the zero Direction.
func (d Direction) orDefault() Direction {
	if d == "" {
		return SendRecv
	}
	return d
}

// parseDirection recognizes a direction attribute name; attribute names
// are compared case-insensitively to be lenient with odd stacks.
func parseDirection(key string) (Direction, bool) {
	for _, d := range [...]Direction{SendRecv, SendOnly, RecvOnly, Inactive} {
		if strings.EqualFold(key, string(d)) {
			return d, true
		}
	}
	return "", false
}
