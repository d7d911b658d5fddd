package g711

import "github.com/zaf/g711"

// DecodeUlaw expands PCMU octets to linear samples (a table lookup per
// sample). It returns the number of samples written.
func DecodeUlaw(dst []int16, src []byte) int {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, b := range src {
		dst[i] = g711.DecodeUlawFrame(b)
	}
	return n
}

// DecodeAlaw expands PCMA octets to linear samples. It returns the number
// of samples written.
func DecodeAlaw(dst []int16, src []byte) int {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, b := range src {
		dst[i] = g711.DecodeAlawFrame(b)
	}
	return n
}

// EncodeUlaw compresses linear samples to PCMU octets. It returns the
// number of octets written.
func EncodeUlaw(dst []byte, src []int16) int {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, v := range src {
		dst[i] = g711.EncodeUlawFrame(v)
	}
	return n
}

// EncodeAlaw compresses linear samples to PCMA octets. It returns the
// number of octets written.
func EncodeAlaw(dst []byte, src []int16) int {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, v := range src {
		dst[i] = g711.EncodeAlawFrame(v)
	}
	return n
}
