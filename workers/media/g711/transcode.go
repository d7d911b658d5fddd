package g711

import "github.com/zaf/g711"

// ulawToAlaw and alawToUlaw map every octet of one law to the other. They
// are built once, by decoding with one law and encoding with the other, so
// that bridging PCMU to PCMA costs one lookup per sample and no
// intermediate linear buffer. The tests check them against zaf/g711's
// direct per-sample conversions (the G.711 tables) for all 256 values.
var ulawToAlaw, alawToUlaw = buildTables()

// buildTables computes both transcoding tables.
func buildTables() (u2a, a2u [256]byte) {
	for i := range 256 {
		u2a[i] = g711.EncodeAlawFrame(g711.DecodeUlawFrame(uint8(i)))
		a2u[i] = g711.EncodeUlawFrame(g711.DecodeAlawFrame(uint8(i)))
	}
	return u2a, a2u
}

// UlawToAlaw transcodes PCMU octets to PCMA. dst and src may be the same
// slice (in-place transcoding of a received payload). It returns the
// number of octets written.
func UlawToAlaw(dst, src []byte) int {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, b := range src {
		dst[i] = ulawToAlaw[b]
	}
	return n
}

// AlawToUlaw transcodes PCMA octets to PCMU. dst and src may be the same
// slice. It returns the number of octets written.
func AlawToUlaw(dst, src []byte) int {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, b := range src {
		dst[i] = alawToUlaw[b]
	}
	return n
}
