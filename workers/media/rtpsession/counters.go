package rtpsession

import "sync/atomic"

// Counters are process-wide totals that many sessions add to, so that the
// media worker can export them (for instance as Prometheus counter funcs)
// without this package depending on any metrics library. Every field only
// grows; read them with Load. A nil *Counters in Config disables them.
//
// They are plain atomics, not per-call figures: per-call values are in
// Session.Stats.
type Counters struct {
	// PacketsIn counts RTP packets accepted and handed to OnPacket.
	PacketsIn atomic.Uint64
	// OctetsIn counts the payload octets of PacketsIn (RFC 3550 §6.4.1
	// counts payload octets, not headers).
	OctetsIn atomic.Uint64
	// PacketsOut counts RTP packets sent.
	PacketsOut atomic.Uint64
	// OctetsOut counts the payload octets of PacketsOut.
	OctetsOut atomic.Uint64
	// Malformed counts datagrams on the RTP or RTCP port that could not be
	// parsed (not version 2, truncated, bad lengths or padding).
	Malformed atomic.Uint64
	// Ignored counts well-formed RTP packets dropped on purpose: from a
	// source other than the latched one, or the first packet after a large
	// sequence jump (RFC 3550 A.1).
	Ignored atomic.Uint64
	// Latches counts the times a session locked its send address onto a
	// packet source (symmetric RTP, RFC 4961), re-latches included.
	Latches atomic.Uint64
	// RTCPIn counts well-formed compound RTCP packets received.
	RTCPIn atomic.Uint64
	// RTCPOut counts compound RTCP packets sent.
	RTCPOut atomic.Uint64
	// SendErrors counts RTP or RTCP writes that the socket refused.
	SendErrors atomic.Uint64
}
