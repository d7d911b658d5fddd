package sdp

const (
	// MaxSize bounds the size of a description accepted by ParseOffer and
	// ParseAnswer. A SIP body for one audio stream is well under 2 KiB,
	// and even WebRTC offers with ICE candidates stay below this; anything
	// larger is refused before parsing so that a hostile peer cannot make
	// the worker allocate much.
	MaxSize = 16 << 10

	// DefaultPtime is the packet time in ms assumed when a=ptime is absent;
	// 20 ms is the default packetization interval of RFC 3551 §4.2 for the
	// telephony codecs.
	DefaultPtime = 20

	// MinPtime and MaxPtime bound the packet time the worker uses: a
	// remote's a=ptime (RFC 4566 §6) outside them is clamped, because the
	// jitter buffer and the packetizer are built for this range.
	MinPtime = 10
	MaxPtime = 60

	// absurdPtime is the a=ptime above which a value is treated as garbage
	// (ErrMalformed) rather than clamped: no audio codec packs a second.
	absurdPtime = 1000
)
